"""Jobs, schedules and workers: `profile-ai worker`, `profile-ai jobs ...`, `profile-ai schedule ...`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from typing import Annotated, Any

import typer
from rich.table import Table

from app.cli.common import (
    DataDirOpt,
    JsonOpt,
    _emit,
    _run,
    _settings,
    _setup_logging,
    _with_job_queue,
    app,
    err,
    jobs_app,
    out,
    schedule_app,
)
from app.shutdown import STOPPING

ArgsOpt = Annotated[list[str] | None, typer.Option("--arg", help="a job argument as KEY=VALUE (JSON value), repeatable")]


def _args(pairs: list[str] | None) -> dict[str, Any]:
    out_: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"--arg {pair!r}: write KEY=VALUE")
        try:
            out_[key.strip()] = json.loads(value)
        except ValueError:
            out_[key.strip()] = value
    return out_


@app.command()
def worker(queues: Annotated[str | None, typer.Option("--queues", help="comma-separated: index,encode,default")] = None,
           owner: Annotated[bool, typer.Option("--owner", help="this process owns the embedded index (no "
                                                "`profile-ai serve` runs beside it)")] = False,
           concurrency: Annotated[int | None, typer.Option("--concurrency", min=1, max=64)] = None,
           burst: Annotated[bool, typer.Option("--burst", help="stop when the queues are empty")] = False,
           data_dir: DataDirOpt = None, as_json: JsonOpt = False) -> None:
    """Run jobs. Any number of workers on any number of machines share the work through PostgreSQL. With the
    embedded index only its owner writes it: other workers encode (backfill partitions) and deliver."""
    _setup_logging()
    settings = _settings(data_dir)

    async def go() -> dict[str, Any]:
        from app.container import Container
        from app.jobs.runner import JobRunner

        owns = owner or bool(settings.qdrant.url)
        c = await Container.create(settings, open_index=owns, migrate=owner)
        runner = JobRunner(c, owns_index=owns)
        try:
            await runner.queue.open(create_schema=owner)
            chosen = [q.strip() for q in queues.split(",") if q.strip()] if queues else runner.queues
            err.print(f"worker: queues {', '.join(chosen)}" + ("" if owns else " (not the index owner)"))
            work = asyncio.ensure_future(runner.queue.work(chosen, wait=not burst, concurrency=concurrency))

            def stop() -> None:  # SIGTERM/SIGINT: encoding stops at its next chunk, the job is cut short and
                STOPPING.set()  # retried (idempotent), and the process exits within seconds, not after the job
                work.cancel()

            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop)
            with contextlib.suppress(asyncio.CancelledError):
                await work
            return {"stopped": True, "queues": chosen}
        finally:
            await runner.queue.close()
            await c.aclose()

    res = _run(go)
    _emit(as_json, res, lambda: err.print("worker stopped"))


@jobs_app.command("list")
def jobs_list(status: Annotated[str | None, typer.Option("--status", help="todo | doing | failed | ...")] = None,
              limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 30,
              as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Jobs waiting or running, and the latest runs with their results or errors."""
    _setup_logging()

    async def go(q: Any) -> dict[str, Any]:
        return {"jobs": await q.jobs(status=status, limit=limit), "runs": await q.runs(limit=limit),
                "backfills": await _backfills(q)}

    res = _run(lambda: _with_job_queue(data_dir, go))

    def render() -> None:
        t = Table("id", "job", "status", "queue", "attempts", "args")
        for j in res["jobs"]:
            t.add_row(str(j["id"]), j["job"], j["status"], j["queue"], str(j["attempts"]), json.dumps(j["args"]))
        out.print(t)
        r = Table("run", "job", "status", "worker", "started", "seconds", "error")
        for x in res["runs"]:
            r.add_row(str(x["id"]), x["job"], x["status"], x["worker"], str(x["started_at"])[:19],
                      f"{x['seconds']:.1f}" if x["seconds"] is not None else "", (x["error"] or "")[:80])
        out.print(r)
        for b in res["backfills"]:
            out.print(f"backfill {b['run_id']}: {b['status']}, {b['partitions_done']}/{b['partitions']} partitions")
    _emit(as_json, res, render)


async def _backfills(q: Any) -> list[dict[str, Any]]:
    from app.jobs.backfill import BackfillRepository

    return [{k: v for k, v in b.items() if k != "partition_status"} for b in await BackfillRepository(q.pool).runs(5)]


@jobs_app.command("run")
def jobs_run(job: Annotated[str, typer.Argument(help="sync | backfill | writeback | segments-refresh | rescore")],
             args: ArgsOpt = None, as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Queue a job now (a worker or `profile-ai serve` runs it); a copy already waiting is not queued twice."""
    _setup_logging()
    parsed = _args(args)

    async def go(q: Any) -> dict[str, Any]:
        job_id = await q.defer(job, parsed)
        return {"job": job, "args": parsed, "job_id": job_id, "queued": job_id is not None}

    res = _run(lambda: _with_job_queue(data_dir, go))
    _emit(as_json, res, lambda: out.print(f"queued {job} as job {res['job_id']}" if res["queued"]
                                          else f"{job} is already waiting: not queued twice"))


@jobs_app.command("show")
def jobs_show(job_id: int, as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """One job: its status and every run (result or error)."""
    _setup_logging()
    res = _run(lambda: _with_job_queue(data_dir, lambda q: q.run_of(job_id)))
    _emit(as_json, res, lambda: out.print(json.dumps(res, indent=2, default=str), markup=False))


@schedule_app.command("list")
def schedule_list(as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Every schedule: job, cron (UTC), arguments, next and last run."""
    _setup_logging()
    res = _run(lambda: _with_job_queue(data_dir, _schedules))

    def render() -> None:
        t = Table("name", "job", "cron", "args", "enabled", "next run", "last run")
        for s in res["schedules"]:
            t.add_row(s["name"], s["job"], s["cron"], json.dumps(s["args"]), str(s["enabled"]),
                      str(s["next_run_at"])[:19], str(s["last_run_at"] or "")[:19])
        out.print(t)
    _emit(as_json, res, render)


async def _schedules(q: Any) -> dict[str, Any]:
    return {"schedules": await q.schedules.all()}


@schedule_app.command("set")
def schedule_set(name: str, job: Annotated[str, typer.Option("--job")], cron: Annotated[str, typer.Option("--cron")],
                 args: ArgsOpt = None,
                 enabled: Annotated[bool, typer.Option("--enabled/--disabled")] = True,
                 as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Create or replace a schedule, e.g. `profile-ai schedule set sync --job sync --cron '*/5 * * * *'`."""
    _setup_logging()
    parsed = _args(args)
    res = _run(lambda: _with_job_queue(data_dir, lambda q: q.schedules.put(name, job, cron, parsed, enabled=enabled)))
    _emit(as_json, res, lambda: out.print(f"schedule {name}: {job} at '{res['cron']}', next {res['next_run_at']}"))


@schedule_app.command("delete")
def schedule_delete(name: str, as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Delete a schedule (a default one comes back only with a fresh database; disable it instead to keep it)."""
    _setup_logging()

    async def go(q: Any) -> dict[str, Any]:
        await q.schedules.delete(name)
        return {"name": name, "deleted": True}

    res = _run(lambda: _with_job_queue(data_dir, go))
    _emit(as_json, res, lambda: out.print(f"deleted schedule {name}"))
