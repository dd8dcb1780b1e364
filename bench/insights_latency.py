"""Benchmark: business questions (app/insights/) at N indexed profiles, in-process, on this machine's cores.

Method: the index of bench/search_latency.py (943 real MovieLens profiles synced with the model, then blends of
their vectors with their payloads up to --points). Each question is asked through InsightService as the agent
tools and HTTP routes ask it (query encoding included); latency is time.perf_counter around the awaited call,
--runs times after one warm-up, reported as p50 / p99. `describe` is timed cold (its population read from the
index on first use) and warm (cached until the next sync). `top` ranks by a model imported with a seeded random
probability for every profile.
Run: .venv/bin/python bench/insights_latency.py [--points 100000] [--runs 50] [--data-dir DIR]
(--data-dir keeps the built index there and reuses it on the next run with the same --points.)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bench import search_latency as sl


def timed(fn: Any, runs: int) -> tuple[float, float, Any]:
    out = sl.LOOP.run_until_complete(fn())  # warm-up
    laps = []
    for _ in range(runs):
        t = time.perf_counter()
        out = sl.LOOP.run_until_complete(fn())
        laps.append((time.perf_counter() - t) * 1000)
    return float(np.percentile(laps, 50)), float(np.percentile(laps, 99)), out


def top_latency(c: Any, runs: int) -> str:
    """Who first by a model: a model imported with a seeded random probability for every indexed profile
    (imported once per data dir), then top 10 overall, within one filter and within two."""
    from app.predictions.schemas import ExternalPrediction, ImportRequest

    ins = c.insights
    if sl.LOOP.run_until_complete(c.predictions.repo.active_model("churn")) is None:
        ids = [h.payload["profile_id"] for page in c.index.scroll(batch=5000, fields=["profile_id"]) for h in page]
        rnd = np.random.default_rng(7)
        t = time.perf_counter()
        sl.LOOP.run_until_complete(c.predictions.import_predictions(ImportRequest(
            goal="churn", model_name="bench", predictions=[ExternalPrediction(profile_id=p, probability=float(v))
                                                           for p, v in zip(ids, rnd.random(len(ids)), strict=True)])))
        print(f"  imported {len(ids):,} predictions in {time.perf_counter() - t:.0f}s")
    lines = []
    for label, fn in [
        ("top 10", lambda: ins.top("churn", limit=10)),
        ("top 10 within one filter", lambda: ins.top("churn", filters=["data.pii.gender=female"], limit=10)),
        ("top 10 within two filters", lambda: ins.top("churn", filters=["data.pii.gender=female", "age>=40"],
                                                      limit=10)),
        ("top 10 within a small group", lambda: ins.top("churn", filters=["data.job.position=lawyer"], limit=10)),
    ]:
        p50, p99, out = timed(fn, runs)
        lines.append(f"  {label:34s} {p50:8.1f} / {p99:8.1f}   ({len(out['ranked'])} ranked)")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--data-dir", type=Path, default=None)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = a.data_dir or Path(tmp)
        c = sl.build_or_reuse(data, a.points)
        c.search.warm()  # what every sync ends with: the question vocabulary and its payload indexes
        ins = c.insights
        n = c.index.count()
        print(f"{n:,} profiles; {a.runs} runs each after a warm-up (p50 / p99 ms)")
        for label, fn in [
            ("count, one filter", lambda: ins.count(filters=["data.pii.gender=female"])),
            ("count, two filters", lambda: ins.count(filters=["data.pii.gender=female", "age>=40"])),
            ("count, a meaning", lambda: ins.count(query="horror movie fans")),
            ("count, meaning within a filter", lambda: ins.count(query="horror movie fans",
                                                                 filters=["data.job.position=student"])),
        ]:
            p50, p99, out = timed(fn, a.runs)
            print(f"  {label:34s} {p50:8.1f} / {p99:8.1f}   (count {out['count']:,})")
        t = time.perf_counter()
        out = sl.LOOP.run_until_complete(ins.describe(filters=["data.pii.gender=female"]))
        print(f"  describe, cold (reads the population) {(time.perf_counter() - t) * 1000:8.0f} ms   (group {out['size']:,})")
        p50, p99, out = timed(lambda: ins.describe(filters=["data.pii.gender=female"]), max(3, a.runs // 10))
        print(f"  describe a {out['size']:,}-member group, warm {p50:8.0f} / {p99:8.0f}")
        print(top_latency(c, a.runs))
        sl.LOOP.run_until_complete(c.aclose())


if __name__ == "__main__":
    main()
