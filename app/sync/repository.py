"""Sync state and per-profile aggregates in PostgreSQL (schema profile_ai). The SQL lives here."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg

from app.errors import UnavailableError
from app.sync.state import EventRow, IndexedRow, ProfileFeatures

EVENT_SCAN_TIMEOUT_MS = 20_000  # the longest a question may read the event log for (profiles_with_event_about)


def _day(day: str | None) -> datetime | None:
    """An ISO date (or date-time) as a UTC instant, for the event log's times."""
    if day is None:
        return None
    at = datetime.fromisoformat(day)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


# the number at $6 in an event's properties, as `profiles.paths.as_number` reads one a person wrote ("49,90 €",
# "1.234,50", "1,234.50"); NULL where it holds none
_TRIMMED = "btrim(properties #>> $6::text[], E'\u20ac$\u00a3 \u00a0')"
_AMOUNT = ("CASE WHEN jsonb_typeof(properties #> $6::text[]) = 'number' THEN (properties #>> $6::text[])::float8 "
           f"WHEN {_TRIMMED} ~ '^[+-]?[0-9]{{1,15}}([.][0-9]{{1,15}})?$' THEN {_TRIMMED}::float8 "
           f"WHEN {_TRIMMED} ~ '^[+-]?[0-9]{{1,15}},([0-9]{{1,2}}|[0-9]{{4,15}})$' "
           f"THEN replace({_TRIMMED}, ',', '.')::float8 "
           f"WHEN {_TRIMMED} ~ '^[+-]?[0-9]{{1,3}}(,[0-9]{{3}}){{1,5}}([.][0-9]{{1,15}})?$' "
           f"THEN replace({_TRIMMED}, ',', '')::float8 "
           f"WHEN {_TRIMMED} ~ '^[+-]?[0-9]{{1,3}}([.][0-9]{{3}}){{1,5}}(,[0-9]{{1,15}})?$' "
           f"THEN replace(replace({_TRIMMED}, '.', ''), ',', '.')::float8 END")


_BOUND_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}  # a bound's operators, as SQL (constants)


