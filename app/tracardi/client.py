"""Async client for Tracardi's REST API (0.7.x to 1.x), following tracardi-api.md (section 0 first).

One `httpx.AsyncClient` is passed in (its transport is injectable, so tests run it against the emulator);
this class owns login and token caching, the `X-Context` header, bounded retries with backoff, the server's
version and its capabilities (`app/tracardi/versions.py`), and the reading strategies that survive Tracardi's
quirks: time windows and id ranges that stay under the 10,000-record paging limit, incremental reads by
update time AND by new events' insert time, small TQL queries, and merge resolution.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from app.config import TracardiSettings
from app.tracardi.errors import (
    TracardiAuthError,
    TracardiError,
    TracardiForbiddenError,
    TracardiRequestError,
    TracardiUnavailableError,
)
from app.tracardi.schemas import (
    OWN_EVENT_TYPES,
    RecordError,
    parse_event,
    parse_profile,
    shallow_page,
)
from app.tracardi.versions import SUPPORTED, TracardiVersion, TracardiVersionError, parse_version
from profiles.model import Event, Profile, ProfileWithEvents

log = logging.getLogger(__name__)

PAGE_LIMIT = 10_000  # Elasticsearch's max_result_window: nothing comes back past it
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
# Tracardi parses TQL with an Earley parser, synchronously, inside the API worker (LIB
# `tracardi/process_engine/tql/parser.py`): about 0.1 s at 50 terms, 5 s at 200, 52 s at 400, during which
# that worker (/track included) serves nobody else. No query of ours goes past this many terms.
MAX_TQL_TERMS = 50
EVENT_BATCH = MAX_TQL_TERMS  # `profile.id = X OR ...`: one term per profile
LOOKUP_BATCH = MAX_TQL_TERMS // 2  # `id = X OR ids = X`: two terms per profile
# Splitting an over-full one-second window by id range: ASCII-sorted boundaries, one range term each
# (`id BETWEEN "a" AND "b"`), so it works without the 0.8.2+ wildcard and never nests ANDs.
_ID_BOUNDS = sorted("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_")
# Elasticsearch makes new documents searchable about 1 s after a write, and clocks drift: incremental
# reads start this long before the watermark and dedupe the overlap by id.
DEFAULT_MARGIN = timedelta(minutes=5)


@dataclass
class Page:
    """One answer of a select: its records, Tracardi's `total`, and its JSON text."""

    records: list[Any]
    total: int
    text: bytes = b""

    @functools.cached_property
    def shallow(self) -> bool:
        """No record of the page can nest past MAX_DEPTH (`shallow_page`: their nesting need not be walked). Read
        from the text once, and only for pages whose records are parsed."""
        return shallow_page(self.text)


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
    """A TQL string literal. Tracardi strips the quotes and never unescapes (`OP_STRING` in LIB
    `tql/transformer/filter_transformer.py`), so a value holding `"` or `\\` cannot be asked for in TQL."""
    if not _quotable(value):
        raise UnquotableError(value)
    return '"' + value + '"'


def _quotable(value: str) -> bool:
    return '"' not in value and "\\" not in value


class UnquotableError(TracardiError):
    def __init__(self, value: str) -> None:
        super().__init__(f"{value[:80]!r} holds a quote or backslash, which Tracardi's TQL cannot express")
        self.value = value


def tql_terms(where: str) -> int:
    """How many comparisons a where clause holds (what the Earley parser's cost grows with)."""
    return sum(1 for op in _TERM.findall(where) if op)  # quoted strings match with an empty group


_TERM = re.compile(r'(?:"[^"]*")|(>=|<=|!=|=|>|<|\bBETWEEN\b|\bEXISTS\b)')


def _id_range(lo: str | None, hi: str | None) -> str:
    if lo is not None and hi is not None:
        return f"id BETWEEN {_quote(lo)} AND {_quote(hi)}"
    if lo is not None:
        return f"id >= {_quote(lo)}"
    return f"id <= {_quote(hi or '')}"


