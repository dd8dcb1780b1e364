"""Serving: the HTTP API, the MCP server, and the demo that shows everything on MovieLens."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.common import (
    DEMO_QUERIES,
    LOOPBACK,
    DataDirOpt,
    JsonOpt,
    _container,
    _emit,
    _fail,
    _progress_printer,
    _run,
    _settings,
    _setup_logging,
    app,
    err,
    out,
)
from app.cli.predictions import _print_card
from app.cli.profiles import _print_hits
from app.cli.segments import _segments_table
from app.shutdown import install_exit_on_signal


@app.command()
def mcp(allow_writes: Annotated[bool, typer.Option("--allow-writes", help="also offer tools that change state")] = False,
        data_dir: DataDirOpt = None, as_json: JsonOpt = False) -> None:
    """The MCP server on stdio (read-only unless --allow-writes)."""
    _setup_logging()
    settings = _settings(data_dir)

    async def go() -> None:
        from app.agents.mcp_server import build_mcp_server
        from app.sync.runner import SyncRunner

        c = await _container(settings)
        try:
            server = build_mcp_server(c.agent_tools(), allow_writes=allow_writes,
                                      sync=SyncRunner(c))
            await server.run_stdio_async()
        finally:
            await c.aclose()

    _run(go)


@app.command()
def serve(host: Annotated[str | None, typer.Option("--host")] = None,
          port: Annotated[int | None, typer.Option("--port")] = None, data_dir: DataDirOpt = None,
          as_json: JsonOpt = False) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    _setup_logging()
    import uvicorn

    from app.main import create_app

    settings = _settings(data_dir)
    bind = host or settings.server.host
    if not settings.server.auth and bind not in LOOPBACK:
        _run(lambda: _fail(f"API keys are off (PROFILE_AI_SERVER__AUTH=false): refusing to serve on {bind}; "
                           "open mode is for loopback only"))
    if settings.server.auth:
        err.print("API keys required on /v1 and /mcp (create one: profile-ai keys create --scope read)")
    from app.observability import json_logging

    json_logging()  # the server logs JSON lines with request ids
    install_exit_on_signal()  # before uvicorn: after its graceful shutdown it re-raises SIGTERM into this handler
    uvicorn.run(create_app(settings), host=bind, port=port or settings.server.port, log_level="warning")


@app.command()
def demo(serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="serve the API afterwards")] = True,
         port: Annotated[int | None, typer.Option("--port")] = None, as_json: JsonOpt = False,
         data_dir: DataDirOpt = None) -> None:
    """Build the MovieLens 100k export, sync it, run example searches, then serve the API."""
    _setup_logging()
    settings = _settings(data_dir)

    async def go() -> dict[str, Any]:
        from app.demo.movielens import build_movielens_export
        from app.search.schemas import SearchRequest

        export = Path(settings.data_dir) / "exports" / "movielens"
        if not (export / "profiles.ndjson").is_file():
            err.print(f"building the MovieLens 100k export in {export} ...")
            await asyncio.to_thread(build_movielens_export, export)
        c = await _container(settings)
        try:
            err.print("syncing (embedding 943 profiles takes about half a minute on 2 cores; a re-run skips them)")
            src = c.source(str(export))
            bar = _progress_printer(as_json, await src.total())
            try:
                res = await c.usecases.sync_and_refresh(src, progress=bar)
            finally:
                bar.close()
            searches = []
            for q in DEMO_QUERIES:
                r = await c.search.search(SearchRequest(query=q, limit=5))
                searches.append(r.model_dump())
            from app.predictions.schemas import ScoreRequest, TrainRequest
            from app.segments.schemas import DiscoverRequest

            err.print("discovering segments and training a 30-day churn model ...")
            segments = (await c.segments.discover(DiscoverRequest())).model_dump()
            model = (await c.predictions.train(TrainRequest(goal="churn", horizon_days=30))).model_dump()
            scored = (await c.usecases.score(ScoreRequest(model_id=model["model_id"], limit=5))).model_dump()  # the one use case
            return {"sync": res, "searches": searches, "export": str(export), "segments": segments,
                    "model": model, "scores": scored}
        finally:
            await c.aclose()

    res = _run(go)

    def render() -> None:
        s = res["sync"]
        err.print("")
        out.print(f"synced {s['seen']} profiles ({s['embedded']} embedded, {s['unchanged']} unchanged) "
                  f"in {s['seconds']:.1f}s")
        for r in res["searches"]:
            out.print(f"\n[bold]search:[/bold] {r['query']}")
            _print_hits(r["results"])
        seg = res["segments"]
        out.print(f"\n[bold]smart segments[/bold] (k={seg['k']}, stability {seg['stability']:.2f})")
        _segments_table(seg["segments"])
        out.print("")
        _print_card(res["model"])
        sc = res["scores"]
        out.print(f"scored {sc['scored']} profiles as of {sc['as_of']}; most likely to churn: "
                  + ", ".join(f"{p['profile_id'][:8]} ({p['probability']:.2f}, {p['tier']})"
                              for p in sc["predictions"][:5]))
    _emit(as_json, res, render)
    if serve_after:
        h = settings.server.host
        if h not in LOOPBACK:
            _run(lambda: _fail(f"the demo serves without API keys, on loopback only, not on {h}"))
        err.print(f"serving on http://{h}:{port or settings.server.port} (docs at /docs) WITHOUT API keys: the demo "
                  "is open, on loopback only; `profile-ai serve` requires keys")
        import uvicorn

        from app.main import create_app

        open_settings = settings.model_copy(update={"server": settings.server.model_copy(update={"auth": False})})
        install_exit_on_signal()
        uvicorn.run(create_app(open_settings), host=h, port=port or settings.server.port, log_level="warning")
