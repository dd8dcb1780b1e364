"""What every command shares: the Typer apps, consoles, options, settings, the run/emit contract."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from app.config import Settings, load_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="profile-ai: the AI layer for Tracardi.")
source_app = typer.Typer(no_args_is_help=True, help="Inspect a profile source.")
app.add_typer(source_app, name="source")
tracardi_app = typer.Typer(no_args_is_help=True, help="Set up and run the write-back to Tracardi.")
app.add_typer(tracardi_app, name="tracardi")
segments_app = typer.Typer(no_args_is_help=True, help="Smart segments: discover, inspect, publish.")
app.add_typer(segments_app, name="segments")
keys_app = typer.Typer(no_args_is_help=True, help="API keys for the HTTP API and /mcp.")
app.add_typer(keys_app, name="keys")

jobs_app = typer.Typer(no_args_is_help=True, help="Jobs: what is queued, running, done or failed; run one now.")
app.add_typer(jobs_app, name="jobs")
schedule_app = typer.Typer(no_args_is_help=True, help="Schedules: which job runs how often (cron, UTC).")
app.add_typer(schedule_app, name="schedule")

out = Console(soft_wrap=True)
err = Console(stderr=True)
T = TypeVar("T")

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output on stdout")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", envvar="PROFILE_AI_DATA_DIR",
                                                  help="where index and state live (default ./.profile-ai)")]
SourceOpt = Annotated[str | None, typer.Option("--source", help="export directory or Tracardi URL")]

LOOPBACK = ("127.0.0.1", "localhost", "::1")
DEMO_QUERIES = ["horror movie fans", "people who love documentaries", "sci-fi and action enthusiasts",
                "young students who like comedies", "film noir and classic cinema lovers"]


def _settings(data_dir: Path | None) -> Settings:
    return load_settings(**({"data_dir": data_dir} if data_dir else {}))


def _setup_logging() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


def _run(coro_fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    try:
        return asyncio.run(coro_fn())
    except (typer.Exit, KeyboardInterrupt):
        raise
    except Exception as exc:  # one line, non-zero exit: the contract of every command
        message = " ".join(str(exc).split())
        sys.stderr.write(f"error: {type(exc).__name__}: {message}\n")
        raise typer.Exit(1) from None


def _emit(as_json: bool, data: Any, render: Callable[[], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, default=str) + "\n")
    else:
        render()


async def _container(settings: Settings) -> Any:
    from app.container import Container

    return await Container.create(settings)


async def _with_container(data_dir: Path | None, fn: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    c = await _container(_settings(data_dir))
    try:
        return await fn(c)
    finally:
        await c.aclose()


async def _with_api_keys(data_dir: Path | None, fn: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    """Key administration needs only the database, not the model or the index."""
    from app.auth.repository import ApiKeyRepository
    from app.store.database import Database

    settings = _settings(data_dir)
    db = await Database.connect(settings.database.url, Path(settings.data_dir))
    try:
        return await fn(ApiKeyRepository(db.pool))
    finally:
        await db.close()


async def _with_job_queue(data_dir: Path | None, fn: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    """Deferring and inspecting jobs needs only the database, not the model or the index."""
    from app.jobs.queue import JobQueue
    from app.store.database import Database

    settings = _settings(data_dir)
    db = await Database.connect(settings.database.url, Path(settings.data_dir))
    queue = JobQueue(db.pool, db.url, settings.jobs)
    try:
        return await fn(queue)
    finally:
        await queue.close()
        await db.close()


def _progress_printer(as_json: bool) -> Callable[[Any], None]:
    def show(result: Any) -> None:
        if as_json:
            err.print(json.dumps({"progress": {"seen": result.seen, "embedded": result.embedded,
                                               "unchanged": result.unchanged}}), markup=False, highlight=False)
        elif err.is_terminal:
            err.print(f"\rsynced {result.seen} profiles ({result.embedded} embedded, {result.unchanged} unchanged)",
                      end="")
    return show


async def _sync(settings: Settings, source: str | None, full: bool, as_json: bool,
                allow_mass_delete: bool = False) -> dict[str, Any]:
    c = await _container(settings)
    try:
        return await c.sync_and_refresh(c.source(source), full=full, progress=_progress_printer(as_json),
                                        allow_mass_delete=allow_mass_delete)
    finally:
        await c.aclose()



async def _fail(message: str) -> None:
    raise ValueError(message)
