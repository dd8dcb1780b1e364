"""A partitioned full sync: the profiles are split by a stable hash of their id, each partition is one job that
any worker runs, and one finishing job makes the run whole.

A partition reads the source, keeps its share, renders and encodes it (the expensive part). Where the worker
may write the index (a Qdrant server, or it owns the embedded shard) it applies each batch itself; otherwise it
stages the encoded batches in PostgreSQL for the owner. When the last partition is done, the finishing job
(on the owner) applies the staged batches in order, deletes what the complete read did not see, and only then
moves the watermark. A retried partition first drops what its killed attempt staged, so a SIGKILL anywhere
leaves nothing twice and nothing missing.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import numpy as np
import orjson

from app.sync.service import PreparedBatch, SyncResult
from app.sync.state import EventRow, IndexedRow, ProfileFeatures
from embeddings.index import IndexPoint, SparseVector

COUNTS = ("seen", "embedded", "unchanged", "deleted", "merged", "forgotten")


# -- a prepared batch as bytes (JSON with the vectors as float32 bytes): no pickle, nothing executable
def dump_batch(batch: PreparedBatch) -> bytes:
    def dt(v: datetime | None) -> str | None:
        return v.isoformat() if v is not None else None

    return orjson.dumps({
        "points": [{"id": p.profile_id, "dense": base64.b64encode(np.asarray(p.dense, dtype=np.float32).tobytes()).decode(),
                    "si": list(p.sparse.indices), "sv": list(p.sparse.values), "payload": p.payload}
                   for p in batch.points],
        "deletes": batch.deletes, "aliases": batch.aliases,
        "rows": [[r.profile_id, r.content_hash, dt(r.updated_at), r.fingerprint, r.source] for r in batch.rows],
        "features": [{**f.__dict__, "first_seen": dt(f.first_seen), "last_seen": dt(f.last_seen)}
                     for f in batch.features],
        "events": {pid: [[e.event_id, e.type, e.time.isoformat(), e.value, e.properties] for e in rows]
                   for pid, rows in batch.events.items()},
    }, option=orjson.OPT_NON_STR_KEYS)


def load_batch(body: bytes) -> PreparedBatch:
    def dt(v: str | None) -> datetime | None:
        return datetime.fromisoformat(v) if v is not None else None

    d = orjson.loads(body)
    return PreparedBatch(
        points=[IndexPoint(p["id"], np.frombuffer(base64.b64decode(p["dense"]), dtype=np.float32).copy(),
                           SparseVector(p["si"], p["sv"]), p["payload"]) for p in d["points"]],
        deletes=list(d["deletes"]), aliases=dict(d["aliases"]),
        rows=[IndexedRow(r[0], r[1], dt(r[2]), r[3], r[4]) for r in d["rows"]],
        features=[ProfileFeatures(**{**f, "first_seen": dt(f["first_seen"]), "last_seen": dt(f["last_seen"])})
                  for f in d["features"]],
        events={pid: [EventRow(pid, e[0], e[1], datetime.fromisoformat(e[2]), e[3], e[4]) for e in rows]
                for pid, rows in d["events"].items()},
    )


class BackfillRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def create(self, source: str, partitions: int) -> str:
        run_id = f"bf-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("INSERT INTO profile_ai.backfill_runs(run_id, source, partitions) VALUES ($1, $2, $3)",
                               run_id, source, partitions)
            await conn.executemany("INSERT INTO profile_ai.backfill_partitions(run_id, partition) VALUES ($1, $2)",
                                   [(run_id, k) for k in range(partitions)])
        return run_id

    async def run(self, run_id: str) -> dict[str, Any] | None:
        row = await self.pool.fetchrow("SELECT * FROM profile_ai.backfill_runs WHERE run_id = $1", run_id)
        if row is None:
            return None
        parts = await self.pool.fetch("SELECT partition, status, attempts, result FROM profile_ai.backfill_partitions "
                                      "WHERE run_id = $1 ORDER BY partition", run_id)
        return {**dict(row), "partitions_done": sum(p["status"] == "done" for p in parts),
                "partition_status": [dict(p) for p in parts]}

    async def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = await self.pool.fetch("SELECT run_id FROM profile_ai.backfill_runs ORDER BY started_at DESC LIMIT $1",
                                     limit)
        return [r for r in [await self.run(x["run_id"]) for x in rows] if r is not None]

    async def begin_partition(self, run_id: str, partition: int) -> bool:
        """Start (or restart) a partition: what an earlier, killed attempt staged is dropped. False when the
        partition is already done (a duplicate job) or the run is gone."""
        async with self.pool.acquire() as conn, conn.transaction():
            status = await conn.fetchval(
                "UPDATE profile_ai.backfill_partitions SET attempts = attempts + 1 WHERE run_id = $1 AND partition = $2 "
                "AND status = 'pending' RETURNING status", run_id, partition)
            if status is None:
                return False
            await conn.execute("DELETE FROM profile_ai.backfill_staged WHERE run_id = $1 AND partition = $2",
                               run_id, partition)
            return True

    async def stage(self, run_id: str, partition: int, seq: int, batch: PreparedBatch) -> None:
        await self.pool.execute("INSERT INTO profile_ai.backfill_staged(run_id, partition, seq, body) VALUES ($1,$2,$3,$4) "
                                "ON CONFLICT (run_id, partition, seq) DO UPDATE SET body = EXCLUDED.body",
                                run_id, partition, seq, dump_batch(batch))

    async def finish_partition(self, run_id: str, partition: int, result: SyncResult, seen: set[str]) -> bool:
        """Mark a partition done; True when it was the last one (the caller then defers the finishing job)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE profile_ai.backfill_partitions SET status = 'done', seen = $3, result = $4, finished_at = now() "
                "WHERE run_id = $1 AND partition = $2", run_id, partition, sorted(seen),
                {k: getattr(result, k) for k in COUNTS} | {"errors": result.errors[:50],
                                                             "encode_seconds": round(result.encode_seconds, 2)})
            left = await conn.fetchval("SELECT count(*) FROM profile_ai.backfill_partitions WHERE run_id = $1 AND "
                                       "status <> 'done'", run_id)
            return int(left) == 0

    async def staged_keys(self, run_id: str, done_only: bool = False) -> list[tuple[int, int]]:
        return [(r["partition"], r["seq"]) for r in await self.pool.fetch(
            "SELECT s.partition, s.seq FROM profile_ai.backfill_staged s WHERE s.run_id = $1 AND (NOT $2 OR EXISTS ("
            "SELECT 1 FROM profile_ai.backfill_partitions p WHERE p.run_id = s.run_id AND p.partition = s.partition "
            "AND p.status = 'done')) ORDER BY s.partition, s.seq", run_id, done_only)]

    async def staged(self, run_id: str, partition: int, seq: int) -> PreparedBatch | None:
        body = await self.pool.fetchval("SELECT body FROM profile_ai.backfill_staged WHERE run_id = $1 AND "
                                        "partition = $2 AND seq = $3", run_id, partition, seq)
        return load_batch(body) if body is not None else None

    async def unstage(self, run_id: str, partition: int, seq: int) -> None:
        await self.pool.execute("DELETE FROM profile_ai.backfill_staged WHERE run_id = $1 AND partition = $2 AND seq = $3",
                                run_id, partition, seq)

    async def totals(self, run_id: str) -> tuple[set[str], dict[str, Any]]:
        """Every id the partitions saw, and their summed counts and errors."""
        seen: set[str] = set()
        totals: dict[str, Any] = {k: 0 for k in COUNTS} | {"errors": [], "encode_seconds": 0.0}
        for r in await self.pool.fetch("SELECT seen, result FROM profile_ai.backfill_partitions WHERE run_id = $1",
                                       run_id):
            seen.update(r["seen"] or [])
            res = r["result"] or {}
            for k in (*COUNTS, "encode_seconds"):
                totals[k] += res.get(k, 0)
            totals["errors"].extend(res.get("errors", []))
        return seen, totals

    async def close_run(self, run_id: str, status: str, result: dict[str, Any] | None = None,
                        error: str | None = None) -> None:
        await self.pool.execute("UPDATE profile_ai.backfill_runs SET status = $2, result = $3, error = $4, "
                                "finished_at = CASE WHEN $2 IN ('done', 'failed') THEN now() END WHERE run_id = $1",
                                run_id, status, result, error)
