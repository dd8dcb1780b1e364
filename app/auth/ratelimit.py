"""Per-key rate limits (the `limits` library: moving windows, memory or a shared store such as Redis).

Every guarded request (/v1, /mcp) spends one hit of its key's general budget; a request that needs the
`write` or `admin` scope (sync, discover, train, score, imports, keys) also spends one of the smaller write
budget. Without keys (open mode, loopback only) the peer address is the identity. Over budget: 429 with
`Retry-After`, before any work is done. Open paths (health, metrics, the page, the webhook) are not limited.
"""

from __future__ import annotations

import math
import time
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from app.auth.guard import ASGIApp, Receive, Scope, Send, peer_of, reply_error, required_scope, route_path


def parse_limit(text: str | None) -> RateLimitItem | None:
    """"600/minute", "10 per second"...; None or "" switches the limit off. Raises ValueError when unreadable."""
    if not text or not text.strip():
        return None
    try:
        return parse(text)
    except ValueError as exc:
        raise ValueError(f"rate limit {text!r} is not readable ({exc}); write e.g. '600/minute'") from None


def moving_window(storage: str) -> MovingWindowRateLimiter:
    # the asyncio flavour of the same store: "memory://" -> "async+memory://", "redis://" -> "async+redis://"
    uri = storage if storage.startswith("async+") else f"async+{storage}"
    return MovingWindowRateLimiter(storage_from_string(uri))  # type: ignore[arg-type]


async def seconds_to_wait(limiter: MovingWindowRateLimiter, item: RateLimitItem, kind: str, who: str) -> int:
    """How long `who` must wait before its `kind` budget under `item` has room again (at least 1 s)."""
    stats = await limiter.get_window_stats(item, kind, who)
    return max(1, math.ceil(stats.reset_time - time.time()))


def identity(scope: Scope) -> str:
    """Whom a budget is counted for: the API key when there is one, else the peer's address."""
    state: dict[str, Any] = scope.get("state") or {}
    if state.get("api_key_id"):
        return f"key:{state['api_key_id']}"
    return f"peer:{peer_of(scope)}"


class RateLimit:
    def __init__(self, app: ASGIApp, *, general: str | None, writes: str | None, storage: str = "memory://",
                 mcp_writes: bool = False) -> None:
        self.app = app
        self.general = parse_limit(general)
        self.writes = parse_limit(writes)
        self.limiter = moving_window(storage)
        self.mcp_writes = mcp_writes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.general is None and self.writes is None):
            return await self.app(scope, receive, send)
        needed = required_scope(scope["method"], route_path(scope), self.mcp_writes)
        if needed is None:
            return await self.app(scope, receive, send)
        who = identity(scope)
        for item, kind in ((self.general, "requests"), (self.writes if needed != "read" else None, "writes")):
            if item is not None and not await self.limiter.hit(item, kind, who):
                wait = await seconds_to_wait(self.limiter, item, kind, who)
                return await reply_error(send, 429, "rate_limited", f"more than {item} {kind} for this key: retry in "
                                    f"{wait} s", ((b"retry-after", str(wait).encode()),
                                                  (b"ratelimit-limit", str(item.amount).encode())))
        return await self.app(scope, receive, send)


class BudgetLimiter:
    """A budget counted only for what the caller chooses to spend it on: failed credentials per peer (unknown
    API keys, wrong webhook secrets: once spent, the peer gets 429 before its credential is looked at, so
    guessing costs the guesser and not the database or the log) and job deferrals per key."""

    def __init__(self, storage: str = "memory://") -> None:
        self.limiter = moving_window(storage)

    async def retry_after(self, limit: RateLimitItem | None, kind: str, peer: str) -> int | None:
        """Seconds the peer must wait (None: it may try)."""
        if limit is None or await self.limiter.test(limit, kind, peer):
            return None
        return await seconds_to_wait(self.limiter, limit, kind, peer)

    async def spend(self, limit: RateLimitItem | None, kind: str, peer: str) -> None:
        if limit is not None:
            await self.limiter.hit(limit, kind, peer)
