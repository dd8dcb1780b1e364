"""The job engine: Procrastinate on the state database (the embedded PostgreSQL or Supabase), no new server.

Procrastinate gives the queue, locks (two jobs with one lock never run at once), queueing locks (one waiting
copy at most), retries with backoff, periodic tasks deferred once across all workers, worker heartbeats and
LISTEN/NOTIFY wake-ups. Its tables live in their own schema, `profile_ai_jobs`, created from the installed
library's schema on first use; profile-ai's own job tables (schedules, backfill runs) are migration 008.

Queues say where a job may run. `index` jobs write the vector index: with the embedded single-process shard only
the process that owns it (`profile-ai serve`, or `profile-ai worker --owner`) serves that queue; with a Qdrant
server every worker does. `encode` (backfill partitions) and `default` (write-back, rescoring, schedules) run
on any worker.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import procrastinate
from procrastinate import JobContext, RetryStrategy
from procrastinate.schema import SchemaManager

log = logging.getLogger(__name__)

JOB_SCHEMA = "profile_ai_jobs"
SCHEMA_LOCK = 0x6A6F6273  # pg_advisory_lock key: "jobs"
ALL_QUEUES = ("index", "encode", "default")


class TransientError(Exception):
    """A failure worth retrying later (the other side was down); anything else fails the job at once."""


# What a retry can cure: Tracardi unreachable or 5xx after the client's own retries, a lost connection.
def transient_errors() -> set[type[Exception]]:
    from app.shutdown import StoppingError
    from app.tracardi.errors import TracardiUnavailableError

    return {TransientError, StoppingError, TracardiUnavailableError, httpx.TransportError, ConnectionError, TimeoutError,
            asyncpg.PostgresConnectionError, asyncpg.InterfaceError}


@dataclass(frozen=True)
class JobSpec:
    name: str
    queue: str
    lock: str | None  # jobs sharing a lock run one at a time, on any number of workers
    help: str
    schedulable: bool = True  # a user may put it on a schedule (internal steps may not)
    args: tuple[str, ...] = ()  # the arguments a user may pass
    # the shortest gap a schedule may leave between two runs (a floor, so nobody schedules a full backfill
    # every minute); `full` syncs are held to FULL_SYNC_MIN_INTERVAL_S
    min_interval_s: int = 60


FULL_SYNC_MIN_INTERVAL_S = 3600

JOBS: dict[str, JobSpec] = {s.name: s for s in (
    JobSpec("sync", "index", "sync", "incremental sync of the configured source, then the segment refresh",
            args=("full",)),
    JobSpec("backfill", "index", "sync", "full sync split into partitions that any worker encodes",
            args=("partitions",), min_interval_s=3600),
    JobSpec("backfill-partition", "encode", None, "one partition of a backfill (internal)", schedulable=False),
    JobSpec("backfill-finish", "index", "sync", "apply a backfill's batches, delete the unseen, move the "
            "watermark (internal)", schedulable=False),
    JobSpec("backfill-apply", "index", "sync", "apply the staged batches of a backfill's finished partitions while "
            "the others still encode (internal)", schedulable=False),
    JobSpec("writeback", "default", "writeback", "deliver queued traits and change events to Tracardi"),
    JobSpec("segments-refresh", "index", "segments", "re-evaluate description and lookalike segments, "
            "assign new profiles", min_interval_s=300),
    JobSpec("rescore", "default", "rescore", "score every active model again, then deliver the write-back",
            min_interval_s=3600),
    JobSpec("retrain", "default", "retrain", "train a goal again because its live quality fell or its population "
            "drifted (queued by the quality policy; the new card says why)", schedulable=False,
            args=("goal", "replaces", "reason")),
)}

Runner = Callable[[str, dict[str, Any], int | None], Awaitable[dict[str, Any]]]  # (job, args, job id)


def connector(url: str) -> procrastinate.PsycopgConnector:
    # the search path puts Procrastinate's unqualified names in its own schema
    return procrastinate.PsycopgConnector(conninfo=url, min_size=1, max_size=4,
                                          kwargs={"options": f"-c search_path={JOB_SCHEMA}"})


def build_job_app(url: str, run: Runner, *, max_attempts: int = 5) -> procrastinate.App:
    """A Procrastinate app whose tasks all call `run(job_name, args)`: the job bodies live in app/jobs/runner.py
    (with the container they need), the engine only says where and how often they run."""
    app = procrastinate.App(connector=connector(url))
    retry = RetryStrategy(max_attempts=max_attempts, exponential_wait=2, retry_exceptions=transient_errors())
    for spec in JOBS.values():
        _register(app, spec, run, retry)

    # once a minute, deferred once across all workers (Procrastinate's periodic defers are unique per time)
    @app.periodic(cron="* * * * *", periodic_id="schedules")
    @app.task(name="schedules-tick", queue="default", queueing_lock="schedules-tick", pass_context=True)
    async def schedules_tick(context: JobContext, timestamp: int) -> dict[str, Any]:
        return await run("schedules-tick", {"timestamp": timestamp}, context.job.id)

    @app.periodic(cron="* * * * *", periodic_id="stalled")
    @app.task(name="retry-stalled", queue="default", queueing_lock="retry-stalled", pass_context=True)
    async def retry_stalled_tick(context: JobContext, timestamp: int) -> dict[str, Any]:
        return await run("retry-stalled", {"timestamp": timestamp}, context.job.id)

    return app


def _register(app: procrastinate.App, spec: JobSpec, run: Runner, retry: RetryStrategy) -> None:
    async def body(context: JobContext, **kwargs: Any) -> dict[str, Any]:
        return await run(spec.name, kwargs, context.job.id)

    body.__name__ = spec.name.replace("-", "_")
    app.task(name=spec.name, queue=spec.queue, lock=spec.lock, retry=retry, pass_context=True)(body)


async def retry_stalled(app: procrastinate.App, seconds_since_heartbeat: float) -> list[int]:
    """Jobs left `doing` by a worker whose heartbeat stopped (SIGKILL, a lost machine) go back to the queue."""
    stalled = list(await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=seconds_since_heartbeat))
    for job in stalled:
        log.warning("job %s (%s) was left by a dead worker: retrying it", job.id, job.task_name)
        await app.job_manager.retry_job(job)
    return [int(j.id) for j in stalled if j.id is not None]


async def ensure_job_schema(pool: asyncpg.Pool) -> bool:
    """Create Procrastinate's tables in their own schema when missing (True when it did). One transaction that
    first takes a transaction-level advisory lock, so concurrent first starts create it once, through a
    transaction pooler as well as directly."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK)
        if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{JOB_SCHEMA}.procrastinate_jobs"):
            return False
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {JOB_SCHEMA}")
        await conn.execute(f"SET LOCAL search_path TO {JOB_SCHEMA}")
        await conn.execute(SchemaManager.get_schema())
    log.info("created the job tables (schema %s)", JOB_SCHEMA)
    return True


async def has_job_schema(pool: asyncpg.Pool) -> bool:
    return bool(await pool.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{JOB_SCHEMA}.procrastinate_jobs"))
