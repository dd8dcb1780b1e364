"""One sync at a time per deployment, whichever door it comes through: `POST /v1/sync`, the scheduled `sync` job,
a webhook push, the CLI, a backfill's start and finish.

Two locks, because each alone fails: an asyncio lock orders the doors inside one process (the server's HTTP
runner, its in-process worker and its webhook share one index), and a PostgreSQL lease orders processes (a
`profile-ai sync` beside a worker on another machine). The lease is renewed while the sync runs and expires by
itself when its holder is killed; it is single statements, so it holds through a transaction-mode pooler."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator

from app.errors import ConflictError
from app.sync.lease_repository import LeaseRepository

log = logging.getLogger(__name__)
LEASE = "sync"


class SyncRunningError(ConflictError):
    code = "sync_running"


class SyncGuard:
    def __init__(self, leases: LeaseRepository, *, ttl_s: float = 60.0, poll_s: float = 1.0) -> None:
        self.leases = leases
        self.ttl_s = ttl_s
        self.poll_s = poll_s
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._local = asyncio.Lock()

    async def busy(self) -> bool:
        """Whether a sync runs now, here or in another process."""
        if self._local.locked():
            return True
        holder = await self.leases.holder(LEASE)
        return holder is not None and holder != self.holder

    @contextlib.asynccontextmanager
    async def hold(self, *, wait: bool = True, door: str = "sync") -> AsyncIterator[None]:
        """Run the body as the deployment's only sync. `wait=False`: SyncRunningError at once when busy."""
        if not wait and self._local.locked():
            raise SyncRunningError.worded("sync_running_here")
        async with self._local:
            while not await self.leases.take(LEASE, self.holder, self.ttl_s):
                if not wait:
                    raise SyncRunningError.worded("sync_running_elsewhere", holder=await self.leases.holder(LEASE))
                await asyncio.sleep(self.poll_s)
            log.info("sync lease taken", extra={"route": door})
            renew = asyncio.create_task(self._renew(), name="sync lease renewal")
            try:
                yield
            finally:
                renew.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renew
                with contextlib.suppress(Exception):  # a lost database: the lease expires by itself
                    await self.leases.give_back(LEASE, self.holder)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.ttl_s / 3)
            try:
                if not await self.leases.take(LEASE, self.holder, self.ttl_s):
                    log.error("sync lease lost to another holder while this sync ran")
            except Exception:  # noqa: BLE001 - the next renewal tries again; the lease outlives one miss
                log.warning("sync lease renewal failed", exc_info=True)
