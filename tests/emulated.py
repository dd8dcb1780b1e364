"""A Container whose Tracardi is the in-process emulator: the set-up tests of delivery share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from app.config import DatabaseSettings, JobSettings, ServerSettings, Settings, TracardiSettings
from app.container import Container
from app.tracardi.client import TracardiClient
from app.tracardi.setup import setup_writeback
from tests.tracardi_emulator.app import TracardiEmulator


@asynccontextmanager
async def synced_over_emulator(emu: TracardiEmulator, encoder: Any, pg_url: str,
                               data_dir: Path) -> AsyncIterator[Container]:
    """Write-back set up in `emu`, one full sync from it done; the container closed afterwards. Its settings
    (`c.settings`) run without auth and without an in-process job worker."""
    t = TracardiSettings(url="http://tracardi", username="admin@profile.ai", password="admin")
    settings = Settings(data_dir=data_dir, database=DatabaseSettings(url=pg_url), tracardi=t,
                        server=ServerSettings(auth=False), jobs=JobSettings(worker_in_serve=False))
    c = await Container.create(settings, encoder=encoder)
    c.tracardi_transport = httpx.ASGITransport(emu.app)
    try:
        async with httpx.AsyncClient(base_url="http://tracardi", transport=c.tracardi_transport) as http:
            await setup_writeback(TracardiClient.from_settings(http, t))
        await c.sync.run(c.source(t.url, transport=c.tracardi_transport))
        yield c
    finally:
        await c.aclose()
