"""The persistent write-back queue: pending -> delivered | dead (or superseded by a newer payload)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

# The payload's hash is computed by PostgreSQL from its canonical jsonb text (keys in jsonb's order), so payloads
# queued from Python and straight from the traits view hash alike.
_HASH = "encode(sha256(convert_to(payload::text, 'UTF8')), 'hex')"

# One statement over the temp table _wq(profile_id, payload jsonb): skip what equals the profile's newest live
# item, insert or revive the rest, supersede what they replace.
_QUEUE = f"""
    WITH q AS (SELECT profile_id, payload, {_HASH} AS payload_hash FROM _wq),
    live AS (
        SELECT DISTINCT ON (w.profile_id) w.profile_id, w.payload_hash
        FROM profile_ai.writeback_queue w JOIN q ON q.profile_id = w.profile_id
        WHERE w.target = $1 AND w.status IN ('pending', 'delivered')
        ORDER BY w.profile_id, w.updated_at DESC, w.id DESC),
    todo AS (
        SELECT q.* FROM q LEFT JOIN live l ON l.profile_id = q.profile_id
        WHERE l.payload_hash IS DISTINCT FROM q.payload_hash),
    ins AS (
        INSERT INTO profile_ai.writeback_queue(target, profile_id, payload, payload_hash)
        SELECT $1, profile_id, payload, payload_hash FROM todo
        ON CONFLICT (target, profile_id, payload_hash) DO UPDATE SET status = 'pending',
            attempts = 0, last_error = NULL, updated_at = clock_timestamp()
        RETURNING id, profile_id),
    superseded AS (
        UPDATE profile_ai.writeback_queue w SET status = 'superseded', updated_at = now()
        FROM ins WHERE w.target = $1 AND w.profile_id = ins.profile_id AND w.status = 'pending'
            AND w.id <> ins.id)
    SELECT count(*) FROM ins
