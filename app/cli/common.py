"""What every command shares: the Typer apps, consoles, options, settings, the run/emit contract."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

from app.config import Settings, load_settings
from app.error_words import title
from app.errors import DomainError
from app.tracardi.errors import TracardiError

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

if TYPE_CHECKING:
    from app.container import Container


@app.callback()
def _owner_only_files() -> None:
    # every command: what it writes (index segments, logs, exports) is 0600, the data dir 0700
    os.umask(0o077)


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
        wording = _wording()
        said = exc.sentence(wording) if isinstance(exc, DomainError) else str(exc)
        message = " ".join(said.split())
        sys.stderr.write(f"error: {type(exc).__name__}: {_headline(exc, wording)}{message}\n")
        raise typer.Exit(1) from None


def _wording() -> str:
    try:
        return load_settings().lang.wording
    except Exception:  # noqa: BLE001 - the settings themselves may be what failed
        return "en"


def _headline(exc: Exception, wording: str) -> str:
    """In a deployment that speaks another language than English, what kind of refusal this is, in it (the
    sentence after it is in that language too where app/error_words.py has it, else the service's English)."""
    if wording == "en":
        return ""
    code = exc.code if isinstance(exc, DomainError) else "tracardi" if isinstance(exc, TracardiError) else "error"
    return f"{title(code, wording)}: "


def _emit(as_json: bool, data: Any, render: Callable[[], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, default=str) + "\n")
    else:
        render()


async def _container(settings: Settings) -> Container:
    from app.container import Container  # the model and the index load only for commands that need them

    return await Container.create(settings)


async def _with_container(data_dir: Path | None, fn: Callable[[Container], Coroutine[Any, Any, T]]) -> T:
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
    db = await Database.from_settings(settings.database, Path(settings.data_dir))
    try:
        return await fn(ApiKeyRepository(db.pool))
    finally:
        await db.close()


async def _with_job_queue(data_dir: Path | None, fn: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    """Deferring and inspecting jobs needs only the database, not the model or the index."""
    from app.jobs.queue import JobQueue
    from app.store.database import Database

    settings = _settings(data_dir)
    db = await Database.from_settings(settings.database, Path(settings.data_dir))
    queue = JobQueue(db.pool, db.session_url, settings.jobs)
    try:
        return await fn(queue)
    finally:
        await queue.close()
        await db.close()


class _Bar:
    """A progress bar with a total on the terminal (rich), a JSON line per update under --json, nothing when
    stderr is not a terminal. Callable with a SyncResult-like object (`seen`, `embedded`, `unchanged`)."""

    def __init__(self, as_json: bool, total: int | None, what: str = "profiles") -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.as_json = as_json
        self.bar: Progress | None = None
        if not as_json and err.is_terminal:
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeRemainingColumn(), TextColumn("{task.fields[note]}"), console=err, transient=True)
            self.task = self.bar.add_task(what, total=total, note="")
            self.bar.start()

    def __call__(self, result: Any) -> None:
        if self.as_json:
            err.print(json.dumps({"progress": {"seen": result.seen, "embedded": result.embedded,
                                               "unchanged": result.unchanged}}), markup=False, highlight=False)
        elif self.bar is not None:
            self.bar.update(self.task, completed=result.seen, note=f"{result.embedded} embedded")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _progress_printer(as_json: bool, total: int | None = None) -> _Bar:
    return _Bar(as_json, total)


async def _sync(settings: Settings, source: str | None, full: bool, as_json: bool,
                allow_mass_delete: bool = False) -> dict[str, Any]:
    c = await _container(settings)
    src = c.source(source)
    bar = _progress_printer(as_json, await src.total())
    try:
        return await c.usecases.sync_and_refresh(src, full=full, progress=bar, allow_mass_delete=allow_mass_delete)
    finally:
        bar.close()
        await c.aclose()



async def _fail(message: str) -> None:
    raise ValueError(message)
