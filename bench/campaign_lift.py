"""Measured lift and prediction-audience sizing at scale, on the embedded PostgreSQL.

Method: a segment of M members published with a 10% holdout (entries spread over 30 days) and E events per
member (one in ten a purchase with a value, spread over 60 days before and 90 after the campaign start) are
generated in SQL (generate_series); then `LiftService.lift` (per-arm sums in one SQL pass, statistics in Python)
is timed 3 times for `purchase` within 30 days, and `SegmentService.size_audience` 3 times for a 50% capture and
a top 10% over M scored customers. Wall time with `time.perf_counter`, the best and the worst of 3.

Run: .venv/bin/python bench/campaign_lift.py [--members 1000000] [--events 50] [--work DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.activation.repository import LiftRepository
from app.activation.service import LiftService
from app.config import DatabaseSettings
from app.segments.repository import SegmentRepository
from app.segments.schemas import PredictionAudienceRequest
from app.segments.service import SegmentService
from app.store.database import Database

START = datetime(2026, 6, 1, tzinfo=UTC)
CHUNK = 5_000_000


async def main(members: int, per: int, work: Path) -> None:
    db = await Database.from_settings(DatabaseSettings(), work, migrate=True)
    pool = db.pool
    try:
        t = time.perf_counter()
        await pool.execute("INSERT INTO profile_ai.segment_holdouts (segment_id, share) VALUES ('bench', 0.1)")
        await pool.execute(
            "INSERT INTO profile_ai.segment_exposures (segment_id, profile_id, arm, entered_at) "
            "SELECT 'bench', 'p' || g, CASE WHEN profile_ai.holdout_bucket('bench', 'p' || g) < 0.1 THEN 'control' "
            "ELSE 'treated' END, $1::timestamptz + (g % 30) * interval '1 day' FROM generate_series(1, $2) g",
            START, members)
        total = members * per
        for lo in range(0, total, CHUNK):
            await pool.execute(
                "INSERT INTO profile_ai.events (profile_id, event_id, type, time, value, properties) "
                "SELECT 'p' || (g / $3 + 1), 'e' || g, CASE WHEN g % 10 = 0 THEN 'purchase-order' ELSE 'page-view' "
                "END, $4::timestamptz - interval '60 days' + ((g * 2654435761) % 12960000) * interval '1 second', "
                "CASE WHEN g % 10 = 0 THEN 50.0 END, '{}'::jsonb FROM generate_series($1::bigint, $2::bigint) g",
                lo, min(lo + CHUNK, total) - 1, per, START)
            print(f"  events {min(lo + CHUNK, total):,} / {total:,} ({time.perf_counter() - t:.0f} s)", flush=True)
        await pool.execute("INSERT INTO profile_ai.models (model_id, goal, version, horizon_days, as_of) "
                           "VALUES ('m1', 'churn', 1, 30, now())")
        await pool.execute(
            "INSERT INTO profile_ai.predictions (profile_id, model_id, goal, probability, percentile, tier, as_of) "
            "SELECT 'p' || g, 'm1', 'churn', ((g::bigint * 40503) % 100000) / 100000.0, 0, "
            "CASE WHEN g % 10 = 0 THEN 'top 10%' ELSE 'rest' END, now() FROM generate_series(1, $1) g", members)
        await pool.execute("ANALYZE")
        print(f"generated {members:,} members and {total:,} events in {time.perf_counter() - t:.0f} s")

        async def purchase_types() -> list[str]:
            return ["purchase-order"]

        async def event_types() -> list[str]:
            return ["purchase-order", "page-view"]

        async def exists(segment_id: str) -> bool:
            return True

        lift = LiftService(LiftRepository(pool), exists, SegmentRepository(pool).holdout, purchase_types,
                           event_types)
        times = []
        for _ in range(3):
            t = time.perf_counter()
            report = await lift.lift("bench", "purchase", 30, as_of=datetime(2027, 1, 1, tzinfo=UTC))
            times.append(time.perf_counter() - t)
        print(f"lift, {report.arms['treated'].members + report.arms['control'].members:,} members over "
              f"{total:,} events: best {min(times):.2f} s, worst {max(times):.2f} s ({report.verdict[:80]})")
        segments = SegmentService(None, None, SegmentRepository(pool), None)  # type: ignore[arg-type]
        for req in (PredictionAudienceRequest(name="a", goal="churn", capture=0.5),
                    PredictionAudienceRequest(name="b", goal="churn", top_percent=10)):
            times = []
            for _ in range(3):
                t = time.perf_counter()
                size = await segments.size_audience(req)
                times.append(time.perf_counter() - t)
            print(f"audience sizing ({req.rule()[0]}) over {members:,} scored: best {min(times):.2f} s, worst "
                  f"{max(times):.2f} s ({size.members:,} members, {size.share_of_expected:.0%} of expected)")
    finally:
        await db.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--events", type=int, default=50)
    ap.add_argument("--work", type=Path, default=Path("/tmp/profile-ai-campaign-lift"))
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True, mode=0o700)
    asyncio.run(main(args.members, args.events, args.work))
