"""SQL of measured lift: per-arm sums of each matured member's outcome after entry and before it, in one pass."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

# the members whose whole window has passed by $3: what lift and uplift count
_MATURED = """
WITH m AS (
    SELECT x.profile_id, x.arm, x.entered_at FROM profile_ai.segment_exposures x
    WHERE x.segment_id = $1 AND x.entered_at + make_interval(days => $2) <= $3
)"""
# y: the outcome in [entry, entry + days); x: the same outcome in [entry - days, entry) (for CUPED)
_SUMS = _MATURED + """, o AS (
    SELECT m.profile_id, m.arm,
           count(ev.event_id) FILTER (WHERE ev.time >= m.entered_at) AS n_after,
           count(ev.event_id) FILTER (WHERE ev.time < m.entered_at) AS n_before,
           coalesce(sum(ev.value) FILTER (WHERE ev.time >= m.entered_at), 0) AS v_after,
           coalesce(sum(ev.value) FILTER (WHERE ev.time < m.entered_at), 0) AS v_before
    FROM m LEFT JOIN profile_ai.events ev
      ON ev.profile_id = m.profile_id
     AND ev.time >= m.entered_at - make_interval(days => $2) AND ev.time < m.entered_at + make_interval(days => $2)
     AND {match}
    GROUP BY m.profile_id, m.arm
), yx AS (
    SELECT arm, {y} AS y, {x} AS x, v_after FROM o
)
SELECT arm, count(*) AS n, sum(y) AS sy, sum(y * y) AS syy, sum(x) AS sx, sum(x * x) AS sxx, sum(x * y) AS sxy,
       count(*) FILTER (WHERE v_after > 0 OR y > 0) AS converters, sum(v_after) AS spend
FROM yx GROUP BY arm
"""
MATCH = {"types": "(ev.type = ANY($4::text[]))",
         "purchase": "(ev.type = ANY($4::text[]) OR ev.value IS NOT NULL)",  # as the purchase goal counts them
         "spend": "(ev.value IS NOT NULL)"}
BINARY = ("(n_after > 0)::int::float8", "(n_before > 0)::int::float8")
AMOUNT = ("v_after::float8", "v_before::float8")


_MEMBERS = _MATURED + """
SELECT m.profile_id, m.arm = 'treated' AS treated, f.attributes,
       EXISTS (SELECT 1 FROM profile_ai.events ev WHERE ev.profile_id = m.profile_id AND ev.time >= m.entered_at
               AND ev.time < m.entered_at + make_interval(days => $2) AND {match}) AS converted
FROM m JOIN profile_ai.profile_features f ON f.profile_id = m.profile_id
ORDER BY md5(m.profile_id) LIMIT {limit}
"""


class LiftRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def arm_sums(self, segment_id: str, days: int, as_of: datetime, match: str, types: list[str],
                       amount: bool) -> dict[str, dict[str, Any]]:
        y, x = AMOUNT if amount else BINARY
        sql = _SUMS.format(match=MATCH[match], y=y, x=x)
        args: list[Any] = [segment_id, days, as_of] + ([types] if "$4" in MATCH[match] else [])
        rows = await self.pool.fetch(sql, *args)
        return {r["arm"]: dict(r) for r in rows}

    async def member_outcomes(self, segment_id: str, days: int, as_of: datetime, match: str,
                              types: list[str], limit: int) -> list[asyncpg.Record]:
        """Each matured member (a fixed sample of `limit` by hash of id beyond that): treated or not, converted
        within the window or not, its attributes."""
        args: list[Any] = [segment_id, days, as_of] + ([types] if "$4" in MATCH[match] else [])
        return list(await self.pool.fetch(_MEMBERS.format(match=MATCH[match], limit=int(limit)), *args))

    async def entries(self, segment_id: str, days: int, as_of: datetime) -> dict[str, Any]:
        """How many entered, how many have not had their whole window yet, and since when."""
        r = await self.pool.fetchrow(
            "SELECT count(*) AS entered, count(*) FILTER (WHERE entered_at + make_interval(days => $2) > $3) "
            "AS immature, min(entered_at) AS first, max(entered_at) AS last FROM profile_ai.segment_exposures "
            "WHERE segment_id = $1 AND entered_at <= $3", segment_id, days, as_of)
        return dict(r)
