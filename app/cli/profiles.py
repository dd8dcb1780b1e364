"""Sync, search, cards, lookalikes, erasure and explanations: the profile commands."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from app.cli.common import (
    DataDirOpt,
    JsonOpt,
    SourceOpt,
    _container,
    _emit,
    _run,
    _settings,
    _setup_logging,
    _sync,
    _with_container,
    _wording,
    app,
    err,
    out,
    source_app,
)
from app.cli.tracardi import _tracardi_client

if TYPE_CHECKING:
    from app.container import Container


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


WHY_CHARS = 240  # the reasons shown a hit: whole lines, as many as fit


def _why(lines: list[str]) -> str:
    shown: list[str] = []
    for line in lines:
        if shown and len(" | ".join([*shown, line])) > WHY_CHARS:
            break
        shown.append(line)
    return " | ".join(shown)[:WHY_CHARS]


def _print_hits(results: list[dict[str, Any]], matches: int | None = None) -> None:
    if matches is not None:  # the hits that meet everything read come first; the closest others follow
        spanish = _wording() == "es"
        said = (("1 cliente cumple", "{n} clientes cumplen") if spanish else ("1 customer meets", "{n} customers meet")
                )[matches != 1].format(n=matches)
        out.print(said + (" todo lo leído en la pregunta" if spanish else " every condition read from the question"),
                  markup=False)
    table = Table("#", "profile", "score", "why it matched", show_lines=False)
    for i, r in enumerate(results, 1):
        table.add_row(str(i), r["profile_id"], f"{r['score']:.3f}", _why(r.get("why") or []))
    out.print(table)


@app.command()
def search(query: str, limit: Annotated[int, typer.Option("--limit")] = 10,
           filter: Annotated[list[str] | None, typer.Option("--filter", help="KEY=VALUE, KEY!=VALUE, KEY>=N, KEY<=DATE")] = None,
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
    _emit(as_json, res, lambda: _print_hits(res["results"], res.get("understood_matches")))


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

    async def go(c: Container) -> dict[str, Any]:
        if verify:
            return await c.erasure.verify(profile_id)
        if unforget:
            return {"tombstones_lifted": await c.erasure.unforget(profile_id, actor="cli", reason=reason)}
        clear = tracardi or c.settings.privacy.erasure_clears_tracardi
        return await c.usecases.forget(profile_id, actor="cli", reason=reason, clear_tracardi=clear)

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
