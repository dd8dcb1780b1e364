"""`profile-ai tracardi setup`: the REST event source and the event-to-profile mapping that write-back needs
(tracardi-api.md sections 0 and 6), created idempotently with stable ids, in the shape the server's version
takes, and read back before anything is reported as created. What a version cannot do is an error that says
so, never a success."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from app.tracardi.client import TracardiClient
from app.tracardi.errors import TracardiError, TracardiRequestError
from app.tracardi.schemas import WRITEBACK_EVENT_TYPE
from app.tracardi.versions import REST_BRIDGE, TracardiCapabilityError, TracardiVersion

EVENT_TYPE = WRITEBACK_EVENT_TYPE  # the client leaves these events out of every history it reads
MAPPING_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "profile-ai/event-to-profile/traits.ai"))


@dataclass(frozen=True)
class SetupResult:
    source_id: str
    mapping_id: str
    created: list[str]
    version: str = ""
    trait_path: str = "traits.ai"
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"source_id": self.source_id, "mapping_id": self.mapping_id, "created": self.created,
                "version": self.version, "trait_path": self.trait_path, "notes": self.notes}


def source_body(version: TracardiVersion, source_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": source_id, "name": "profile-ai", "enabled": True, "transitional": False,
        "description": "Predicted traits and segment memberships written back by profile-ai",
        "tags": ["profile-ai"], "groups": [], "config": {},
        # 0.7.4 declares `type: str`, 0.8.0+ `List[str]` (LIB tracardi/domain/event_source.py)
        "type": ["rest"] if version.source_type_is_list else "rest",
    }
    if version.bridge_required:  # no default from 0.8.0: a body without it is a 422
        body["bridge"] = dict(REST_BRIDGE)
    return body


def mapping_body(version: TracardiVersion) -> dict[str, Any]:
    # 0.8.0 takes the event type as a plain string; 0.8.1+ as {id, name}
    event_type: object = ({"id": EVENT_TYPE, "name": "Profile AI traits"} if version.mapping_event_type_is_object
                          else EVENT_TYPE)
    return {
        "id": MAPPING_ID, "name": "profile-ai traits",
        "description": f"Copies properties.ai into {version.trait_root}",
        "enabled": True, "event_type": event_type, "config": {}, "tags": ["profile-ai"],
        # the whole object is copied: values 0, 0.0 and false inside it survive (they would not alone)
        "event_to_profile": [{"event": {"value": "properties.ai", "ref": True}, "op": 0,
                              "profile": {"value": version.trait_root, "ref": True}}],
    }


async def _exists(client: TracardiClient, path: str) -> bool:
    """GET a record: 404 (body null, or Tracardi's "not found" detail) is False, any other refusal an error."""
    resp = await client._send("GET", path)
    if resp.status_code == 404:
        return False
    if resp.status_code >= 400:
        raise TracardiRequestError(f"GET {path}: HTTP {resp.status_code}: {resp.text[:200]}", status=resp.status_code)
    return resp.content.strip() not in (b"", b"null")


async def _create(client: TracardiClient, version: TracardiVersion, path: str, body: dict[str, Any],
                  check: str) -> None:
    try:
        await client._json("POST", path, json=body)
    except TracardiRequestError as exc:
        raise TracardiRequestError(f"Tracardi {version} refused POST {path}: {exc}", status=exc.status) from exc
    if not await _exists(client, check):
        raise TracardiError(f"Tracardi {version} accepted POST {path} but {check} does not read back: "
                            "nothing was created")


async def mapping_exists(client: TracardiClient) -> bool:
    return await _exists(client, f"/event-to-profile/{MAPPING_ID}")


async def setup_writeback(client: TracardiClient, source_id: str = "profile-ai") -> SetupResult:
    version = await client.version()
    created: list[str] = []
    if not await _exists(client, f"/event-source/{source_id}"):
        await _create(client, version, "/event-source", source_body(version, source_id), f"/event-source/{source_id}")
        created.append("event-source")
    if not version.has_mapping_route:
        made = "created" if created else "already there"
        raise TracardiCapabilityError(
            f"Tracardi {version} has no event-to-profile mapping (the /event-to-profile route arrived in 0.8.0): "
            f"the event source {source_id!r} is {made}, but write-back needs a Tracardi workflow on event type "
            f"{EVENT_TYPE!r} that copies properties.ai into traits.public.ai; or upgrade Tracardi to 0.8.1+")
    if not await _exists(client, f"/event-to-profile/{MAPPING_ID}"):
        await _create(client, version, "/event-to-profile", mapping_body(version), f"/event-to-profile/{MAPPING_ID}")
        created.append("event-to-profile")
    notes = []
    if not version.free_traits:
        notes.append(f"Tracardi {version} keeps only traits.private/traits.public: predictions land in "
                     "traits.public.ai")
    notes.append("Tracardi caches new mappings for about 60 s: the first write-back may wait that long")
    return SetupResult(source_id, MAPPING_ID, created, str(version), version.trait_root, notes)
