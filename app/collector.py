"""Python's cyclic garbage collector, paused while a bulk read builds millions of objects, and run once a batch
instead (a sync; everyone's columns for the insights).

A sync allocates millions of small containers (parsed JSON, events, documents) that die with their batch. With
CPython's default thresholds the collector starts every 700 net allocations and re-traverses what the batch has
built so far each time: measured, over a quarter of a sync's time (`bench/sync_memory.py`'s pipeline, 5,000
profiles x 50 events, encoder stand-in: about 14.0 s -> 10.3 s). Paused, reference counting still frees every
acyclic object at once; the young generations are collected once after each batch (`collect_young`), so a cycle
outlives its batch by one batch at most; the old generation is collected every FULL_EVERY batches (a cycle that
reached it cannot pile up over a long read) and by the automatic collections that resume when the last user ends.
Process-wide, so nested and concurrent users are counted.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

FULL_EVERY = 64  # batches between full collections (one costs tens of ms; 64 batches, about half a minute)

_lock = threading.Lock()
_users = 0
_was_enabled = False
_young_runs = 0


@contextmanager
def collector_paused() -> Iterator[None]:
    """Automatic collection off for the block (restored by the last user to leave, whatever happens inside)."""
    global _users, _was_enabled
    with _lock:
        if _users == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and _was_enabled:
                gc.enable()


def collect_young() -> None:
    """Collect generations 0 and 1: what was allocated since the last call, traversed once; every FULL_EVERY
    calls, everything."""
    global _young_runs
    _young_runs += 1
    gc.collect(2 if _young_runs % FULL_EVERY == 0 else 1)
