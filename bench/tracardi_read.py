"""Benchmark: read profiles with their whole event history from Tracardi (the emulator, its own process,
over loopback HTTP), as a sync does. Prints profiles/s, events/s and the client's peak RSS.

Method: the emulator is seeded with N synthetic 1.x profiles x E events and served by uvicorn in a separate
process; the real client (time windows, OR-batched event reads, 4 batches in flight) reads everything once.
Run: .venv/bin/python bench/tracardi_read.py [--profiles 10000] [--events 20]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from app.tracardi.client import ReadReport, TracardiClient
from bench.common import emulator, peak_rss_mb


async def read(url: str) -> tuple[int, int, float]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        client = TracardiClient(http, username="admin@profile.ai", password="admin")
        report = ReadReport()
        t = time.perf_counter()
        n = ev = 0
        async for item in client.with_events(client.iter_profiles(report), report):
            n += 1
            ev += len(item.events)
        return n, ev, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profiles", type=int, default=10_000)
    ap.add_argument("--events", type=int, default=20)
    a = ap.parse_args()
    base = peak_rss_mb()
    with emulator(a.profiles, a.events) as url:
        n, ev, secs = asyncio.run(read(url))
    print(f"tracardi read over loopback HTTP: {n} profiles + {ev} events in {secs:.1f}s = "
          f"{n / secs:.0f} profiles/s, {ev / secs:.0f} events/s; client peak RSS {peak_rss_mb():.0f} MB "
          f"(before reading {base:.0f} MB); emulator in its own process (2 cores shared)")


if __name__ == "__main__":
    main()
