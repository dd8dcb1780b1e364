"""Segment definitions (versioned), memberships and fitted segmentations in PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import numpy as np
import orjson


class HoldoutFixedError(Exception):
    """A segment's holdout is set once: changing it would move members between arms."""

    def __init__(self, segment_id: str, share: float) -> None:
        super().__init__(f"segment {segment_id!r} keeps its holdout of {share:.0%} for its life (arms never "
                         "reshuffle); create a new segment for another split")
        self.share = share


@dataclass(frozen=True)
class SegmentRow:
    segment_id: str
    version: int
    name: str
    description: str
    kind: str
    status: str
    definition: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    size: int


_CURRENT = ("SELECT d.*, (SELECT count(*) FROM profile_ai.segment_memberships m WHERE m.segment_id = d.segment_id "
            "AND m.version = d.version) AS size FROM profile_ai.current_segments d")


def _row(r: asyncpg.Record) -> SegmentRow:
    return SegmentRow(r["segment_id"], r["version"], r["name"], r["description"], r["kind"], r["status"],
                      r["definition"], r["created_at"], r["updated_at"], r["published_at"], r["size"])


# The people segments are made of: indexed, with features, not objecting to profiling (GDPR art. 21).
_POPULATION_JOIN = "profile_ai.profile_features f JOIN profile_ai.indexed_profiles i USING (profile_id)"
_NOT_OBJECTED = "f.attributes ->> 'objected' IS DISTINCT FROM 'true'"
_POPULATION = f"FROM {_POPULATION_JOIN} WHERE {_NOT_OBJECTED}"


def _record(r: asyncpg.Record) -> dict[str, Any]:
    """A profile's record for the segment library, in the index payload's field names."""
    attributes = r["attributes"] or {}
    return {"profile_id": r["profile_id"], "traits": attributes.get("traits") or {},
            "data": attributes.get("data") or {}, "counts": r["counts"] or {}, "top": r["top"] or {},
            "event_count": r["event_count"], "active_days": r["active_days"], "spend_total": r["monetary"],
            "purchases": r["purchases"], "rating_mean": r["rating_mean"],
            "last_seen": r["last_seen"].isoformat() if r["last_seen"] else None}


def record_from_text(r: asyncpg.Record) -> dict[str, Any]:
    """`_record` for a row of `indexed_records`, whose JSON columns arrive as text (parsed here, by whoever
    reads the page, off the event loop)."""
    attributes = orjson.loads(r["attributes"]) if r["attributes"] else {}
    return {"profile_id": r["profile_id"], "traits": attributes.get("traits") or {},
            "data": attributes.get("data") or {}, "counts": orjson.loads(r["counts"]) if r["counts"] else {},
            "top": orjson.loads(r["top"]) if r["top"] else {}, "event_count": r["event_count"],
            "active_days": r["active_days"], "spend_total": r["monetary"], "purchases": r["purchases"],
            "rating_mean": r["rating_mean"], "last_seen": r["last_seen"].isoformat() if r["last_seen"] else None,
            "first_seen": r["first_seen"].isoformat() if r["first_seen"] else None,
            "objected": attributes.get("objected") is True}


# members of the current version of every live segment of a kind ($1)
_LIVE_MEMBERS = ("SELECT m.segment_id, m.profile_id FROM profile_ai.segment_memberships m JOIN "
                 "profile_ai.current_segments d ON d.segment_id = m.segment_id AND d.version = m.version "
                 "WHERE d.kind = $1 AND d.status <> 'retired'")


def sample_positions(total: int, n: int, random_state: int = 0) -> np.ndarray:
    """Which positions (ascending) of `total` ordered ids a fixed random sample of n takes."""
    return np.sort(np.random.default_rng(random_state).choice(total, n, replace=False))


