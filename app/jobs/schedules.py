"""Schedules a user sets once: a job, a cron expression, arguments. A tick (a Procrastinate periodic task,
deferred once a minute across all workers) defers every schedule that is due; the next fire time moves by
compare-and-swap, so two schedulers never defer one firing twice."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
from croniter import croniter

from app.errors import DomainError, InvalidRequestError, NotFoundError
from app.jobs.engine import FULL_SYNC_MIN_INTERVAL_S, JOBS

NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")

# What `serve` keeps fresh with no extra command, created once per database (PROFILE_AI_JOBS__DEFAULT_SCHEDULES=
# false: not at all); a user's change or deletion sticks.
DEFAULT_SCHEDULES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "sync": ("sync", "*/5 * * * *", {}),
    "writeback": ("writeback", "*/5 * * * *", {}),
    "segments-refresh": ("segments-refresh", "0 * * * *", {}),
    "rescore": ("rescore", "0 3 * * *", {}),
}


class CronError(DomainError):
    status = 422
    code = "invalid_cron"


def next_fire(cron: str, after: datetime) -> datetime:
    """The first fire time after `after` (UTC); a cron that does not parse is a one-line error."""
    text = " ".join(cron.split())
    if not text or len(text) > 120 or len(text.split()) != 5 or not croniter.is_valid(text):
        raise CronError.worded("cron_parse", cron=cron[:120])
    try:
        nxt = croniter(text, after.astimezone(UTC)).get_next(datetime)
    except (ValueError, KeyError, ArithmeticError):  # valid fields, no date (e.g. '0 0 31 2 *')
        raise CronError.worded("cron_never", cron=text) from None
    return nxt if nxt.tzinfo else nxt.replace(tzinfo=UTC)


def check_job(job: str, args: dict[str, Any]) -> None:
    spec = JOBS.get(job)
    if spec is None or not spec.schedulable:
        names = ", ".join(n for n, s in JOBS.items() if s.schedulable)
        raise NotFoundError.worded("unknown_job", job=job[:60], names=names)
    extra = sorted(set(args) - set(spec.args))
    if extra:
        if not spec.args:
            raise InvalidRequestError.worded("job_no_args", job=job, extra=", ".join(extra))
        raise InvalidRequestError.worded("job_args", job=job, takes=", ".join(spec.args), extra=", ".join(extra))
    if "partitions" in args and not (isinstance(args["partitions"], int) and 1 <= args["partitions"] <= 1024):
        raise InvalidRequestError.worded("partitions_range")
    if "full" in args and not isinstance(args["full"], bool):
        raise InvalidRequestError.worded("full_flag")


def check_interval(job: str, cron: str, args: dict[str, Any], now: datetime | None = None) -> None:
    """Refuse a schedule that would run a heavy job more often than its floor (the shortest gap between the
    next 50 firings: "0,1 * * * *" fires twice a minute apart, whatever its hourly average)."""
    spec = JOBS[job]
    floor = FULL_SYNC_MIN_INTERVAL_S if job == "sync" and args.get("full") else spec.min_interval_s
    it = croniter(" ".join(cron.split()), (now or datetime.now(UTC)).astimezone(UTC))
    fires = [it.get_next(datetime) for _ in range(50)]
    gap = min((b - a).total_seconds() for a, b in zip(fires, fires[1:], strict=False))
    if gap < floor:
        raise InvalidRequestError.worded("too_frequent", job=f"{job}{' (full)' if args.get('full') else ''}",
                                         minutes=floor // 60, cron=cron, gap=f"{gap / 60:g}")


class ScheduleRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def put(self, name: str, job: str, cron: str, args: dict[str, Any] | None = None, *,
                  enabled: bool = True, now: datetime | None = None) -> dict[str, Any]:
        """Create or replace a schedule (idempotent: the same call twice leaves one schedule)."""
        if not NAME.match(name):
            raise InvalidRequestError.worded("schedule_name")
        args = args or {}
        check_job(job, args)
        nxt = next_fire(cron, now or datetime.now(UTC))
        check_interval(job, cron, args, now)
        row = await self.pool.fetchrow(
            "INSERT INTO profile_ai.schedules(name, job, cron, args, enabled, next_run_at) VALUES ($1,$2,$3,$4,$5,$6) "
            "ON CONFLICT (name) DO UPDATE SET job = EXCLUDED.job, cron = EXCLUDED.cron, args = EXCLUDED.args, "
            "enabled = EXCLUDED.enabled, next_run_at = EXCLUDED.next_run_at, updated_at = now() RETURNING *",
            name, job, " ".join(cron.split()), args, enabled, nxt)
        return dict(row)

    async def ensure_defaults(self, now: datetime | None = None) -> int:
        """Create the default schedules once per database (a user's later deletion or change sticks);
        returns how many were created."""
        async with self.pool.acquire() as conn, conn.transaction():
            done = await conn.fetchval("INSERT INTO profile_ai.meta(key, value) VALUES ('default_schedules', 'created') "
                                       "ON CONFLICT (key) DO NOTHING RETURNING key")
            if done is None:
                return 0
            for name, (job, cron, args) in DEFAULT_SCHEDULES.items():
                await conn.execute(
                    "INSERT INTO profile_ai.schedules(name, job, cron, args, next_run_at) VALUES ($1,$2,$3,$4,$5) "
                    "ON CONFLICT (name) DO NOTHING", name, job, cron, args, next_fire(cron, now or datetime.now(UTC)))
            return len(DEFAULT_SCHEDULES)

    async def all(self) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.pool.fetch("SELECT * FROM profile_ai.schedules ORDER BY name")]

    async def get(self, name: str) -> dict[str, Any]:
        row = await self.pool.fetchrow("SELECT * FROM profile_ai.schedules WHERE name = $1", name)
        if row is None:
            raise NotFoundError.worded("schedule_not_found", schedule=name[:63])
        return dict(row)

    async def delete(self, name: str) -> None:
        if (await self.pool.execute("DELETE FROM profile_ai.schedules WHERE name = $1", name)).endswith(" 0"):
            raise NotFoundError.worded("schedule_not_found", schedule=name[:63])

    async def fire_due(self, defer: Callable[[str, dict[str, Any]], Awaitable[int | None]],
                       now: datetime | None = None) -> list[str]:
        """Defer every enabled schedule whose time has come; returns the names fired. The claim is an UPDATE
        that only succeeds against the next fire time this scheduler read, so a concurrent tick skips it."""
        now = now or datetime.now(UTC)
        fired = []
        for row in await self.pool.fetch("SELECT name, job, cron, args, next_run_at FROM profile_ai.schedules "
                                         "WHERE enabled AND next_run_at <= $1 ORDER BY next_run_at", now):
            nxt = next_fire(row["cron"], now)
            claimed = await self.pool.fetchval(
                "UPDATE profile_ai.schedules SET next_run_at = $3, last_run_at = $4 WHERE name = $1 AND "
                "next_run_at = $2 RETURNING name", row["name"], row["next_run_at"], nxt, now)
            if claimed is None:
                continue  # another scheduler fired it
            job_id = await defer(row["job"], dict(row["args"] or {}))
            await self.pool.execute("UPDATE profile_ai.schedules SET last_job_id = $2 WHERE name = $1", row["name"],
                                    job_id)
            fired.append(row["name"])
        return fired
