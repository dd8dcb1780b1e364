"""Coalesce bursts of requests for one expensive job (the segment refresh after webhook pushes, the index purge
after erasures)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


class Debounced:
    """`request()` asks for `job`; it runs once the requests pause for `delay` seconds (but no later than
    `max_wait` after the first unanswered one, so a steady stream still gets refreshes). A request made
    while it runs schedules exactly one more run: a burst of N pushes costs one or two runs, and the last
    push is never left out."""

    def __init__(self, job: Callable[[], Awaitable[Any]], delay: float, max_wait: float | None = None) -> None:
        self.job = job
        self.delay = delay
        self.max_wait = max_wait if max_wait is not None else max(10 * delay, 1.0)
        self._first: float | None = None  # the oldest unanswered request
        self._last = 0.0
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()  # cuts a wait short (flush)

    def request(self) -> None:
        now = time.monotonic()
        self._last = now
        if self._first is None:
            self._first = now
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while self._first is not None:
            due = min(self._last + self.delay, self._first + self.max_wait)
            if (wait := due - time.monotonic()) > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
                continue  # a request may have come in meanwhile: recompute
            self._first = None
            try:
                await self.job()
            except Exception:
                log.exception("debounced job failed; the next request runs it again")

    async def wait(self) -> None:
        """Until nothing is scheduled (tests, orderly shutdown of a worker)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def flush(self) -> None:
        """Answer what is pending now rather than after the delay, and return when it is done (a short-lived
        process, such as a CLI command, before it exits)."""
        delay, max_wait = self.delay, self.max_wait
        self.delay = self.max_wait = 0.0
        self._wake.set()
        try:
            await self.wait()
        finally:  # later requests are coalesced again
            self.delay, self.max_wait = delay, max_wait
            self._wake.clear()

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