def _split_ids(lo: str | None, hi: str | None) -> list[tuple[str | None, str | None]]:
    """Cut [lo, hi] (inclusive, None = open) at `lo` + one more character, for every id character.

    The ranges overlap only at their shared bounds (callers dedupe by id) and leave no gap, whatever
    characters the ids hold. An empty answer means the range cannot be cut any finer."""
    stem = lo or ""
    cuts = [stem + c for c in _ID_BOUNDS if (lo is None or stem + c > lo) and (hi is None or stem + c < hi)]
    bounds: list[str | None] = [lo, *cuts, hi]
    return list(zip(bounds, bounds[1:], strict=False)) if cuts else []


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
        event_batch: int = EVENT_BATCH,
        concurrency: int = 4,
        version: str | None = None,
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
        self.event_batch = max(1, min(event_batch, EVENT_BATCH))
        self.concurrency = concurrency
        self.on_error = on_error
        self._token: str | None = None
        self._login_lock = asyncio.Lock()
        self._version: TracardiVersion | None = parse_version(version) if version else None
        self.largest_query = 0  # the most TQL terms one request carried (benchmarks read it)

    @classmethod
    def from_settings(cls, http: httpx.AsyncClient, t: TracardiSettings) -> TracardiClient:
        """The one way the service builds a client (CLI, server, webhook, write-back)."""
        return cls(http, username=t.username, password=t.password, context=t.context, timeout=t.timeout_s,
                   page_size=t.page_size, concurrency=t.concurrency, version=t.version, max_retries=t.retries)

    # ------------------------------------------------------------------ transport
    async def login(self) -> str:
        async with self._login_lock:
            data = {"username": self.username, "password": self.password, "grant_type": "password"}
            try:
                resp = await self._send("POST", "/user/token", data=data, auth=False, retry_500=False)
            except TracardiUnavailableError as exc:
                raise TracardiUnavailableError(f"Tracardi login: {exc}", status=exc.status) from exc
            if resp.status_code == 500:
                # 0.8.1 answers a wrong username or password with an uncaught 500 (API user_endpoint.py)
                raise TracardiAuthError(f"Tracardi login for {self.username} failed with HTTP 500: Tracardi 0.8.1 "
                                        "answers a wrong username or password this way; check "
                                        "PROFILE_AI_TRACARDI__USERNAME/PASSWORD (or the server's log)", status=500)
            if resp.status_code != 200:
                raise TracardiAuthError(f"Tracardi login refused for {self.username} (HTTP {resp.status_code}): "
                                        f"{_detail(resp)}; check PROFILE_AI_TRACARDI__USERNAME/PASSWORD",
                                        status=resp.status_code)
            token = _json_body(resp, "POST /user/token").get("access_token")
            if not isinstance(token, str):
                raise TracardiVersionError("POST /user/token answered without an access_token: not a Tracardi API")
            self._token = token
            return token

    async def _send(self, method: str, path: str, *, auth: bool = True, retry_500: bool = True,
                    **kwargs: Any) -> httpx.Response:
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
            if (resp.status_code >= 500 and (retry_500 or resp.status_code != 500)) or resp.status_code == 429:
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
        """A JSON answer; a 404 with body `null` (a missing record) is None. Any other 4xx is an error."""
        return await self._answer(await self._send(method, path, **kwargs), method, path)

    async def _answer(self, resp: httpx.Response, method: str, path: str) -> Any:
        if resp.status_code == 404 and resp.content.strip() in (b"null", b""):
            return None
        if resp.status_code >= 400:
            raise TracardiRequestError(f"{method} {path}: HTTP {resp.status_code}: {_detail(resp)}",
                                       status=resp.status_code)
        return _json_body(resp, f"{method} {path}")

    async def _select(self, path: str, where: str | None, limit: int) -> Page:
        """`POST /profile|event/select`: the one place a where clause is sent without a range."""
        self._count_terms(where or "")
        return await self._page("POST", f"{path}?query_type=tql", json={"where": where, "limit": limit})

    async def _page(self, method: str, path: str, **kwargs: Any) -> Page:
        """A select's answer as a `Page` (a missing or odd answer is an empty one)."""
        resp = await self._send(method, path, **kwargs)
        body = await self._answer(resp, method, path)
        if not isinstance(body, dict):
            return Page([], 0)
        records = body.get("result") or []
        return Page(records if isinstance(records, list) else [], int(body.get("total") or 0), resp.content)

    def _count_terms(self, where: str) -> None:
        terms = tql_terms(where)
        if terms > MAX_TQL_TERMS:  # a bug of ours, not the caller's: fail before Tracardi stalls on it
            raise TracardiError(f"refusing to send a TQL query of {terms} terms (limit {MAX_TQL_TERMS})")
        self.largest_query = max(self.largest_query, terms)

    def _report(self, report: ReadReport, err: RecordError | str) -> None:
        report.errors.append(str(err))
        log.warning("tracardi: skipped record: %s", err)
        if self.on_error:
            self.on_error(str(err))

    # ------------------------------------------------------------------ server facts
    async def version(self) -> TracardiVersion:
        """The server's release and what it can do, from `GET /info/version` (all versions, no login)."""
        if self._version is None:
            resp = await self._send("GET", "/info/version", auth=False)
            if resp.status_code == 404:
                raise TracardiVersionError("GET /info/version answered 404: this is not a Tracardi API of "
                                           f"a supported version ({SUPPORTED}); check PROFILE_AI_TRACARDI__URL")
            if resp.status_code >= 400:
                raise TracardiVersionError(f"GET /info/version answered HTTP {resp.status_code}: {_detail(resp)}")
            self._version = parse_version(_json_body(resp, "GET /info/version"))
        return self._version

    async def count_profiles(self) -> int:
        body = await self._json("GET", "/profile/count")
        return int((body or {}).get("count", 0))

    async def count_events(self) -> int:
        """Exact, past 10,000: `total` caps there, so a full window is cut in two until each is below it."""
        count = 0
        stack = [(EARLIEST, _horizon().replace(microsecond=0))]
        while stack:
            a, b = stack.pop()
            # The date window is inclusive at both ends and only to the second, so cut windows would share
            # (or skip) their cut second: the where clause makes each one exactly [a, b) by insert time.
            where = f"metadata.time.insert >= {_quote(_stamp(a))} AND metadata.time.insert < {_quote(_stamp(b))}"
            total = (await self._range_page("event", a, b, where, 0, 1)).total
            if total >= PAGE_LIMIT and b - a > timedelta(seconds=1):
                mid = (a + (b - a) / 2).replace(microsecond=0)
                stack.extend([(a, mid), (mid, b)])
            else:
                count += total  # a one-second window of 10,000+ is counted as 10,000: said in the log
                if total >= PAGE_LIMIT:
                    log.warning("tracardi: 10,000+ events in one second at %s: counted as 10,000", a)
        return count

    # ------------------------------------------------------------------ windowed reading
    async def _range_page(self, kind: str, lo: datetime, hi: datetime, where: str, start: int,
                          limit: int) -> Page:
        self._count_terms(where)
        body = {"minDate": _absolute(lo), "maxDate": _absolute(hi), "where": where, "timeZone": None,
                "start": start, "limit": limit}
        return await self._page("POST", f"/{kind}/select/range?query_type=tql", json=body)

    async def iter_range(self, kind: str, *, where: str = "", since: datetime | None = None,
                         until: datetime | None = None) -> AsyncIterator[Page]:
        """Every `kind` document in [since, until], page by page, never asking past the 10,000 window.

        `where` must be one condition (or an OR of conditions on >= 0.8.2): on <= 0.8.1 an AND may hold
        only plain conditions. A window whose `total` reaches 10,000 (which means "at least") is split in
        two; a one-second window that is still too big is split by id range (`id BETWEEN`), which every
        version understands. Windows and ranges overlap at their edges: callers dedupe by id.
        """
        version = await self.version()
        lo = (since or EARLIEST).replace(microsecond=0)
        hi = (until or _horizon()).replace(microsecond=0) + timedelta(seconds=1)
        Range = tuple[datetime, datetime, tuple[str | None, str | None] | None]
        stack: list[Range] = [(lo, hi, None)]
        while stack:
            a, b, ids = stack.pop()
            parts = [where] if where else []
            if ids is not None:
                parts.append(_id_range(*ids))
            if len(parts) > 1 and " OR " in where and not version.nested_and:
                raise TracardiError(f"Tracardi {version} would read ({where}) AND ... as one conjunction")
            clause = " AND ".join(f"({p})" if " OR " in p else p for p in parts)
            first = await self._range_page(kind, a, b, clause, 0, self.page_size)
            total = first.total
            if total >= PAGE_LIMIT:
                if b - a > timedelta(seconds=1):
                    mid = (a + (b - a) / 2).replace(microsecond=0)
                    stack.extend([(mid, b, ids), (a, mid, ids)])
                    continue
                finer = _split_ids(*(ids or (None, None)))
                if not finer:
                    raise TracardiError(f"10,000+ {kind}s in one second at {a} with ids in {ids}: cannot split")
                stack.extend((a, b, r) for r in reversed(finer))
                continue
            if first.records:
                yield first
            start = self.page_size
            while start < total:
                page = await self._range_page(kind, a, b, clause, start, min(self.page_size, PAGE_LIMIT - start))
                if not page.records:
                    break
                yield page
                start += self.page_size

    async def iter_profiles(self, report: ReadReport | None = None, *, updated_since: datetime | None = None,
                            since: datetime | None = None, catch_up: bool = True) -> AsyncIterator[Profile]:
        """All profiles (optionally inserted since / updated since a time), deduplicated by id, normalised.

        A read takes time and Tracardi keeps writing: on 1.x a profile saved during the read jumps to the
        front of the update-time order, past pages already read, and a merge during the read changes the
        survivor. So a read ends with a catch-up pass over what changed since it started, re-yielding a
        profile only when it is newer than the copy already yielded.
        """
        report = report or ReadReport()
        started = datetime.now(UTC)
        version = await self.version()
        seen: dict[str, datetime | None] = {}
        async for p in self._profiles_once(report, updated_since=updated_since, since=since, seen=seen):
            yield p
        if not catch_up or not version.has_update_time:
            return
        margin = max(started - DEFAULT_MARGIN, updated_since or EARLIEST)
        async for p in self._profiles_once(report, updated_since=margin, since=None, seen=seen):
            yield p

    async def _profiles_once(self, report: ReadReport, *, updated_since: datetime | None, since: datetime | None,
                             seen: dict[str, datetime | None]) -> AsyncIterator[Profile]:
        version = await self.version()
        where = ""
        if updated_since is not None:
            if version.range_filters_update_time:  # 1.x: the range itself is on update time
                since = max(since or EARLIEST, updated_since)
            else:  # one condition, so the id-range split can still be ANDed to it on <= 0.8.1
                where = f"metadata.time.update >= {_quote(_stamp(updated_since))}"
        async for page in self.iter_range("profile", where=where, since=since):
            for raw in page.records:
                pid = raw.get("id") if isinstance(raw, dict) else None
                if pid in seen and seen[pid] is None:
                    continue
                try:
                    profile = parse_profile(raw, location="tracardi profile", shallow=page.shallow)
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
                                 margin: timedelta = DEFAULT_MARGIN) -> AsyncIterator[Profile]:
        """Profiles changed since `watermark` (minus an overlap margin for Elasticsearch's refresh delay).

        1.x filters its range endpoint on update time; 0.8.1-0.9 need a TQL condition on
        `metadata.time.update`; 0.7/0.8.0 have no update time, so the read becomes a full resync.
        Update time moves only when the profile itself changes, NOT with every event: callers also read
        `profiles_with_events_since` to find profiles whose history grew.
        """
        report = report or ReadReport()
        report.started_at = datetime.now(UTC)
        version = await self.version()
        if watermark is None or not version.has_update_time:
            report.full_resync = True
            async for p in self.iter_profiles(report):
                yield p
            return
        since = watermark - margin
        async for p in self.iter_profiles(report, updated_since=since):
            if p.updated_at is None or p.updated_at >= since:
                yield p

    # ------------------------------------------------------------------ events
    async def profiles_with_events_since(self, since: datetime) -> set[str]:
        """Ids of the profiles that gained events inserted at or after `since` (profile-ai's own write-back
        events excluded): the events a profile's update time does not announce."""
        out: set[str] = set()
        async for page in self.iter_range("event", since=since):
            for raw in page.records:
                if not isinstance(raw, dict) or raw.get("type") in OWN_EVENT_TYPES:
                    continue
                pid = (raw.get("profile") or {}).get("id") if isinstance(raw.get("profile"), dict) else None
                if isinstance(pid, str) and pid:
                    out.add(pid)
        return out

    async def events_of(self, profile_ids: Sequence[str], report: ReadReport | None = None,
                        ) -> dict[str, list[Event]]:
        """The whole event history of each profile, oldest first, profile-ai's own events left out.

        Ids go out in OR-batches of at most MAX_TQL_TERMS; a batch whose total reaches the 10,000 cap is
        split, and a single profile with 10,000+ events is read through the windowed range endpoint."""
        report = report or ReadReport()
        out: dict[str, list[Event]] = {pid: [] for pid in profile_ids}
        askable = [pid for pid in profile_ids if _quotable(pid)]
        for pid in profile_ids:
            if not _quotable(pid):
                self._report(report, f"events of profile {pid!r} not read: {UnquotableError(pid)}")
        step = self.event_batch
        pending = [askable[i:i + step] for i in range(0, len(askable), step)]
        while pending:
            batch = pending.pop()
            if not batch:
                continue
            where = " OR ".join(f"profile.id = {_quote(pid)}" for pid in batch)
            body = await self._select("/event/select", where, PAGE_LIMIT)
            if body.total >= PAGE_LIMIT:
                if len(batch) > 1:
                    half = len(batch) // 2
                    pending.extend([batch[:half], batch[half:]])
                    continue
                docs: list[dict[str, Any]] = []
                shallow = True
                async for page in self.iter_range("event", where=where):
                    docs.extend(page.records)
                    shallow = shallow and page.shallow
            else:
                docs, shallow = body.records, body.shallow
            seen: set[str] = set()
            for raw in docs:
                try:
                    ev = parse_event(raw, location="tracardi event", shallow=shallow)
                except RecordError as err:
                    self._report(report, err)
                    continue
                if ev.id in seen or ev.profile_id not in out or ev.type in OWN_EVENT_TYPES:
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
        started: list[asyncio.Task[list[ProfileWithEvents]]] = []

        async def load(batch: list[Profile]) -> list[ProfileWithEvents]:
            async with sem:
                same = await unchanged(batch) if unchanged is not None else set()
                active = [p.id for p in batch if p.active and p.id not in same]
                events = await self.events_of(active, report) if active else {}
            return [ProfileWithEvents(profile=p, events=events.get(p.id, []), unchanged=p.id in same) for p in batch]

        def spawn(batch: list[Profile]) -> asyncio.Task[list[ProfileWithEvents]]:
            task = asyncio.create_task(load(batch))
            started.append(task)
            return task

        async def produce() -> None:
            batch: list[Profile] = []
            try:
                async for p in profiles:
                    batch.append(p)
                    if len(batch) >= self.event_batch:
                        await queue.put(spawn(batch))
                        batch = []
                if batch:
                    await queue.put(spawn(batch))
            finally:
                await queue.put(None)

        producer = asyncio.create_task(produce())
        try:
            while (task := await queue.get()) is not None:
                for item in await task:
                    yield item
            await producer  # re-raise a failure of the profile reader
        finally:
            # one failure ends the read: stop and collect every sibling, so none dies unobserved
            for t in (producer, *started):
                t.cancel()
            await asyncio.gather(producer, *started, return_exceptions=True)

    # ------------------------------------------------------------------ one profile
    async def get_profile(self, profile_id: str) -> ProfileLookup:
        """Read one profile, resolving merges: a different id in the answer means "merged into"; 0.7's
        `metadata.merged_with` chains are followed (inactive duplicates still exist there)."""
        current = profile_id
        for _ in range(16):
            raw = await self._json("GET", f"/profile/{quote(current, safe='')}")
            if raw is None:
                return ProfileLookup(profile_id, None)
            profile = parse_profile(raw, location=f"GET /profile/{current}")
            if profile.merged_with and profile.merged_with != profile.id and not profile.active:
                current = profile.merged_with
                continue
            return ProfileLookup(profile_id, profile)
        raise TracardiError(f"merge chain from {profile_id} is longer than 16 hops (a cycle?)")

    async def lookup_many(self, profile_ids: Sequence[str], chunk: int = LOOKUP_BATCH) -> dict[str, Profile | None]:
        """Resolve many ids at once (`id = X OR ids = X ...`, at most MAX_TQL_TERMS terms a query):
        asked id -> its profile or merge survivor, or None. 0.7 has no `ids`: an id found inactive with
        `merged_with` is followed with `get_profile`, and so is an id TQL cannot quote."""
        out: dict[str, Profile | None] = {}
        chunk = max(1, min(chunk, LOOKUP_BATCH))
        askable = [pid for pid in profile_ids if _quotable(pid)]
        for pid in profile_ids:
            if not _quotable(pid):
                out[pid] = (await self.get_profile(pid)).profile
        for i in range(0, len(askable), chunk):
            part = askable[i:i + chunk]
            where = " OR ".join(f"id = {_quote(p)} OR ids = {_quote(p)}" for p in part)
            body = await self._select("/profile/select", where, PAGE_LIMIT)
            found: dict[str, Profile] = {}
            for raw in body.records:
                try:
                    prof = parse_profile(raw, location="tracardi profile", shallow=body.shallow)
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
        """Send events for one profile. The session id is stable per profile (uuid5 of its id): without one,
        0.8.2+ makes a throwaway session for every call (LIB `tracardi/service/tracking/session_loading.py`),
        and a session id shared across profiles would win over `profile.id`."""
        body = {"source": {"id": source_id}, "session": {"id": session_id_for(profile_id)},
                "profile": {"id": profile_id}, "context": {}, "properties": {}, "request": {}, "options": {},
                "events": events}
        resp = await self._send("POST", "/track", json=body, auth=False)
        if resp.status_code >= 400:
            raise TracardiRequestError(f"POST /track: HTTP {resp.status_code}: {_detail(resp)}",
                                       status=resp.status_code)
        return dict(_json_body(resp, "POST /track"))


