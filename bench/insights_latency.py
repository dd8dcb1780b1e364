"""Benchmark: business questions (app/insights/) at N indexed profiles, in-process, on this machine's cores.

Method: the index of bench/search_latency.py (943 real MovieLens profiles synced with the model, then blends of
their vectors with their payloads up to --points). Each question is asked through InsightService as the agent
tools and HTTP routes ask it (query encoding included); latency is time.perf_counter around the awaited call,
--runs times after one warm-up, reported as p50 / p99. `describe` is timed cold (its population read from the
index on first use) and warm (cached until the next sync).
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
        sl.LOOP.run_until_complete(c.aclose())


if __name__ == "__main__":
    main()
