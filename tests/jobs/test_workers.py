"""Two worker processes share a partitioned backfill through the same PostgreSQL; one is SIGKILLed in the
middle of a partition. Its job goes back to the queue when its heartbeat stops, the other worker redoes it
(dropping what the killed attempt staged), and the result is exactly that of one plain sync."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from app.config import DatabaseSettings, JobSettings, Settings, SyncSettings
from app.container import Container
from app.jobs.runner import JobRunner
from tests.jobs.test_backfill import same, snapshot, write_export

EXE = str(Path(sys.executable).parent / "profile-ai")


def start_worker(url: str, export: Path, data: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PROFILE_AI_DATABASE__URL": url, "PROFILE_AI_SYNC__SOURCE": str(export),
           "PROFILE_AI_SYNC__BATCH_SIZE": "8", "PROFILE_AI_JOBS__HEARTBEAT_S": "0.5",
           "PROFILE_AI_JOBS__STALLED_AFTER_S": "3", "PROFILE_AI_DATA_DIR": str(data)}
    return subprocess.Popen([EXE, "worker", "--queues", "encode"], env=env, stdout=subprocess.DEVNULL,
                            stderr=open(log, "wb"), start_new_session=True)


async def test_two_workers_and_a_sigkill_end_exactly_like_one_sync(encoder: Any, new_database: Any,
                                                                   tmp_path: Path) -> None:
    export = write_export(tmp_path, 400, seed=11)
    data = tmp_path / "data"

    def settings(url: str, d: Path) -> Settings:
        return Settings(data_dir=d, database=DatabaseSettings(url=url), sync=SyncSettings(source=str(export), batch_size=8),
                        jobs=JobSettings(worker_in_serve=False, heartbeat_s=0.5, stalled_after_s=3))

    plain = await Container.create(settings(await new_database(), tmp_path / "plain"), encoder=encoder)
    try:
        await plain.sync.run(plain.source())
        expected = await snapshot(plain)
    finally:
        await plain.aclose()

    url = await new_database()
    c = await Container.create(settings(url, data), encoder=encoder)  # the owner: migrates, holds the index
    owner = JobRunner(c, owns_index=True)
    workers: list[subprocess.Popen[bytes]] = []
    serving = None
    try:
        await owner.queue.defer("backfill", {"partitions": 4})
        serving = asyncio.create_task(owner.queue.work(["index"]))  # the start and the finish run here
        workers = [start_worker(url, export, data, tmp_path / f"w{i}.log") for i in range(2)]
        pool = c.database.pool
        victim = None
        deadline = time.monotonic() + 180
        while victim is None and time.monotonic() < deadline:  # a worker in the middle of a partition
            row = await pool.fetchrow(
                "SELECT r.worker FROM profile_ai.job_runs r JOIN profile_ai.backfill_staged s ON "
                "s.partition = (r.args->>'partition')::int WHERE r.job = 'backfill-partition' AND r.status = 'running' "
                "LIMIT 1")
            if row is not None:
                victim = int(row["worker"].rsplit(":", 1)[1])
            await asyncio.sleep(0.02)
        assert victim in {w.pid for w in workers}, "no worker was caught mid-partition"
        os.killpg(victim, signal.SIGKILL)
        survivor = next(w for w in workers if w.pid != victim)
        run: dict[str, Any] = {}
        while time.monotonic() < deadline:
            await owner.queue.retry_stalled()  # what the periodic retry-stalled job does every minute
            run = (await owner.backfills.runs(1))[0]
            if run["status"] == "done":
                break
            assert survivor.poll() is None, (tmp_path / "w0.log").read_text()[-2000:]
            await asyncio.sleep(0.5)
        assert run["status"] == "done", run
        attempts = {p["partition"]: p["attempts"] for p in run["partition_status"]}
        assert sorted(attempts.values())[-1] == 2 and sum(attempts.values()) == 5  # the killed one ran twice
        killed = await pool.fetch("SELECT worker, error FROM profile_ai.job_runs WHERE status = 'failed'")
        assert [r["worker"].endswith(f":{victim}") for r in killed] == [True]  # its run is marked, not left running
        assert "the worker stopped" in killed[0]["error"]
        assert run["result"]["seen"] == 400 and run["result"]["embedded"] == 400
        same(await snapshot(c), expected)
    finally:
        for w in workers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(w.pid, signal.SIGTERM)
        for w in workers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                w.wait(20)
        if serving is not None:
            serving.cancel()
            with contextlib.suppress(BaseException):
                await serving
        await owner.queue.close()
        await c.aclose()
