"""An ASGI app that speaks Tracardi's REST API (tracardi-api.md sections 2-8), quirks included.

It is the one stand-in of the test suite (Tracardi needs Elasticsearch), so it is strict where Tracardi is:
form login with a fixed token per user and 30 idle minutes of life (controllable clock), 401/403/404 with
their real bodies, paging that silently returns nothing past 10,000 records with `total` capped at 10,000,
TQL/Lucene `where`, merges that delete the absorbed profiles, `/track` with event-to-profile mappings that
skip zero/false values, destinations pushing to a URL, and a switch between the 0.7 ... 1.x shapes.
Fault injection (5xx bursts, delays, connection resets, token expiry) drives the client's error paths.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from fastapi import Body, FastAPI, Form, Header, Request
from fastapi.responses import JSONResponse, Response

from tests.tracardi_emulator.shapes import LABELS, VERSIONS, render_event, render_profile, to_canonical
from tests.tracardi_emulator.tql import (
    Dialect,
    QueryError,
    compile_query,
    count_terms,
    equality_values,
    is_pure_equality,
    pure_equality_values,
)

PAGE_LIMIT = 10_000
TOKEN_TTL = timedelta(minutes=30)
# Tracardi parses TQL with an Earley parser inside the API worker: about 5 s at 200 terms and 52 s at 400, so a
# client past its time-out sees nothing come back. The emulator refuses such a query the same way.
MAX_WHERE_TERMS = 60
REST_BRIDGE_ID = "778ded05-4ff3-4e08-9a86-72c0195fa95d"  # LIB tracardi/service/setup/data/defaults.py
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _json(content: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(content, default=str), status_code=status, media_type="application/json")


def _parse_iso(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


class Clock:
    """A controllable clock: starts at the real time, moves only when told to (or follows real time)."""

    def __init__(self, start: datetime | None = None, frozen: bool = False) -> None:
        self._offset = timedelta(0)
        self._frozen_at = start if frozen else None
        if start is not None and not frozen:
            self._offset = start - datetime.now(UTC)

    def now(self) -> datetime:
        if self._frozen_at is not None:
            return self._frozen_at + self._offset
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> None:
        self._offset += timedelta(seconds=seconds)


@dataclass
class Faults:
    """Faults to inject into the next requests (counted down as they fire)."""

    status_burst: int = 0
    status_code: int = 503
    delay_burst: int = 0
    delay_s: float = 0.0
    reset_burst: int = 0
    path_prefix: str = ""  # only requests whose path starts with this
    requests: int = 0  # every request seen
    fired: int = 0


@dataclass
class Dataset:
    """One context's data (production and staging are separate indices in Tracardi)."""

    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    rendered: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    events_rendered: dict[str, dict[str, Any]] = field(default_factory=dict)
    event_time: dict[str, datetime] = field(default_factory=dict)
    events_by_profile: dict[str, set[str]] = field(default_factory=dict)
    by_any_id: dict[str, set[str]] = field(default_factory=dict)  # every entry of `ids` -> profile ids (ES term index)
    _profile_order: list[tuple[datetime, str]] | None = None
    _event_order: list[tuple[datetime, str]] | None = None


class QueryTooCostly(QueryError):
    """A where clause Tracardi would still be parsing when the client gives up."""


