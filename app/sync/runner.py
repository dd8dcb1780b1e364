"""Runs one sync at a time inside the server (the embedded index is single-process)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from app.sync.guard import SyncRunningError
from app.sync.schemas import SyncStatus
from app.sync.service import SyncResult

log = logging.getLogger(__name__)


class SyncRunner:
    def __init__(self, container: Any) -> None:
        self.container = container
        self._task: asyncio.Task[None] | None = None
        self._status = SyncStatus(running=False)

    def status(self) -> SyncStatus:
        return self._status.model_copy()

    async def start(self, source: str | None, full: bool) -> SyncStatus:
        """Start a sync in the background, or 409 when one runs, here or through any other door (the scheduled
        job, a webhook push, a CLI `sync` in another process): the deployment's sync guard says."""
        if (self._task is not None and not self._task.done()) or await self.container.usecases.guard.busy():
            raise SyncRunningError.worded("sync_running_here")
        # only a configured source, and a bad one fails now, as a 4xx, not later in the task
        src = self.container.sources.requested(source)
        self._status = SyncStatus(running=True, started_at=datetime.now(UTC).isoformat(),
                                  last_result=self._status.last_result)

        def progress(r: SyncResult) -> None:
            self._status.progress = {"seen": r.seen, "embedded": r.embedded, "unchanged": r.unchanged}

        async def run() -> None:
            try:
                self._status.last_result = await self.container.usecases.sync_and_refresh(src, full=full, progress=progress)
                self._status.last_error = None
            except Exception as exc:  # noqa: BLE001 - reported through the status, logged
                log.exception("sync failed")
                self._status.last_error = f"{type(exc).__name__}: {exc}"
            finally:
                self._status.running = False
                await self.container.sources.release(src)

        self._task = asyncio.create_task(run())
        return self.status()

    async def wait(self) -> None:
        if self._task is not None:
            await asyncio.shield(self._task)
