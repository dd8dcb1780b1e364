"""Score snapshots (migration 013): what each scoring predicted, what came true, and stable profile ordinals."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import numpy as np


class SnapshotsRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def ordinals(self, profile_ids: Sequence[str]) -> np.ndarray:
        """Each profile's ordinal (numbered on first sight, never reused), in the order given."""
        ids = list(profile_ids)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("INSERT INTO profile_ai.profile_ordinals (profile_id) SELECT unnest($1::text[]) "
                               "ON CONFLICT (profile_id) DO NOTHING", ids)
            rows = await conn.fetch("SELECT o.ordinal FROM unnest($1::text[]) WITH ORDINALITY AS u(profile_id, k) "
                                    "JOIN profile_ai.profile_ordinals o USING (profile_id) ORDER BY u.k", ids)
        return np.array([r["ordinal"] for r in rows], dtype=np.int32)

    async def profiles_of(self, ordinals: Sequence[int]) -> dict[int, str]:
        rows = await self.pool.fetch("SELECT ordinal, profile_id FROM profile_ai.profile_ordinals "
                                     "WHERE ordinal = ANY($1::int[])", [int(o) for o in ordinals])
        return {r["ordinal"]: r["profile_id"] for r in rows}

    async def save(self, model_id: str, goal: str, as_of: datetime, horizon_days: int, profiles: int, blob: bytes,
                   drift: dict[str, Any]) -> int:
        return int(await self.pool.fetchval(
            "INSERT INTO profile_ai.score_snapshots (model_id, goal, as_of, horizon_days, profiles, scores, drift) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING snapshot_id", model_id, goal, as_of, horizon_days,
            profiles, blob, drift))

    async def of_model(self, model_id: str) -> list[asyncpg.Record]:
        """The model's snapshots, oldest first (without their scores)."""
        return list(await self.pool.fetch(
            "SELECT snapshot_id, model_id, goal, as_of, horizon_days, profiles, drift, realized, created_at, "
            "octet_length(scores) AS bytes FROM profile_ai.score_snapshots WHERE model_id = $1 "
            "ORDER BY as_of, snapshot_id", model_id))

    async def reference(self, model_id: str) -> dict[str, Any] | None:
        """The drift reference of the model's first snapshot (its first scoring)."""
        drift = await self.pool.fetchval(
            "SELECT drift FROM profile_ai.score_snapshots WHERE model_id = $1 ORDER BY snapshot_id LIMIT 1", model_id)
        return None if drift is None else drift.get("reference")

    async def scores(self, snapshot_id: int) -> bytes:
        return bytes(await self.pool.fetchval(
            "SELECT scores FROM profile_ai.score_snapshots WHERE snapshot_id = $1", snapshot_id))

    async def set_realized(self, snapshot_id: int, realized: dict[str, Any]) -> None:
        await self.pool.execute("UPDATE profile_ai.score_snapshots SET realized = $2 WHERE snapshot_id = $1",
                                snapshot_id, realized)

    async def prune(self, keep_days: int) -> int:
        status = await self.pool.execute(
            "DELETE FROM profile_ai.score_snapshots WHERE created_at < now() - make_interval(days => $1)", keep_days)
        return int(status.split()[-1])

    async def latest_by_goal(self) -> dict[str, dict[str, Any]]:
        """For each goal's active model: the newest drift and the newest realized quality (for /metrics)."""
        rows = await self.pool.fetch(
            "SELECT m.goal, (SELECT s.drift -> 'psi' FROM profile_ai.score_snapshots s WHERE s.model_id = m.model_id "
            "ORDER BY s.snapshot_id DESC LIMIT 1) AS psi, (SELECT s.realized FROM profile_ai.score_snapshots s "
            "WHERE s.model_id = m.model_id AND s.realized IS NOT NULL ORDER BY s.as_of DESC LIMIT 1) AS realized "
            "FROM profile_ai.models m WHERE m.status = 'active'")
        return {r["goal"]: {"psi": r["psi"] or {}, "realized": r["realized"] or {}} for r in rows}
