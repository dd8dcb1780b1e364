"""Read-only queries across the state tables, for operations (/metrics) and the notebook API: the figures and
frames no single domain owns."""

from __future__ import annotations

import asyncpg


class OpsRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def sync_lag_seconds(self) -> float | None:
        lag = await self.pool.fetchval("SELECT extract(epoch FROM now() - max(watermark)) FROM profile_ai.sync_state")
        return None if lag is None else float(lag)

    async def queue_depth(self) -> dict[str, int]:
        rows = await self.pool.fetch("SELECT status, count(*) AS n FROM profile_ai.writeback_queue GROUP BY status")
        return {r["status"]: int(r["n"]) for r in rows}

    async def active_model_age_seconds(self) -> dict[str, float]:
        rows = await self.pool.fetch("SELECT goal, extract(epoch FROM now() - max(created_at)) AS age "
                                     "FROM profile_ai.models WHERE status = 'active' GROUP BY goal")
        return {r["goal"]: float(r["age"]) for r in rows}

    async def features(self) -> list[asyncpg.Record]:
        return list(await self.pool.fetch("SELECT * FROM profile_ai.profile_features ORDER BY profile_id"))

    async def events(self) -> list[asyncpg.Record]:
        return list(await self.pool.fetch("SELECT profile_id, event_id, type, time, value FROM profile_ai.events "
                                          "ORDER BY profile_id, time"))

    async def active_predictions(self, goal: str | None = None) -> list[asyncpg.Record]:
        return list(await self.pool.fetch(
            "SELECT p.profile_id, p.goal, p.model_id, p.probability, p.value, p.percentile, p.tier, p.as_of "
            "FROM profile_ai.predictions p JOIN profile_ai.models m ON m.model_id = p.model_id "
            "AND m.status = 'active' WHERE $1::text IS NULL OR p.goal = $1 ORDER BY p.goal, p.percentile DESC",
            goal))

    async def profiles_with_ai_traits(self) -> list[str]:
        """Everyone with a prediction or a segment membership: what a full write-back re-sends."""
        rows = await self.pool.fetch("SELECT DISTINCT profile_id FROM profile_ai.predictions UNION "
                                     "SELECT DISTINCT profile_id FROM profile_ai.segment_memberships")
        return [r["profile_id"] for r in rows]
