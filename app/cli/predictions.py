"""Predictions: train a goal, read its card, score."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from app.cli.common import DataDirOpt, JsonOpt, _emit, _fail, _run, _setup_logging, _with_container, app, out

if TYPE_CHECKING:
    from app.container import Container


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
        out.print("  drivers: " + ", ".join(f"{d.get('label') or d['feature']} ({d['importance']})"
                                        for d in c["drivers"][:6]),
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

    async def go(c: Container) -> dict[str, Any]:
        return (await c.predictions.train(req)).model_dump()

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

    async def go(c: Container) -> dict[str, Any]:
        return (await c.usecases.score(req)).model_dump()

    res = _run(lambda: _with_container(data_dir, go))

    def render() -> None:
        out.print(f"{res['model_id']}: scored {res['scored']} profiles as of {res['as_of']} in {res['seconds']}s; "
                  f"{res['queued']} write-backs queued")
        table = Table("profile", "probability/value", "percentile", "tier", "top drivers")
        for p in res["predictions"][:limit]:
            v = p["probability"] if p["probability"] is not None else p["value"]
            table.add_row(p["profile_id"], f"{v:.4f}", f"{p['percentile']:.1f}", p["tier"],
                          ", ".join(f"{d.get('label') or d['feature']} {d['effect']:+.3f}" for d in p["drivers"]))
        out.print(table)
    _emit(as_json, res, render)


@app.command("quality")
def quality(model_id: str, as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Live quality of a model: drift at each scoring and, once matured, what came true beside the holdout."""
    _setup_logging()

    async def go(c: Container) -> dict[str, Any]:
        return await c.predictions.quality_history(model_id)

    res = _run(lambda: _with_container(data_dir, go))

    def render() -> None:
        h = res["holdout"]
        out.print(f"{res['model_id']} ({res['goal']}, {res['horizon_days']} days); holdout AUC {h.get('auc')}",
                  markup=False)
        for s in res["snapshots"]:
            r = s["realized"] or {}
            what = (f"AUC {r.get('auc')} {r.get('auc_interval', '')}, Brier {r.get('brier')}, lift@10% "
                    f"{r.get('lift_top_10')}" if r.get("auc") is not None else
                    f"MAE {r.get('mae')}" if r.get("mae") is not None else f"matures {s['matures_at']}")
            out.print(f"  {s['as_of'][:10]}: {s['profiles']} profiles, PSI {s['drift'].get('score')}; {what}",
                      markup=False)
    _emit(as_json, res, render)
