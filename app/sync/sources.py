"""Where profiles come from: an export directory or a Tracardi server, behind one interface."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

import httpx

from app.config import SyncSettings, TracardiSettings
from app.errors import DomainError
from app.tracardi.client import DEFAULT_MARGIN, ReadReport, TracardiClient
from app.tracardi.export import ExportDirectory, ExportReport
from profiles.model import Profile, ProfileWithEvents

Known = Callable[[list[Profile]], Awaitable[set[str]]]
Only = Callable[[str], bool]  # which profile ids a reader wants (a backfill partition); None: all


class ProfileSource(Protocol):
    key: str  # identifies the source for its watermark

    async def stream(self, since: datetime | None, known: Known | None = None,
                     events_since: datetime | None = None, only: Only | None = None,
                     ) -> AsyncIterator[ProfileWithEvents]:
        """Profiles with their whole history; everything when `since` is None. `events_since` (the last
        watermark, also on a full read) lets a source find profiles whose history grew without the profile
        changing; `known` may then skip reading the events of profiles it already holds as they are. `only`
        restricts the read to the profile ids it accepts, as early as the source can (the caller still
        checks)."""
        yield  # type: ignore[misc]

    @property
    def complete(self) -> bool:
        """True when the last stream covered every profile (so missing ones were deleted)."""
        ...

    @property
    def errors(self) -> list[str]: ...

    async def stats(self) -> dict[str, int | str]: ...

    async def total(self) -> int | None:
        """How many profiles a full read delivers at most (for a progress bar); None when unknown."""
        ...


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

    async def stream(self, since: datetime | None, known: Known | None = None,
                     events_since: datetime | None = None, only: Only | None = None,
                     ) -> AsyncIterator[ProfileWithEvents]:
        # An export is a snapshot: always read whole; unchanged profiles are skipped by content hash.
        self.report = ExportReport()
        self._complete = False
        it = self.export.iter_profiles_with_events(self.report, only)
        while chunk := await asyncio.to_thread(lambda: list(islice(it, self.chunk))):
            for item in chunk:
                yield item
        self._complete = True

    async def stats(self) -> dict[str, int | str]:
        return dict(await asyncio.to_thread(self.export.stats))

    async def total(self) -> int | None:
        return await asyncio.to_thread(self.export.profile_count)


class TracardiSource(_ReadState):
    def __init__(self, client: TracardiClient, url: str) -> None:
        self.client = client
        self.key = f"tracardi:{url.rstrip('/')}:{client.context}"
        self.report = ReadReport()

    async def stream(self, since: datetime | None, known: Known | None = None,
                     events_since: datetime | None = None, only: Only | None = None,
                     ) -> AsyncIterator[ProfileWithEvents]:
        self.report = ReadReport(started_at=datetime.now(UTC))
        self._complete = False
        version = await self.client.version()
        # Update time moves only when the profile itself changes (0.8.1 tracker_persister.py, 0.8.2
        # track_data_computation.py, 0.9 tracking/tracker.py), not with a new event in an existing session:
        # the profiles whose events were inserted since the last run are read whole, whatever they look like.
        mark = since or events_since
        grown = await self.client.profiles_with_events_since(mark - DEFAULT_MARGIN) if mark else set()
        skip: Known | None = None
        if known is not None and version.has_update_time and mark is not None:
            async def skip_unless_grown(batch: list[Profile]) -> set[str]:
                return await known(batch) - grown
            skip = skip_unless_grown
        yielded: set[str] = set()
        profiles = self.client.iter_updated_since(since, self.report)
        if only is not None:  # a partition: the other partitions' profiles are paged past, their events not read
            profiles = (p async for p in profiles if only(p.id))
        async for item in self.client.with_events(profiles, self.report, skip):
            yielded.add(item.profile.id)
            yield item
        rest = sorted(grown - yielded)
        if rest:  # grown histories of profiles the update-time read did not return
            found = await self.client.lookup_many(rest)
            survivors = {p.id: p for p in found.values()
                         if p is not None and p.id not in yielded and (only is None or only(p.id))}

            async def more() -> AsyncIterator[Profile]:
                for p in survivors.values():
                    yield p
            async for item in self.client.with_events(more(), self.report):
                yield item
        self._complete = self.report.full_resync or since is None

    async def total(self) -> int | None:
        try:
            return await self.client.count_profiles()
        except Exception:  # noqa: BLE001 - a progress bar is not worth failing a sync for
            return None

    async def stats(self) -> dict[str, int | str]:
        version = await self.client.version()
        return {"profiles": await self.client.count_profiles(), "events": await self.client.count_events(),
                "version": str(version)}


class SourceNotAllowedError(DomainError):
    status = 403
    code = "source_not_allowed"


class Sources:
    """Opens the deployment's sources: an export directory, or a Tracardi URL with one HTTP client each
    (closed by `release`, or all at `aclose`). Requests may only name a configured source."""

    def __init__(self, sync: SyncSettings, tracardi: TracardiSettings, transport: Any = None) -> None:
        self.sync_settings = sync
        self.tracardi = tracardi
        self.transport = transport  # tests pass the emulator's ASGI transport; None = real HTTP
        self._http: list[httpx.AsyncClient] = []

    def configured(self) -> list[str]:
        """The sources this deployment was configured with: the only ones a request may name."""
        return list(dict.fromkeys(x for x in (self.sync_settings.source, self.tracardi.url) if x))

    def requested(self, name: str | None) -> ProfileSource:
        """A source picked by a request: None means the default, anything else must be configured. A request
        never chooses a host (which would receive Tracardi's credentials) or a path on the server's disk."""
        allowed = self.configured()
        if name is None:
            return self.open()
        wanted = name.strip().rstrip("/")
        for spec in allowed:
            if spec.rstrip("/") == wanted:
                return self.open(spec)
        raise SourceNotAllowedError.worded("source_not_configured", source=name[:100], n=len(allowed))

    def open(self, spec: str | None = None, transport: Any = None) -> ProfileSource:
        """An export directory path or a Tracardi URL (default: settings)."""
        spec = spec or self.sync_settings.source or self.tracardi.url
        if not spec:
            raise ValueError("no source: pass --source DIR|URL or set PROFILE_AI_TRACARDI__URL")
        if spec.startswith(("http://", "https://")):
            http = self.http(spec, transport)
            self._http.append(http)
            return TracardiSource(TracardiClient.from_settings(http, self.tracardi), spec)
        return ExportSource(spec)

    def http(self, url: str, transport: Any = None) -> httpx.AsyncClient:
        """An HTTP client to a Tracardi at `url` with the deployment's timeout and transport; the caller closes it
        (`open` keeps its sources' clients until `release`)."""
        return httpx.AsyncClient(base_url=url, transport=transport or self.transport, timeout=self.tracardi.timeout_s)

    async def release(self, source: ProfileSource) -> None:
        """Close the HTTP client `open()` made for a Tracardi source. A long-lived process (the server's job
        worker makes a source per job) would otherwise keep one client per sync until it stops."""
        if isinstance(source, TracardiSource) and source.client.http in self._http:
            self._http.remove(source.client.http)
            await source.client.http.aclose()

    async def aclose(self) -> None:
        for http in self._http:
            await http.aclose()
        self._http.clear()
