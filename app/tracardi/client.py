"""Async client for Tracardi's REST API (0.7.x to 1.x), following tracardi-api.md.

One `httpx.AsyncClient` is passed in (its transport is injectable, so tests run it against the emulator);
this class owns login and token caching, the `X-Context` header, bounded retries with backoff, and the
reading strategies that survive Tracardi's quirks: time windows that stay under the 10,000-record paging
limit, incremental reads by `metadata.time.update`, batched event reads, and merge resolution.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

from app.tracardi.errors import (
    TracardiAuthError,
    TracardiError,
    TracardiForbiddenError,
    TracardiRequestError,
    TracardiUnavailableError,
)
from app.tracardi.schemas import (
    Event,
    Profile,
    ProfileWithEvents,
    RecordError,
    detect_shape,
    parse_event,
    parse_profile,
)

log = logging.getLogger(__name__)

PAGE_LIMIT = 10_000  # Elasticsearch's max_result_window: nothing comes back past it
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_ID_CHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_"


@dataclass(frozen=True)
class ServerInfo:
    """What the client learned about the server from the documents it answers with."""

    shape: str  # "0.7", "0.8.0", "0.8.1+", "0.9", "1.x", or "empty"
    has_update_time: bool  # metadata.time.update exists (0.8.1+)
    range_sorts_by_update: bool  # 1.x: the range endpoint filters on update time


@dataclass
class ReadReport:
    """What a read saw: counts and the records that could not be normalised (with where and why)."""

    profiles: int = 0
    events: int = 0
    errors: list[str] = field(default_factory=list)
    full_resync: bool = False
    started_at: datetime | None = None


@dataclass(frozen=True)
class ProfileLookup:
    """`GET /profile/{id}` resolved: the profile (or None when gone) and whether the id was merged."""

    asked_id: str
    profile: Profile | None

    @property
    def merged_into(self) -> str | None:
        if self.profile is not None and self.profile.id != self.asked_id:
            return self.profile.id
        return None


def _absolute(dt: datetime) -> dict[str, Any]:
    dt = dt.astimezone(UTC)
    return {"absolute": {"year": dt.year, "month": dt.month, "date": dt.day, "hour": dt.hour,
                         "minute": dt.minute, "second": dt.second, "meridiem": "AM"}}


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class TracardiClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        username: str,
        password: str,
        context: str = "production",
        timeout: float = 30.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        page_size: int = 1000,
        event_batch: int = 100,
        concurrency: int = 4,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.http = http
        self.username = username
        self.password = password
        self.context = context
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.page_size = min(page_size, PAGE_LIMIT)
        self.event_batch = event_batch
        self.concurrency = concurrency
        self.on_error = on_error
        self._token: str | None = None
        self._login_lock = asyncio.Lock()
        self._info: ServerInfo | None = None

    # ------------------------------------------------------------------ transport
    async def login(self) -> str:
        async with self._login_lock:
            resp = await self._send("POST", "/user/token", data={"username": self.username,
                                    "password": self.password, "grant_type": "password"}, auth=False)
            if resp.status_code != 200:
                raise TracardiAuthError(f"Tracardi login refused for {self.username}: {resp.text[:200]}",
                                        status=resp.status_code)
            self._token = resp.json()["access_token"]
            return self._token

    async def _send(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> httpx.Response:
        attempt = 0
        relogged = False
        while True:
            headers = {"X-Context": self.context}
            if auth:
                token = self._token or await self.login()
                headers["Authorization"] = f"Bearer {token}"
            try:
                resp = await self.http.request(method, path, headers=headers, timeout=self.timeout, **kwargs)
            except (httpx.TimeoutException, httpx.TransportError, OSError) as exc:
                if attempt >= self.max_retries:
                    raise TracardiUnavailableError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
                await self._sleep(attempt, f"{method} {path}: {type(exc).__name__}")
                attempt += 1
                continue
            if resp.status_code == 401 and auth:
                if relogged:
                    raise TracardiAuthError(f"{method} {path}: still 401 after a fresh login "
                                            f"(role or account problem): {resp.text[:200]}", status=401)
                self._token = None  # expired after 30 idle minutes, or killed by a logout
                relogged = True
                continue
            if resp.status_code >= 500 or resp.status_code == 429:
                if attempt >= self.max_retries:
                    raise TracardiUnavailableError(f"{method} {path}: HTTP {resp.status_code} after "
                                                   f"{attempt + 1} tries: {resp.text[:200]}",
                                                   status=resp.status_code)
                await self._sleep(attempt, f"{method} {path}: HTTP {resp.status_code}")
                attempt += 1
                continue
            if resp.status_code == 403:
                raise TracardiForbiddenError(f"{method} {path}: 403 {resp.text[:200]} (the Tracardi API "
                                             "must run with EXPOSE_GUI_API=yes)", status=403)
            return resp

    async def _sleep(self, attempt: int, why: str) -> None:
        delay = min(self.backoff * (2**attempt), 10.0) * (0.5 + random.random())
        log.warning("tracardi: %s, retry %d in %.2fs", why, attempt + 1, delay)
        await asyncio.sleep(delay)

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = await self._send(method, path, **kwargs)
        if resp.status_code == 404:
            return None
        if resp.status_code >= 400:
            raise TracardiRequestError(f"{method} {path}: HTTP {resp.status_code}: {resp.text[:300]}",
                                       status=resp.status_code)
        return orjson.loads(resp.content)

    def _report(self, report: ReadReport, err: RecordError | str) -> None:
        report.errors.append(str(err))
        log.warning("tracardi: skipped malformed record: %s", err)
        if self.on_error:
            self.on_error(str(err))

    # ------------------------------------------------------------------ server facts
    async def server_info(self) -> ServerInfo:
        """Detect the version family from what the server answers (no version endpoint is reliable)."""
        if self._info is None:
            body = await self._json("POST", "/profile/select?query_type=tql", json={"where": None, "limit": 1})
            docs = (body or {}).get("result") or []
            if not docs:
                return ServerInfo("empty", False, False)
            doc = docs[0]
            shape = detect_shape(doc)
            has_update = "update" in ((doc.get("metadata") or {}).get("time") or {})
            self._info = ServerInfo(shape, has_update, shape == "1.x")
        return self._info

    async def count_profiles(self) -> int:
        body = await self._json("GET", "/profile/count")
        return int((body or {}).get("count", 0))

    async def count_events(self) -> int:
        body = await self._json("POST", "/event/select?query_type=tql", json={"where": None, "limit": 1})
        return int((body or {}).get("total", 0))

    # ------------------------------------------------------------------ windowed reading
    async def _range_page(self, kind: str, lo: datetime, hi: datetime, where: str, start: int,
                          limit: int) -> dict[str, Any]:
        body = {"minDate": _absolute(lo), "maxDate": _absolute(hi), "where": where, "timeZone": None,
                "start": start, "limit": limit}
        result = await self._json("POST", f"/{kind}/select/range?query_type=tql", json=body)
        return result or {"total": 0, "result": []}

    async def iter_range(self, kind: str, *, where: str = "", since: datetime | None = None,
                         until: datetime | None = None) -> AsyncIterator[list[dict[str, Any]]]:
        """Every `kind` document in [since, until], page by page, never asking past the 10,000 window.

        A window whose `total` reaches 10,000 (which means "at least") is split in two; a one-second window
        that is still too big is split by id prefix. Windows overlap at their edges: callers dedupe by id.
        """
        lo = (since or EARLIEST).replace(microsecond=0)
        hi = (until or datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0) + timedelta(seconds=1)
        stack: list[tuple[datetime, datetime, str]] = [(lo, hi, "")]
        while stack:
            a, b, prefix = stack.pop()
            clause = " AND ".join(x for x in (f"({where})" if where else "",
                                              f"id = {_quote(prefix + '*')}" if prefix else "") if x)
            first = await self._range_page(kind, a, b, clause, 0, self.page_size)
            total = int(first.get("total") or 0)
            if total >= PAGE_LIMIT:
                if b - a > timedelta(seconds=1):
                    mid = (a + (b - a) / 2).replace(microsecond=0)
                    stack.extend([(mid, b, prefix), (a, mid, prefix)])
                else:
                    stack.extend((a, b, prefix + c) for c in _ID_CHARS)
                continue
            if first.get("result"):
                yield first["result"]
            start = self.page_size
            while start < total:
                page = await self._range_page(kind, a, b, clause, start, min(self.page_size, PAGE_LIMIT - start))
                if not page.get("result"):
                    break
                yield page["result"]
                start += self.page_size

    async def iter_profiles(self, report: ReadReport | None = None, *, where: str = "",
                            since: datetime | None = None, catch_up: bool = True) -> AsyncIterator[Profile]:
        """All profiles (optionally inserted/updated since a time), deduplicated by id, normalised.

        A read takes time and Tracardi keeps writing: on 1.x a profile saved during the read jumps to the
        front of the update-time order, past pages already read, and a merge during the read changes the
        survivor. So a full read ends with a catch-up pass over what changed since it started, re-yielding a
        profile only when it is newer than the copy already yielded.
        """
        report = report or ReadReport()
        started = datetime.now(UTC)
        seen: dict[str, datetime | None] = {}
        async for p in self._profiles_once(report, where=where, since=since, seen=seen):
            yield p
        if not catch_up:
            return
        info = await self.server_info()
        if not info.has_update_time:
            return
        margin = started - timedelta(minutes=5)
        if info.range_sorts_by_update:
            more = self._profiles_once(report, where=where, since=margin, seen=seen)
        else:
            stamp = margin.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
            clause = f"metadata.time.update >= {_quote(stamp)}"
            more = self._profiles_once(report, where=f"({where}) AND {clause}" if where else clause,
                                       since=since, seen=seen)
        async for p in more:
            yield p

    async def _profiles_once(self, report: ReadReport, *, where: str, since: datetime | None,
                             seen: dict[str, datetime | None]) -> AsyncIterator[Profile]:
        async for page in self.iter_range("profile", where=where, since=since):
            for raw in page:
                pid = raw.get("id") if isinstance(raw, dict) else None
                if pid in seen and seen[pid] is None:
                    continue
                try:
                    profile = parse_profile(raw, location="tracardi profile")
                except RecordError as err:
                    self._report(report, err)
                    continue
                if profile.id in seen and (profile.updated_at is None or seen[profile.id] is None
                                           or profile.updated_at <= seen[profile.id]):  # type: ignore[operator]
                    continue
                if profile.id not in seen:
                    report.profiles += 1
                seen[profile.id] = profile.updated_at
                yield profile

    async def iter_updated_since(self, watermark: datetime | None, report: ReadReport | None = None, *,
                                 margin: timedelta = timedelta(minutes=5)) -> AsyncIterator[Profile]:
        """Profiles changed since `watermark` (minus an overlap margin for Elasticsearch's refresh delay).

        1.x filters its range endpoint on update time; 0.8.1-0.9 need a TQL condition on
        `metadata.time.update`; 0.7/0.8.0 have no update time, so the read becomes a full resync.
        """
        report = report or ReadReport()
        report.started_at = datetime.now(UTC)
        info = await self.server_info()
        if watermark is None or not info.has_update_time:
            report.full_resync = True
            async for p in self.iter_profiles(report):
                yield p
            return
        since = watermark - margin
        if info.range_sorts_by_update:
            gen = self.iter_profiles(report, since=since)
        else:
            stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
            gen = self.iter_profiles(report, where=f"metadata.time.update >= {_quote(stamp)}")
        async for p in gen:
            if p.updated_at is None or p.updated_at >= since:
                yield p

    # ------------------------------------------------------------------ events
    async def events_of(self, profile_ids: Sequence[str], report: ReadReport | None = None,
                        ) -> dict[str, list[Event]]:
        """The whole event history of each profile, oldest first, in as few requests as possible.

        Ids go out in OR-batches; a batch whose total reaches the 10,000 cap is split, and a single profile
        with 10,000+ events is read through the windowed range endpoint.
        """
        report = report or ReadReport()
        out: dict[str, list[Event]] = {pid: [] for pid in profile_ids}
        pending = [list(profile_ids[i:i + self.event_batch]) for i in range(0, len(profile_ids), self.event_batch)]
        while pending:
            batch = pending.pop()
            if not batch:
                continue
            where = " OR ".join(f"profile.id = {_quote(pid)}" for pid in batch)
            body = await self._json("POST", "/event/select?query_type=tql", json={"where": where, "limit": PAGE_LIMIT})
            body = body or {"total": 0, "result": []}
            if int(body.get("total") or 0) >= PAGE_LIMIT:
                if len(batch) > 1:
                    half = len(batch) // 2
                    pending.extend([batch[:half], batch[half:]])
                    continue
                docs: list[dict[str, Any]] = []
                async for page in self.iter_range("event", where=where):
                    docs.extend(page)
            else:
                docs = body.get("result") or []
            seen: set[str] = set()
            for raw in docs:
                try:
                    ev = parse_event(raw, location="tracardi event")
                except RecordError as err:
                    self._report(report, err)
                    continue
                if ev.id in seen or ev.profile_id not in out:
                    continue
                seen.add(ev.id)
                out[ev.profile_id].append(ev)
                report.events += 1
        for events in out.values():
            events.sort(key=lambda e: (e.time, e.id))
        return out

    async def with_events(self, profiles: AsyncIterator[Profile], report: ReadReport | None = None,
                          unchanged: Callable[[list[Profile]], Awaitable[set[str]]] | None = None,
                          ) -> AsyncIterator[ProfileWithEvents]:
        """Attach each profile's history; up to `concurrency` event batches are in flight at once.

        `unchanged` names the profiles of a batch that the caller already holds exactly as they are: their
        events are not read (the item says `unchanged`), which makes an unchanged re-sync cheap."""
        report = report or ReadReport()
        sem = asyncio.Semaphore(self.concurrency)
        queue: asyncio.Queue[asyncio.Task[list[ProfileWithEvents]] | None] = asyncio.Queue(self.concurrency)

        async def load(batch: list[Profile]) -> list[ProfileWithEvents]:
            async with sem:
                same = await unchanged(batch) if unchanged is not None else set()
                active = [p.id for p in batch if p.active and p.id not in same]
                events = await self.events_of(active, report) if active else {}
            return [ProfileWithEvents(profile=p, events=events.get(p.id, []), unchanged=p.id in same) for p in batch]

        async def produce() -> None:
            batch: list[Profile] = []
            try:
                async for p in profiles:
                    batch.append(p)
                    if len(batch) >= self.event_batch:
                        await queue.put(asyncio.create_task(load(batch)))
                        batch = []
                if batch:
                    await queue.put(asyncio.create_task(load(batch)))
            finally:
                await queue.put(None)

        producer = asyncio.create_task(produce())
        try:
            while (task := await queue.get()) is not None:
                for item in await task:
                    yield item
            await producer  # re-raise a failure of the profile reader
        finally:
            producer.cancel()

    # ------------------------------------------------------------------ one profile
    async def get_profile(self, profile_id: str) -> ProfileLookup:
        """Read one profile, resolving merges: a different id in the answer means "merged into"; 0.7's
        `metadata.merged_with` chains are followed (inactive duplicates still exist there)."""
        current = profile_id
        for _ in range(16):
            raw = await self._json("GET", f"/profile/{current}")
            if raw is None:
                return ProfileLookup(profile_id, None)
            profile = parse_profile(raw, location=f"GET /profile/{current}")
            if profile.merged_with and profile.merged_with != profile.id and not profile.active:
                current = profile.merged_with
                continue
            return ProfileLookup(profile_id, profile)
        raise TracardiError(f"merge chain from {profile_id} is longer than 16 hops (a cycle?)")

    async def lookup_many(self, profile_ids: Sequence[str], chunk: int = 200) -> dict[str, Profile | None]:
        """Resolve many ids at once (`id = X OR ids = X ...`): asked id -> its profile or merge survivor, or None.
        0.7 has no `ids`: an id found inactive with `merged_with` is followed with `get_profile`."""
        out: dict[str, Profile | None] = {}
        for i in range(0, len(profile_ids), chunk):
            part = list(profile_ids[i:i + chunk])
            where = " OR ".join(f"id = {_quote(p)} OR ids = {_quote(p)}" for p in part)
            body = await self._json("POST", "/profile/select?query_type=tql", json={"where": where, "limit": PAGE_LIMIT})
            found: dict[str, Profile] = {}
            for raw in (body or {}).get("result") or []:
                try:
                    prof = parse_profile(raw, location="tracardi profile")
                except RecordError:
                    continue
                for key in {prof.id, *prof.ids}:
                    # the newest document wins when two claim an id (0.8.2+ behaviour of GET /profile)
                    if key not in found or (prof.changed_at or EARLIEST) > (found[key].changed_at or EARLIEST):
                        found[key] = prof
            for p in part:
                hit: Profile | None = found.get(p)
                if hit is not None and hit.merged_with and not hit.active:
                    hit = (await self.get_profile(p)).profile
                out[p] = hit
        return out

    async def get_events(self, profile_id: str) -> list[Event]:
        return (await self.events_of([profile_id]))[profile_id]

    # ------------------------------------------------------------------ writing (used by write-back)
    async def track(self, source_id: str, profile_id: str, events: list[dict[str, Any]]) -> dict[str, Any]:
        body = {"source": {"id": source_id}, "profile": {"id": profile_id}, "context": {}, "properties": {},
                "request": {}, "options": {}, "events": events}
        resp = await self._send("POST", "/track", json=body, auth=False)
        if resp.status_code >= 400:
            raise TracardiRequestError(f"POST /track: HTTP {resp.status_code}: {resp.text[:300]}",
                                       status=resp.status_code)
        return dict(resp.json())
