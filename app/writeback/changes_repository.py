"""Changes for automations: a profile entered or left a published segment, or a prediction tier changed.

Computed, not hooked: `record()` compares what is true now (published memberships, tiers of active models)
with the snapshot of the last time and writes one row per difference, then moves the snapshot, in one
transaction under a lock. So every code path that changes memberships or scores (publish, refresh, rescoring,
a new model) is covered, nothing is recorded twice, and a run that changes nothing records nothing. A profile's
first tier is a baseline, not a change (a first scoring would otherwise flood Tracardi with one event per
profile); entering a published segment, the first publication included, is a change.
"""

from __future__ import annotations

from typing import Any

import asyncpg

# a segment's control group (its holdout) is never a member here: no change event tells Tracardi about them
_PUBLISHED = """SELECT m.profile_id, m.segment_id AS subject, max(d.version)::text AS version
    FROM profile_ai.segment_memberships m JOIN profile_ai.current_segments d ON d.segment_id = m.segment_id
    AND d.version = m.version AND d.status = 'published'
    LEFT JOIN profile_ai.segment_holdouts h ON h.segment_id = m.segment_id
    WHERE h.segment_id IS NULL OR profile_ai.holdout_bucket(m.segment_id, m.profile_id) >= h.share GROUP BY 1, 2"""
_TIERS = """SELECT p.profile_id, p.goal AS subject, p.tier, p.model_id FROM profile_ai.predictions p
    JOIN profile_ai.models m ON m.model_id = p.model_id AND m.status = 'active' WHERE p.tier IS NOT NULL"""


class ChangesRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def record(self) -> int:
        """Write the changes since the last call; returns how many."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('profile_ai.changes'))")
            entered = await conn.execute(f"""
                INSERT INTO profile_ai.changes(profile_id, kind, subject, before, after, model_version)
                SELECT c.profile_id, 'segment-entered', c.subject, '{{"member": false}}', '{{"member": true}}', c.version
                FROM ({_PUBLISHED}) c LEFT JOIN profile_ai.change_snapshot s ON s.profile_id = c.profile_id
                    AND s.kind = 'segment' AND s.subject = c.subject
                WHERE s.profile_id IS NULL ORDER BY c.subject, c.profile_id""")
            left = await conn.execute(f"""
                INSERT INTO profile_ai.changes(profile_id, kind, subject, before, after, model_version)
                SELECT s.profile_id, 'segment-left', s.subject, '{{"member": true}}', '{{"member": false}}', s.model_id
                FROM profile_ai.change_snapshot s LEFT JOIN ({_PUBLISHED}) c ON c.profile_id = s.profile_id
                    AND c.subject = s.subject
                WHERE s.kind = 'segment' AND c.profile_id IS NULL ORDER BY s.subject, s.profile_id""")
            await conn.execute(f"""
                DELETE FROM profile_ai.change_snapshot s WHERE s.kind = 'segment' AND NOT EXISTS (
                    SELECT 1 FROM ({_PUBLISHED}) c WHERE c.profile_id = s.profile_id AND c.subject = s.subject)""")
            await conn.execute(f"""
                INSERT INTO profile_ai.change_snapshot(profile_id, kind, subject, value, model_id)
                SELECT profile_id, 'segment', subject, 'member', version FROM ({_PUBLISHED}) c
                ON CONFLICT (profile_id, kind, subject) DO UPDATE SET model_id = EXCLUDED.model_id""")
            tiers = await conn.execute(f"""
                INSERT INTO profile_ai.changes(profile_id, kind, subject, before, after, model_version)
                SELECT t.profile_id, 'tier-changed', t.subject, jsonb_build_object('tier', s.value, 'model_id', s.model_id),
                       jsonb_build_object('tier', t.tier, 'model_id', t.model_id), t.model_id
                FROM ({_TIERS}) t JOIN profile_ai.change_snapshot s ON s.profile_id = t.profile_id
                    AND s.kind = 'tier' AND s.subject = t.subject
                WHERE s.value <> t.tier ORDER BY t.subject, t.profile_id""")
            await conn.execute(f"""
                DELETE FROM profile_ai.change_snapshot s WHERE s.kind = 'tier' AND NOT EXISTS (
                    SELECT 1 FROM ({_TIERS}) t WHERE t.profile_id = s.profile_id AND t.subject = s.subject)""")
            await conn.execute(f"""
                INSERT INTO profile_ai.change_snapshot(profile_id, kind, subject, value, model_id)
                SELECT profile_id, 'tier', subject, tier, model_id FROM ({_TIERS}) t
                ON CONFLICT (profile_id, kind, subject) DO UPDATE SET value = EXCLUDED.value,
                    model_id = EXCLUDED.model_id""")
            return sum(int(status.split()[-1]) for status in (entered, left, tiers))

    async def since(self, cursor: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT id, profile_id, kind, subject, before, after, model_version, created_at, delivered_at "
            "FROM profile_ai.changes WHERE id > $1 ORDER BY id LIMIT $2", cursor, limit)
        return [dict(r) for r in rows]

    async def claim(self, limit: int = 500, lease_seconds: float = 600) -> list[dict[str, Any]]:
        """Undelivered changes, oldest first, leased to this run (a run that dies lets the lease expire)."""
        rows = await self.pool.fetch(
            "UPDATE profile_ai.changes SET claimed_until = now() + make_interval(secs => $2) WHERE id IN ("
            "SELECT id FROM profile_ai.changes WHERE delivered_at IS NULL AND (claimed_until IS NULL OR "
            "claimed_until < now()) ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) "
            "RETURNING id, profile_id, kind, subject, before, after, model_version, attempts", limit, lease_seconds)
        return sorted((dict(r) for r in rows), key=lambda r: r["id"])

    async def delivered(self, change_id: int) -> None:
        await self.pool.execute("UPDATE profile_ai.changes SET delivered_at = now(), claimed_until = NULL "
                                "WHERE id = $1", change_id)

    async def failed(self, change_id: int, error: str, *, dead: bool = False) -> None:
        """Back to the queue (or given up: delivered_at stays empty, claimed far ahead) with the reason."""
        await self.pool.execute(
            "UPDATE profile_ai.changes SET attempts = attempts + 1, last_error = $2, claimed_until = "
            "CASE WHEN $3 THEN 'infinity'::timestamptz ELSE NULL END WHERE id = $1", change_id, error[:500], dead)
