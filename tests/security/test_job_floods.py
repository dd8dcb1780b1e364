"""Issue 32, item 4: one waiting copy was kept per job *and arguments*, so a write key queued 42 full syncs and
backfills in a second (up to 1,027 were possible), and an admin could schedule a 1,024-partition backfill every
minute. Real PostgreSQL, the real job engine."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import DatabaseSettings, JobSettings, ServerSettings, Settings
from app.errors import InvalidRequestError
from app.jobs.queue import JobQueue
from app.jobs.schedules import ScheduleRepository
from app.store.database import Database


async def test_one_waiting_copy_per_job_whatever_its_arguments(pg_url: str, tmp_path: Path) -> None:
    db = await Database.connect(pg_url, tmp_path)
    queue = JobQueue(db.pool, pg_url, JobSettings())
    try:
        first = await queue.defer("backfill", {"partitions": 1})
        assert first is not None
        floods = [await queue.defer("backfill", {"partitions": n}) for n in range(2, 41)]
        floods += [await queue.defer("sync", args) for args in ({"full": True}, {"full": False}, {})]
        assert floods == [None] * len(floods)  # sync and backfill share one lock: one waits, the rest are told
        assert await queue.defer("writeback") is not None and await queue.defer("writeback") is None
        waiting = [j for j in await queue.jobs(status="todo", limit=100) if j["job"] in ("sync", "backfill")]
        assert len(waiting) == 1
    finally:
        await queue.close()
        await db.close()


async def test_heavy_jobs_have_a_floor_on_how_often_they_run(pg_url: str, tmp_path: Path) -> None:
    db = await Database.connect(pg_url, tmp_path)
    try:
        repo = ScheduleRepository(db.pool)
        t0 = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC)
        plan: list[tuple[str, str, dict[str, Any]]] = [
            ("backfill", "* * * * *", {"partitions": 1024}), ("sync", "*/5 * * * *", {"full": True}),
            ("rescore", "0,1 * * * *", {}), ("segments-refresh", "* * * * *", {})]
        for job, cron, args in plan:
            with pytest.raises(InvalidRequestError, match="at most every"):
                await repo.put("flood", job, cron, args, now=t0)
        assert await repo.all() == []
        assert (await repo.put("nightly", "backfill", "0 2 * * *", {"partitions": 8}, now=t0))["name"] == "nightly"
        assert (await repo.put("often", "sync", "*/5 * * * *", {}, now=t0))["name"] == "often"  # incremental
    finally:
        await db.close()


async def test_a_key_may_queue_only_so_many_jobs(encoder: Any, pg_url: str, tmp_path: Path) -> None:
    from app.container import Container
    from app.main import create_app

    settings = Settings(data_dir=tmp_path, database=DatabaseSettings(url=pg_url),
                        server=ServerSettings(auth=False, job_deferrals_per_key="3/hour"))
    c = await Container.create(settings, encoder=encoder)
    try:
        app = create_app(settings, container=c)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://localhost") as http:
            codes = [(await http.post("/v1/jobs", json={"job": "writeback"})).status_code for _ in range(5)]
        assert codes == [202, 202, 202, 429, 429]
    finally:
        await c.aclose()
