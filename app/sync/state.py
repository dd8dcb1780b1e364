"""Sync state interface: which profile is indexed with which content hash, merge aliases, watermarks and the
per-profile aggregates written on every sync. PostgreSQL implements it (app/sync/repository.py).

Every batch is committed in one transaction after the index has flushed, so the state never claims more than
the index holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import orjson


@dataclass(frozen=True)
class IndexedRow:
    profile_id: str
    content_hash: str
    updated_at: datetime | None
    fingerprint: str | None = None
    source: str | None = None  # which source delivered it: only that source's complete read may delete it


@dataclass(frozen=True)
class ProfileFeatures:
    """Aggregates over a profile's whole history (recency is derived from last_seen at read time)."""

    profile_id: str
    event_count: int
    counts: dict[str, int]
    first_seen: datetime | None
    last_seen: datetime | None
    active_days: int
    tenure_days: int
    frequency: float  # events per active day
    monetary: float
    purchases: int
    rating_mean: float | None
    top: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)  # traits and describing data, PII removed


@dataclass(frozen=True)
class EventRow:
    """One event as the prediction layer needs it: type, time, money value, properties without PII."""

    profile_id: str
    event_id: str
    type: str
    time: datetime
    value: float | None
    properties: dict[str, Any]
    properties_json: str = ""  # the properties as JSON, when the sync already wrote them (once, off the loop)

    def json(self) -> str:
        return self.properties_json or orjson.dumps(self.properties).decode()


class SyncState(Protocol):
    async def hashes(self, profile_ids: Sequence[str]) -> dict[str, str]: ...

    async def fingerprints(self, profile_ids: Sequence[str]) -> dict[str, str]: ...

    async def commit_batch(self, rows: Sequence[IndexedRow], deleted: Sequence[str], aliases: dict[str, str],
                           features: Sequence[ProfileFeatures] = (),
                           events: dict[str, list[EventRow]] | None = None) -> None: ...

    async def all_profile_ids(self, source: str | None = None) -> set[str]: ...

    async def profiles_with_event_about(self, event_type: str, values: Sequence[str], since: str | None = None,
                                        before: str | None = None, times: int = 1) -> list[str]: ...

    async def event_counts_about(self, event_type: str, values: Sequence[str], since: str | None = None,
                                 before: str | None = None, times: int = 1) -> dict[str, int]: ...

    async def event_times_about(self, event_type: str, values: Sequence[str], since: str | None = None,
                                before: str | None = None, latest: bool = False) -> dict[str, datetime]: ...

    async def event_sums_about(self, event_type: str, values: Sequence[str], value_path: Sequence[str],
                               since: str | None = None, before: str | None = None) -> dict[str, float]: ...

    async def event_counts_scored(self, event_type: str, values: Sequence[str], value_path: Sequence[str],
                                  bound: dict[str, float], since: str | None = None, before: str | None = None,
                                  times: int = 1) -> dict[str, int]: ...

    async def event_extremes_about(self, event_type: str, values: Sequence[str], value_path: Sequence[str],
                                   since: str | None = None, before: str | None = None, largest: bool = True
                                   ) -> dict[str, float]: ...

    async def absorbed_ids(self, profile_ids: list[str]) -> set[str]: ...

    async def rows(self) -> list[IndexedRow]: ...

    async def resolve(self, profile_id: str) -> str: ...

    async def watermark(self, source: str) -> datetime | None: ...

    async def set_watermark(self, source: str, value: datetime) -> None: ...

    async def get_meta(self, key: str) -> str | None: ...

    async def set_meta(self, key: str, value: str) -> None: ...

    async def claim_meta(self, key: str, value: str) -> str: ...

    async def reset(self) -> None: ...