class PostgresSyncState:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def _column(self, column: str, profile_ids: Sequence[str]) -> dict[str, str]:
        if not profile_ids:
            return {}
        rows = await self.pool.fetch(
            f"SELECT profile_id, {column} AS v FROM profile_ai.indexed_profiles WHERE profile_id = ANY($1::text[])",
            list(profile_ids))
        return {r["profile_id"]: r["v"] for r in rows if r["v"] is not None}

    async def hashes(self, profile_ids: Sequence[str]) -> dict[str, str]:
        return await self._column("content_hash", profile_ids)

    async def fingerprints(self, profile_ids: Sequence[str]) -> dict[str, str]:
        return await self._column("fingerprint", profile_ids)

    async def commit_batch(self, rows: Sequence[IndexedRow], deleted: Sequence[str], aliases: dict[str, str],
                           features: Sequence[ProfileFeatures] = (),
                           events: dict[str, list[EventRow]] | None = None) -> None:
        """`events` replaces the whole stored history of each profile it names."""
        async with self.pool.acquire() as conn, conn.transaction():
            if rows:
                await conn.executemany(
                    "INSERT INTO profile_ai.indexed_profiles(profile_id, content_hash, updated_at, fingerprint, "
                    "source, synced_at) VALUES ($1, $2, $3, $4, $5, now()) ON CONFLICT (profile_id) DO UPDATE SET "
                    "content_hash = EXCLUDED.content_hash, updated_at = EXCLUDED.updated_at, "
                    "fingerprint = EXCLUDED.fingerprint, source = EXCLUDED.source, synced_at = now()",
                    [(r.profile_id, r.content_hash, r.updated_at, r.fingerprint, r.source) for r in rows])
                # a live profile is never an alias of another one
                await conn.execute("DELETE FROM profile_ai.aliases WHERE absorbed_id = ANY($1::text[])",
                                   [r.profile_id for r in rows])
            if features:
                await conn.executemany(
                    "INSERT INTO profile_ai.profile_features(profile_id, event_count, counts, first_seen, last_seen, "
                    "active_days, tenure_days, frequency, monetary, purchases, rating_mean, top, attributes, computed_at) "
                    "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13, now()) ON CONFLICT (profile_id) DO UPDATE SET "
                    "event_count = EXCLUDED.event_count, counts = EXCLUDED.counts, first_seen = EXCLUDED.first_seen, "
                    "last_seen = EXCLUDED.last_seen, active_days = EXCLUDED.active_days, "
                    "tenure_days = EXCLUDED.tenure_days, frequency = EXCLUDED.frequency, monetary = EXCLUDED.monetary, "
                    "purchases = EXCLUDED.purchases, rating_mean = EXCLUDED.rating_mean, top = EXCLUDED.top, "
                    "attributes = EXCLUDED.attributes, computed_at = now()",
                    [(f.profile_id, f.event_count, f.counts, f.first_seen, f.last_seen, f.active_days, f.tenure_days,
                      f.frequency, f.monetary, f.purchases, f.rating_mean, f.top, f.attributes) for f in features])
            if events:
                await conn.execute("DELETE FROM profile_ai.events WHERE profile_id = ANY($1::text[])", list(events))
                # COPY (binary) has no jsonb encoder here: properties travel as text and are cast once
                await conn.execute("CREATE TEMP TABLE _events (profile_id text, event_id text, type text, "
                                   "time timestamptz, value float8, properties text) ON COMMIT DROP")
                records = await asyncio.to_thread(  # a batch holds ~10^4 events: not on the event loop
                    lambda: [(e.profile_id, e.event_id, e.type, e.time, e.value, e.json())
                             for rows_ in events.values() for e in _unique(rows_)])
                await conn.copy_records_to_table(
                    "_events", columns=["profile_id", "event_id", "type", "time", "value", "properties"],
                    records=records)
                await conn.execute("INSERT INTO profile_ai.events SELECT profile_id, event_id, type, time, value, "
                                   "properties::jsonb FROM _events")
            if deleted:
                # a merged or deleted profile takes its features and predictions with it
                for table in ("indexed_profiles", "profile_features", "predictions", "segment_memberships",
                              "segment_exposures", "events"):
                    await conn.execute(f"DELETE FROM profile_ai.{table} WHERE profile_id = ANY($1::text[])",
                                       list(deleted))
            if aliases:
                await conn.executemany(
                    "INSERT INTO profile_ai.aliases(absorbed_id, survivor_id) VALUES ($1, $2) "
                    "ON CONFLICT (absorbed_id) DO UPDATE SET survivor_id = EXCLUDED.survivor_id, merged_at = now()",
                    list(aliases.items()))

    async def all_profile_ids(self, source: str | None = None) -> set[str]:
        """Every indexed profile, or only those `source` delivered."""
        if source is None:
            rows = await self.pool.fetch("SELECT profile_id FROM profile_ai.indexed_profiles")
        else:
            rows = await self.pool.fetch("SELECT profile_id FROM profile_ai.indexed_profiles WHERE source = $1", source)
        return {r["profile_id"] for r in rows}

    async def profiles_with_event_about(self, event_type: str, values: Sequence[str], since: str | None = None,
                                        before: str | None = None, times: int = 1) -> list[str]:
        """Who has an event of this type holding one of these values anywhere in its (redacted) properties, as a
        value or in a list ("rated horror movies"; no values: any such event), at or after `since` and before
        `before` (ISO dates, UTC) where given ("in the last month"), at least `times` times ("bought at least
        twice")."""
        return list(await self.event_counts_about(event_type, values, since, before, times))

    async def event_counts_about(self, event_type: str, values: Sequence[str], since: str | None = None,
                                 before: str | None = None, times: int = 1) -> dict[str, int]:
        """How many such events (as `profiles_with_event_about` reads them) each profile with at least `times` of
        them has: what "who rated the most horror movies" ranks by."""
        return {p: int(n) for p, n in (await self._per_profile("count", event_type, values, since, before,
                                                               times)).items()}

    async def event_times_about(self, event_type: str, values: Sequence[str], since: str | None = None,
                                before: str | None = None, latest: bool = False) -> dict[str, datetime]:
        """When each profile first (`latest`: last) had such an event: what "the first customers to buy shoes" and
        "who bought most recently" rank by."""
        return dict(await self._per_profile("max" if latest else "min", event_type, values, since, before, 1))

    async def event_sums_about(self, event_type: str, values: Sequence[str], value_path: Sequence[str],
                               since: str | None = None, before: str | None = None) -> dict[str, float]:
        """What each profile's such events add up to at `value_path` in their properties (the event dictionary's
        value: a purchase's amount; a number, or a string that is one): what "who spent the most on shoes" ranks
        by. Events without a number there add nothing."""
        return {p: float(v or 0.0) for p, v in (await self._per_profile(
            "sum", event_type, values, since, before, 1, list(value_path))).items()}

    async def event_counts_scored(self, event_type: str, values: Sequence[str], value_path: Sequence[str],
                                  bound: dict[str, float], since: str | None = None, before: str | None = None,
                                  times: int = 1) -> dict[str, int]:
        """How many such events each profile has whose number at `value_path` (a rating) meets `bound` ({"gte": 5,
        "lte": 5}: exactly 5; {"lt": 3}: below 3), for those with at least `times`: "rated a movie 5 stars"."""
        return {p: int(n) for p, n in (await self._per_profile("count", event_type, values, since, before, times,
                                                               list(value_path), bound)).items()}

    async def event_extremes_about(self, event_type: str, values: Sequence[str], value_path: Sequence[str],
                                   since: str | None = None, before: str | None = None, largest: bool = True
                                   ) -> dict[str, float]:
        """Each profile's largest (or smallest) number at `value_path` among its such events: "made a purchase
        over 100" asks whether one of them is. Profiles whose events hold no number there are left out."""
        return {p: float(v) for p, v in (await self._per_profile(
            "largest" if largest else "smallest", event_type, values, since, before, 1, list(value_path))).items()
            if v is not None}

    async def _per_profile(self, aggregate: Literal["count", "min", "max", "sum", "largest", "smallest"],
                           event_type: str,
                           values: Sequence[str], since: str | None, before: str | None, times: int,
                           value_path: list[str] | None = None, bound: dict[str, float] | None = None
                           ) -> dict[str, Any]:
        """One figure per profile over its events of a type (any, where `event_type` is ""; no type is empty) about
        the values in the window (`aggregate`: how many,
        their first or last time, or the sum of the number at `value_path`). One pass over the type's rows, bounded
        in time (EVENT_SCAN_TIMEOUT): a log too large to read in that time is refused, never waited for."""
        figure = {"count": "count(*)", "min": "min(time)", "max": "max(time)",  # constants, never input
                  "sum": f"sum({_AMOUNT})", "largest": f"max({_AMOUNT})", "smallest": f"min({_AMOUNT})"}[aggregate]
        extra: list[Any] = [value_path or []] if aggregate in ("sum", "largest", "smallest") or bound else []
        scored = ""
        if bound:  # only events whose number meets the bound: the operators are constants, the limits parameters
            extra += [bound.get(op) for op in _BOUND_OPS]
            scored = "AND " + " AND ".join(f"(${7 + k}::float8 IS NULL OR {_AMOUNT} {sql} ${7 + k})"
                                           for k, sql in enumerate(_BOUND_OPS.values())) + " "
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute(f"SET LOCAL statement_timeout = '{EVENT_SCAN_TIMEOUT_MS}ms'")  # a constant
                rows = await conn.fetch(
                    f"SELECT profile_id, {figure} AS n FROM profile_ai.events WHERE ($1 = '' OR type = $1) "
                    "AND (jsonb_array_length($2::jsonb) = 0 "
                    "     OR jsonb_path_exists(properties, '$.** ? (@ == $v[*])', jsonb_build_object('v', $2::jsonb))) "
                    "AND ($3::timestamptz IS NULL OR time >= $3) AND ($4::timestamptz IS NULL OR time < $4) "
                    f"{scored}GROUP BY profile_id HAVING count(*) >= $5",
                    event_type, list(values), _day(since), _day(before), max(1, int(times)), *extra)
        except asyncpg.QueryCanceledError:
            raise UnavailableError.worded("event_log_too_slow", type=event_type[:60],
                                          seconds=EVENT_SCAN_TIMEOUT_MS // 1000) from None
        return {r["profile_id"]: r["n"] for r in rows}

    async def absorbed_ids(self, profile_ids: list[str]) -> set[str]:
        """Which of these ids were absorbed by a merge (they live on under their survivor)."""
        rows = await self.pool.fetch("SELECT absorbed_id FROM profile_ai.aliases WHERE absorbed_id = ANY($1::text[])",
                                     profile_ids)
        return {r["absorbed_id"] for r in rows}

    async def rows(self) -> list[IndexedRow]:
        return [IndexedRow(r["profile_id"], r["content_hash"], r["updated_at"], r["fingerprint"]) for r in
                await self.pool.fetch("SELECT profile_id, content_hash, updated_at, fingerprint "
                                      "FROM profile_ai.indexed_profiles ORDER BY profile_id")]

    async def resolve(self, profile_id: str) -> str:
        """Follow merge aliases to the surviving profile (chains included, cycles stopped)."""
        row = await self.pool.fetchval("""
            WITH RECURSIVE chain(id, depth) AS (
                SELECT $1::text, 0
                UNION ALL
                SELECT a.survivor_id, c.depth + 1 FROM chain c JOIN profile_ai.aliases a ON a.absorbed_id = c.id
                WHERE c.depth < 32)
            SELECT id FROM chain ORDER BY depth DESC LIMIT 1""", profile_id)
        return str(row or profile_id)

    async def watermark(self, source: str) -> datetime | None:
        value: datetime | None = await self.pool.fetchval(
            "SELECT watermark FROM profile_ai.sync_state WHERE source = $1", source)
        return value

    async def set_watermark(self, source: str, value: datetime) -> None:
        await self.pool.execute(
            "INSERT INTO profile_ai.sync_state(source, watermark) VALUES ($1, $2) ON CONFLICT (source) "
            "DO UPDATE SET watermark = EXCLUDED.watermark, updated_at = now()", source, value)

    async def get_meta(self, key: str) -> str | None:
        value: str | None = await self.pool.fetchval("SELECT value FROM profile_ai.meta WHERE key = $1", key)
        return value

    async def set_meta(self, key: str, value: str) -> None:
        await self.pool.execute("INSERT INTO profile_ai.meta(key, value) VALUES ($1, $2) ON CONFLICT (key) "
                                "DO UPDATE SET value = EXCLUDED.value", key, value)

    async def claim_meta(self, key: str, value: str) -> str:
        """Store `value` unless the key already has one; either way return what is stored (first writer wins)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("INSERT INTO profile_ai.meta(key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                               key, value)
            stored: str = await conn.fetchval("SELECT value FROM profile_ai.meta WHERE key = $1", key)
        return stored

    async def reset(self) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM profile_ai.indexed_profiles")
            await conn.execute("DELETE FROM profile_ai.sync_state")

    async def feature_rows(self) -> list[dict[str, object]]:
        return [dict(r) for r in await self.pool.fetch(
            "SELECT * FROM profile_ai.profile_features ORDER BY profile_id")]

    async def purge_events(self, older_than_days: int) -> int:
        """Retention: drop event-log rows older than this many days (predictions then see only the window)."""
        status = await self.pool.execute("DELETE FROM profile_ai.events WHERE time < now() - make_interval(days => $1)",
                                         older_than_days)
        return int(status.split()[-1])

    async def events_of(self, profile_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """The newest events of one profile from the event log (properties without PII), times in ISO 8601."""
        rows = await self.pool.fetch(
            "SELECT event_id, type, time, value, properties FROM profile_ai.events WHERE profile_id = $1 "
            "ORDER BY time DESC, event_id LIMIT $2", profile_id, limit)
        return [{**dict(r), "time": r["time"].isoformat()} for r in rows]


def _unique(rows: list[EventRow]) -> list[EventRow]:
    """One row per event id (a source may repeat an event across overlapping windows)."""
    return list({e.event_id: e for e in rows}.values())
