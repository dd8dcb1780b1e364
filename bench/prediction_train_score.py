"""Benchmark: train and score a purchase model on 100,000 profiles through the real service path.

Data: synthetic customers over two years (page views, product views, purchases with values; each customer
with its own activity rate and lifetime, so the future is partly predictable from the past), written with
COPY into the embedded PostgreSQL's profile_ai.events / profile_features, as a sync would leave them.
Method: wall time of PredictionService.train (event log read from PostgreSQL, point-in-time features for
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

from app.predictions.schemas import ScoreRequest, TrainRequest
from app.predictions.service import PredictionService
from app.store.database import Database
from app.store.predictions_repository import PredictionsRepository
from app.store.writeback_repository import WritebackRepository
from app.writeback.service import enqueue_traits
from bench.common import peak_rss_mb
from profiles.dictionary import EventDictionary

START = datetime(2023, 1, 1, tzinfo=UTC).timestamp()
DAY = 86400.0


def synthetic(n: int, seed: int = 0) -> list[tuple[str, str, str, datetime, float | None, str]]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        pid = f"p{i:07d}"
        rate = rng.gamma(0.8, 0.03)  # visits per day
        born = START + rng.uniform(0, 500) * DAY
        dies = born + rng.exponential(300) * DAY
        t = born
        k = 0
        while t < min(dies, START + 730 * DAY) and k < 200:
            r = rng.random()
            etype, value = ("purchase-order", float(round(rng.gamma(2, 20), 2))) if r < 0.15 else \
                (("product-view", None) if r < 0.5 else ("page-view", None))
            rows.append((pid, f"{pid}-{k}", etype, datetime.fromtimestamp(t, UTC), value, "{}"))
            t += rng.exponential(1 / max(rate, 1e-3)) * DAY
            k += 1
    return rows


async def main(n: int) -> None:
    t = time.perf_counter()
    events = synthetic(n)
    print(f"prediction train/score: {n:,} profiles, {len(events):,} events (made in {time.perf_counter() - t:.1f}s)")
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.connect(None, Path(tmp))
        try:
            async with db.pool.acquire() as conn:
                await conn.execute("CREATE TEMP TABLE _e (profile_id text, event_id text, type text, "
                                   "time timestamptz, value float8, properties text)")
                await conn.copy_records_to_table("_e", records=events)
                await conn.execute("INSERT INTO profile_ai.events SELECT profile_id, event_id, type, time, value, "
                                   "properties::jsonb FROM _e")
                await conn.copy_records_to_table(
                    "profile_features", schema_name="profile_ai", columns=["profile_id", "event_count"],
                    records=[(f"p{i:07d}", 0) for i in range(n)])
            repo = PredictionsRepository(db.pool)
            queue = WritebackRepository(db.pool)

            async def enqueue(ids: list[str]) -> int:
                return await enqueue_traits(queue, repo, ids)

            svc = PredictionService(repo, EventDictionary.load(), enqueue)
            t = time.perf_counter()
            model = await svc.train(TrainRequest(goal="purchase", horizon_days=90))
            train_s = time.perf_counter() - t
            c = model.card
            print(f"  train: {train_s:.1f} s wall ({c['training_rows']:,} training rows, {c['rows']:,} holdout rows)")
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
    asyncio.run(main(ap.parse_args().profiles))
