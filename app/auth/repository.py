"""API keys in PostgreSQL: create (the key is returned once), list, revoke, verify in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from app.errors import InvalidRequestError

SCOPES = ("read", "write", "admin")  # each includes the ones before it
PREFIX = "pai"


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None = None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


_DURATION = re.compile(r"^\s*(\d{1,5})\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_LIFETIME = timedelta(days=3650)


def parse_lifetime(text: str) -> timedelta:
    """`90d`, `12h`, `30m`, `8w` -> a timedelta (at most ten years); anything else is a one-line error."""
    m = _DURATION.match(text or "")
    if not m or int(m.group(1)) == 0:
        raise InvalidRequestError.worded("expiry_format", text=(text or "")[:40])
    lifetime = timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    if lifetime > MAX_LIFETIME:
        raise InvalidRequestError.worded("expiry_max", most=MAX_LIFETIME.days)
    return lifetime


def allows(granted: str, needed: str) -> bool:
    return SCOPES.index(granted) >= SCOPES.index(needed)


class ApiKeyRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def create(self, scope: str, name: str = "", expires_in: timedelta | None = None) -> tuple[str, ApiKey]:
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        row = await self.pool.fetchrow(
            "INSERT INTO profile_ai.api_keys(key_id, name, scope, secret_hash, expires_at) VALUES ($1, $2, $3, $4, "
            "now() + $5::interval) RETURNING *", key_id, name, scope, _hash(secret), expires_in)
        return f"{PREFIX}_{key_id}_{secret}", _key(row)

    async def list(self) -> list[ApiKey]:
        return [_key(r) for r in await self.pool.fetch("SELECT * FROM profile_ai.api_keys ORDER BY created_at")]

    async def revoke(self, key_id: str) -> bool:
        done = await self.pool.execute(
            "UPDATE profile_ai.api_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL", key_id)
        return done.endswith(" 1")

    async def verify(self, presented: str) -> ApiKey | None:
        """The key's record when `presented` is a live key, else None. The secret is compared in constant
        time; an unknown id costs the same hash and comparison as a known one."""
        parts = presented.split("_", 2)
        key_id, secret = (parts[1], parts[2]) if len(parts) == 3 and parts[0] == PREFIX else ("", presented)
        row = await self.pool.fetchrow("SELECT * FROM profile_ai.api_keys WHERE key_id = $1", key_id)
        stored = row["secret_hash"] if row is not None else _hash("no such key")
        ok = hmac.compare_digest(stored, _hash(secret))
        if row is None or not ok or row["revoked_at"] is not None:
            return None
        if row["expires_at"] is not None and row["expires_at"] <= datetime.now(row["expires_at"].tzinfo):
            return None
        await self.pool.execute(  # at most one write a minute per key
            "UPDATE profile_ai.api_keys SET last_used_at = now() WHERE key_id = $1 AND "
            "(last_used_at IS NULL OR last_used_at < now() - interval '1 minute')", key_id)
        return _key(row)


def _key(r: asyncpg.Record) -> ApiKey:
    return ApiKey(r["key_id"], r["name"], r["scope"], r["created_at"], r["last_used_at"], r["revoked_at"],
                  r["expires_at"])
