"""Named leases in PostgreSQL (migration 010): one holder at a time across every process of a deployment."""

from __future__ import annotations

import asyncpg


class LeaseRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def take(self, name: str, holder: str, ttl_s: float) -> bool:
        """Take (or renew) the lease when it is free, expired, or already this holder's."""
        got = await self.pool.fetchval(
            "INSERT INTO profile_ai.leases(name, holder, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3)) "
            "ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at, "
            "acquired_at = CASE WHEN profile_ai.leases.holder = EXCLUDED.holder THEN profile_ai.leases.acquired_at "
            "ELSE now() END WHERE profile_ai.leases.expires_at < now() OR profile_ai.leases.holder = EXCLUDED.holder "
            "RETURNING holder", name, holder, float(ttl_s))
        return got == holder

    async def give_back(self, name: str, holder: str) -> None:
        await self.pool.execute("DELETE FROM profile_ai.leases WHERE name = $1 AND holder = $2", name, holder)

    async def holder(self, name: str) -> str | None:
        """Who holds the lease now (None: nobody, or it expired)."""
        value = await self.pool.fetchval("SELECT holder FROM profile_ai.leases WHERE name = $1 AND expires_at >= now()",
                                         name)
        return str(value) if value is not None else None
