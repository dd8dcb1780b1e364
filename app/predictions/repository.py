"""Models (registry with model cards) and predictions with lineage. Bulk writes: COPY into a temporary table,
then one INSERT ... ON CONFLICT, per batch, each batch in its own transaction: idempotent and fast."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import orjson


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
    drivers: list[dict[str, Any]] | None = None


# how a likelihood chooses people, as a fixed condition on the bound ($2): never text from a request
LIKELIHOOD = {"at_least": "probability >= $2::float8", "below": "probability < $2::float8",
              "top": "percentile >= 100 - $2::float8"}


class ModelExistsError(Exception):
    def __init__(self, model_id: str, goal: str) -> None:
        super().__init__(f"model {model_id} already exists (goal {goal!r})")
        self.model_id = model_id
        self.goal = goal


class PredictionsRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def register_model(self, model_id: str, goal: str, version: int, horizon_days: int, as_of: datetime,
                             card: dict[str, Any], status: str = "active") -> None:
        """Register a new model version. Ids are never reused: an existing id raises ModelExistsError and
        changes nothing (an import must not overwrite another model's card and predictions)."""
        async with self.pool.acquire() as conn, conn.transaction():
            added = await conn.fetchval(
                "INSERT INTO profile_ai.models(model_id, goal, version, horizon_days, as_of, status, card) "
                "VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (model_id) DO NOTHING RETURNING model_id",
                model_id, goal, version, horizon_days, as_of, status, card)
            if added is None:
                owner = await conn.fetchval("SELECT goal FROM profile_ai.models WHERE model_id = $1", model_id)
                raise ModelExistsError(model_id, str(owner))
            if status == "active":  # one active model per goal: the new one retires the old
                await conn.execute("UPDATE profile_ai.models SET status = 'retired' WHERE goal = $1 AND "
                                   "model_id <> $2 AND status = 'active'", goal, model_id)

    async def annotate(self, model_id: str, fields: dict[str, Any]) -> None:
        """Add fields to a model's card (a retrain records which model it replaced and why)."""
        await self.pool.execute("UPDATE profile_ai.models SET card = card || $2::jsonb WHERE model_id = $1",
                                model_id, fields)

    async def upsert_predictions(self, rows: Sequence[PredictionRow], batch_size: int = 20_000) -> int:
        written = 0
        for i in range(0, len(rows), batch_size):
            chunk = rows[i:i + batch_size]
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    "CREATE TEMP TABLE _predictions (LIKE profile_ai.predictions INCLUDING DEFAULTS) ON COMMIT DROP")
                await conn.execute("ALTER TABLE _predictions ALTER COLUMN drivers TYPE text")  # COPY: no jsonb
                await conn.copy_records_to_table(
                    "_predictions", columns=["profile_id", "model_id", "goal", "probability", "value", "percentile",
                                             "tier", "as_of", "drivers"],
                    records=[(r.profile_id, r.model_id, r.goal, r.probability, r.value, r.percentile, r.tier, r.as_of,
                              orjson.dumps(r.drivers or []).decode()) for r in chunk])
                await conn.execute(
                    "INSERT INTO profile_ai.predictions(profile_id, model_id, goal, probability, value, percentile, "
                    "tier, as_of, drivers, computed_at) SELECT DISTINCT ON (profile_id, model_id) profile_id, model_id, "
                    "goal, probability, value, percentile, tier, as_of, drivers::jsonb, now() FROM _predictions "
                    "ON CONFLICT (profile_id, model_id) DO UPDATE SET probability = EXCLUDED.probability, "
                    "value = EXCLUDED.value, percentile = EXCLUDED.percentile, tier = EXCLUDED.tier, "
                    "as_of = EXCLUDED.as_of, drivers = EXCLUDED.drivers, computed_at = EXCLUDED.computed_at")
            written += len(chunk)
        return written

    async def current_traits(self, profile_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The AI traits per profile, as other modules read them (view profile_ai.current_traits)."""
        rows = await self.pool.fetch(
            "SELECT profile_id, predictions, segments FROM profile_ai.current_traits "
            "WHERE profile_id = ANY($1::text[])", list(profile_ids))
        return {r["profile_id"]: {"predictions": r["predictions"], "segments": r["segments"]} for r in rows}

    async def next_version(self, goal: str) -> int:
        return int(await self.pool.fetchval(
            "SELECT COALESCE(max(version), 0) + 1 FROM profile_ai.models WHERE goal = $1", goal))

    # -- the event log and features predictions read
    async def event_types(self) -> list[str]:
        return [r["type"] for r in await self.pool.fetch("SELECT DISTINCT type FROM profile_ai.events")]

    async def profile_attributes(self) -> list[asyncpg.Record]:
        return list(await self.pool.fetch(
            "SELECT profile_id, attributes FROM profile_ai.profile_features ORDER BY profile_id"))

    async def event_columns(self, profile_ids: Sequence[str], event_type: str | None = None, key: str | None = None,
                            value: str | None = None, *, spool: Path | None = None,
                            chunk_rows: int = 1_000_000) -> EventColumns:
        """Every event of these profiles as columns: the profile's index in `profile_ids`, the type's index in
        `types`, epoch seconds, money value (NaN when none) and whether it meets a goal's property condition
        `key=value` on `event_type` (a list-valued property matches when it holds the value).

        Streamed by binary COPY into a spool file and read back in chunks straight into numpy arrays: no Python
        object per event, so 50M events cost about 1.3 GB of arrays rather than tens of GB of records."""
        types = [r["type"] for r in await self.pool.fetch("SELECT DISTINCT type FROM profile_ai.events ORDER BY 1")]
        cond = "false"
        args: list[Any] = [list(profile_ids), types]
        if key:
            cond = ("(e.type = $3 AND (e.properties #>> $4::text[] = $5 OR (jsonb_typeof(e.properties #> $4::text[]) = "
                    "'array' AND e.properties #> $4::text[] @> jsonb_build_array($5::text))))")
            args += [event_type, key.split("."), value]
        query = ("SELECT (p.n - 1)::int4, (array_position($2::text[], e.type) - 1)::int4, "
                 "extract(epoch FROM e.time)::float8, COALESCE(e.value, 'NaN')::float8, "
                 f"COALESCE({cond}, false) FROM profile_ai.events e "
                 "JOIN unnest($1::text[]) WITH ORDINALITY AS p(id, n) ON p.id = e.profile_id")
        fd, name = tempfile.mkstemp(prefix="events-", suffix=".copy", dir=spool)
        os.close(fd)
        try:
            async with self.pool.acquire() as conn:
                await conn.copy_from_query(query, *args, output=name, format="binary")
            return await asyncio.to_thread(_read_binary_copy, Path(name), types, chunk_rows)
        finally:
            os.unlink(name)

    async def known_profiles(self, profile_ids: list[str]) -> set[str]:
        rows = await self.pool.fetch("SELECT profile_id FROM profile_ai.profile_features "
                                     "WHERE profile_id = ANY($1::text[])", profile_ids)
        return {r["profile_id"] for r in rows}

    async def scores(self, model_id: str) -> list[asyncpg.Record]:
        return list(await self.pool.fetch("SELECT COALESCE(probability, value) AS v, tier FROM profile_ai.predictions "
                                          "WHERE model_id = $1", model_id))

    async def scores_by_segment(self, model_id: str) -> list[asyncpg.Record]:
        return list(await self.pool.fetch(
            "SELECT d.segment_id, d.name, count(*) AS members, avg(COALESCE(p.probability, p.value)) AS mean, "
            "avg((p.tier IN ('top 1%', 'top 10%'))::int) AS top10_share "
            "FROM profile_ai.current_segments d JOIN profile_ai.segment_memberships m ON m.segment_id = d.segment_id "
            "AND m.version = d.version JOIN profile_ai.predictions p ON p.profile_id = m.profile_id "
            "AND p.model_id = $1 WHERE d.status <> 'retired' GROUP BY d.segment_id, d.name ORDER BY mean DESC",
            model_id))

    async def objectors(self) -> set[str]:
        """Profiles that objected to profiling (their features say so, from PRIVACY__OBJECTION_FIELD)."""
        rows = await self.pool.fetch("SELECT profile_id FROM profile_ai.profile_features "
                                     "WHERE attributes ->> 'objected' = 'true'")
        return {r["profile_id"] for r in rows}

    async def objected(self, profile_id: str) -> bool:
        return bool(await self.pool.fetchval("SELECT attributes ->> 'objected' = 'true' FROM profile_ai.profile_features "
                                             "WHERE profile_id = $1", profile_id))

    async def drop_predictions(self, profile_ids: list[str]) -> int:
        if not profile_ids:
            return 0
        status = await self.pool.execute("DELETE FROM profile_ai.predictions WHERE profile_id = ANY($1::text[])",
                                         profile_ids)
        return int(status.split()[-1])

    async def save_artifact(self, model_id: str, artifact: bytes) -> None:
        await self.pool.execute("UPDATE profile_ai.models SET artifact = $2 WHERE model_id = $1", model_id, artifact)

    async def artifact(self, model_id: str) -> bytes | None:
        artifact: bytes | None = await self.pool.fetchval(
            "SELECT artifact FROM profile_ai.models WHERE model_id = $1", model_id)
        return artifact

    async def models(self, goal: str | None = None) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT m.model_id, m.goal, m.version, m.horizon_days, m.as_of, m.status, m.card, m.created_at, "
            "(SELECT count(*) FROM profile_ai.predictions p WHERE p.model_id = m.model_id) AS scored "
            "FROM profile_ai.models m WHERE $1::text IS NULL OR m.goal = $1 ORDER BY m.goal, m.version DESC", goal)
        return [dict(r) for r in rows]

    async def model(self, model_id: str) -> dict[str, Any] | None:
        """One model's row without its count of predictions (counting a million rows takes 100 ms)."""
        row = await self.pool.fetchrow(
            "SELECT model_id, goal, version, horizon_days, as_of, status, card, created_at FROM profile_ai.models "
            "WHERE model_id = $1", model_id)
        return None if row is None else dict(row)

    async def active_model(self, goal: str) -> str | None:
        model_id: str | None = await self.pool.fetchval(
            "SELECT model_id FROM profile_ai.models WHERE goal = $1 AND status = 'active' "
            "ORDER BY version DESC LIMIT 1", goal)
        return model_id

    async def of_profile(self, profile_id: str) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT p.*, m.status, m.version FROM profile_ai.predictions p JOIN profile_ai.models m "
            "ON m.model_id = p.model_id WHERE p.profile_id = $1 ORDER BY m.status, p.goal, m.version DESC",
            profile_id)
        return [dict(r) for r in rows]

    async def in_tier(self, model_id: str, tier: str) -> list[str]:
        """Who a model put in a tier (e.g. 'top 10%')."""
        rows = await self.pool.fetch("SELECT profile_id FROM profile_ai.predictions WHERE model_id = $1 AND tier = $2",
                                     model_id, tier)
        return [r["profile_id"] for r in rows]

    async def chosen(self, model_id: str, how: str, bound: float) -> list[str]:
        """Who a likelihood chooses (`LIKELIHOOD`): "at_least" a probability ("likely to churn"), "below" it
        ("unlikely"), or the "top" percent of the ranking by percentile ("el 10 % con más riesgo")."""
        rows = await self.pool.fetch("SELECT profile_id FROM profile_ai.predictions WHERE model_id = $1 AND "
                                     + LIKELIHOOD[how], model_id, bound)
        return [r["profile_id"] for r in rows]

    async def common_drivers(self, model_id: str, profile_ids: Sequence[str], limit: int = 5) -> list[dict[str, Any]]:
        """The reasons a model gives most often for these people, pushing towards its goal (positive effect):
        how many of them have it among their top drivers, and the median value of the feature among those."""
        rows = await self.pool.fetch(
            "SELECT d->>'feature' AS feature, count(*) AS profiles, percentile_cont(0.5) WITHIN GROUP (ORDER BY "
            "CASE WHEN jsonb_typeof(d->'value') = 'number' THEN (d->>'value')::float8 END) AS median_value "
            "FROM profile_ai.predictions p CROSS JOIN LATERAL jsonb_array_elements(p.drivers) d "
            "WHERE p.model_id = $1 AND p.profile_id = ANY($2::text[]) AND jsonb_typeof(d->'effect') = 'number' "
            "AND (d->>'effect')::float8 > 0 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $3",
            model_id, list(profile_ids), limit)
        return [dict(r) for r in rows]

    async def ranked(self, model_id: str, profile_ids: Sequence[str] | None, limit: int, offset: int = 0,
                     ) -> list[dict[str, Any]]:
        """A model's predictions best first (probability, else value), within `profile_ids` when given, never
        anyone who objected to profiling (art. 21)."""
        rows = await self.pool.fetch(
            "SELECT p.* FROM profile_ai.predictions p WHERE p.model_id = $1 "
            "AND ($2::text[] IS NULL OR p.profile_id = ANY($2::text[])) AND NOT EXISTS (SELECT 1 FROM "
            "profile_ai.profile_features f WHERE f.profile_id = p.profile_id AND f.attributes ->> 'objected' = 'true') "
            "ORDER BY coalesce(p.probability, p.value) DESC NULLS LAST, p.profile_id LIMIT $3 OFFSET $4",
            model_id, None if profile_ids is None else list(profile_ids), limit, offset)
        return [dict(r) for r in rows]

    async def top(self, model_id: str, limit: int) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT * FROM profile_ai.predictions WHERE model_id = $1 "
            "ORDER BY percentile DESC, profile_id LIMIT $2", model_id, limit)
        return [dict(r) for r in rows]


