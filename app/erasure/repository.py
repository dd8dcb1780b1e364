"""Erasure in PostgreSQL: every row the layer holds about a set of ids, removed in one transaction with its
tombstones and its log entry; the tombstone lookup the sync asks before writing anyone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson

# every table keyed by a person's profile id, in the order rows are removed
PERSON_TABLES = ("indexed_profiles", "profile_features", "predictions", "segment_memberships", "segment_exposures",
                 "events", "writeback_queue", "changes", "change_snapshot", "profile_ordinals")


class ErasureRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def person_ids(self, profile_id: str) -> list[str]:
        """The person behind an id: its survivor (when the id was merged) and every id merged into it."""
        rows = await self.pool.fetch("""
            WITH RECURSIVE up(id, depth) AS (
                SELECT $1::text, 0
                UNION ALL
                SELECT a.survivor_id, u.depth + 1 FROM up u JOIN profile_ai.aliases a ON a.absorbed_id = u.id
                WHERE u.depth < 20),
            top AS (SELECT id FROM up ORDER BY depth DESC LIMIT 1),
            down(id, depth) AS (
                SELECT id, 0 FROM top
                UNION ALL
                SELECT a.absorbed_id, d.depth + 1 FROM down d JOIN profile_ai.aliases a ON a.survivor_id = d.id
                WHERE d.depth < 20)
            SELECT DISTINCT id FROM down UNION SELECT DISTINCT id FROM up""", profile_id)
        return sorted({r["id"] for r in rows})

    async def held(self, ids: Sequence[str]) -> dict[str, int]:
        """Rows per store for these ids (the verification: all zero after an erasure)."""
        out: dict[str, int] = {}
        for table in PERSON_TABLES:
            out[table] = int(await self.pool.fetchval(
                f"SELECT count(*) FROM profile_ai.{table} WHERE profile_id = ANY($1::text[])", list(ids)))
        out["aliases"] = int(await self.pool.fetchval(
            "SELECT count(*) FROM profile_ai.aliases WHERE absorbed_id = ANY($1::text[]) OR "
            "survivor_id = ANY($1::text[])", list(ids)))
        return out

    async def erase(self, ids: Sequence[str], hashes: Sequence[str], *, actor: str, reason: str | None,
                    index_points: int) -> tuple[int, dict[str, Any]]:
        """Remove every row of these ids, write their tombstones and the log entry: all or nothing."""
        removed: dict[str, Any] = {"index_points": index_points}
        async with self.pool.acquire() as conn, conn.transaction():
            # one erasure of a person at a time; a second, concurrent one waits and finds nothing left
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('profile_ai.erasure'))")
            # what was built with the person (not personal): model cards and segments say so afterwards
            removed["models"] = [r["model_id"] for r in await conn.fetch(
                "SELECT DISTINCT model_id FROM profile_ai.predictions WHERE profile_id = ANY($1::text[]) "
                "ORDER BY 1", list(ids))]
            removed["segments"] = [r["segment_id"] for r in await conn.fetch(
                "SELECT DISTINCT segment_id FROM profile_ai.segment_memberships WHERE profile_id = ANY($1::text[]) "
                "ORDER BY 1", list(ids))]
            for table in PERSON_TABLES:
                status = await conn.execute(f"DELETE FROM profile_ai.{table} WHERE profile_id = ANY($1::text[])",
                                            list(ids))
                removed[table] = int(status.split()[-1])
            status = await conn.execute("DELETE FROM profile_ai.aliases WHERE absorbed_id = ANY($1::text[]) OR "
                                        "survivor_id = ANY($1::text[])", list(ids))
            removed["aliases"] = int(status.split()[-1])
            erasure_id = await conn.fetchval(
                "INSERT INTO profile_ai.erasure_log(actor, reason, id_hashes, removed) VALUES ($1, $2, $3, $4) "
                "RETURNING erasure_id", actor[:200], (reason or "")[:500] or None, list(hashes), removed)
            await conn.executemany("INSERT INTO profile_ai.tombstones(id_hash, erasure_id) VALUES ($1, $2) "
                                   "ON CONFLICT (id_hash) DO NOTHING", [(h, erasure_id) for h in hashes])
        return int(erasure_id), removed

    async def forgotten(self, hashes: Sequence[str]) -> set[str]:
        """Which of these keyed hashes are tombstoned."""
        if not hashes:
            return set()
        rows = await self.pool.fetch("SELECT id_hash FROM profile_ai.tombstones WHERE id_hash = ANY($1::text[])",
                                     list(hashes))
        return {r["id_hash"] for r in rows}

    async def lift(self, hashes: Sequence[str], *, actor: str, reason: str | None) -> int:
        """Lift tombstones (an explicit decision, logged): the person may be synced again. Every id erased with
        it (the person's aliases) is lifted too."""
        async with self.pool.acquire() as conn, conn.transaction():
            status = await conn.execute(
                "DELETE FROM profile_ai.tombstones WHERE erasure_id IN (SELECT erasure_id FROM profile_ai.tombstones "
                "WHERE id_hash = ANY($1::text[]))", list(hashes))
            n = int(status.split()[-1])
            await conn.execute("INSERT INTO profile_ai.erasure_log(actor, reason, id_hashes, removed, action) "
                               "VALUES ($1, $2, $3, $4, 'unforget')", actor[:200], reason, list(hashes),
                               {"tombstones": n})
        return n

    async def erasures_since(self, model_or_segment_id: str) -> int:
        """How many people who were in this model's scores or this segment have been erased since."""
        return int(await self.pool.fetchval(
            "SELECT count(*) FROM profile_ai.erasure_log WHERE action = 'forget' AND "
            "(removed -> 'models' ? $1 OR removed -> 'segments' ? $1)", model_or_segment_id))

    async def log(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = await self.pool.fetch("SELECT erasure_id, at, actor, reason, action, removed, "
                                     "cardinality(id_hashes) AS ids FROM profile_ai.erasure_log "
                                     "ORDER BY erasure_id DESC LIMIT $1", limit)
        return [{"erasure_id": r["erasure_id"], "at": r["at"].isoformat(), "actor": r["actor"], "reason": r["reason"],
                 "action": r["action"], "ids": r["ids"],
                 "removed": r["removed"] if isinstance(r["removed"], dict) else orjson.loads(r["removed"])}
                for r in rows]
