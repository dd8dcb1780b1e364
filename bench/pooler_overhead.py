"""Benchmark: the same sync and scoring through a transaction pooler and directly (issue 29; target <= 1.2x).

Method: one embedded PostgreSQL, Debian's pgbouncer 1.18 in transaction mode in front of it on loopback
(tests/supabase/pgbouncer.py: what Supabase's transaction pooler does), Supabase's roles, two fresh databases
owned by the non-superuser owner. The same export (N profiles, E events each) is synced into each: full, then
incremental after nothing changed; a churn model is trained once per database and scores everyone. Encoding is
replaced by a stand-in that returns fixed random vectors at once (as bench/sync_memory.py), so the figures are
the pipeline's own cost, where the database is the largest part: the worst case for a pooler. With the real
model the ratio only moves closer to 1 (the same encoding time on both sides). Each step is timed with
time.perf_counter; the order (pooled first, then direct) is alternated over --rounds.
Run: .venv/bin/python bench/pooler_overhead.py [--profiles 3000] [--events 20] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


async def one(database: Any, export: Path, data: Path) -> dict[str, float]:
    import numpy as np

    from app.config import Settings
    from app.container import Container
    from app.predictions.schemas import ScoreRequest, TrainRequest

    c = await Container.create(Settings(data_dir=data, database=database))
    try:
        fixed = np.random.default_rng(0).standard_normal((4096, c.encoder.dim)).astype(np.float32)
        fixed /= np.linalg.norm(fixed, axis=1, keepdims=True)
        c.sync.encoder.encode = lambda texts, batch_size=None: fixed[np.arange(len(texts)) % len(fixed)]  # type: ignore[method-assign]
        out: dict[str, float] = {}
        t = time.perf_counter()
        await c.sync.run(c.source(str(export)))
        out["full sync"] = time.perf_counter() - t
        t = time.perf_counter()
        await c.sync.run(c.source(str(export)))
        out["incremental sync"] = time.perf_counter() - t
        model = await c.predictions.train(TrainRequest(goal="churn", horizon_days=60, random_state=0))
        t = time.perf_counter()
        await c.predictions.score(ScoreRequest(model_id=model.model_id))
        out["score"] = time.perf_counter() - t
        return out
    finally:
        await c.aclose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profiles", type=int, default=3000)
    ap.add_argument("--events", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    from app.config import DatabaseSettings
    from app.demo.writer import write_export
    from app.store.database import start_embedded
    from tests.supabase.pgbouncer import create_roles, start_pgbouncer, supabase_database
    from tests.tracardi_emulator.generate import START, make_profiles

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        profiles, events = make_profiles(a.profiles, seed=3, events_per_profile=a.events)
        rnd = random.Random(1)
        for e in events:
            when = (START + timedelta(days=rnd.uniform(0, 365))).isoformat()
            e["metadata"]["time"] = {"insert": when, "create": when}
        export = write_export(root / "export", profiles, events)
        uri, server = start_embedded(root / "pg")
        asyncio.run(create_roles(uri))
        bouncer = start_pgbouncer(uri)
        times: dict[str, dict[str, list[float]]] = {"pooled": {}, "direct": {}}
        try:
            for r in range(a.rounds):
                for kind in (("pooled", "direct") if r % 2 == 0 else ("direct", "pooled")):
                    urls = asyncio.run(supabase_database(uri, bouncer))
                    db = (DatabaseSettings(url=urls["pooled"], pool_mode="transaction") if kind == "pooled"
                          else DatabaseSettings(url=urls["direct"]))
                    res = asyncio.run(one(db, export, root / f"data-{kind}-{r}"))
                    for step, s in res.items():
                        times[kind].setdefault(step, []).append(s)
        finally:
            bouncer.stop()
            server.cleanup()
        print(f"{a.profiles:,} profiles x {a.events} events, encoder stand-in, {a.rounds} rounds (median):")
        for step in times["direct"]:
            d, p = statistics.median(times["direct"][step]), statistics.median(times["pooled"][step])
            print(f"  {step:17s} direct {d:6.2f} s   through pgbouncer (transaction) {p:6.2f} s   ratio {p / d:.2f}x")


if __name__ == "__main__":
    main()
