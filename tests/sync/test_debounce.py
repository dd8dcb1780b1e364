"""The coalescer behind the segment refresh after pushes and the index purge after erasures."""

from __future__ import annotations

import asyncio
import time

from app.sync.debounce import Debounced


async def test_a_burst_runs_once_after_the_pause_and_flush_runs_it_now() -> None:
    runs: list[float] = []

    async def job() -> None:
        runs.append(time.monotonic())

    d = Debounced(job, 0.3)
    for _ in range(5):
        d.request()
    await asyncio.sleep(0.1)
    assert runs == []  # still coalescing
    t = time.monotonic()
    await d.flush()  # a CLI command about to exit: now, once, for the whole burst
    assert len(runs) == 1 and runs[0] - t < 0.2
    d.request()  # later requests wait for their pause again
    await asyncio.sleep(0.1)
    assert len(runs) == 1
    await d.wait()
    assert len(runs) == 2 and runs[1] - t >= 0.3
    await d.flush()  # nothing pending: nothing runs
    assert len(runs) == 2
