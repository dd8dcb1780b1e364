"""Tracardi: set up the write-back (event source + mapping) and run it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.common import DataDirOpt, JsonOpt, _emit, _run, _settings, _setup_logging, out, tracardi_app
from app.config import Settings


def _tracardi_client(settings: Settings, http: Any) -> Any:
    from app.tracardi.client import TracardiClient

    return TracardiClient.from_settings(http, settings.tracardi)


def _tracardi_url(settings: Settings, url: str | None) -> str:
    url = url or settings.tracardi.url
    if not url:
        raise ValueError("no Tracardi URL: pass --url or set PROFILE_AI_TRACARDI__URL")
    return url


UrlOpt = Annotated[str | None, typer.Option("--url", help="Tracardi API URL (default: settings)")]


@tracardi_app.command("setup")
def tracardi_setup(url: UrlOpt = None, as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Create (idempotently) the event source and the event-to-profile mapping used for write-back."""
    _setup_logging()
    settings = _settings(data_dir)

    async def go() -> dict[str, Any]:
        import httpx

        from app.tracardi.setup import setup_writeback

        base = _tracardi_url(settings, url)
        async with httpx.AsyncClient(base_url=base, timeout=settings.tracardi.timeout_s) as http:
            r = await setup_writeback(_tracardi_client(settings, http))
        return r.as_dict()

    res = _run(go)
    _emit(as_json, res, lambda: out.print(f"Tracardi {res['version']}: event source {res['source_id']}, mapping "
                                          f"{res['mapping_id']} into {res['trait_path']}: "
                                          f"{'created ' + ', '.join(res['created']) if res['created'] else 'already there'}"))


@tracardi_app.command("writeback")
def tracardi_writeback(url: UrlOpt = None, as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Queue every profile's current AI traits and deliver the queue to Tracardi (pending items are retried)."""
    _setup_logging()
    settings = _settings(data_dir)

    async def go() -> dict[str, Any]:
        import httpx

        from app.store.database import Database
        from app.writeback.repository import WritebackRepository
        from app.writeback.service import TracardiWriteback

        base = _tracardi_url(settings, url)
        db = await Database.from_settings(settings.database, Path(settings.data_dir))
        try:
            async with httpx.AsyncClient(base_url=base, timeout=settings.tracardi.timeout_s) as http:
                from app.store.ops_repository import OpsRepository

                wb = TracardiWriteback(_tracardi_client(settings, http), WritebackRepository(db.pool),
                                       workflow_writeback=settings.tracardi.workflow_writeback)
                ids = await OpsRepository(db.pool).profiles_with_ai_traits()
                queued = await wb.enqueue_profiles(ids)
                report = await wb.deliver()
            return {"queued": queued, **report.__dict__}
        finally:
            await db.close()

    res = _run(go)
    _emit(as_json, res, lambda: out.print(f"queued {res['queued']}; delivered {res['delivered']}, will retry "
                                          f"{res['failed']}, dead {res['dead']}, pending {res['pending']}"))
