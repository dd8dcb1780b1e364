"""Benchmark: what a 10,000-profile incremental sync and a 10,000-profile write-back ask of Tracardi.

Method: the emulator (in process, over httpx's ASGI transport, so every request is counted) holds N synthetic
0.9 profiles with 3 events each. A watermark is taken; then 500 profiles get a new event inside their existing
session (Tracardi does not move their update time) and 100 profiles are saved (update time moves). The
incremental read is the one a sync makes (`TracardiSource.stream` with the watermark), without embedding.
The write-back queues one prediction for every profile in the embedded PostgreSQL and delivers it.
Printed: requests by route, the largest where clause sent (TQL terms: comparisons, Tracardi's Earley parser
cost grows with them), and for the read how many of the new events it found.
Run: .venv/bin/python bench/tracardi_requests.py [--profiles 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from app.predictions.repository import PredictionRow, PredictionsRepository
from app.store.database import Database
from app.sync.sources import TracardiSource
from app.tracardi.client import TracardiClient
from app.tracardi.setup import setup_writeback
from app.writeback.repository import WritebackRepository
from app.writeback.service import TracardiWriteback
from tests.tracardi_emulator.app import TracardiEmulator
from tests.tracardi_emulator.generate import make_profiles


def routes(emu: TracardiEmulator) -> str:
    counts = Counter(path if not path.startswith("/profile/") or "select" in path else "/profile/{id}"
                     for _, path in emu.calls)
    return ", ".join(f"{p} {n}" for p, n in counts.most_common())


async def incremental(n: int) -> None:
    emu = TracardiEmulator("0.9")
    docs, events = make_profiles(n, seed=3, events_per_profile=3)
    emu.seed(docs, events)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(emu.app), base_url="http://t", timeout=60) as http:
        client = TracardiClient(http, username="admin@profile.ai", password="admin")
        source = TracardiSource(client, "http://t")
        watermark = datetime.now(UTC)
        emu.clock.advance(3600)
        later = emu.clock.now().isoformat()
        grown = [d["id"] for d in docs[::max(1, n // 500)][:500]]
        for k, pid in enumerate(grown):  # a new event in the session the profile already has
            emu.put_event({"id": f"new-{k}", "type": "page-view", "metadata": {"time": {"insert": later}},
                           "session": {"id": f"s-{pid}"}, "profile": {"id": pid}, "properties": {}})
        for d in docs[1::max(1, n // 100)][:100]:
            emu.touch(d["id"], {"plan": "vip"})
        emu.calls.clear()
        emu.max_terms = 0

        async def all_known(batch):  # type: ignore[no-untyped-def]
            return {p.id for p in batch}  # the fingerprint skip of a sync that holds every profile already

        t = time.perf_counter()
        found: set[str] = set()
        items = 0
        async for item in source.stream(watermark, all_known):
            items += 1
            found |= {e.id for e in item.events if e.id.startswith("new-")}
        secs = time.perf_counter() - t
    print(f"incremental sync read, {n} profiles (0.9): {items} profiles read, new events found {len(found)} of "
          f"{len(grown)}; {len(emu.calls)} requests ({routes(emu)}); largest where clause {emu.max_terms} terms; "
          f"{secs:.1f}s")


async def writeback(n: int) -> None:
    emu = TracardiEmulator("0.9")
    docs, _ = make_profiles(n, seed=4)
    emu.seed(docs)
    ids = [d["id"] for d in docs]
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.connect(None, Path(tmp))
        try:
            repo = PredictionsRepository(db.pool)
            now = datetime.now(UTC) - timedelta(days=1)
            await repo.register_model("churn-v1", "churn", 1, 90, now, {})
            await db.pool.executemany("INSERT INTO profile_ai.profile_features(profile_id, event_count) "
                                      "VALUES ($1, 0)", [(i,) for i in ids])
            await repo.upsert_predictions([PredictionRow(p, "churn-v1", "churn", (k % 100) / 100, None, 50.0,
                                                         "top 50%", now) for k, p in enumerate(ids)])
            async with httpx.AsyncClient(transport=httpx.ASGITransport(emu.app), base_url="http://t",
                                         timeout=60) as http:
                client = TracardiClient(http, username="admin@profile.ai", password="admin")
                await setup_writeback(client)
                wb = TracardiWriteback(client, WritebackRepository(db.pool), concurrency=8)
                await wb.enqueue_profiles(ids)
                emu.calls.clear()
                emu.max_terms = 0
                t = time.perf_counter()
                report = await wb.deliver()
                secs = time.perf_counter() - t
        finally:
            await db.close()
    sessions = {(e.get("session") or {}).get("id") for e in emu.dataset().events.values()}
    print(f"write-back, {n} profiles (0.9): delivered {report.delivered}; {len(emu.calls)} requests "
          f"({routes(emu)}); largest where clause {emu.max_terms} terms; distinct session ids {len(sessions)}; "
          f"{secs:.1f}s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profiles", type=int, default=10_000)
    a = ap.parse_args()
    asyncio.run(incremental(a.profiles))
    asyncio.run(writeback(a.profiles))


if __name__ == "__main__":
    main()
