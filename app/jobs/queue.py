"""The job queue as the rest of profile-ai sees it: defer a job, list jobs and runs, run a worker, count for
/metrics. Deferring and listing need only the database; running needs a JobRunner (app/jobs/runner.py)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Any

import asyncpg
import procrastinate

from app.config import JobSettings
from app.errors import NotFoundError
from app.jobs.engine import (
    ALL_QUEUES,
    JOB_SCHEMA,
    JOBS,
    Runner,
    build_job_app,
    ensure_job_schema,
    has_job_schema,
    retry_stalled,
)
from app.jobs.schedules import ScheduleRepository, check_job

log = logging.getLogger(__name__)


class JobSchemaMissingError(RuntimeError):
    pass


class JobsNeedSessionError(RuntimeError):
    """Procrastinate names its tables through the session's search_path and wakes workers with LISTEN: neither
    survives a transaction pooler, so the job engine needs a session (Supabase's direct connection or session
    pooler)."""


async def _cannot_run(name: str, args: dict[str, Any], job_id: int | None) -> dict[str, Any]:
    raise RuntimeError(f"this process defers jobs but does not run them ({name}): start `profile-ai worker`")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class JobQueue:
    def __init__(self, pool: asyncpg.Pool, url: str | None, settings: JobSettings, run: Runner | None = None) -> None:
        """`url`: a connection with a session for the job engine; None where only a transaction pooler is
        configured (then listing works and anything that needs the engine says which setting to add)."""
        self.pool = pool
        self.settings = settings
        self.session_url = url
        self.app = build_job_app(url or "", run or _cannot_run, max_attempts=settings.max_attempts)
        self.schedules = ScheduleRepository(pool)
        self._opened = False
        self._lock = asyncio.Lock()

    async def open(self, *, create_schema: bool = True) -> None:
        """Connect (once). A worker on another machine passes create_schema=False: pointed at a database
        without profile-ai's job tables it stops with one line instead of creating them there."""
        async with self._lock:
            if self._opened:
                return
            if self.session_url is None:
                raise JobsNeedSessionError(
                    "the job engine needs a database session, and PROFILE_AI_DATABASE__URL is a transaction pooler: "
                    "set PROFILE_AI_DATABASE__DIRECT_URL (Supabase's direct connection or session pooler, port 5432), "
                    "or PROFILE_AI_JOBS__WORKER_IN_SERVE=false to serve without jobs")
            if create_schema:
                await ensure_job_schema(self.pool)
            elif not await has_job_schema(self.pool):
                raise JobSchemaMissingError(
                    f"the database has no job tables (schema {JOB_SCHEMA}): point the worker at the database "
                    "`profile-ai serve` uses (PROFILE_AI_DATABASE__URL), or start `profile-ai serve` once there")
            await self.app.open_async()
            self._opened = True

    async def close(self) -> None:
        if self._opened:
            await self.app.close_async()
            self._opened = False

    async def defer(self, job: str, args: dict[str, Any] | None = None, *, unique: bool = True) -> int | None:
        """Queue a job; with `unique`, one waiting copy per job whatever its arguments (jobs that share a lock,
        sync and backfill, share it too): a second request while one waits returns None. Per arguments, a key
        could queue 1,027 full syncs and backfills (`partitions=1..1024`, `full` true/false/absent)."""
        args = args or {}
        check_job(job, args)  # an unknown job or argument is a one-line error before anything is queued
        await self.open()
        task = self.app.tasks[job]
        options: dict[str, Any] = {"queueing_lock": f"waiting:{JOBS[job].lock or job}"} if unique else {}
        try:
            return await task.configure(**options).defer_async(**args)
        except procrastinate.exceptions.AlreadyEnqueued:
            return None

    async def defer_step(self, job: str, args: dict[str, Any], queueing_lock: str) -> int | None:
        """Queue an internal step (a backfill partition or finish), at most one waiting copy per lock."""
        await self.open()
        try:
            return await self.app.tasks[job].configure(queueing_lock=queueing_lock).defer_async(**args)
        except procrastinate.exceptions.AlreadyEnqueued:
            return None

    async def work(self, queues: list[str] | None = None, *, wait: bool = True, concurrency: int | None = None,
                   install_signal_handlers: bool = False) -> None:
        """Run jobs until cancelled (or, with wait=False, until the queues are empty)."""
        await self.open()
        await self.app.run_worker_async(
            queues=queues or list(ALL_QUEUES), concurrency=concurrency or self.settings.concurrency, wait=wait,
            name=worker_name(), install_signal_handlers=install_signal_handlers,
            update_heartbeat_interval=self.settings.heartbeat_s, stalled_worker_timeout=self.settings.stalled_after_s,
            delete_jobs="successful")

    async def start_run(self, job_id: int | None, job: str, args: dict[str, Any]) -> int:
        """Record that this worker started a job (its run); returns the run's id."""
        return int(await self.pool.fetchval("INSERT INTO profile_ai.job_runs(job_id, job, args, worker) "
                                            "VALUES ($1, $2, $3, $4) RETURNING id", job_id, job, args, worker_name()))

    async def end_run(self, run_id: int, *, result: Any = None, error: str | None = None) -> None:
        await self.pool.execute("UPDATE profile_ai.job_runs SET status = $2, finished_at = now(), result = $3, "
                                "error = $4 WHERE id = $1", run_id, "failed" if error else "succeeded", result,
                                error[:2000] if error else None)

    async def retry_stalled(self) -> list[int]:
        """Jobs of workers whose heartbeat stopped go back to the queue; their unfinished runs say why."""
        await self.open()
        ids = await retry_stalled(self.app, self.settings.stalled_after_s)
        if ids:
            await self.pool.execute("UPDATE profile_ai.job_runs SET status = 'failed', finished_at = now(), error = "
                                    "'the worker stopped (killed or lost): the job was queued again' "
                                    "WHERE job_id = ANY($1::bigint[]) AND status = 'running'", ids)
        return ids

    async def jobs(self, *, status: str | None = None, job: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Queued and running jobs (Procrastinate's table) with the last run's result or error (ours). Read with
        the pool (qualified names), so it works through a transaction pooler too."""
        if not await has_job_schema(self.pool):
            return []
        rows = await self.pool.fetch(
            f"SELECT j.id, j.task_name AS job, j.status::text AS status, j.queue_name AS queue, j.lock, j.args, "
            f"j.attempts, j.scheduled_at, r.started_at, r.finished_at, r.error "
            f"FROM {JOB_SCHEMA}.procrastinate_jobs j LEFT JOIN LATERAL (SELECT started_at, finished_at, error "
            f"FROM profile_ai.job_runs WHERE job_id = j.id ORDER BY id DESC LIMIT 1) r ON true "
            f"WHERE ($1::text IS NULL OR j.status::text = $1) AND ($2::text IS NULL OR j.task_name = $2) "
            f"ORDER BY j.id DESC LIMIT $3", status, job, limit)
        return [dict(r) for r in rows]

    async def runs(self, *, job: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Finished and running executions, newest first: what each did or why it failed."""
        rows = await self.pool.fetch(
            "SELECT id, job_id, job, args, worker, started_at, finished_at, status, result, error, "
            "EXTRACT(EPOCH FROM (finished_at - started_at))::float8 AS seconds FROM profile_ai.job_runs "
            "WHERE ($1::text IS NULL OR job = $1) ORDER BY id DESC LIMIT $2", job, limit)
        return [dict(r) for r in rows]

    async def run_of(self, job_id: int) -> dict[str, Any]:
        # the engine's row first, then our runs: a job deletes its row only after its run is recorded, so a job that
        # finishes between the two reads still has its run (read the other way round it was a spurious 404)
        status = None
        if await has_job_schema(self.pool):
            status = await self.pool.fetchval(f"SELECT status::text FROM {JOB_SCHEMA}.procrastinate_jobs WHERE id = $1",
                                              job_id)
        rows = await self.pool.fetch("SELECT * FROM profile_ai.job_runs WHERE job_id = $1 ORDER BY id", job_id)
        if status is None and not rows:
            raise NotFoundError.worded("job_not_found", job=job_id)
        return {"id": job_id, "status": status or (rows[-1]["status"] if rows else None),
                "runs": [dict(r) for r in rows]}

    async def stats(self) -> dict[str, Any]:
        """For /metrics: jobs waiting per queue, runs per job and outcome, mean seconds of the last hour's runs."""
        if not await has_job_schema(self.pool):
            return {"queued": {}, "runs": {}, "seconds": {}}
        queued = {r["queue"]: int(r["n"]) for r in await self.pool.fetch(
            f"SELECT queue_name AS queue, count(*) AS n FROM {JOB_SCHEMA}.procrastinate_jobs WHERE status = 'todo' "
            "GROUP BY 1")}
        runs = {(r["job"], r["status"]): int(r["n"]) for r in await self.pool.fetch(
            "SELECT job, status, count(*) AS n FROM profile_ai.job_runs GROUP BY 1, 2")}
        seconds = {r["job"]: float(r["s"]) for r in await self.pool.fetch(
            "SELECT job, avg(EXTRACT(EPOCH FROM (finished_at - started_at)))::float8 AS s FROM profile_ai.job_runs "
            "WHERE finished_at > now() - interval '1 hour' GROUP BY 1")}
        return {"queued": queued, "runs": runs, "seconds": seconds}
