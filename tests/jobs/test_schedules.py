"""Schedules and the job engine against the real PostgreSQL and the Tracardi emulator: a schedule fires once
however many schedulers tick, a job that meets a Tracardi 503 is retried with backoff and then succeeds, the
server's in-process worker runs what the API queues, and bad input gets one line."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import DatabaseSettings, JobSettings, ServerSettings, Settings, TracardiSettings
from app.container import Container
from app.errors import InvalidRequestError, NotFoundError
from app.jobs.runner import JobRunner
from app.jobs.schedules import CronError, ScheduleRepository, next_fire
from app.main import create_app
from app.store.database import Database
from tests.tracardi_emulator.app import TracardiEmulator
from tests.tracardi_emulator.generate import make_profiles

EXE = str(Path(sys.executable).parent / "profile-ai")


def test_cron_expressions_parse_or_fail_in_one_line() -> None:
    t = datetime(2026, 1, 1, 10, 2, 30, tzinfo=UTC)
    assert next_fire("*/5 * * * *", t) == datetime(2026, 1, 1, 10, 5, tzinfo=UTC)
    assert next_fire("0 3 * * *", t) == datetime(2026, 1, 2, 3, 0, tzinfo=UTC)
    for bad in ("", "every five minutes", "61 * * * *", "* * * *", "* * * * * *", "x" * 500):
        with pytest.raises(CronError) as err:
            next_fire(bad, t)
        assert "\n" not in str(err.value) and "does not parse" in str(err.value)


async def test_schedules_validate_and_fire_once_across_schedulers(pg_url: str, tmp_path: Path) -> None:
    db = await Database.connect(pg_url, tmp_path)
    try:
        repo = ScheduleRepository(db.pool)
        with pytest.raises(NotFoundError, match="unknown job 'reindex-everything'"):
            await repo.put("x", "reindex-everything", "* * * * *")
        with pytest.raises(NotFoundError):  # an internal step is not schedulable
            await repo.put("x", "backfill-partition", "* * * * *")
        with pytest.raises(InvalidRequestError, match="takes full"):
            await repo.put("x", "sync", "* * * * *", {"source": "/etc"})  # a request never names a source
        with pytest.raises(InvalidRequestError):
            await repo.put("Bad Name!", "sync", "* * * * *")
        with pytest.raises(CronError):
            await repo.put("x", "sync", "*/0 * * *")
        assert await repo.all() == []  # nothing half-stored

        t0 = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC)
        s = await repo.put("often", "sync", "*/5 * * * *", {"full": False}, now=t0)
        assert s["next_run_at"] == datetime(2026, 3, 1, 12, 5, tzinfo=UTC)
        assert (await repo.put("often", "sync", "*/5 * * * *", {"full": False}, now=t0))["name"] == "often"
        assert len(await repo.all()) == 1  # put is idempotent

        deferred: list[tuple[str, dict[str, Any]]] = []

        async def defer(job: str, args: dict[str, Any]) -> int:
            await asyncio.sleep(0.01)
            deferred.append((job, args))
            return len(deferred)

        assert await repo.fire_due(defer, now=t0 + timedelta(minutes=1)) == []  # not due yet
        due = t0 + timedelta(minutes=5)
        fired = await asyncio.gather(*(repo.fire_due(defer, now=due) for _ in range(8)))  # eight schedulers tick
        assert sum(len(f) for f in fired) == 1 and deferred == [("sync", {"full": False})]
        row = await repo.get("often")
        assert row["next_run_at"] == datetime(2026, 3, 1, 12, 10, tzinfo=UTC) and row["last_job_id"] == 1
        await repo.put("often", "sync", "*/5 * * * *", enabled=False, now=due)
        assert await repo.fire_due(defer, now=due + timedelta(hours=1)) == []  # disabled

        assert await repo.ensure_defaults() == 4
        await repo.delete("rescore")
        assert await repo.ensure_defaults() == 0  # a deleted default stays deleted
        assert {r["name"] for r in await repo.all()} == {"often", "sync", "writeback", "segments-refresh"}
        with pytest.raises(NotFoundError):
            await repo.delete("rescore")
    finally:
        await db.close()


async def test_a_scheduled_sync_retries_after_a_tracardi_503_then_succeeds(encoder: Any, pg_url: str,
                                                                          tmp_path: Path) -> None:
    emu = TracardiEmulator("0.9")
    profiles, events = make_profiles(12, seed=3, events_per_profile=3)
    emu.seed(profiles, events)
    settings = Settings(data_dir=tmp_path, database=DatabaseSettings(url=pg_url), jobs=JobSettings(worker_in_serve=False),
                        tracardi=TracardiSettings(url="http://tracardi", username="admin@profile.ai", password="admin",
                                                  retries=0))
    c = await Container.create(settings, encoder=encoder)
    c.tracardi_transport = httpx.ASGITransport(emu.app)
    runner = JobRunner(c, owns_index=True)
    try:
        await runner.queue.schedules.put("sync", "sync", "* * * * *")
        emu.faults.status_burst, emu.faults.status_code = 1, 503
        fired = await runner.queue.schedules.fire_due(runner.queue.defer, now=datetime.now(UTC) + timedelta(minutes=2))
        assert fired == ["sync"]
        await runner.queue.work(wait=False)  # the first attempt meets the 503 and is scheduled again
        runs = await runner.queue.runs(job="sync")
        assert [r["status"] for r in runs] == ["failed"] and "TracardiUnavailableError" in runs[0]["error"]
        assert emu.faults.fired == 1
        assert await c.database.pool.fetchval("SELECT count(*) FROM profile_ai.indexed_profiles") == 0
        jobs = await runner.queue.jobs(job="sync")
        assert [j["status"] for j in jobs] == ["todo"] and jobs[0]["attempts"] == 1  # kept, with its input
        await asyncio.sleep(2.2)  # the engine's backoff: 2 s before the second attempt
        await runner.queue.work(wait=False)
        runs = await runner.queue.runs(job="sync")
        assert [r["status"] for r in runs] == ["succeeded", "failed"]
        assert runs[0]["result"]["seen"] == 12 and runs[0]["result"]["embedded"] == 12
        assert await c.database.pool.fetchval("SELECT count(*) FROM profile_ai.indexed_profiles") == 12
        assert c.sources._http == []  # each job's Tracardi client was closed after it, not kept until shutdown
    finally:
        await runner.queue.close()
        await c.aclose()


async def test_serve_runs_queued_jobs_itself_and_the_api_checks_input(encoder: Any, pg_url: str,
                                                                     tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database=DatabaseSettings(url=pg_url), server=ServerSettings(auth=False),
                        jobs=JobSettings(worker_in_serve=True))
    c = await Container.create(settings, encoder=encoder)
    app = create_app(settings, container=c)
    try:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://localhost") as http:
            names = {s["name"] for s in (await http.get("/v1/schedules")).json()["schedules"]}
            assert names == {"sync", "writeback", "segments-refresh", "rescore"}  # fresh with no extra command
            r = await http.post("/v1/jobs", json={"job": "sync"})
            assert r.status_code == 202 and r.json()["queued"], r.text
            job_id = r.json()["job_id"]
            for _ in range(200):
                answer = await http.get(f"/v1/jobs/{job_id}")
                assert answer.status_code == 200, answer.text
                shown = answer.json()
                if shown["runs"] and shown["runs"][-1]["status"] != "running":
                    break
                await asyncio.sleep(0.05)
            assert shown["runs"][-1]["status"] == "succeeded"
            assert shown["runs"][-1]["result"]["skipped"].startswith("no source configured")
            bad = await http.post("/v1/jobs", json={"job": "drop-tables"})
            assert bad.status_code == 404 and "unknown job" in bad.json()["detail"]
            bad = await http.put("/v1/schedules/nightly", json={"job": "rescore", "cron": "at midnight"})
            assert bad.status_code == 422 and "does not parse" in bad.json()["detail"]
            bad = await http.post("/v1/jobs", json={"job": "backfill", "args": {"partitions": 10**9}})
            assert bad.status_code == 422
            ok = await http.put("/v1/schedules/nightly", json={"job": "rescore", "cron": "0 2 * * *"})
            assert ok.status_code == 200 and ok.json()["cron"] == "0 2 * * *"
            assert (await http.get("/v1/jobs/987654")).status_code == 404
            metrics = (await http.get("/metrics")).text
            assert 'profile_ai_job_runs{job="sync",status="succeeded"} 1.0' in metrics
    finally:
        await c.aclose()


def test_a_worker_pointed_at_a_database_without_the_schema_stops_with_one_line(new_database: Any,
                                                                                tmp_path: Path) -> None:
    url = asyncio.run(new_database())
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PROFILE_AI_DATABASE__URL": url, "PROFILE_AI_DATA_DIR": str(tmp_path)}
    done = subprocess.run([EXE, "worker"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("error: SchemaMissingError: the database lacks profile-ai's schema"), done.stderr
