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
        """Queue payloads; an identical payload already queued or delivered is not queued again (idempotent),
        and a newer payload supersedes an older pending one for the same profile."""
        added = 0
        async with self.pool.acquire() as conn, conn.transaction():
            for profile_id, payload in items:
                h = payload_hash(payload)
                # what Tracardi holds (or is about to): the newest live item of the profile
                latest = await conn.fetchval(
                    "SELECT payload_hash FROM profile_ai.writeback_queue WHERE target = $1 AND profile_id = $2 "
                    "AND status IN ('pending', 'delivered') ORDER BY updated_at DESC, id DESC LIMIT 1",
                    target, profile_id)
                if latest == h:
                    continue
                # A -> B -> A: the old identical row is due again, so it is revived rather than skipped
                row = await conn.fetchval(
                    "INSERT INTO profile_ai.writeback_queue(target, profile_id, payload, payload_hash) "
                    "VALUES ($1, $2, $3, $4) ON CONFLICT (target, profile_id, payload_hash) DO UPDATE SET "
                    "status = 'pending', attempts = 0, last_error = NULL, updated_at = clock_timestamp() "
                    "RETURNING id", target, profile_id, payload, h)
                added += 1
                await conn.execute(
                    "UPDATE profile_ai.writeback_queue SET status = 'superseded', updated_at = now() "
                    "WHERE target = $1 AND profile_id = $2 AND status = 'pending' AND id <> $3",
                    target, profile_id, row)
        return added

    async def pending(self, target: str, limit: int = 1000) -> list[QueueItem]:
        rows = await self.pool.fetch(
            "SELECT id, target, profile_id, payload, attempts FROM profile_ai.writeback_queue "
            "WHERE target = $1 AND status = 'pending' ORDER BY id LIMIT $2", target, limit)
        return [QueueItem(r["id"], r["target"], r["profile_id"], r["payload"], r["attempts"]) for r in rows]

    async def delivered(self, item_id: int, delivered_to: str) -> None:
        await self.pool.execute(
            "UPDATE profile_ai.writeback_queue SET status = 'delivered', attempts = attempts + 1, "
            "delivered_to = $2, last_error = NULL, updated_at = now() WHERE id = $1", item_id, delivered_to)

    async def failed(self, item_id: int, error: str, *, dead: bool) -> None:
        await self.pool.execute(
            "UPDATE profile_ai.writeback_queue SET status = CASE WHEN $3 THEN 'dead' ELSE 'pending' END, "
            "attempts = attempts + 1, last_error = $2, updated_at = now() WHERE id = $1", item_id, error[:1000], dead)

    async def counts(self, target: str) -> dict[str, int]:
        rows = await self.pool.fetch("SELECT status, count(*) AS n FROM profile_ai.writeback_queue WHERE target = $1 "
                                     "GROUP BY status", target)
        return {r["status"]: int(r["n"]) for r in rows}
