"""The normalised customer profile and event: the one model everything above reads.

Whatever shape a profile came in (each Tracardi version, an export), `app/tracardi/schemas.py` turns it into
these; the libraries (`embeddings`, `segmentation`, `prediction`) and the service only ever see these.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, Field

from profiles.paths import get_path
from profiles.words import YES_WORDS

# Prefixes of hashed merge keys that Tracardi stores in `ids` (email, phone, identifier): not profile ids.
HASHED_ID_PREFIXES = ("emm-", "emb-", "emp-", "phm-", "phb-", "pho-", "pwa-", "iid-", "ipk-")


class Profile(BaseModel):
    """A customer profile, whatever Tracardi version it came from."""

    id: str
    ids: list[str] = Field(default_factory=list)
    primary_id: str | None = None
    active: bool = True
    merged_with: str | None = None  # 0.7.x: the survivor this profile was merged into
    created_at: datetime | None = None
    inserted_at: datetime | None = None
    updated_at: datetime | None = None  # metadata.time.update (0.8.1+); None before
    last_visit_at: datetime | None = None
    visits: int = 0
    views: int = 0
    traits: dict[str, Any] = Field(default_factory=dict)
    # Personal data in the 0.8.1+ layout (`pii`, `contact`, `identifier`, `job`, ...). 0.7/0.8.0 `pii` is
    # mapped into it so that one redaction rule covers every version.
    data: dict[str, Any] = Field(default_factory=dict)
    segments: list[str] = Field(default_factory=list)
    interests: dict[str, Any] = Field(default_factory=dict)
    consents: dict[str, Any] = Field(default_factory=dict)
    shape: str = "1.x"  # the Tracardi shape the record was read as
    extra: dict[str, Any] = Field(default_factory=dict)  # unknown fields, kept as they came

    @property
    def absorbed_ids(self) -> list[str]:
        """Ids of profiles merged into this one (not its own id, not hashed merge keys)."""
        return [i for i in self.ids if i != self.id and not i.startswith(HASHED_ID_PREFIXES)]

    @property
    def changed_at(self) -> datetime | None:
        return self.updated_at or self.inserted_at or self.created_at

    def objects(self, path: str | None) -> bool:
        """Whether the value at `path` (e.g. `consents.no-profiling`, `traits.profiling_objection`) says yes."""
        if not path:
            return False
        cur = get_path({"consents": self.consents, "traits": self.traits, "data": self.data}, path)
        if isinstance(cur, dict):  # a Tracardi consent record: present and not revoked
            return not cur.get("revoke")
        if isinstance(cur, str):
            return cur.strip().lower() in YES_WORDS | {"1"}
        return bool(cur) and not isinstance(cur, list)

    def fingerprint(self, salt: str = "") -> str:
        """A hash of the whole normalised profile. It says nothing about the event history: Tracardi moves
        the update time only when the profile changes, not with every event, so a sync pairs it with a read
        of the events inserted since the last run (sources.py)."""
        body = orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(salt.encode() + b"\n" + body).hexdigest()


class Event(BaseModel):
    """One event of a profile's history."""

    id: str
    type: str
    name: str | None = None
    time: datetime
    profile_id: str | None = None
    session_id: str | None = None
    source_id: str | None = None
    channel: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    traits: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    utm: dict[str, Any] = Field(default_factory=dict)
    extra: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def checked(cls, *, id: str, type: str, name: str | None, time: datetime, profile_id: str | None,  # noqa: A002
                session_id: str | None, source_id: str | None, channel: str | None, properties: dict[str, Any],
                traits: dict[str, Any], context: dict[str, Any], tags: list[str], utm: dict[str, Any],
                extra: dict[str, Any]) -> Event:
        """An event from fields its reader already checked, every one given: what `model_construct` makes
        (the same `__dict__` and fields set), without its per-field loop; a read builds one per event."""
        event = cls.__new__(cls)
        object.__setattr__(event, "__dict__", {
            "id": id, "type": type, "name": name, "time": time, "profile_id": profile_id, "session_id": session_id,
            "source_id": source_id, "channel": channel, "properties": properties, "traits": traits,
            "context": context, "tags": tags, "utm": utm, "extra": extra})
        object.__setattr__(event, "__pydantic_fields_set__", set(_EVENT_FIELDS))
        object.__setattr__(event, "__pydantic_extra__", None)
        object.__setattr__(event, "__pydantic_private__", None)
        return event


_EVENT_FIELDS = tuple(Event.model_fields)


class ProfileWithEvents(BaseModel):
    """A profile and its whole event history, oldest event first."""

    profile: Profile
    events: list[Event] = Field(default_factory=list)
    # The source found the profile exactly as last synced and did not read its events (see fingerprint).
    unchanged: bool = False
