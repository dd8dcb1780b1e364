"""Benchmark: write-back of N profiles' AI traits to Tracardi (the emulator, own process, loopback HTTP).

Method: the emulator holds N synthetic 1.x profiles; predictions for all N sit in the embedded PostgreSQL;
`tracardi setup` runs, then every profile's traits are queued and delivered: per 1,000-item batch, bulk
lookups (`/profile/select`, 200 ids each: merge resolution, no stray profiles), then one `POST /track` per
profile, 8 in flight.
Run: .venv/bin/python bench/tracardi_writeback.py [--profiles 10000]
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

import httpx

from app.predictions.repository import PredictionRow, PredictionsRepository
from app.store.database import Database
from app.tracardi.client import TracardiClient
from app.tracardi.setup import setup_writeback
from app.writeback.repository import WritebackRepository
from app.writeback.service import TracardiWriteback
from bench.common import emulator
from tests.tracardi_emulator.generate import make_profiles


async def run(url: str, n: int) -> None:
    ids = [p["id"] for p in make_profiles(n, seed=1)[0]]  # the emulator was seeded with the same seed
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.connect(None, Path(tmp))
        repo = PredictionsRepository(db.pool)
        now = datetime.now(UTC)
        await repo.register_model("churn-v1", "churn", 1, 90, now, {})
        await db.pool.executemany("INSERT INTO profile_ai.profile_features(profile_id, event_count) VALUES ($1, 0)",
                                  [(i,) for i in ids])
        await repo.upsert_predictions([PredictionRow(p, "churn-v1", "churn", (k % 100) / 100, None, 50.0, "top 50%",
                                                     now) for k, p in enumerate(ids)])
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            client = TracardiClient(http, username="admin@profile.ai", password="admin")
            await setup_writeback(client)
            wb = TracardiWriteback(client, WritebackRepository(db.pool), concurrency=8)
            t = time.perf_counter()
            queued = await wb.enqueue_profiles(ids)
            t_queue = time.perf_counter() - t
            report = await wb.deliver()
            secs = time.perf_counter() - t
        print(f"write-back: queued {queued} in {t_queue:.1f}s; delivered {report.delivered} (dead {report.dead}, "
              f"pending {report.pending}) in {secs:.1f}s = {report.delivered / secs:.0f} profiles/s "
              f"(one /track each + bulk lookups, 8 in flight, emulator in its own process)")
        await db.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profiles", type=int, default=10_000)
    a = ap.parse_args()
    with emulator(a.profiles, 0) as url:
        asyncio.run(run(url, a.profiles))


if __name__ == "__main__":
    main()
