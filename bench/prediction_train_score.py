"""Benchmark: train and score a purchase model on 100,000 profiles through the real service path.

Data: synthetic customers over two years (page views, product views, purchases with values; each customer
with its own activity rate and lifetime, so the future is partly predictable from the past), written with
COPY into the embedded PostgreSQL's profile_ai.events / profile_features, as a sync would leave them.
Written in chunks of 20,000 profiles, each from its own seed (memory does not grow with the size; 1M profiles
x 50 events: --profiles 1000000 --rate-scale 8.6). Method: wall time of PredictionService.train (event log read from PostgreSQL, point-in-time features for
two snapshots, calibrated gradient boosting, baselines incl. BG/NBD, permutation importance, refit) and
of PredictionService.score (log read, features, scoring, per-profile drivers, upsert of 100k predictions,
write-back queue). Peak RSS of the process. Pin to 2 cores as CI has them:
    taskset -c 0,1 .venv/bin/python bench/prediction_train_score.py --profiles 100000
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from app.predictions.repository import PredictionsRepository
from app.predictions.schemas import ScoreRequest, TrainRequest
from app.predictions.service import PredictionService
from app.store.database import Database
from app.writeback.repository import WritebackRepository
from app.writeback.service import enqueue_traits
from bench.common import peak_rss_mb
from profiles.dictionary import EventDictionary

START = datetime(2023, 1, 1, tzinfo=UTC).timestamp()
DAY = 86400.0


def synthetic(first: int, n: int, seed: int = 0, rate_scale: float = 1.0,
              ) -> list[tuple[str, str, str, datetime, float | None]]:
    """Profiles first..first+n-1 (each from its own seed, so chunks are independent and deterministic)."""
    rows: list[tuple[str, str, str, datetime, float | None]] = []
    for i in range(first, first + n):
        rng = np.random.default_rng((seed, i))
        pid = f"p{i:07d}"
        rate = rng.gamma(0.8, 0.03) * rate_scale  # visits per day
        born = START + rng.uniform(0, 500) * DAY
        dies = born + rng.exponential(300) * DAY
        t = born
        k = 0
        while t < min(dies, START + 730 * DAY) and k < 5000:
            r = rng.random()
            etype, value = ("purchase-order", float(round(rng.gamma(2, 20), 2))) if r < 0.15 else \
                (("product-view", None) if r < 0.5 else ("page-view", None))
            rows.append((pid, f"{pid}-{k}", etype, datetime.fromtimestamp(t, UTC), value))
            t += rng.exponential(1 / max(rate, 1e-3)) * DAY
            k += 1
    return rows


async def load(db: Database, n: int, rate_scale: float, chunk: int = 20_000) -> int:
    """Write the profiles' events and feature rows in chunks (memory stays flat whatever n is)."""
    total = 0
    async with db.pool.acquire() as conn:
        for first in range(0, n, chunk):
            rows = await asyncio.to_thread(synthetic, first, min(chunk, n - first), 0, rate_scale)
            await conn.copy_records_to_table("events", schema_name="profile_ai", records=rows,
                                             columns=["profile_id", "event_id", "type", "time", "value"])
            await conn.copy_records_to_table("profile_features", schema_name="profile_ai",
                                             columns=["profile_id", "event_count"],
                                             records=[(f"p{i:07d}", 0) for i in range(first, min(first + chunk, n))])
            total += len(rows)
        await conn.execute("ANALYZE profile_ai.events")
    return total


async def main(n: int, rate_scale: float) -> None:
    # ignore_cleanup_errors: at 1M the stopping server can still be writing WAL when the directory goes
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        db = await Database.connect(None, Path(tmp))
        try:
            t = time.perf_counter()
            events = await load(db, n, rate_scale)
            print(f"prediction train/score: {n:,} profiles, {events:,} events (written with COPY in "
                  f"{time.perf_counter() - t:.0f}s; peak RSS so far {peak_rss_mb():.0f} MB)")
            repo = PredictionsRepository(db.pool)
            queue = WritebackRepository(db.pool)

            async def enqueue(ids: list[str]) -> int:
                return await enqueue_traits(queue, ids)

            ids = [r["profile_id"] for r in await repo.profile_attributes()]
            t = time.perf_counter()
            cols = await repo.event_columns(ids, spool=Path(tmp))
            print(f"  event log read (binary COPY into columns): {cols.time.size:,} events in "
                  f"{time.perf_counter() - t:.1f}s, {sum(a.nbytes for a in (cols.profile, cols.type, cols.time, cols.value, cols.hit)) / 1e6:.0f} MB of arrays; "
                  f"peak RSS so far {peak_rss_mb():.0f} MB")
            del cols
            svc = PredictionService(repo, EventDictionary.load(), enqueue)
            t = time.perf_counter()
            model = await svc.train(TrainRequest(goal="purchase", horizon_days=90))
            train_s = time.perf_counter() - t
            c = model.card
            print(f"  train: {train_s:.1f} s wall ({c['training_rows']:,} training rows, {c['rows']:,} holdout rows); "
                  f"peak RSS so far {peak_rss_mb():.0f} MB")
            print(f"    holdout AUC {c['holdout']['auc']}, BG/NBD {c['baselines'].get('bgnbd', {}).get('auc')}, "
                  f"logistic RFM {c['baselines']['logistic_rfm']['auc']}, rule "
                  f"{c['baselines']['recency_frequency_rule']['auc']}; {c['quality']}")
            t = time.perf_counter()
            res = await svc.score(ScoreRequest(model_id=model.model_id, limit=10))
            score_s = time.perf_counter() - t
            print(f"  score: {res.scored:,} profiles in {score_s:.1f} s wall (incl. upsert and {res.queued:,} "
                  "write-back items queued)")
            print(f"  peak RSS {peak_rss_mb():.0f} MB")
        finally:
            await db.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--profiles", type=int, default=100_000)
    ap.add_argument("--rate-scale", type=float, default=1.0,
                    help="multiplies every customer's visit rate: 1 gives about 6.7 events a profile, 8.6 about 50")
    a = ap.parse_args()
    asyncio.run(main(a.profiles, a.rate_scale))