"""


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
        latest = {profile_id: payload for profile_id, payload in items}  # the last payload given for a profile wins
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("CREATE TEMP TABLE _wq_text (profile_id text, payload text) ON COMMIT DROP")
            await conn.copy_records_to_table("_wq_text", records=[
                (pid, orjson.dumps(p).decode()) for pid, p in latest.items()])
            await conn.execute("CREATE TEMP TABLE _wq ON COMMIT DROP AS "
                               "SELECT profile_id, payload::jsonb AS payload FROM _wq_text")
            added = await conn.fetchval(_QUEUE, target)
        return int(added)

    async def enqueue_current_traits(self, target: str, profile_ids: Sequence[str]) -> int:
        """Queue the current AI traits of these profiles (view profile_ai.current_traits) as `enqueue` would,
        without carrying them through Python: a million profiles' payloads are built and hashed in PostgreSQL."""
        if not profile_ids:
            return 0
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "CREATE TEMP TABLE _wq ON COMMIT DROP AS SELECT profile_id, "
                "jsonb_build_object('predictions', predictions, 'segments', segments) AS payload "
                "FROM profile_ai.current_traits WHERE profile_id = ANY($1::text[])", list(profile_ids))
            added = await conn.fetchval(_QUEUE, target)
        return int(added)

    async def pending(self, target: str, limit: int = 1000) -> list[QueueItem]:
        """A look at what waits (claims nothing): for reports and tests. Senders use `claim`."""
        rows = await self.pool.fetch(
            "SELECT id, target, profile_id, payload, attempts FROM profile_ai.writeback_queue "
            "WHERE target = $1 AND status = 'pending' ORDER BY id LIMIT $2", target, limit)
        return [QueueItem(r["id"], r["target"], r["profile_id"], r["payload"], r["attempts"]) for r in rows]

    async def claim(self, target: str, worker: str, limit: int = 1000, lease_seconds: float = 600,
                    after_id: int = 0) -> list[QueueItem]:
        """Claim up to `limit` pending items with ids above `after_id` (a run's cursor: an item that failed
        and was released is not retried in the same run) for `worker`. Rows locked by another claimer are skipped (SKIP
        LOCKED), claims of others are honoured until their lease ends, and a profile with any item in flight
        is left alone: its newer payload goes out after the older one, never before."""
        rows = await self.pool.fetch(
            """
            UPDATE profile_ai.writeback_queue w SET claimed_by = $3,
                claimed_until = clock_timestamp() + make_interval(secs => $4)
            FROM (SELECT q.id FROM profile_ai.writeback_queue q
                  WHERE q.target = $1 AND q.status = 'pending' AND q.id > $5
                    AND (q.claimed_until IS NULL OR q.claimed_until < clock_timestamp())
                    AND NOT EXISTS (SELECT 1 FROM profile_ai.writeback_queue o
                                    WHERE o.target = q.target AND o.profile_id = q.profile_id AND o.id <> q.id
                                      AND o.claimed_by IS NOT NULL AND o.claimed_until >= clock_timestamp())
                  ORDER BY q.id LIMIT $2 FOR UPDATE SKIP LOCKED) c
            WHERE w.id = c.id
            RETURNING w.id, w.target, w.profile_id, w.payload, w.attempts
            """, target, limit, worker, float(lease_seconds), after_id)
        return sorted((QueueItem(r["id"], r["target"], r["profile_id"], r["payload"], r["attempts"]) for r in rows),
                      key=lambda i: i.id)

    async def delivered(self, item_id: int, delivered_to: str, worker: str) -> bool:
        """Mark a claimed item delivered; False when the claim was lost (expired and taken) or the item was
        superseded meanwhile. The claim is released either way."""
        async with self.pool.acquire() as conn, conn.transaction():
            done = await conn.fetchval(
                "UPDATE profile_ai.writeback_queue SET status = 'delivered', attempts = attempts + 1, "
                "delivered_to = $2, last_error = NULL, updated_at = now(), claimed_by = NULL, claimed_until = NULL "
                "WHERE id = $1 AND status = 'pending' AND claimed_by = $3 RETURNING id", item_id, delivered_to, worker)
            await self._release(conn, item_id, worker)
        return done is not None

    async def failed(self, item_id: int, error: str, *, worker: str, dead: bool, counted: bool = True) -> None:
        """Record a failed delivery of a claimed item and release it; `counted=False` (an outage: 5xx,
        time-out, refused connection) keeps the item pending without spending one of its attempts."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE profile_ai.writeback_queue SET status = CASE WHEN $3 THEN 'dead' ELSE 'pending' END, "
                "attempts = attempts + CASE WHEN $4 THEN 1 ELSE 0 END, last_error = $2, updated_at = now() "
                "WHERE id = $1 AND status = 'pending' AND claimed_by = $5", item_id, error[:1000], dead, counted,
                worker)
            await self._release(conn, item_id, worker)

    async def release_dead(self, target: str, host: str, alive: Callable[[int], bool]) -> int:
        """Release the claims of this host's workers whose process is gone (killed mid-run): a restart need
        not wait for their leases. Worker ids are `host:pid:run`; other hosts' claims wait for their lease."""
        owners = await self.pool.fetch("SELECT DISTINCT claimed_by FROM profile_ai.writeback_queue "
                                       "WHERE target = $1 AND claimed_by LIKE $2", target, _like_prefix(host) + ":%")
        dead = [o["claimed_by"] for o in owners if not _owner_alive(o["claimed_by"], alive)]
        if not dead:
            return 0
        status = await self.pool.execute("UPDATE profile_ai.writeback_queue SET claimed_by = NULL, "
                                         "claimed_until = NULL WHERE claimed_by = ANY($1::text[])", dead)
        return int(status.split()[-1])

    @staticmethod
    async def _release(conn: asyncpg.Connection, item_id: int, worker: str) -> None:
        # whatever happened to the item meanwhile (superseded), its profile is no longer in flight
        await conn.execute("UPDATE profile_ai.writeback_queue SET claimed_by = NULL, claimed_until = NULL "
                           "WHERE id = $1 AND claimed_by = $2", item_id, worker)

    async def counts(self, target: str) -> dict[str, int]:
        rows = await self.pool.fetch("SELECT status, count(*) AS n FROM profile_ai.writeback_queue WHERE target = $1 "
                                     "GROUP BY status", target)
        return {r["status"]: int(r["n"]) for r in rows}


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _owner_alive(worker: str, alive: Callable[[int], bool]) -> bool:
    parts = worker.split(":")
    try:
        return alive(int(parts[1]))
    except (IndexError, ValueError):
        return True  # not ours to judge: wait for the lease


async def writeback_of_profile(pool: asyncpg.Pool, target: str, profile_id: str) -> list[dict[str, Any]]:
    """What was (or will be) written back for one person: status, where it landed, when (transparency)."""
    rows = await pool.fetch("SELECT status, delivered_to, updated_at, payload FROM profile_ai.writeback_queue "
                            "WHERE target = $1 AND profile_id = $2 ORDER BY id DESC LIMIT 20", target, profile_id)
    return [{"status": r["status"], "delivered_to": r["delivered_to"], "updated_at": r["updated_at"].isoformat(),
             "fields": sorted(r["payload"])} for r in rows]
