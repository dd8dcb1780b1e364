"""Models (registry with model cards) and predictions with lineage. Bulk writes: COPY into a temporary table,
then one INSERT ... ON CONFLICT, per batch, each batch in its own transaction: idempotent and fast."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


@dataclass(frozen=True)
class PredictionRow:
    profile_id: str
    model_id: str
    goal: str
    probability: float | None
    value: float | None
    percentile: float | None
    tier: str | None
    as_of: datetime


class PredictionsRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def register_model(self, model_id: str, goal: str, version: int, horizon_days: int, as_of: datetime,
                             card: dict[str, Any], status: str = "active") -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            if status == "active":  # one active model per goal: the new one retires the old
                await conn.execute("UPDATE profile_ai.models SET status = 'retired' WHERE goal = $1 AND "
                                   "model_id <> $2 AND status = 'active'", goal, model_id)
            await conn.execute(
                "INSERT INTO profile_ai.models(model_id, goal, version, horizon_days, as_of, status, card) "
                "VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (model_id) DO UPDATE SET status = EXCLUDED.status, "
                "card = EXCLUDED.card", model_id, goal, version, horizon_days, as_of, status, card)

    async def upsert_predictions(self, rows: Sequence[PredictionRow], batch_size: int = 20_000) -> int:
        written = 0
        for i in range(0, len(rows), batch_size):
            chunk = rows[i:i + batch_size]
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    "CREATE TEMP TABLE _predictions (LIKE profile_ai.predictions INCLUDING DEFAULTS) ON COMMIT DROP")
                await conn.copy_records_to_table(
                    "_predictions", columns=["profile_id", "model_id", "goal", "probability", "value", "percentile",
                                             "tier", "as_of"],
                    records=[(r.profile_id, r.model_id, r.goal, r.probability, r.value, r.percentile, r.tier, r.as_of)
                             for r in chunk])
                await conn.execute(
                    "INSERT INTO profile_ai.predictions(profile_id, model_id, goal, probability, value, percentile, "
                    "tier, as_of, computed_at) SELECT DISTINCT ON (profile_id, model_id) profile_id, model_id, goal, "
                    "probability, value, percentile, tier, as_of, now() FROM _predictions "
                    "ON CONFLICT (profile_id, model_id) DO UPDATE SET probability = EXCLUDED.probability, "
                    "value = EXCLUDED.value, percentile = EXCLUDED.percentile, tier = EXCLUDED.tier, "
                    "as_of = EXCLUDED.as_of, computed_at = EXCLUDED.computed_at")
            written += len(chunk)
        return written

    async def current_traits(self, profile_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The AI traits per profile, as other modules read them (view profile_ai.current_traits)."""
        rows = await self.pool.fetch(
            "SELECT profile_id, predictions, segments FROM profile_ai.current_traits "
            "WHERE profile_id = ANY($1::text[])", list(profile_ids))
        return {r["profile_id"]: {"predictions": r["predictions"], "segments": r["segments"]} for r in rows}
