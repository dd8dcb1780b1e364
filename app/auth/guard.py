"""ASGI guards in front of everything: API keys with scopes on /v1 and /mcp, a request body size limit, and
no NUL characters in paths or queries.

Pure ASGI (not BaseHTTPMiddleware) so MCP's streamed responses pass through untouched.
Scopes: `read` = searching and reading (GET, and POST /v1/search); `write` = everything that changes state
(sync, discover, train, score, publish, imports) and /mcp when write tools are on; `admin` = /v1/keys and
erasure (DELETE /v1/profiles/{id}, its verification and log).
The Tracardi webhook keeps its own shared-secret check; /health, /ready, /metrics and the docs are open.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from app.auth.repository import ApiKeyRepository, allows

if TYPE_CHECKING:
    from limits import RateLimitItem


class FailureBudget(Protocol):
    """What the key check needs of a limiter (`app/auth/ratelimit.py:BudgetLimiter`): how long a peer must wait,
    and spending one failure."""

    async def retry_after(self, limit: RateLimitItem | None, kind: str, peer: str) -> int | None: ...

    async def spend(self, limit: RateLimitItem | None, kind: str, peer: str) -> None: ...

log = logging.getLogger("profile_ai.auth")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Deny by default: only these answer without a key (the page itself holds no data; it asks for a key).
OPEN = frozenset({"/", "/health", "/ready", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc",
                  "/openapi.json", "/v1/webhooks/tracardi"})  # the webhook checks its own shared secret
OPEN_PREFIXES = ("/static/", "/static-words/")
READ_POSTS = ("/v1/search", "/v1/segments/preview", "/v1/customers/count", "/v1/customers/describe",
              "/v1/customers/ranked", "/v1/predictions/top")  # POSTs that only read
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def peer_of(scope: Scope) -> str:
    """The peer's address (what per-peer limits count by)."""
    client = scope.get("client") or ("?", 0)
    return str(client[0])


def route_path(scope: Scope) -> str:
    """The path the router matches: without the `root_path` a proxy or a mount puts in front of it. Deciding
    on the raw path would let `/prefix/v1/keys` pass as something other than `/v1/keys`."""
    path: str = scope["path"]
    root: str = scope.get("root_path") or ""
    if root and path.startswith(root):
        path = path[len(root):] or "/"
    return path


def required_scope(method: str, path: str, mcp_writes: bool) -> str | None:
    if path in OPEN or path.startswith(OPEN_PREFIXES):
        return None
    if path.startswith(("/v1/keys", "/v1/erasures")) or (path.startswith("/v1/profiles/") and method == "DELETE") \
            or path.endswith("/erasure") or (path.startswith("/v1/schedules") and method not in ("GET", "HEAD")):
        # keys, erasure (forgetting a person, its proof) and schedules (standing work) are the administrator's
        return "admin"
    if path.startswith("/mcp"):
        return "write" if mcp_writes else "read"
    if method in ("GET", "HEAD", "OPTIONS") or path in READ_POSTS:
        return "read"
    return "write"


