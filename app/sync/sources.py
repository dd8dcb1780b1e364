"""Where profiles come from: an export directory or a Tracardi server, behind one interface."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Protocol

from app.tracardi.client import ReadReport, TracardiClient
from app.tracardi.export import ExportDirectory, ExportReport
from app.tracardi.schemas import Profile, ProfileWithEvents

Known = Callable[[list[Profile]], Awaitable[set[str]]]


class ProfileSource(Protocol):
    key: str  # identifies the source for its watermark

    async def stream(self, since: datetime | None, known: Known | None = None) -> AsyncIterator[ProfileWithEvents]:
        """Profiles with their whole history; everything when `since` is None."""
        yield  # type: ignore[misc]

    @property
    def complete(self) -> bool:
        """True when the last stream covered every profile (so missing ones were deleted)."""
        ...

    @property
    def errors(self) -> list[str]: ...

    async def stats(self) -> dict[str, int]: ...


class _ReadState:
    """What the last `stream` saw: its report (with the malformed records) and whether it covered everything."""

    report: ExportReport | ReadReport
    _complete: bool = False

    @property
    def complete(self) -> bool:
        return self._complete

    @property
    def errors(self) -> list[str]:
        return self.report.errors


class ExportSource(_ReadState):
    def __init__(self, directory: Path | str, chunk: int = 256) -> None:
        self.export = ExportDirectory(directory)
        self.key = f"export:{self.export.directory.resolve()}"
        self.chunk = chunk
        self.report = ExportReport()

    async def stream(self, since: datetime | None, known: Known | None = None) -> AsyncIterator[ProfileWithEvents]:
        # An export is a snapshot: always read whole; unchanged profiles are skipped by content hash.
        self.report = ExportReport()
        self._complete = False
        it = self.export.iter_profiles_with_events(self.report)
        while chunk := await asyncio.to_thread(lambda: list(islice(it, self.chunk))):
            for item in chunk:
                yield item
        self._complete = True

    async def stats(self) -> dict[str, int]:
        return await asyncio.to_thread(self.export.stats)


class TracardiSource(_ReadState):
    def __init__(self, client: TracardiClient, url: str) -> None:
        self.client = client
        self.key = f"tracardi:{url.rstrip('/')}:{client.context}"
        self.report = ReadReport()

    async def stream(self, since: datetime | None, known: Known | None = None) -> AsyncIterator[ProfileWithEvents]:
        self.report = ReadReport(started_at=datetime.now(UTC))
        self._complete = False
        info = await self.client.server_info()
        # Without an update time (0.7/0.8.0) a new event need not change the profile: always read events.
        skip = known if info.has_update_time else None
        profiles = self.client.iter_updated_since(since, self.report)
        async for item in self.client.with_events(profiles, self.report, skip):
            yield item
        self._complete = self.report.full_resync or since is None

    async def stats(self) -> dict[str, int]:
        info = await self.client.server_info()
        return {"profiles": await self.client.count_profiles(), "events": await self.client.count_events(),
                "shape": info.shape}  # type: ignore[dict-item]