@dataclass
class EventColumns:
    types: list[str]
    profile: np.ndarray  # int32 index into the profile ids asked for
    type: np.ndarray  # int32 index into types
    time: np.ndarray  # float64 epoch seconds
    value: np.ndarray  # float64, NaN when none
    hit: np.ndarray  # bool: meets the goal's property condition


# One row of PostgreSQL's binary COPY for (int4, int4, float8, float8, bool), none null: a field count, then each
# field's length and big-endian bytes.
_COPY_ROW = np.dtype([("n", ">i2"), ("l1", ">i4"), ("profile", ">i4"), ("l2", ">i4"), ("type", ">i4"),
                      ("l3", ">i4"), ("time", ">f8"), ("l4", ">i4"), ("value", ">f8"), ("l5", ">i4"), ("hit", "?")])
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


def _read_binary_copy(path: Path, types: list[str], chunk_rows: int) -> EventColumns:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(19)
        if head[:11] != _COPY_SIGNATURE:
            raise ValueError("not a PostgreSQL binary COPY stream")
        extension = int.from_bytes(head[15:19], "big")
        start = 19 + extension
        rows = (size - start - 2) // _COPY_ROW.itemsize  # the trailer is one int16 (-1)
        out = EventColumns(types, np.empty(rows, np.int32), np.empty(rows, np.int32), np.empty(rows, np.float64),
                           np.empty(rows, np.float64), np.empty(rows, bool))
        fh.seek(start)
        done = 0
        while done < rows:
            part = np.fromfile(fh, dtype=_COPY_ROW, count=min(chunk_rows, rows - done))
            if part.size == 0 or (part["n"] != 5).any():
                raise ValueError("unexpected row layout in the binary COPY stream")
            sl = slice(done, done + part.size)
            out.profile[sl], out.type[sl], out.time[sl] = part["profile"], part["type"], part["time"]
            out.value[sl], out.hit[sl] = part["value"], part["hit"]
            done += part.size
    return out
