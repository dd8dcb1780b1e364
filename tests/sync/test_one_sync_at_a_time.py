"""One sync at a time per deployment, whichever door (issue 32, item 9): `POST /v1/sync`, the scheduled `sync`
job and webhook pushes went through three paths that nothing serialised. Real PostgreSQL, the real model, the
Tracardi emulator."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import DatabaseSettings, ServerSettings, Settings, TracardiSettings, WebhookSettings
from app.container import Container
from app.jobs.runner import JobRunner
from app.main import create_app
from app.store.database import Database
from app.sync.guard import SyncGuard, SyncRunningError
from app.sync.lease_repository import LeaseRepository
from app.tracardi.webhook import Push
from tests.tracardi_emulator.app import TracardiEmulator
from tests.tracardi_emulator.generate import make_profiles

SECRET = "z" * 40


async def test_a_lease_orders_processes_and_expires_when_its_holder_dies(pg_url: str, tmp_path: Path) -> None:
    db = await Database.connect(pg_url, tmp_path)
    try:
        here, there = SyncGuard(LeaseRepository(db.pool)), SyncGuard(LeaseRepository(db.pool), poll_s=0.05)
        async with here.hold():
            assert await there.busy()
            with pytest.raises(SyncRunningError, match="another process"):
                async with there.hold(wait=False):
                    pass
        assert not await there.busy()
        # a killed holder never gives its lease back: it is taken over once it expires
        assert await LeaseRepository(db.pool).take("sync", "killed:1", 0.3)
        assert await there.busy()
        async with asyncio.timeout(10):
            async with there.hold():
                assert await LeaseRepository(db.pool).holder("sync") == there.holder
    finally:
        await db.close()


async def test_three_doors_at_once_end_like_one_sync(encoder: Any, pg_url: str, new_database: Any,
                                                     tmp_path: Path) -> None:
    emu = TracardiEmulator("0.9")
    profiles, events = make_profiles(40, seed=9, events_per_profile=3)
    emu.seed(profiles, events)

    def settings(url: str, root: Path) -> Settings:
        return Settings(data_dir=root, database=DatabaseSettings(url=url),
                        tracardi=TracardiSettings(url="http://tracardi", username="admin@profile.ai", password="admin"),
                        webhook=WebhookSettings(secret=SECRET), server=ServerSettings(auth=False))

    c = await Container.create(settings(pg_url, tmp_path / "doors"), encoder=encoder)
    c.tracardi_transport = httpx.ASGITransport(emu.app)
    running = 0
    most = 0
    real_run, real_items = c.sync.run, c.sync.sync_items

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            await asyncio.sleep(0.05)  # widen the window a race would need
            return await fn(*args, **kwargs)
        finally:
            running -= 1

    c.sync.run = lambda *a, **k: counted(real_run, *a, **k)  # type: ignore[method-assign]
    c.sync.sync_items = lambda *a, **k: counted(real_items, *a, **k)  # type: ignore[method-assign]
    app = create_app(c.settings, container=c)
    try:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://localhost") as http:
            jobs = JobRunner(c, owns_index=True)
            http_door = http.post("/v1/sync", json={})
            job_door = jobs.sync({})
            push_door = c.usecases.sync_pushed([Push(p["id"]) for p in profiles[:5]])
            answer, job, push = await asyncio.gather(http_door, job_door, push_door)
            assert answer.status_code in (202, 409)  # started, or told a sync is running
            await app.state.sync_runner.wait()
            second = await http.post("/v1/sync", json={})
            assert second.status_code == 202
            await app.state.sync_runner.wait()
            status = (await http.get("/v1/sync")).json()
            assert status["last_error"] is None and status["last_result"]["mode"] == "incremental"
        assert most == 1  # never two at once
        ours = {h.payload["profile_id"]: h.payload["content_hash"] for page in c.index.scroll() for h in page}
    finally:
        await c.aclose()
    # the reference: one sync alone, into a fresh database and index
    ref = await Container.create(settings(await new_database(), tmp_path / "alone"), encoder=encoder)
    ref.tracardi_transport = httpx.ASGITransport(emu.app)
    try:
        await ref.usecases.sync_and_refresh(ref.source("http://tracardi", transport=ref.tracardi_transport))
        alone = {h.payload["profile_id"]: h.payload["content_hash"] for page in ref.index.scroll() for h in page}
    finally:
        await ref.aclose()
    assert ours == alone and len(ours) == 40