async def reply_error(send: Send, status: int, error: str, detail: str,
                 headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    body = orjson.dumps({"error": error, "detail": detail})
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


class ApiKeyGuard:
    def __init__(self, app: ASGIApp, keys: Callable[[], ApiKeyRepository | None], *, enabled: bool,
                 mcp_writes: bool, failures: FailureBudget | None = None,
                 failure_limit: RateLimitItem | None = None) -> None:
        self.app = app
        self.keys = keys  # resolved per request: the pool exists only once the lifespan has started
        self.enabled = enabled
        self.mcp_writes = mcp_writes
        self.failures = failures
        self.failure_limit = failure_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.enabled:
            return await self.app(scope, receive, send)
        needed = required_scope(scope["method"], route_path(scope), self.mcp_writes)
        if needed is None:
            return await self.app(scope, receive, send)
        header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        repo = self.keys()
        if not token or repo is None:
            return await reply_error(send, 401, "unauthorized", "an API key is required: Authorization: Bearer <key> "
                                "(create one with `profile-ai keys create --scope read`)",
                                ((b"www-authenticate", b"Bearer"),))
        peer = peer_of(scope)
        if self.failures is not None:
            wait = await self.failures.retry_after(self.failure_limit, "bad-key", peer)
            if wait is not None:  # refused before the lookup: guessing keys costs no query and no log line
                return await reply_error(send, 429, "rate_limited", f"too many unknown API keys from this address: "
                                         f"retry in {wait} s", ((b"retry-after", str(wait).encode()),))
        key = await repo.verify(token)
        if key is None:
            if self.failures is not None:
                await self.failures.spend(self.failure_limit, "bad-key", peer)
            log.warning("rejected API key", extra={"path": scope["path"][:200]})
            return await reply_error(send, 401, "unauthorized", "unknown or revoked API key",
                                ((b"www-authenticate", b"Bearer"),))
        if not allows(key.scope, needed):
            return await reply_error(send, 403, "forbidden", f"this key has scope '{key.scope}'; {scope['method']} "
                                f"{scope['path']} needs '{needed}'")
        scope.setdefault("state", {})["api_key_id"] = key.key_id
        return await self.app(scope, receive, send)


class LoopbackOnly:
    """Open mode (no API keys) is for one person on one machine: the peer must be on loopback and the Host
    header must name loopback (or a host the operator listed), so neither another machine nor a web page the
    user visits (DNS rebinding to 127.0.0.1) reaches the API. The rule lives in the app, whoever starts it."""

    def __init__(self, app: ASGIApp, allowed_hosts: list[str] | None = None) -> None:
        self.app = app
        self.allowed = LOOPBACK_HOSTS | {h.lower() for h in allowed_hosts or []}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client") or ("", 0)
            if client[0] not in LOOPBACK_HOSTS and not str(client[0]).startswith("127."):
                return await reply_error(send, 403, "forbidden", "this server runs without API keys and answers "
                                    "loopback only (set PROFILE_AI_SERVER__AUTH=true and create keys)")
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1").strip().lower()
            name = host[1:].split("]")[0] if host.startswith("[") else host.rsplit(":", 1)[0] if ":" in host else host
            if name not in self.allowed:
                return await reply_error(send, 421, "misdirected_request", f"Host {host[:80]!r} is not this server's "
                                    "loopback name (open mode refuses other names: DNS rebinding)")
        await self.app(scope, receive, send)


class BodySizeLimit:
    """Request bodies are bounded per route: `max_bytes` everywhere (a search, a filter list, a segment is
    small), `routes` for the few that carry bulk data (prediction imports). Checked on Content-Length before
    anything is read, and counted as chunks arrive when there is none."""

    def __init__(self, app: ASGIApp, max_bytes: int, routes: dict[str, int] | None = None) -> None:
        self.app = app
        self.default = max_bytes
        self.routes = routes or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.routes.get(route_path(scope).rstrip("/") or "/", self.default)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            return await reply_error(send, 413, "payload_too_large", f"request body over {limit} bytes on this route")
        seen = 0

        async def limited() -> Message:  # chunked bodies carry no length: count as they arrive
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLargeError
            return message

        try:
            await self.app(scope, limited, send)
        except BodyTooLargeError:
            await reply_error(send, 413, "payload_too_large", f"request body over {limit} bytes on this route")


class BodyTooLargeError(Exception):
    pass


class NulGuard:
    """A NUL in a path or query string (ids, filters) is refused with 422 before it reaches a query:
    PostgreSQL cannot store it (bodies are cleaned by app.sanitize instead)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = (scope.get("raw_path") or scope["path"].encode()) + b"?" + (scope.get("query_string") or b"")
            if b"%00" in raw or b"\x00" in raw or "\x00" in scope["path"]:
                return await reply_error(send, 422, "invalid_request",
                                    "NUL characters are not allowed in paths or queries")
        await self.app(scope, receive, send)


class JsonGuard:
    """Every JSON request body of a guarded route is parsed strictly once before the route sees it: NaN and
    Infinity (not JSON; Python's parser takes them and they reach validated floats) and nesting past
    MAX_JSON_DEPTH (recursion in whatever walks the body) are 422, with a short reason and nothing of the input
    echoed. Runs inside the body size limit and the key check, so what it buffers is bounded and comes from a
    caller who was let in. Open routes (the webhook) check their own credentials first, then parse the same way
    (`app.sanitize.parse_json_body`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS") \
                or required_scope(scope["method"], route_path(scope), mcp_writes=False) is None:
            return await self.app(scope, receive, send)
        ctype = dict(scope.get("headers") or []).get(b"content-type", b"").split(b";")[0].strip().lower()
        if ctype and not ctype.endswith(b"json"):
            return await self.app(scope, receive, send)
        chunks: list[bytes] = []
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        raw = b"".join(chunks)
        if raw.strip():
            from app.errors import InvalidRequestError
            from app.sanitize import parse_json_body

            try:
                parse_json_body(raw)
            except InvalidRequestError as exc:
                return await reply_error(send, 422, "invalid_request", exc.message)
        replay = iter(messages)

        async def replayed() -> Message:
            message = next(replay, None)
            return message if message is not None else await receive()

        return await self.app(scope, replayed, send)