SESSION_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "profile-ai/tracardi/session")


def session_id_for(profile_id: str) -> str:
    return str(uuid.uuid5(SESSION_NAMESPACE, profile_id))


def _stamp(dt: datetime) -> str:
    """A time as TQL compares it: UTC to the second, without an offset (pre-0.8.2 stores naive UTC)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _horizon() -> datetime:
    return datetime.now(UTC) + timedelta(days=1)


def _detail(resp: httpx.Response) -> str:
    """A short, printable reason from an error answer (JSON `detail`, else the start of the text)."""
    try:
        body = orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        return "an HTML page, not JSON" if _is_html(resp) else resp.text.strip()[:200]
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])[:300]
    return str(body)[:300]


def _is_html(resp: httpx.Response) -> bool:
    return resp.text.lstrip().lower().startswith(("<!doctype", "<html"))


def _json_body(resp: httpx.Response, what: str) -> Any:
    try:
        return orjson.loads(resp.content)
    except orjson.JSONDecodeError as exc:
        kind = "an HTML page" if _is_html(resp) else "non-JSON"
        raise TracardiVersionError(f"{what} answered {kind} (HTTP {resp.status_code}): is "
                                   "PROFILE_AI_TRACARDI__URL the Tracardi API (port 8686), not the GUI or a proxy "
                                   "page?") from exc
