"""Benchmark: bulk upsert of 100,000 predictions into PostgreSQL (the embedded server, real asyncpg).

Method: COPY into a temporary table + one INSERT ... ON CONFLICT per 20,000-row batch, each batch one
transaction; measured for a first write (inserts) and a second write of the same keys (updates).
Run: .venv/bin/python bench/prediction_upsert.py [--rows 100000]
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

from app.predictions.repository import PredictionRow, PredictionsRepository
from app.store.database import Database


async def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.connect(None, Path(tmp))
        repo = PredictionsRepository(db.pool)
        now = datetime.now(UTC)
        await repo.register_model("churn-v1", "churn", 1, 90, now, {"auc": 0.8})
        data = [PredictionRow(f"profile-{i}", "churn-v1", "churn", (i % 1000) / 1000, None, (i % 100) + 0.5,
                              "top 10%" if i % 10 == 0 else "rest", now) for i in range(rows)]
        for label in ("insert", "update"):
            t = time.perf_counter()
            await repo.upsert_predictions(data)
            secs = time.perf_counter() - t
            print(f"{label}: {rows} predictions in {secs:.2f}s = {rows / secs:,.0f} rows/s")
        count = await db.pool.fetchval("SELECT count(*) FROM profile_ai.predictions")
        print(f"rows in table: {count} (embedded PostgreSQL 18, 2 cores)")
        await db.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    asyncio.run(main(ap.parse_args().rows))
