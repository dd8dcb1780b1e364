"""The persistent write-back queue: pending -> delivered | dead (or superseded by a newer payload)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson


def payload_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class QueueItem:
    id: int
    target: str
    profile_id: str
    payload: dict[str, Any]
    attempts: int


class WritebackRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def enqueue(self, target: str, items: Sequence[tuple[str, dict[str, Any]]]) -> int:
        """Queue payloads, set-based (COPY + one statement). A payload equal to the profile's newest live
        item is skipped (idempotent); a changed one supersedes older pending items; a payload that comes
        back (A -> B -> A) revives its old row, because Tracardi holds B by then."""
        if not items:
            return 0
        latest: dict[str, tuple[str, dict[str, Any]]] = {}
        for profile_id, payload in items:  # the last payload given for a profile wins
            latest[profile_id] = (payload_hash(payload), payload)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("CREATE TEMP TABLE _wq (profile_id text, payload text, payload_hash text) "
                               "ON COMMIT DROP")
            await conn.copy_records_to_table("_wq", records=[
                (pid, orjson.dumps(p).decode(), h) for pid, (h, p) in latest.items()])
            added = await conn.fetchval(
                """
                WITH live AS (
                    SELECT DISTINCT ON (w.profile_id) w.profile_id, w.payload_hash
                    FROM profile_ai.writeback_queue w JOIN _wq q ON q.profile_id = w.profile_id
                    WHERE w.target = $1 AND w.status IN ('pending', 'delivered')
                    ORDER BY w.profile_id, w.updated_at DESC, w.id DESC),
                todo AS (
                    SELECT q.* FROM _wq q LEFT JOIN live l ON l.profile_id = q.profile_id
                    WHERE l.payload_hash IS DISTINCT FROM q.payload_hash),
                ins AS (
                    INSERT INTO profile_ai.writeback_queue(target, profile_id, payload, payload_hash)
                    SELECT $1, profile_id, payload::jsonb, payload_hash FROM todo
                    ON CONFLICT (target, profile_id, payload_hash) DO UPDATE SET status = 'pending',
                        attempts = 0, last_error = NULL, updated_at = clock_timestamp()
                    RETURNING id, profile_id),
                superseded AS (
                    UPDATE profile_ai.writeback_queue w SET status = 'superseded', updated_at = now()
                    FROM ins WHERE w.target = $1 AND w.profile_id = ins.profile_id AND w.status = 'pending'
                        AND w.id <> ins.id)
                SELECT count(*) FROM ins
                """, target)
        return int(added)

    async def pending(self, target: str, limit: int = 1000) -> list[QueueItem]:
        rows = await self.pool.fetch(
            "SELECT id, target, profile_id, payload, attempts FROM profile_ai.writeback_queue "
            "WHERE target = $1 AND status = 'pending' ORDER BY id LIMIT $2", target, limit)
        return [QueueItem(r["id"], r["target"], r["profile_id"], r["payload"], r["attempts"]) for r in rows]

    async def delivered(self, item_id: int, delivered_to: str) -> None:
        await self.pool.execute(
            "UPDATE profile_ai.writeback_queue SET status = 'delivered', attempts = attempts + 1, "
            "delivered_to = $2, last_error = NULL, updated_at = now() WHERE id = $1 AND status = 'pending'",
            item_id, delivered_to)

    async def failed(self, item_id: int, error: str, *, dead: bool, counted: bool = True) -> None:
        """Record a failed delivery; `counted=False` (an outage: 5xx, time-out, refused connection) keeps the
        item pending without spending one of its attempts."""
        await self.pool.execute(
            "UPDATE profile_ai.writeback_queue SET status = CASE WHEN $3 THEN 'dead' ELSE 'pending' END, "
            "attempts = attempts + CASE WHEN $4 THEN 1 ELSE 0 END, last_error = $2, updated_at = now() "
            "WHERE id = $1 AND status = 'pending'", item_id, error[:1000], dead, counted)

    async def counts(self, target: str) -> dict[str, int]:
        rows = await self.pool.fetch("SELECT status, count(*) AS n FROM profile_ai.writeback_queue WHERE target = $1 "
                                     "GROUP BY status", target)
        return {r["status"]: int(r["n"]) for r in rows}
