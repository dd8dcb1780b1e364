"""`profile-ai`: the command line. Thin: parse, call the services, print a table or --json.

Every command takes --json (machine-readable on stdout, logs on stderr) and --data-dir, reads the same
settings as the server, exits 0 on success and non-zero with a one-line error on failure.
"""

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
from rich.table import Table

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


@app.command()
def sync(source: SourceOpt = None, full: Annotated[bool, typer.Option("--full")] = False,
         allow_mass_delete: Annotated[bool, typer.Option(
             "--allow-mass-delete", help="delete past PROFILE_AI_SYNC__MAX_DELETE_SHARE of a source's profiles")] = False,
         as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Sync profiles from an export directory or Tracardi into the index."""
    _setup_logging()
    result = _run(lambda: _sync(_settings(data_dir), source, full, as_json, allow_mass_delete))

    def render() -> None:
        err.print("")
        out.print(f"{result['mode']} sync of {result['source']}: {result['seen']} profiles seen, "
                  f"{result['embedded']} embedded, {result['unchanged']} unchanged, {result['deleted']} deleted, "
                  f"{result['error_count']} malformed records skipped, in {result['seconds']:.1f}s")
        for e in result["errors"][:5]:
            err.print(f"  skipped: {e}", markup=False)
        if result.get("deletion_refused"):
            err.print(f"  {result['deletion_refused']}", markup=False)
    _emit(as_json, result, render)


def _print_hits(results: list[dict[str, Any]]) -> None:
    table = Table("#", "profile", "score", "why it matched", show_lines=False)
    for i, r in enumerate(results, 1):
        table.add_row(str(i), r["profile_id"], f"{r['score']:.3f}", " | ".join(r.get("why") or [])[:160])
    out.print(table)


@app.command()
def search(query: str, limit: Annotated[int, typer.Option("--limit")] = 10,
           filter: Annotated[list[str] | None, typer.Option("--filter", help="KEY=VALUE, KEY>=N, KEY<=DATE")] = None,
           mode: Annotated[str, typer.Option("--mode", help="hybrid | dense | sparse")] = "hybrid",
           as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Search customers by meaning."""
    _setup_logging()
    from app.search.schemas import SearchRequest

    async def go() -> dict[str, Any]:
        from app.search.filters import parse_filters

        req = SearchRequest(query=query, limit=limit, filters=filter or None, mode=mode)  # type: ignore[arg-type]
        parse_filters(req.filters)  # fail fast, before the model loads
        c = await _container(_settings(data_dir))
        try:
            return (await c.search.search(req)).model_dump()
        finally:
            await c.aclose()

    res = _run(go)
    _emit(as_json, res, lambda: _print_hits(res["results"]))


@app.command()
def similar(profile_id: str, limit: Annotated[int, typer.Option("--limit")] = 10, as_json: JsonOpt = False,
            data_dir: DataDirOpt = None) -> None:
    """Lookalikes of a customer, with similarity percentiles."""
    _setup_logging()

    async def go() -> dict[str, Any]:
        c = await _container(_settings(data_dir))
        try:
            return (await c.search.similar(profile_id, limit)).model_dump()
        finally:
            await c.aclose()

    res = _run(go)

    def render() -> None:
        table = Table("#", "profile", "similarity", "percentile", "summary")
        for i, r in enumerate(res["results"], 1):
            table.add_row(str(i), r["profile_id"], f"{r['similarity']:.3f}", f"{r['percentile']:.1f}",
                          r["summary"][:100])
        out.print(table)
    _emit(as_json, res, render)


@app.command()
def profile(profile_id: str, as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """A customer's card (merged ids answer with the survivor)."""
    _setup_logging()

    async def go() -> dict[str, Any]:
        c = await _container(_settings(data_dir))
        try:
            return (await c.search.profile(profile_id)).model_dump()
        finally:
            await c.aclose()

    res = _run(go)

    def render() -> None:
        if res["merged_from"]:
            out.print(f"{profile_id} was merged into {res['profile_id']}")
        out.print(f"[bold]{res['profile_id']}[/bold]  events: {res['event_count']}  last seen: {res['last_seen']}")
        out.print(res["document"], markup=False)
    _emit(as_json, res, render)


@app.command()
def forget(profile_id: str, reason: Annotated[str | None, typer.Option("--reason", help="kept in the erasure log")] = None,
           verify: Annotated[bool, typer.Option("--verify", help="only report what is still held (0 everywhere "
                                                                  "after an erasure)")] = False,
           unforget: Annotated[bool, typer.Option("--unforget", help="lift the tombstone: the person may be "
                                                                      "synced again")] = False,
           tracardi: Annotated[bool, typer.Option("--tracardi", help="also set traits.ai to nothing in "
                                                                     "Tracardi")] = False,
           as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Erase a person everywhere the layer holds them (GDPR art. 17), and keep them out of later syncs."""
    _setup_logging()

    async def go(c: Any) -> dict[str, Any]:
        if verify:
            return await c.erasure.verify(profile_id)  # type: ignore[no-any-return]
        if unforget:
            return {"tombstones_lifted": await c.erasure.unforget(profile_id, actor="cli", reason=reason)}
        clear = tracardi or c.settings.privacy.erasure_clears_tracardi
        return await c.erasure.forget(profile_id, actor="cli", reason=reason,  # type: ignore[no-any-return]
                                      clear_tracardi=clear)

    res = _run(lambda: _with_container(data_dir, go))

    def render() -> None:
        if "held" in res:
            out.print(f"still held: {res['total']} rows/points; tombstoned: {res['tombstoned']}")
            for store, n in res["held"].items():
                out.print(f"  {store}: {n}")
        elif "tombstones_lifted" in res:
            out.print(f"tombstones lifted: {res['tombstones_lifted']}")
        else:
            out.print(f"erasure {res['erasure_id']}: {res['ids_erased']} ids, removed "
                      + ", ".join(f"{k} {v}" for k, v in res["removed"].items()) + f"; still held: {res['verify']['total']}")
    _emit(as_json, res, render)


@app.command()
def explain(profile_id: str, as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """What the layer holds and infers about a person, and why (GDPR art. 15, 22)."""
    _setup_logging()
    res = _run(lambda: _with_container(data_dir, lambda c: c.transparency().explain(profile_id)))

    def render() -> None:
        for line in res["plain"]:
            out.print(line, markup=False)
    _emit(as_json, res, render)


@source_app.command("stats")
def source_stats(source: SourceOpt = None, as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Counts of profiles and events a source holds."""
    _setup_logging()
    settings = _settings(data_dir)

    async def go() -> dict[str, Any]:
        from app.sync.sources import ExportSource, TracardiSource

        spec = source or settings.sync.source or settings.tracardi.url
        if not spec:
            raise ValueError("no source: pass --source DIR|URL")
        if spec.startswith(("http://", "https://")):
            import httpx

            async with httpx.AsyncClient(base_url=spec, timeout=settings.tracardi.timeout_s) as http:
                src = TracardiSource(_tracardi_client(settings, http), spec)
                return {"source": spec, **await src.stats()}
        return {"source": spec, **await ExportSource(spec).stats()}

    res = _run(go)
    _emit(as_json, res, lambda: out.print(f"{res['source']}: {res['profiles']} profiles, {res['events']} events"))


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
        from app.store.predictions_repository import PredictionsRepository
        from app.store.writeback_repository import WritebackRepository
        from app.writeback.service import TracardiWriteback

        base = _tracardi_url(settings, url)
        db = await Database.connect(settings.database.url, Path(settings.data_dir))
        try:
            async with httpx.AsyncClient(base_url=base, timeout=settings.tracardi.timeout_s) as http:
                from app.store.ops_repository import OpsRepository

                wb = TracardiWriteback(_tracardi_client(settings, http), WritebackRepository(db.pool),
                                       PredictionsRepository(db.pool),
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
            res = await c.sync_and_refresh(c.source(str(export)), progress=_progress_printer(as_json))
            searches = []
            for q in DEMO_QUERIES:
                r = await c.search.search(SearchRequest(query=q, limit=5))
                searches.append(r.model_dump())
            from app.predictions.schemas import ScoreRequest, TrainRequest
            from app.segments.schemas import DiscoverRequest

            err.print("discovering segments and training a 30-day churn model ...")
            segments = (await c.segments.discover(DiscoverRequest())).model_dump()
            model = (await c.predictions.train(TrainRequest(goal="churn", horizon_days=30))).model_dump()
            scored = (await c.predictions.score(ScoreRequest(model_id=model["model_id"], limit=5))).model_dump()
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
        uvicorn.run(create_app(open_settings), host=h, port=port or settings.server.port, log_level="warning")



# -- segments
def _print_segment(s: dict[str, Any]) -> None:
    out.print(f"[bold]{s['name']}[/bold]  ({s['segment_id']} v{s['version']}, {s['kind']}, {s['status']})")
    out.print(s["description"], markup=False)
    for f in s.get("features", [])[:6]:
        detail = (f"{f['share']:.0%} vs {f['population_share']:.0%}" if f["kind"] == "flag"
                  else f"mean {f['mean']} vs {f['population_mean']}")
        out.print(f"  {f['label']}: {detail} (lift {f['lift']})", markup=False)
    for kind in ("sql", "tql"):
        r = (s.get("rules") or {}).get(kind)
        if r and r.get(kind):
            out.print(f"  {kind.upper()} rule (precision {r['precision']:.2f}, recall {r['recall']:.2f}): "
                      f"{r[kind]}", markup=False)


def _segments_table(segs: list[dict[str, Any]]) -> None:
    table = Table("segment", "name", "kind", "status", "size", "share", "stability", "top features")
    for s in segs:
        table.add_row(s["segment_id"], s["name"], s["kind"], s["status"], str(s["size"]),
                      f"{s['share']:.1%}" if s.get("share") is not None else "",
                      f"{s['stability']:.2f}" if s.get("stability") is not None else "",
                      ", ".join(f"{f['label']} ({f['lift']}x)" for f in s.get("features", [])[:3]))
    out.print(table)


@segments_app.command("discover")
def segments_discover(k: Annotated[int | None, typer.Option("--k", help="number of segments (default: auto)")] = None,
                      k_min: Annotated[int, typer.Option("--k-min")] = 3,
                      k_max: Annotated[int, typer.Option("--k-max")] = 10,
                      behaviour_weight: Annotated[float, typer.Option("--behaviour-weight")] = 0.2,
                      random_state: Annotated[int, typer.Option("--random-state")] = 0,
                      as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Cluster the indexed profiles into named, explained segments (ids kept across re-runs)."""
    _setup_logging()
    from app.segments.schemas import DiscoverRequest

    req = DiscoverRequest(n_clusters=k, k_min=k_min, k_max=k_max, behaviour_weight=behaviour_weight,
                          random_state=random_state)

    async def go(c: Any) -> dict[str, Any]:
        return (await c.segments.discover(req)).model_dump()  # type: ignore[no-any-return]

    res = _run(lambda: _with_container(data_dir, go))

    def render() -> None:
        out.print(f"run {res['run_version']}: k={res['k']}, stability (ARI) {res['stability']:.2f}, "
                  f"{res['kept_ids']} ids kept, {len(res['retired'])} retired, {res['seconds']}s")
        _segments_table(res["segments"])
    _emit(as_json, res, render)


@segments_app.command("list")
def segments_list(all_: Annotated[bool, typer.Option("--all", help="include retired segments")] = False,
                  as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Current segments."""
    _setup_logging()

    async def go(c: Any) -> dict[str, Any]:
        return {"segments": [s.model_dump() for s in await c.segments.current(all_)]}

    res = _run(lambda: _with_container(data_dir, go))
    _emit(as_json, res, lambda: _segments_table(res["segments"]))


@segments_app.command("show")
def segments_show(segment_id: str, as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """One segment: name, explanation, distinguishing features, rules."""
    _setup_logging()

    async def go(c: Any) -> dict[str, Any]:
        return (await c.segments.show(segment_id)).model_dump()  # type: ignore[no-any-return]

    res = _run(lambda: _with_container(data_dir, go))
    _emit(as_json, res, lambda: _print_segment(res))


@segments_app.command("members")
def segments_members(segment_id: str, limit: Annotated[int, typer.Option("--limit")] = 100,
                     offset: Annotated[int, typer.Option("--offset")] = 0, as_json: JsonOpt = False,
                     data_dir: DataDirOpt = None) -> None:
    """Members of a segment, closest to its centre first."""
    _setup_logging()

    async def go(c: Any) -> dict[str, Any]:
        return (await c.segments.members(segment_id, limit, offset)).model_dump()  # type: ignore[no-any-return]

    res = _run(lambda: _with_container(data_dir, go))

    def render() -> None:
        out.print(f"{res['total']} members of {segment_id} v{res['version']}")
        for m in res["members"]:
            out.print(f"{m['profile_id']}\t{m['score']}")
    _emit(as_json, res, render)


@segments_app.command("publish")
def segments_publish(segment_id: str, as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Publish membership: PostgreSQL traits now, Tracardi traits.ai.segments when a Tracardi URL is set."""
    _setup_logging()

    async def go(c: Any) -> dict[str, Any]:
        return (await c.publish_segment(segment_id)).model_dump()  # type: ignore[no-any-return]

    res = _run(lambda: _with_container(data_dir, go))
    _emit(as_json, res, lambda: out.print(
        f"published {segment_id} v{res['version']}: {res['members']} members, {res['queued']} write-backs queued"
        + (f", {res['delivered']} delivered to Tracardi" if res["delivered"] is not None else
           " (no Tracardi URL set: delivered by `profile-ai tracardi writeback` later)")))


@segments_app.command("create")
def segments_create(name: str, description: Annotated[str, typer.Option("--description")],
                    threshold: Annotated[float, typer.Option("--threshold")] = 0.45,
                    filter: Annotated[list[str] | None, typer.Option("--filter")] = None,
                    as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """A segment defined by a description (and filters), refreshed on every sync."""
    _setup_logging()
    from app.segments.schemas import DescriptionSegmentRequest

    req = DescriptionSegmentRequest(name=name, description=description, threshold=threshold, filters=filter)

    async def go(c: Any) -> dict[str, Any]:
        return (await c.segments.create_description(req)).model_dump()  # type: ignore[no-any-return]

    res = _run(lambda: _with_container(data_dir, go))
    _emit(as_json, res, lambda: out.print(f"{res['segment_id']}: {res['name']}, {res['size']} members"))


@segments_app.command("lookalike")
def segments_lookalike(seed_segment_id: str, size: Annotated[int, typer.Option("--size")] = 100,
                       as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """The N non-members most similar to a segment."""
    _setup_logging()
    from app.segments.schemas import LookalikeRequest

    req = LookalikeRequest(seed_segment_id=seed_segment_id, size=size)

    async def go(c: Any) -> dict[str, Any]:
        return (await c.segments.create_lookalike(req)).model_dump()  # type: ignore[no-any-return]

    res = _run(lambda: _with_container(data_dir, go))
    _emit(as_json, res, lambda: out.print(f"{res['segment_id']}: {res['name']}, {res['size']} members, "
                                          f"{res['definition']}"))


# -- API keys
@keys_app.command("create")
def keys_create(scope: Annotated[str, typer.Option("--scope", help="read | write | admin")],
                name: Annotated[str, typer.Option("--name", help="who or what uses it")] = "",
                as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Create an API key; it is printed this once (only a hash is stored)."""
    _setup_logging()

    async def go(keys: Any) -> dict[str, Any]:
        from app.auth.endpoints import info

        key, record = await keys.create(scope, name)
        return {"key": key, **info(record).model_dump()}

    res = _run(lambda: _with_api_keys(data_dir, go))
    _emit(as_json, res, lambda: out.print(f"{res['key']}\n(key {res['key_id']}, scope {res['scope']}: shown once, "
                                          "store it now)", markup=False))


@keys_app.command("list")
def keys_list(as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """API keys (ids, scopes, last use; never the secrets)."""
    _setup_logging()

    async def go(keys: Any) -> dict[str, Any]:
        from app.auth.endpoints import info

        return {"keys": [info(k).model_dump() for k in await keys.list()]}

    res = _run(lambda: _with_api_keys(data_dir, go))

    def render() -> None:
        table = Table("key id", "name", "scope", "created", "last used", "revoked")
        for k in res["keys"]:
            table.add_row(k["key_id"], k["name"], k["scope"], k["created_at"][:19], (k["last_used_at"] or "")[:19],
                          (k["revoked_at"] or "")[:19])
        out.print(table)
    _emit(as_json, res, render)


@keys_app.command("revoke")
def keys_revoke(key_id: str, as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Revoke an API key (effective on the next request)."""
    _setup_logging()

    async def go(keys: Any) -> dict[str, Any]:
        if not await keys.revoke(key_id):
            raise ValueError(f"no live key {key_id!r}")
        return {"key_id": key_id, "revoked": True}

    res = _run(lambda: _with_api_keys(data_dir, go))
    _emit(as_json, res, lambda: out.print(f"revoked {key_id}"))


# -- predictions
def _print_card(m: dict[str, Any]) -> None:
    c = m["card"]
    out.print(f"[bold]{m['model_id']}[/bold]  goal {m['goal']}, horizon {m['horizon_days']} days, as of {m['as_of']} "
              f"({m['status']})")
    out.print(f"  quality: {c['quality']}" + (f"  [red]warning: {c['warning']}[/red]" if c.get("warning") else ""))
    suff = c["sufficiency"]
    out.print(f"  data: {c['rows']} profiles, {c['positives']} positives; {suff['verdict']}"
              + (f" ({'; '.join(suff['reasons'])})" if suff["reasons"] else ""), markup=False)
    table = Table("model", *[k for k in c["holdout"] if k not in ("total_actual",)])
    for name, metrics in [("this model", c["holdout"]), *c["baselines"].items()]:
        table.add_row(name, *[str(metrics.get(k)) for k in c["holdout"] if k not in ("total_actual",)])
    out.print(table)
    if c["drivers"]:
        out.print("  drivers: " + ", ".join(f"{d['feature']} ({d['importance']})" for d in c["drivers"][:6]),
                  markup=False)
    for note in c.get("notes", []):
        out.print(f"  note: {note}", markup=False)


@app.command()
def train(goal: Annotated[str, typer.Option("--goal", help="purchase | churn | ltv | event:TYPE[key=value]")],
          horizon_days: Annotated[int | None, typer.Option("--horizon-days")] = None,
          as_of: Annotated[str | None, typer.Option("--as-of", help="ISO time (default: latest fully observed)")] = None,
          activity_type: Annotated[list[str] | None, typer.Option("--activity-type", help="churn: activity")] = None,
          as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Train a new model version for a goal; prints its model card."""
    _setup_logging()
    from app.predictions.schemas import TrainRequest

    req = TrainRequest(goal=goal, horizon_days=horizon_days, as_of=as_of, activity_types=activity_type)

    async def go(c: Any) -> dict[str, Any]:
        return (await c.predictions.train(req)).model_dump()  # type: ignore[no-any-return]

    res = _run(lambda: _with_container(data_dir, go))
    _emit(as_json, res, lambda: _print_card(res))


@app.command()
def score(model: Annotated[str | None, typer.Option("--model", help="model id (default: the goal's active one)")] = None,
          goal: Annotated[str | None, typer.Option("--goal")] = None,
          as_of: Annotated[str | None, typer.Option("--as-of", help="ISO time (default: now / end of data)")] = None,
          limit: Annotated[int, typer.Option("--limit", help="how many of the best to print")] = 20,
          as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Score every profile with a model version; writes predictions to PostgreSQL and queues them for Tracardi."""
    _setup_logging()
    from app.predictions.schemas import ScoreRequest

    if not model and not goal:
        _run(lambda: _fail("pass --model ID or --goal GOAL"))
    req = ScoreRequest(model_id=model, goal=goal, as_of=as_of, limit=limit if not as_json else 1_000_000)

    async def go(c: Any) -> dict[str, Any]:
        return (await c.score(req)).model_dump()  # type: ignore[no-any-return]

    res = _run(lambda: _with_container(data_dir, go))

    def render() -> None:
        out.print(f"{res['model_id']}: scored {res['scored']} profiles as of {res['as_of']} in {res['seconds']}s; "
                  f"{res['queued']} write-backs queued")
        table = Table("profile", "probability/value", "percentile", "tier", "top drivers")
        for p in res["predictions"][:limit]:
            v = p["probability"] if p["probability"] is not None else p["value"]
            table.add_row(p["profile_id"], f"{v:.4f}", f"{p['percentile']:.1f}", p["tier"],
                          ", ".join(f"{d['feature']} {d['effect']:+.3f}" for d in p["drivers"]))
        out.print(table)
    _emit(as_json, res, render)


async def _fail(message: str) -> None:
    raise ValueError(message)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
