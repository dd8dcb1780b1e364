"""`profile-ai tracardi setup`: the REST event source and the event-to-profile mapping that write-back needs
(tracardi-api.md section 6), created idempotently with stable ids."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.tracardi.client import TracardiClient

EVENT_TYPE = "profile-ai-traits"
MAPPING_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "profile-ai/event-to-profile/traits.ai"))


@dataclass(frozen=True)
class SetupResult:
    source_id: str
    mapping_id: str
    created: list[str]


async def setup_writeback(client: TracardiClient, source_id: str = "profile-ai") -> SetupResult:
    created: list[str] = []
    if await client._json("GET", f"/event-source/{source_id}") is None:
        await client._json("POST", "/event-source", json={
            "id": source_id, "type": ["rest"], "name": "profile-ai", "enabled": True, "transitional": False,
            "description": "Predicted traits and segment memberships written back by profile-ai",
            "tags": ["profile-ai"], "groups": [], "config": {}})
        created.append("event-source")
    if await client._json("GET", f"/event-to-profile/{MAPPING_ID}") is None:
        info = await client.server_info()
        # 0.8.0 takes the event type as a plain string; later versions as {id, name}
        event_type: object = EVENT_TYPE if info.shape == "0.8.0" else {"id": EVENT_TYPE, "name": "Profile AI traits"}
        await client._json("POST", "/event-to-profile", json={
            "id": MAPPING_ID, "name": "profile-ai traits", "description": "Copies properties.ai into traits.ai",
            "enabled": True, "event_type": event_type, "config": {}, "tags": ["profile-ai"],
            # the whole object is copied: values 0, 0.0 and false inside it survive (they would not alone)
            "event_to_profile": [{"event": {"value": "properties.ai", "ref": True}, "op": 0,
                                  "profile": {"value": "traits.ai", "ref": True}}]})
        created.append("event-to-profile")
    return SetupResult(source_id, MAPPING_ID, created)