class DiscoveryWriter:
    """The steps of saving one discovery, on one connection inside one transaction (`discovery_run`)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def stage(self, profile_ids: Sequence[str], labels: np.ndarray, scores: np.ndarray) -> None:
        """Everyone's cluster and score, by COPY into a table this transaction drops."""
        await self.conn.execute("CREATE TEMP TABLE _members (label int, profile_id text, score float8) "
                                "ON COMMIT DROP")
        await self.conn.copy_records_to_table("_members", records=zip(
            labels.tolist(), profile_ids, np.round(scores, 5).tolist(), strict=True))
        await self.conn.execute("CREATE INDEX ON _members (profile_id)")
        await self.conn.execute("ANALYZE _members")
        # a few dozen definitions never reach autovacuum's threshold, so the planner guessed one live segment
        # and matched a million previous members by index lookups, several times slower than with statistics
        await self.conn.execute("ANALYZE profile_ai.segment_definitions")

    async def overlaps(self) -> tuple[dict[tuple[str, int], int], dict[int, int], dict[str, int]]:
        """For `match_overlaps`: members shared by each previous live discovered segment and each new cluster;
        per new cluster, its members some previous segment held; per previous segment (every one that has
        members), its members some new cluster holds."""
        overlap: dict[tuple[str, int], int] = {}
        previous_shared: dict[str, int] = {}
        for sid, label, n in await self.conn.fetch(
                f"SELECT p.segment_id, t.label, count(t.label) FROM ({_LIVE_MEMBERS}) p "
                "LEFT JOIN _members t ON t.profile_id = p.profile_id GROUP BY 1, 2", "discovered"):
            previous_shared[sid] = previous_shared.get(sid, 0) + n
            if label is not None:
                overlap[(sid, label)] = n
        new_shared = {label: n for label, n in await self.conn.fetch(
            f"SELECT t.label, count(*) FROM _members t WHERE EXISTS (SELECT 1 FROM ({_LIVE_MEMBERS}) p "
            "WHERE p.profile_id = t.profile_id) GROUP BY 1", "discovered")}
        return overlap, new_shared, previous_shared

    async def first_members(self, n: int = 3) -> dict[int, list[str]]:
        """The first `n` ids of each cluster in code point order (what a new segment's id is derived from)."""
        rows = await self.conn.fetch('SELECT label, (array_agg(profile_id ORDER BY profile_id COLLATE "C"))[1:$1] '
                                     "FROM _members GROUP BY label", n)
        return {r[0]: list(r[1]) for r in rows}

    async def save(self, run_version: int, params: dict[str, Any], model: dict[str, Any], quality: dict[str, Any],
                   segments: Sequence[dict[str, Any]], segment_of: dict[int, str], retired: Sequence[str]) -> None:
        """The fitted model, each segment's new version, the staged members under their segment ids (cluster
        `label` -> `segment_of[label]`), and the retirement of previous segments nothing matched."""
        conn = self.conn
        await conn.execute("INSERT INTO profile_ai.segmentations(version, params, model, quality) "
                           "VALUES ($1, $2, $3, $4)", run_version, params, model, quality)
        for s in segments:
            await conn.execute(
                "INSERT INTO profile_ai.segment_definitions(segment_id, version, name, description, definition, "
                "kind, status, run_version, published_at) VALUES ($1,$2,$3,$4,$5,'discovered',$6,$7,$8)",
                s["segment_id"], s["version"], s["name"], s["description"], s["definition"], s["status"],
                run_version, s.get("published_at"))
        labels = sorted(segment_of)
        await conn.execute(
            "INSERT INTO profile_ai.segment_memberships(segment_id, version, profile_id, score) "
            "SELECT s.segment_id, $1, t.profile_id, t.score FROM _members t "
            "JOIN unnest($2::int[], $3::text[]) AS s(label, segment_id) ON s.label = t.label "
            "ORDER BY s.segment_id, t.profile_id",  # in the primary key's order: 1M rows appended, not scattered
            run_version, labels, [segment_of[c] for c in labels])
        if retired:
            await conn.execute(
                "UPDATE profile_ai.segment_definitions d SET status = 'retired', updated_at = now() "
                "FROM profile_ai.current_segments c WHERE d.segment_id = c.segment_id AND d.version = c.version "
                "AND d.segment_id = ANY($1::text[])", list(retired))


class SegmentRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    # -- the population, read from profile_features: what the sync stored, not every payload of the index
    async def population_ids(self) -> list[str]:
        """Every profile segments are made of, in code point order (as Python sorts: the same sample on any
        database collation)."""
        rows = await self.pool.fetch(f'SELECT profile_id {_POPULATION} ORDER BY profile_id COLLATE "C"')
        return [r[0] for r in rows]

    async def population_sample(self, n: int, random_state: int = 0, exclude: Sequence[str] = ()) -> list[str]:
        """The fixed random sample of n that `sample_positions` takes from `population_ids()` minus `exclude`,
        without reading every id: the count, then only the chosen positions of the code point order (at 1M:
        1.2 s, where reading every id took 2.4 s)."""
        where = f'{_POPULATION} AND NOT (profile_id = ANY($1::text[]))'
        total = int(await self.pool.fetchval(f"SELECT count(*) {where}", list(exclude)))
        if total <= n:
            rows = await self.pool.fetch(f'SELECT profile_id {where} ORDER BY profile_id COLLATE "C"', list(exclude))
            return [r[0] for r in rows]
        rows = await self.pool.fetch(
            f'SELECT profile_id FROM (SELECT profile_id, row_number() OVER (ORDER BY profile_id COLLATE "C") - 1 '
            f"AS n {where}) s WHERE n = ANY($2::bigint[]) ORDER BY n", list(exclude),
            sample_positions(total, n, random_state).tolist())
        return [r[0] for r in rows]

    async def indexed_records(self, batch: int = 5000) -> AsyncIterator[list[asyncpg.Record]]:
        """Every indexed profile's record (objectors included: this is what is counted, not whom to target), a
        page at a time from one cursor, JSON as text: `record_from_text` parses a row. At a million profiles
        this reads in about a quarter of the time of the same records from the index's payloads."""
        async with self.pool.acquire() as conn, conn.transaction():
            cursor = await conn.cursor(
                "SELECT profile_id, event_count, counts::text AS counts, first_seen, last_seen, active_days, monetary, "
                "purchases, "
                f"rating_mean, top::text AS top, attributes::text AS attributes FROM {_POPULATION_JOIN}")
            while rows := await cursor.fetch(batch):
                yield rows

    async def records(self, profile_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The records of those of `profile_ids` in the population, by id (objectors are left out)."""
        rows = await self.pool.fetch(
            "SELECT profile_id, event_count, counts, last_seen, active_days, monetary, purchases, rating_mean, top, "
            f"attributes {_POPULATION} AND profile_id = ANY($1::text[])", list(profile_ids))
        return {r["profile_id"]: _record(r) for r in rows}

    async def behaviour(self, profile_ids: Sequence[str], columns: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """Numeric columns (SQL expressions over profile_features f) of those of `profile_ids` in the population,
        as (ids, float64 rows, NaN where NULL): computed by PostgreSQL, and returned as one array per column
        rather than a row per profile, so assigning 1M profiles builds no per-profile objects in Python."""
        ids = list(profile_ids)
        aggregates = "".join(f", array_agg(({c})::float8 ORDER BY u.n)" for c in columns)
        row = await self.pool.fetchrow(
            f"SELECT array_agg(u.n ORDER BY u.n){aggregates} FROM unnest($1::text[]) WITH ORDINALITY AS "
            f"u(profile_id, n) JOIN ({_POPULATION_JOIN}) ON f.profile_id = u.profile_id WHERE {_NOT_OBJECTED}", ids)
        if row is None or row[0] is None:
            return [], np.zeros((0, len(columns)))
        found = [ids[n - 1] for n in row[0]]
        matrix = np.array([row[j + 1] for j in range(len(columns))], dtype=np.float64).reshape(len(columns), len(found))
        return found, matrix.T

    async def current(self, include_retired: bool = False) -> list[SegmentRow]:
        where = "" if include_retired else " WHERE d.status <> 'retired'"
        return [_row(r) for r in await self.pool.fetch(_CURRENT + where + " ORDER BY d.kind, size DESC")]

    async def get(self, segment_id: str) -> SegmentRow | None:
        r = await self.pool.fetchrow(_CURRENT + " WHERE d.segment_id = $1", segment_id)
        return _row(r) if r else None

    async def members(self, segment_id: str, version: int, limit: int | None = None, offset: int = 0,
                      ) -> list[tuple[str, float | None]]:
        rows = await self.pool.fetch(
            "SELECT profile_id, score FROM profile_ai.segment_memberships WHERE segment_id = $1 AND version = $2 "
            "ORDER BY score DESC NULLS LAST, profile_id LIMIT $3 OFFSET $4", segment_id, version, limit, offset)
        return [(r["profile_id"], r["score"]) for r in rows]

    async def segment_of(self, profile_ids: Sequence[str], kind: str = "discovered") -> dict[str, str]:
        """The live segment of a kind each of these profiles is in (a discovered one: at most one each)."""
        rows = await self.pool.fetch(f"SELECT p.profile_id, p.segment_id FROM ({_LIVE_MEMBERS}) p "
                                     "WHERE p.profile_id = ANY($2::text[])", kind, list(profile_ids))
        return {r["profile_id"]: r["segment_id"] for r in rows}

    async def next_run_version(self) -> int:
        return int(await self.pool.fetchval("SELECT COALESCE(max(version), 0) + 1 FROM profile_ai.segmentations"))

    async def latest_segmentation(self) -> dict[str, Any] | None:
        r = await self.pool.fetchrow("SELECT * FROM profile_ai.segmentations ORDER BY version DESC LIMIT 1")
        return dict(r) if r else None

    @contextlib.asynccontextmanager
    async def discovery_run(self) -> AsyncIterator[DiscoveryWriter]:
        """One transaction for writing a discovery: its memberships are staged first, matched to the previous
        segments by counts PostgreSQL computes, then saved; anything that fails leaves nothing behind."""
        async with self.pool.acquire() as conn, conn.transaction():
            yield DiscoveryWriter(conn)

    @staticmethod
    async def _copy_members(conn: asyncpg.Connection, rows: Sequence[tuple[str, int, str, float]]) -> None:
        if rows:
            await conn.copy_records_to_table("segment_memberships", schema_name="profile_ai",
                                             columns=["segment_id", "version", "profile_id", "score"],
                                             records=list(rows))

    async def upsert_saved(self, segment_id: str, name: str, description: str, kind: str,
                           definition: dict[str, Any]) -> None:
        """A description or lookalike segment: one version, its definition editable."""
        await self.pool.execute(
            "INSERT INTO profile_ai.segment_definitions(segment_id, version, name, description, definition, kind) "
            "VALUES ($1, 1, $2, $3, $4, $5) ON CONFLICT (segment_id, version) DO UPDATE SET name = EXCLUDED.name, "
            "description = EXCLUDED.description, definition = EXCLUDED.definition, updated_at = now()",
            segment_id, name, description, definition, kind)

    async def replace_members(self, segment_id: str, version: int, rows: Sequence[tuple[str, float]],
                              definition: dict[str, Any] | None = None) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM profile_ai.segment_memberships WHERE segment_id = $1 AND version = $2",
                               segment_id, version)
            await self._copy_members(conn, [(segment_id, version, pid, score) for pid, score in rows])
            if definition is not None:
                await conn.execute("UPDATE profile_ai.segment_definitions SET definition = $3, updated_at = now() "
                                   "WHERE segment_id = $1 AND version = $2", segment_id, version, definition)

    async def add_members(self, rows: Sequence[tuple[str, int, str, float]]) -> None:
        """Assignment of new profiles: idempotent (a profile re-assigned keeps one row per segment version)."""
        if not rows:
            return
        async with self.pool.acquire() as conn, conn.transaction():
            pids = sorted({r[2] for r in rows})
            versions = sorted({(r[0], r[1]) for r in rows})
            # a profile belongs to one discovered segment of a run: drop any earlier assignment in this run
            await conn.execute(
                "DELETE FROM profile_ai.segment_memberships m USING profile_ai.segment_definitions d "
                "WHERE m.segment_id = d.segment_id AND m.version = d.version AND d.kind = 'discovered' "
                "AND d.run_version = (SELECT run_version FROM profile_ai.segment_definitions WHERE segment_id = $2 "
                "AND version = $3) AND m.profile_id = ANY($1::text[])", pids, versions[0][0], versions[0][1])
            await self._copy_members(conn, rows)

    async def prediction_audience(self, goal: str, rule: str, value: Any, segment_id: str | None,
                                  ids: Sequence[str] | None, size_only: bool = False,
                                  ) -> tuple[list[tuple[str, float]], dict[str, Any]]:
        """The members a model's rule picks from the scored pool (optionally within a segment's members or a set of
        ids), best first, and the sizes: pool, expected outcomes, their share of everyone's. One window pass."""
        where: list[str] = ["pr.goal = $1"]
        args: list[Any] = [goal]
        if segment_id is not None:
            args.append(segment_id)
            where.append(f"pr.profile_id IN (SELECT m.profile_id FROM profile_ai.segment_memberships m JOIN "
                         f"profile_ai.current_segments d ON d.segment_id = m.segment_id AND d.version = m.version "
                         f"WHERE m.segment_id = ${len(args)})")
        if ids is not None:
            args.append(list(ids))
            where.append(f"pr.profile_id = ANY(${len(args)}::text[])")
        args.append(value)
        v = f"${len(args)}"
        keep = {"tier": f"tier = {v}::text", "top_percent": f"rn <= ceil(n * {v}::float8 / 100)",
                "min_score": f"s >= {v}::float8", "capture": f"cum - s < {v}::float8 * pool_total"}[rule]
        sql = f"""
        WITH everyone AS (
            SELECT pr.profile_id, pr.tier, pr.model_id, coalesce(pr.probability, pr.value) AS s,
                   {' AND '.join(where)} AS in_pool
            FROM profile_ai.predictions pr JOIN profile_ai.models md ON md.model_id = pr.model_id
            WHERE pr.goal = $1 AND md.status = 'active'
        ), ranked AS (
            SELECT profile_id, tier, model_id, s,
                   row_number() OVER w AS rn,
                   sum(s) OVER w AS cum,
                   count(*) OVER () AS n, sum(s) OVER () AS pool_total
            FROM everyone WHERE in_pool
            -- ties by id in byte order: a million-row sort by the collation's rules cost a tenth of a second more
            WINDOW w AS (ORDER BY s DESC, profile_id COLLATE "C")
        )
        SELECT {"count(*) AS members, sum(s) AS expected, min(s) AS s, max(model_id) AS model_id, max(n) AS n"
                if size_only else "profile_id, s, model_id, n"},
               (SELECT sum(s) FROM everyone) AS all_total FROM ranked WHERE {keep} {"" if size_only else "ORDER BY rn"}
        """
        rows = await self.pool.fetch(sql, *args)
        if size_only and rows and rows[0]["members"]:  # the sizes, not a million rows
            r = rows[0]
            return [], {"pool": int(r["n"]), "all_total": float(r["all_total"] or 0), "model_id": r["model_id"],
                        "members": int(r["members"]), "expected": float(r["expected"] or 0), "min": float(r["s"])}
        rows = [] if size_only else rows
        if rows:
            first = rows[0]
            stats = {"pool": int(first["n"]), "all_total": float(first["all_total"] or 0),
                     "model_id": first["model_id"]}
        else:  # the rule picks nobody: the pool's size still says why
            r = await self.pool.fetchrow(
                f"SELECT count(*) FILTER (WHERE {' AND '.join(where)}) AS pool, count(*) AS scored, "
                "max(pr.model_id) AS model_id FROM profile_ai.predictions pr JOIN profile_ai.models md "
                "ON md.model_id = pr.model_id WHERE pr.goal = $1 AND md.status = 'active'", *args[:-1])
            stats = {"pool": int(r["pool"]), "all_total": 0.0, "model_id": r["model_id"], "scored": int(r["scored"])}
        return [(r["profile_id"], float(r["s"])) for r in rows], stats

    async def holdout(self, segment_id: str) -> float | None:
        share = await self.pool.fetchval("SELECT share FROM profile_ai.segment_holdouts WHERE segment_id = $1",
                                         segment_id)
        return None if share is None else float(share)

    async def publish(self, segment_id: str, version: int, holdout: float | None) -> int:
        """In one transaction: keep the holdout (a segment's is fixed for its life), mark the version published
        and record every member's entry and arm. Returns the members entered now."""
        async with self.pool.acquire() as conn, conn.transaction():
            if holdout is not None:
                await conn.execute("INSERT INTO profile_ai.segment_holdouts (segment_id, share) VALUES ($1, $2) "
                                   "ON CONFLICT (segment_id) DO NOTHING", segment_id, holdout)
                kept = await conn.fetchval("SELECT share FROM profile_ai.segment_holdouts WHERE segment_id = $1",
                                           segment_id)
                if abs(float(kept) - holdout) > 1e-12:
                    raise HoldoutFixedError(segment_id, float(kept))
            await conn.execute(
                "UPDATE profile_ai.segment_definitions SET status = 'published', updated_at = now(), "
                "published_at = now() WHERE segment_id = $1 AND version = $2", segment_id, version)
            return await self._expose(conn, segment_id, version)

    async def record_exposures(self, segment_id: str, version: int) -> int:
        """Members of a published version who have no entry yet enter now (after a refresh adds them)."""
        async with self.pool.acquire() as conn:
            return await self._expose(conn, segment_id, version)

    @staticmethod
    async def _expose(conn: asyncpg.Connection, segment_id: str, version: int) -> int:
        status = await conn.execute(
            "INSERT INTO profile_ai.segment_exposures (segment_id, profile_id, arm) "
            "SELECT m.segment_id, m.profile_id, CASE WHEN h.share IS NOT NULL AND "
            "profile_ai.holdout_bucket(m.segment_id, m.profile_id) < h.share THEN 'control' ELSE 'treated' END "
            "FROM profile_ai.segment_memberships m LEFT JOIN profile_ai.segment_holdouts h "
            "ON h.segment_id = m.segment_id WHERE m.segment_id = $1 AND m.version = $2 "
            "ON CONFLICT (segment_id, profile_id) DO NOTHING", segment_id, version)
        return int(status.split()[-1])

    async def arms(self, segment_id: str, profile_ids: Sequence[str]) -> dict[str, str]:
        """The arm of each of these members (treated when the segment keeps no holdout)."""
        rows = await self.pool.fetch(
            "SELECT p AS profile_id, CASE WHEN h.share IS NOT NULL AND profile_ai.holdout_bucket($1, p) < h.share "
            "THEN 'control' ELSE 'treated' END AS arm FROM unnest($2::text[]) p "
            "LEFT JOIN profile_ai.segment_holdouts h ON h.segment_id = $1", segment_id, list(profile_ids))
        return {r["profile_id"]: r["arm"] for r in rows}

    async def set_status(self, segment_id: str, version: int, status: str) -> None:
        await self.pool.execute(
            "UPDATE profile_ai.segment_definitions SET status = $3, updated_at = now(), published_at = "
            "CASE WHEN $3 = 'published' THEN now() ELSE published_at END WHERE segment_id = $1 AND version = $2",
            segment_id, version, status)

    async def delete(self, segment_id: str) -> None:
        await self.pool.execute("DELETE FROM profile_ai.segment_definitions WHERE segment_id = $1", segment_id)

    async def previous_members(self, segment_id: str) -> set[str]:
        """Everyone who is a member of any version still held (to clear a trait from people who left). A
        published segment's leavers are re-queued when a discovery drops them, before `prune_memberships` deletes
        their older versions, so nobody who still holds the trait in Tracardi is missed."""
        return {r["profile_id"] for r in await self.pool.fetch(
            "SELECT DISTINCT profile_id FROM profile_ai.segment_memberships WHERE segment_id = $1", segment_id)}

    async def of_profile(self, profile_id: str) -> list[SegmentRow]:
        rows = await self.pool.fetch(
            _CURRENT + " JOIN profile_ai.segment_memberships m ON m.segment_id = d.segment_id AND "
            "m.version = d.version WHERE m.profile_id = $1 AND d.status <> 'retired' ORDER BY d.kind, d.name",
            profile_id)
        return [_row(r) for r in rows]

    async def prune_memberships(self, keep: int = 2) -> int:
        """Delete the members of discovered segments' versions older than their `keep` newest. Each discovery
        writes everyone again under a new version (1M rows, about 180 MB, per run at 1M profiles); only the
        current version is read, and the one before it for the people who left (their traits were re-queued
        when they left). Returns the rows deleted."""
        done = await self.pool.execute(
            "DELETE FROM profile_ai.segment_memberships m USING (SELECT segment_id, version, dense_rank() OVER "
            "(PARTITION BY segment_id ORDER BY version DESC) AS newest FROM profile_ai.segment_definitions "
            "WHERE kind = 'discovered') d WHERE m.segment_id = d.segment_id AND m.version = d.version "
            "AND d.newest > $1", keep)
        return int(done.split()[-1])

    async def unassigned(self, run_version: int) -> list[str]:
        """Indexed profiles that no discovered segment of this run holds (new since the run)."""
        rows = await self.pool.fetch(
            "SELECT i.profile_id FROM profile_ai.indexed_profiles i WHERE NOT EXISTS (SELECT 1 FROM "
            "profile_ai.segment_memberships m JOIN profile_ai.segment_definitions d ON d.segment_id = m.segment_id "
            "AND d.version = m.version WHERE d.kind = 'discovered' AND d.run_version = $1 "
            "AND m.profile_id = i.profile_id) ORDER BY i.profile_id", run_version)
        return [r["profile_id"] for r in rows]