class TracardiEmulator:
    def __init__(
        self,
        version: str = "1.x",
        *,
        clock: Clock | None = None,
        users: dict[str, dict[str, Any]] | None = None,
        expose_gui_api: bool = True,
        production: bool = False,
        push_client: httpx.AsyncClient | None = None,
        enable_profile_destinations: bool = False,
    ) -> None:
        if version not in VERSIONS:
            raise ValueError(f"unknown Tracardi version {version}; one of {sorted(VERSIONS)}")
        self.version = version
        self.v = VERSIONS[version]
        self.clock = clock or Clock()
        self.users = users or {
            "admin@profile.ai": {"id": "u-admin", "password": "admin", "roles": ["admin"]},
            "marketer@profile.ai": {"id": "u-mkt", "password": "marketer", "roles": ["marketer"]},
        }
        self.expose_gui_api = expose_gui_api
        self.production = production
        self.tokens: dict[str, tuple[str, datetime]] = {}
        self.data: dict[str, Dataset] = {"production": Dataset(), "staging": Dataset()}
        self.sources: dict[str, dict[str, Any]] = {}
        self.mappings: dict[str, dict[str, Any]] = {}
        self.resources: dict[str, dict[str, Any]] = {}
        self.destinations: dict[str, dict[str, Any]] = {}
        self.outbox: list[dict[str, Any]] = []  # destination pushes, as sent
        self.push_client = push_client
        # ENABLE_PROFILE_DESTINATIONS (0.8.1+, default no: LIB tracardi/config.py); before 0.8.1 they always fire
        self.enable_profile_destinations = enable_profile_destinations or self.v < (0, 8, 1)
        self.sessions: set[str] = set()  # session ids Tracardi has saved (a new one is a visit)
        self.version_label: Any = LABELS[version]  # what GET /info/version answers (tests may break it)
        self.max_terms = 0  # the largest where clause (in terms) any request carried
        self.faults = Faults()
        self.calls: list[tuple[str, str]] = []
        self.app = _FaultMiddleware(self, self._build())

    # ------------------------------------------------------------------ data helpers (test side)
    def dataset(self, context: str = "production") -> Dataset:
        return self.data[context]

    def time_key(self, doc: dict[str, Any]) -> datetime:
        t = (doc.get("metadata") or {}).get("time") or {}
        keys = ("update", "insert", "create") if self.v >= (1, 0, 0) else ("insert",)
        for k in keys:
            dt = _parse_iso(t.get(k))
            if dt is not None:
                return dt
        return EPOCH

    def put_profile(self, doc: dict[str, Any], context: str = "production") -> None:
        ds = self.data[context]
        canon = to_canonical(doc)
        old = ds.profiles.get(canon["id"])
        for i in (old or {}).get("ids") or []:
            ds.by_any_id.get(i, set()).discard(canon["id"])
        for i in {canon["id"], *(canon.get("ids") or [])}:
            ds.by_any_id.setdefault(i, set()).add(canon["id"])
        ds.profiles[canon["id"]] = canon
        ds.rendered[canon["id"]] = render_profile(canon, self.version)
        ds._profile_order = None

    def put_event(self, doc: dict[str, Any], context: str = "production") -> None:
        ds = self.data[context]
        old = ds.events.get(doc["id"])
        if old is not None:
            ds.events_by_profile.get(str((old.get("profile") or {}).get("id")), set()).discard(doc["id"])
        ds.events[doc["id"]] = doc
        ds.events_rendered[doc["id"]] = {**render_event(doc, self.version), "id": doc["id"]}
        ds.event_time[doc["id"]] = _parse_iso(((doc.get("metadata") or {}).get("time") or {}).get("insert")) or EPOCH
        pid = (doc.get("profile") or {}).get("id")
        if pid:
            ds.events_by_profile.setdefault(pid, set()).add(doc["id"])
        ds._event_order = None

    def seed(self, profiles: Iterable[dict[str, Any]], events: Iterable[dict[str, Any]] = (),
             context: str = "production") -> None:
        for p in profiles:
            self.put_profile(p, context)
        for e in events:
            self.put_event(e, context)

    def seed_from_export(self, directory: Path, context: str = "production") -> None:
        def lines(name: str) -> Iterable[dict[str, Any]]:
            with open(directory / name, encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        yield json.loads(line)

        self.seed(lines("profiles.ndjson"), lines("events.ndjson"), context)

    def touch(self, profile_id: str, traits: dict[str, Any] | None = None, context: str = "production") -> None:
        """A profile saved by Tracardi (a visit, a workflow): update time moves to now."""
        ds = self.data[context]
        doc = ds.profiles[profile_id]
        if traits:
            doc.setdefault("traits", {}).update(traits)
        doc["metadata"]["time"]["update"] = self.clock.now().isoformat()
        self.put_profile(doc, context)

    def delete_profile(self, profile_id: str, context: str = "production") -> None:
        ds = self.data[context]
        old = ds.profiles.pop(profile_id, None)
        for i in {profile_id, *((old or {}).get("ids") or [])}:
            ds.by_any_id.get(i, set()).discard(profile_id)
        ds.rendered.pop(profile_id, None)
        ds._profile_order = None

    def merge(self, survivor: str, absorbed: list[str], context: str = "production") -> None:
        """Tracardi's merge: 0.8.0+ deletes the duplicates, appends their ids to the survivor's `ids` and
        re-points their events; 0.7 keeps them inactive with `metadata.merged_with`."""
        ds = self.data[context]
        target = ds.profiles[survivor]
        for pid in absorbed:
            dup = ds.profiles[pid]
            for eid in list(ds.events_by_profile.get(pid, ())):
                ev = ds.events[eid]
                ev["profile"] = {**(ev.get("profile") or {}), "id": survivor}
                self.put_event(ev, context)
            ds.events_by_profile.pop(pid, None)
            if self.v >= (0, 8, 0):
                for i in dup.get("ids") or [pid]:
                    if i not in target["ids"]:
                        target["ids"].append(i)
                self.delete_profile(pid, context)
            else:
                dup["active"] = False
                dup["metadata"]["merged_with"] = survivor
                self.put_profile(dup, context)
        target["metadata"]["time"]["update"] = self.clock.now().isoformat()
        self.put_profile(target, context)

    def expire_tokens(self) -> None:
        self.tokens.clear()

    # ------------------------------------------------------------------ internals
    def _context(self, header: str | None) -> str:
        if self.v < (0, 8, 0) or self.production:
            return "production"
        return "production" if (header or "").strip().lower() == "production" else "staging"

    def _auth(self, authorization: str | None, roles: tuple[str, ...]) -> Response | None:
        if not authorization or not authorization.lower().startswith("bearer "):
            return _json({"detail": "Not authenticated"}, 401)
        token = authorization.split(" ", 1)[1].strip()
        now = self.clock.now()
        entry = self.tokens.get(token)
        if entry is None or now - entry[1] > TOKEN_TTL:
            self.tokens.pop(token, None)
            return _json({"detail": "Invalid authentication credentials"}, 401)
        user_id = entry[0]
        self.tokens[token] = (user_id, now)  # each authorised call renews the TTL
        user = next(u for u in self.users.values() if u["id"] == user_id)
        if not set(user["roles"]) & set(roles):
            return _json({"detail": "Invalid authentication credentials"}, 401)
        if not self.expose_gui_api:
            return _json({"detail": "Access forbidden"}, 403)
        return None

    def _date(self, value: Any) -> datetime:
        now = self.clock.now()
        if not isinstance(value, dict):
            return now
        if isinstance(value.get("absolute"), dict):
            a = value["absolute"]
            keys = ("year", "month", "date", "hour", "minute", "second", "meridiem")
            if any(a.get(k) is None for k in keys):
                return now
            hour = int(a["hour"])
            if str(a["meridiem"]).upper() == "PM" and hour < 12:
                hour += 12
            return datetime(int(a["year"]), int(a["month"]), int(a["date"]), hour, int(a["minute"]),
                            int(a["second"]), tzinfo=UTC)
        if isinstance(value.get("delta"), dict):
            d = value["delta"]
            unit = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800,
                    "month": 2592000, "year": 31536000}.get(str(d.get("entity")).rstrip("s"), 86400)
            return now + timedelta(seconds=float(d.get("value") or 0) * unit)
        return now

    def _where(self, where: Any, request: Request) -> Any:
        lucene = self.v < (0, 8, 2) and request.query_params.get("query_type") != "tql"
        if lucene:
            return self._costly(compile_query(where, lucene=True))
        dialect = Dialect(wildcard=self.v >= (0, 8, 2), nested_and=self.v >= (0, 8, 2))
        try:
            return self._costly(compile_query(where, dialect=dialect))
        except QueryTooCostly:
            raise
        except QueryError:
            if self.v < (0, 8, 2):
                raise
            return self._costly(compile_query(where, lucene=True))  # 0.8.2+: Lucene on a TQL parse error

    def _costly(self, pred: Any) -> Any:
        self.max_terms = max(self.max_terms, count_terms(pred))
        if count_terms(pred) > MAX_WHERE_TERMS:
            raise QueryTooCostly(f"{count_terms(pred)} terms")
        return pred

    def _profile_order(self, ds: Dataset) -> list[tuple[datetime, str]]:
        if ds._profile_order is None:
            ds._profile_order = sorted((self.time_key(d), pid) for pid, d in ds.profiles.items())
        return ds._profile_order

    def _event_order(self, ds: Dataset) -> list[tuple[datetime, str]]:
        if ds._event_order is None:
            ds._event_order = sorted((t, eid) for eid, t in ds.event_time.items())
        return ds._event_order

    def _select(self, kind: str, ds: Dataset, pred: Any, lo: datetime | None, hi: datetime | None,
                ) -> list[dict[str, Any]]:
        """Matching documents, newest first, as Elasticsearch would sort them."""
        if kind == "profile":
            order = self._profile_order(ds)
            docs = ds.rendered
            if is_pure_equality(pred, ("id", "ids")):  # a lookup by ids: the term index answers
                wanted = set().union(*(ds.by_any_id.get(v, set()) for v in pure_equality_values(pred)))
                order = sorted((self.time_key(ds.profiles[i]), i) for i in wanted if i in ds.profiles)
        else:
            order = self._event_order(ds)
            docs = ds.events_rendered  # filters see what the index stores: the version's shape
            hint = equality_values(pred, "profile.id")
            if hint is not None:  # Elasticsearch's term index, in effect
                wanted = set().union(*(ds.events_by_profile.get(p, set()) for p in hint)) if hint else set()
                order = sorted((ds.event_time[i], i) for i in wanted)
                if is_pure_equality(pred, "profile.id"):
                    pred = None
        if lo is not None or hi is not None:
            a = bisect.bisect_left(order, (lo, "")) if lo is not None else 0
            b = bisect.bisect_right(order, (hi, "\uffff")) if hi is not None else len(order)
            window = order[a:b]
        else:
            window = order
        out = []
        for _, i in reversed(window):
            doc = docs[i]
            if pred is None or pred(doc):
                out.append(doc)
        return out

    @staticmethod
    def _page(docs: list[dict[str, Any]], start: int, limit: int) -> dict[str, Any]:
        if start + limit > PAGE_LIMIT:  # the silent loss of Elasticsearch's max_result_window
            return {"total": 0, "result": [], "buckets": []}
        page = [{**d, "id": d["id"]} for d in docs[start:start + limit]]
        return {"total": min(len(docs), PAGE_LIMIT), "result": page, "buckets": []}

    # ------------------------------------------------------------------ the API
    def _build(self) -> FastAPI:  # noqa: C901 - one place that lists the routes, like Tracardi's routers
        api = FastAPI(title=f"Tracardi emulator {self.version}")
        read_roles = ("admin", "developer", "marketer")
        dev_roles = ("admin", "developer")

        @api.post("/user/token")
        async def token(username: str = Form(""), password: str = Form(""), grant_type: str | None = Form(None)):
            user = self.users.get(username)
            if user is None or user["password"] != password:
                if self.v[:3] == (0, 8, 1):  # LoginException not caught (API app/api/user_endpoint.py, 0.8.1)
                    return Response("Internal Server Error", status_code=500, media_type="text/plain")
                detail = "Incorrect username or password."
                if self.v >= (0, 8, 2):  # the prefix arrives in 0.8.2 (API app/api/user_endpoint.py)
                    detail = "Authentication error: " + detail
                return _json({"detail": detail}, 400)
            tok = hashlib.sha1(user["id"].encode()).hexdigest()  # fixed per user, like Tracardi
            self.tokens[tok] = (user["id"], self.clock.now())
            return _json({"access_token": tok, "token_type": "bearer", "roles": user["roles"],
                          "preference": {}})

        @api.get("/info/version")
        async def info_version():  # every version, no login (API app/api/info_endpoint.py)
            return _json(self.version_label)

        @api.post("/user/logout")
        async def logout(authorization: str | None = Header(None)):
            if (denied := self._auth(authorization, read_roles + ("maintainer",))) is not None:
                return denied
            self.tokens.pop(authorization.split(" ", 1)[1].strip(), None)  # type: ignore[union-attr]
            return _json(True)

        @api.get("/profile/count")
        async def profile_count(authorization: str | None = Header(None), x_context: str | None = Header(None)):
            if (denied := self._auth(authorization, read_roles)) is not None:
                return denied
            ds = self.data[self._context(x_context)]
            return _json({"count": len(ds.profiles), "_shards": {"total": 1, "successful": 1}})

        async def _range(kind: str, request: Request, body: dict[str, Any], authorization: str | None,
                         x_context: str | None, page: int | None = None) -> Response:
            if (denied := self._auth(authorization, read_roles)) is not None:
                return denied
            ds = self.data[self._context(x_context)]
            lo, hi = self._date(body.get("minDate")), self._date(body.get("maxDate"))
            if lo >= hi:
                return _json({"detail": "Incorrect time range: minDate must be before maxDate."}, 500)
            try:
                pred = self._where(body.get("where"), request)
            except QueryTooCostly:
                raise httpx.ReadTimeout("Tracardi is still parsing the where clause") from None
            except QueryError as e:
                return _json({"detail": str(e)}, 500)
            start = int(body.get("start") or 0)
            limit = int(body.get("limit") or 25)
            if page is not None:
                limit = 25 if self.v < (0, 9, 0) else limit
                start = page * limit
            return _json(self._page(self._select(kind, ds, pred, lo, hi), start, limit))

        @api.post("/profile/select/range")
        async def profile_range(request: Request, body: dict = Body(...), authorization: str | None = Header(None),
                                x_context: str | None = Header(None)):
            return await _range("profile", request, body, authorization, x_context)

        @api.post("/profile/select/range/page/{page}")
        async def profile_range_page(page: int, request: Request, body: dict = Body(...),
                                     authorization: str | None = Header(None),
                                     x_context: str | None = Header(None)):
            return await _range("profile", request, body, authorization, x_context, page)

        @api.post("/event/select/range")
        async def event_range(request: Request, body: dict = Body(...), authorization: str | None = Header(None),
                              x_context: str | None = Header(None)):
            return await _range("event", request, body, authorization, x_context)

        async def _plain_select(kind: str, request: Request, body: dict[str, Any], authorization: str | None,
                                x_context: str | None) -> Response:
            if (denied := self._auth(authorization, read_roles)) is not None:
                return denied
            ds = self.data[self._context(x_context)]
            limit = int(body.get("limit") or 20)
            if limit > PAGE_LIMIT:
                return _json({"detail": "Result window is too large."}, 500)
            try:
                pred = self._where(body.get("where"), request)
            except QueryTooCostly:
                raise httpx.ReadTimeout("Tracardi is still parsing the where clause") from None
            except QueryError as e:
                return _json({"detail": str(e)}, 500)
            docs = self._select(kind, ds, pred, None, None)
            out = self._page(docs, 0, limit)
            return _json({"total": out["total"], "result": out["result"]})

        @api.post("/profile/select")
        async def profile_select(request: Request, body: dict = Body(...), authorization: str | None = Header(None),
                                 x_context: str | None = Header(None)):
            return await _plain_select("profile", request, body, authorization, x_context)

        @api.post("/event/select")
        async def event_select(request: Request, body: dict = Body(...), authorization: str | None = Header(None),
                               x_context: str | None = Header(None)):
            return await _plain_select("event", request, body, authorization, x_context)

        @api.get("/profiles/top/modified")
        async def top_modified(limit: int = 20, authorization: str | None = Header(None),
                               x_context: str | None = Header(None)):
            if self.v < (0, 9, 0):
                return _json({"detail": "Not Found"}, 404)
            if (denied := self._auth(authorization, read_roles)) is not None:
                return denied
            ds = self.data[self._context(x_context)]
            docs = sorted(ds.rendered.values(),
                          key=lambda d: ((d["metadata"]["time"].get("update") or ""), d["id"]), reverse=True)
            return _json({"total": len(docs), "result": docs[:limit]})

        @api.get("/profile/{profile_id}")
        async def get_profile(profile_id: str, authorization: str | None = Header(None),
                              x_context: str | None = Header(None)):
            if (denied := self._auth(authorization, read_roles)) is not None:
                return denied
            ds = self.data[self._context(x_context)]
            if self.v < (0, 8, 0):
                doc = ds.rendered.get(profile_id)
                return _json(doc, 200) if doc else _json(None, 404)
            hits = [ds.rendered[p] for p in sorted(ds.by_any_id.get(profile_id, ())) if p in ds.rendered]
            if not hits:
                return _json(None, 404)
            if len(hits) > 1 and self.v < (0, 8, 2):
                return _json({"detail": f"Profile {profile_id} has duplicates."}, 500)
            doc = max(hits, key=lambda d: d["metadata"]["time"].get("update") or d["metadata"]["time"].get("insert") or "")
            return _json({**doc, "_meta": {"id": doc["id"], "index": "tracardi-profile"}})

        @api.get("/events/profile/{profile_id}")
        async def events_of_profile(profile_id: str, limit: int = 24, authorization: str | None = Header(None),
                                    x_context: str | None = Header(None)):
            if self.v < (0, 8, 0):
                return _json({"detail": "Not Found"}, 404)
            if (denied := self._auth(authorization, read_roles)) is not None:
                return denied
            ds = self.data[self._context(x_context)]
            docs = self._select("event", ds, compile_query(f'profile.id="{profile_id}"'), None, None)
            return _json({"total": len(docs), "result": docs[:limit]})

        @api.get("/event/{event_id}")
        async def get_event(event_id: str, authorization: str | None = Header(None),
                            x_context: str | None = Header(None)):
            if (denied := self._auth(authorization, read_roles)) is not None:
                return denied
            doc = self.data[self._context(x_context)].events.get(event_id)
            if doc is None:
                return _json(None, 404)
            return _json({"event": render_event(doc, self.version), "_metadata": {"id": event_id, "index": "event"}})

        @api.post("/profiles/import")
        async def profiles_import(body: list = Body(...), authorization: str | None = Header(None),
                                  x_context: str | None = Header(None)):
            if (denied := self._auth(authorization, ("admin",))) is not None:
                return denied
            ctx = self._context(x_context)
            for doc in body:
                self.put_profile(doc, ctx)  # replaces the whole document, no update-time bump
            return _json({"saved": len(body), "errors": [], "ids": [d["id"] for d in body], "index": "profile"})

        def _crud(path: str, store: dict[str, dict[str, Any]],
                  validate: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None,
                  missing: Callable[[str], Response] = lambda _id: _json(None, 404)) -> None:
            @api.post(path, name=f"create{path}")
            async def create(body: dict = Body(...), authorization: str | None = Header(None)):
                if (denied := self._auth(authorization, dev_roles)) is not None:
                    return denied
                if validate is not None and (errors := validate(body)):
                    return _json({"detail": errors}, 422)  # FastAPI's answer to a pydantic model that fails
                item = dict(body)
                item.setdefault("id", str(uuid.uuid4()))
                store[item["id"]] = item
                return _json({"saved": 1, "errors": [], "ids": [item["id"]]})

            @api.get(path + "/{item_id}", name=f"read{path}")
            async def read(item_id: str, authorization: str | None = Header(None)):
                if (denied := self._auth(authorization, dev_roles)) is not None:
                    return denied
                return _json(store[item_id]) if item_id in store else missing(item_id)

            @api.delete(path + "/{item_id}", name=f"delete{path}")
            async def delete(item_id: str, authorization: str | None = Header(None)):
                if (denied := self._auth(authorization, dev_roles)) is not None:
                    return denied
                return _json(store.pop(item_id, None) is not None)

        _crud("/event-source", self.sources, self._validate_source)
        if self.v >= (0, 8, 0):  # no such route at 0.7.4 (API app/api/event_to_profile.py arrives in 0.8.0)
            _crud("/event-to-profile", self.mappings, self._validate_mapping,
                  lambda i: _json({"detail": f"Event to profile coping schema for id {i} not found."}, 404))
        _crud("/resource", self.resources)
        _crud("/destination", self.destinations)

        @api.post("/track")
        async def track(body: dict = Body(...), x_context: str | None = Header(None)):
            return await self._track(body, self._context(x_context))

        return api

    def _validate_source(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """LIB tracardi/domain/event_source.py: 0.7.4 `type: str`, bridge defaulted; 0.8.0+ `type: List[str]`
        (a string is wrapped) and `bridge: NamedEntity` required."""
        errors = []
        kind = body.get("type")
        if self.v < (0, 8, 0) and not isinstance(kind, str):
            errors.append({"loc": ["body", "type"], "msg": "str type expected", "type": "type_error.str"})
        if self.v >= (0, 8, 0):
            if kind is None:
                errors.append({"loc": ["body", "type"], "msg": "field required", "type": "value_error.missing"})
            bridge = body.get("bridge")
            if not isinstance(bridge, dict) or not bridge.get("id") or "name" not in bridge:
                errors.append({"loc": ["body", "bridge"], "msg": "field required", "type": "value_error.missing"})
        return errors

    def _validate_mapping(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """LIB tracardi/domain/event_to_profile.py: 0.8.0 `event_type: str`, 0.8.1+ `event_type: NamedEntity`."""
        et = body.get("event_type")
        if self.v < (0, 8, 1) and not isinstance(et, str):
            return [{"loc": ["body", "event_type"], "msg": "str type expected", "type": "type_error.str"}]
        if self.v >= (0, 8, 1) and not (isinstance(et, dict) and et.get("id")):
            return [{"loc": ["body", "event_type"], "msg": "value is not a valid dict", "type": "type_error.dict"}]
        return []

    def _trait_target(self, path: str) -> str | None:
        """Where a mapping's profile path lands in the canonical document. On 0.7/0.8.0 traits hold only
        `private` and `public` (LIB tracardi/domain/profile_traits.py): `traits.public.x` is the canonical
        `traits.x`, and any other `traits.*` key is dropped when the profile is rebuilt."""
        if self.v >= (0, 8, 1) or not path.startswith("traits."):
            return path
        parts = path.split(".")
        if len(parts) >= 3 and parts[1] in ("public", "private"):
            return ".".join(["traits", *parts[2:]])
        return None

    def ingest(self, body: dict[str, Any], ctx: str = "production") -> tuple[str, list[str], str | None, bool]:
        """What `/track` stores: (profile id, event ids, session id, whether the traits changed).

        Update time moves only when the profile itself changes: a new profile, a new (saved) session, or an
        event-to-profile mapping (which marks the profile updated on every matching event). Events inside an
        existing session leave it alone (LIB 0.8.1 service/tracker_persister.py, 0.8.2
        service/tracking/track_data_computation.py, 0.9 service/tracking/tracker.py). Without a session id
        0.8.2+ make a throwaway session that is not saved and not new (service/tracking/session_loading.py).
        """
        ds = self.data[ctx]
        source = self.sources[(body.get("source") or {})["id"]]
        session: dict[str, Any] = body["session"] if isinstance(body.get("session"), dict) else {}
        session_id = session.get("id") if isinstance(session.get("id"), str) else None
        asked = (body.get("profile") or {}).get("id")
        pid = None
        if asked:
            pid = asked if asked in ds.profiles else next(iter(sorted(ds.by_any_id.get(asked, ()))), None)
        now = self.clock.now().isoformat()
        changed = False
        if pid is None:  # unknown profile id: Tracardi creates a NEW random profile
            pid = str(uuid.uuid4())
            self.put_profile({"id": pid, "ids": [pid], "metadata": {"time": {"insert": now, "create": now,
                              "update": now}}, "traits": {}, "active": True}, ctx)
            changed = True
        doc = ds.profiles[pid]
        if session_id:
            if session_id not in self.sessions:  # a new visit saves the profile
                self.sessions.add(session_id)
                stats = doc.setdefault("stats", {"visits": 0, "views": 0, "counters": {}})
                stats["visits"] = int(stats.get("visits") or 0) + 1
                changed = True
        elif self.v >= (0, 8, 2):
            session_id = str(uuid.uuid4())  # throwaway: created, not saved, not new
        before = json.dumps(doc.get("traits"), sort_keys=True, default=str)
        saved_ids: list[str] = []
        for raw in body.get("events") or []:
            etype = "-".join(str(raw.get("type", "")).lower().split())
            eid = str(uuid.uuid4())
            self.put_event({"id": eid, "type": etype, "metadata": {"time": {"insert": now, "create": now}},
                            "source": {"id": source["id"]}, "profile": {"id": pid},
                            "session": {"id": session_id} if session_id else None,
                            "properties": raw.get("properties") or {}, "context": raw.get("context") or {},
                            "tags": {"values": raw.get("tags") or [], "count": len(raw.get("tags") or [])}}, ctx)
            saved_ids.append(eid)
            for m in self.mappings.values():
                mtype = m.get("event_type")
                mtype = mtype.get("id") if isinstance(mtype, dict) else mtype
                if not m.get("enabled", True) or mtype != etype:
                    continue
                changed = True
                for rule in m.get("event_to_profile") or []:
                    value = _get_dotted({"properties": raw.get("properties") or {}}, rule["event"]["value"])
                    if self.v >= (0, 8, 1) and value in (0, 0.0, False, "", [], {}, None):
                        continue  # the zero/false-skip pitfall
                    target = self._trait_target(rule["profile"]["value"])
                    if target is None:
                        continue
                    if rule.get("op", 0) == 1 and _get_dotted(doc, target) is not None:
                        continue
                    _set_dotted(doc, target, value)
        if changed:
            doc["metadata"]["time"]["update"] = now
        self.put_profile(doc, ctx)
        return pid, saved_ids, session_id, json.dumps(doc.get("traits"), sort_keys=True, default=str) != before

    def track_event(self, profile_id: str, event_type: str, properties: dict[str, Any] | None = None, *,
                    session_id: str | None = None, context: str = "production") -> str:
        """Test side: a customer's event arrives through the collector (source `web`, made on first use)."""
        self.sources.setdefault("web", {"id": "web", "type": ["rest"], "enabled": True})
        _, ids, _, _ = self.ingest({"source": {"id": "web"}, "profile": {"id": profile_id},
                                    "session": {"id": session_id} if session_id else None,
                                    "events": [{"type": event_type, "properties": properties or {}}]}, context)
        return ids[0]

    async def _track(self, body: dict[str, Any], ctx: str) -> Response:
        source = self.sources.get(((body.get("source") or {}).get("id")) or "")
        if source is None or not source.get("enabled", True):
            return _json({"detail": "Invalid event source"}, 401)
        events = body.get("events")
        if not isinstance(events, list) or not events:
            return _json({"detail": [{"loc": ["body", "events"], "msg": "field required"}]}, 422)
        pid, saved_ids, session_id, traits_changed = self.ingest(body, ctx)
        if traits_changed:
            await self._push(self.data[ctx].profiles[pid])
        if self.v < (0, 8, 2):
            return _json({"profile": {"id": pid}, "session": {"id": session_id}, "events": saved_ids})
        return _json({"task": str(uuid.uuid4()), "ux": [], "response": {}, "events": saved_ids,
                      "profile": {"id": pid}, "session": {"id": session_id}, "errors": [], "warnings": []})

    async def _push(self, doc: dict[str, Any]) -> None:
        if not self.enable_profile_destinations:
            return
        for dest in self.destinations.values():
            if not dest.get("enabled", True):
                continue
            resource = self.resources.get(((dest.get("resource") or {}).get("id")) or "")
            if resource is None:
                continue
            mapping = dest.get("mapping") or {"id": "profile@id", "ids": "profile@ids", "traits": "profile@traits"}
            rendered = render_profile(doc, self.version)
            mapped = {k: _get_dotted(rendered, v.split("@", 1)[1]) if isinstance(v, str) and v.startswith("profile@")
                      else v for k, v in mapping.items()}
            payload = mapped if self.v < (0, 9, 0) else {"data": mapped, "changes": []}
            cred = resource.get("credentials") or resource.get("config") or {}
            # the HTTP connector's model defaults to GET; only the GUI's template says POST
            method = str(((dest.get("destination") or {}).get("init") or {}).get("method") or "get").upper()
            self.outbox.append({"url": cred.get("url"), "method": method, "body": payload})
            if self.push_client is not None and cred.get("url"):
                with contextlib.suppress(httpx.HTTPError):  # Tracardi does not retry destinations
                    await self.push_client.request(method, cred["url"], json=payload,
                                                   auth=(cred.get("username") or "", cred.get("password") or ""))


def _get_dotted(doc: Any, path: str) -> Any:
    cur = doc
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _set_dotted(doc: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    cur = doc
    for part in parts[:-1]:
        cur = cur.setdefault(part, {})
    cur[parts[-1]] = value


class _FaultMiddleware:
    """Injects the faults configured on the emulator before the request reaches a route."""

    def __init__(self, emulator: TracardiEmulator, app: Callable[..., Awaitable[None]]) -> None:
        self.emulator = emulator
        self.inner = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        f = self.emulator.faults
        f.requests += 1
        self.emulator.calls.append((scope["method"], scope["path"]))
        if scope["path"].startswith(f.path_prefix):
            if f.reset_burst > 0:
                f.reset_burst -= 1
                f.fired += 1
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
            if f.delay_burst > 0:
                f.delay_burst -= 1
                f.fired += 1
                await asyncio.sleep(f.delay_s)
            if f.status_burst > 0:
                f.status_burst -= 1
                f.fired += 1
                response = JSONResponse({"detail": "Service Unavailable"}, status_code=f.status_code)
                await response(scope, receive, send)
                return
        await self.inner(scope, receive, send)
