"""Business questions from the command line: how many, what sets a group apart, who first by a fact or a model. The same
answers as the agent tools and `POST /v1/customers/...` (app/insights/)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from app.cli.common import (
    DataDirOpt,
    JsonOpt,
    _emit,
    _run,
    _setup_logging,
    _with_container,
    _wording,
    app,
    out,
)
from app.errors import InvalidRequestError
from app.insights.service import percent, thousands
from app.search.service import ranked_goal
from profiles.wording import Wording

FilterOpt = Annotated[list[str] | None, typer.Option("--filter", help="KEY=VALUE, KEY!=VALUE, KEY>=N, KEY<=DATE")]
SegmentOpt = Annotated[str | None, typer.Option("--segment", help="only this segment's members")]
# what the tables say, in the deployment's wording (as the answers' own `method` is)
WORDS: dict[str, dict[str, str]] = {
    "en": {"of": "{n} of {total} customers", "estimate": " (estimate)", "customers": "customers", "other": "(other)",
           "apart": "what sets them apart", "group": "in the group", "everyone": "everyone", "lift": "lift",
           "model": "model {model} ({quality})", "unknown": "quality unknown", "profile": "profile",
           "score": "probability / value", "percentile": "percentile", "tier": "tier", "reasons": "reasons",
           "why": "why, by the model {model}", "of_group": "of the group", "median": "median",
           "ranked_by": "ranked by {label}, {order} ({n} of {group} in the group hold it)", "value": "value",
           "descending": "highest first", "ascending": "lowest first",
           "measure": "{stat} of {label}: {value} (over {n} customers)", "mean": "mean", "total": "total",
           "average": "the average {label}: {value} (over {n} customers)",
           "within": "{share} of the {n} {of}"},
    "es": {"of": "{n} de {total} clientes", "estimate": " (estimación)", "customers": "clientes", "other": "(otros)",
           "apart": "lo que los distingue", "group": "en el grupo", "everyone": "todos", "lift": "lift",
           "model": "modelo {model} ({quality})", "unknown": "calidad desconocida", "profile": "perfil",
           "score": "probabilidad / valor", "percentile": "percentil", "tier": "nivel", "reasons": "motivos",
           "why": "por qué, según el modelo {model}", "of_group": "del grupo", "median": "mediana",
           "ranked_by": "ordenados por {label}, {order} ({n} de {group} en el grupo lo tienen)", "value": "valor",
           "descending": "de mayor a menor", "ascending": "de menor a mayor",
           "measure": "{stat} de {label}: {value} (sobre {n} clientes)", "mean": "media", "total": "total",
           "average": "la media de {label}: {value} (sobre {n} clientes)",
           "within": "el {share} de los {n} {of}"},
}


def _ranked(query: str | None, by: str | None, ascending: bool, filters: list[str] | None, segment: str | None,
            limit: int, as_json: bool, data_dir: Any) -> None:
    """`top` by a stored number: "the 10 customers who spent the most", `--by spend_total`."""
    descending = (not ascending) if by is not None or ascending else None
    res: dict[str, Any] = _run(lambda: _with_container(
        data_dir, lambda c: c.insights.ranked(query, filters or None, segment, by, descending, limit)))

    def render() -> None:
        w = _words()
        by_ = res["ranked_by"]
        out.print(w["ranked_by"].format(label=by_["label"], order=w[by_["order"]], n=res["ranked_customers"],
                                        group=res["in_group"]) + (w["estimate"] if not res["exact"] else ""),
                  markup=False)
        table = Table("#", w["profile"], w["value"])
        for r in res["ranked"]:
            table.add_row(str(r["rank"]), r["profile_id"], f"{r['value']:g}" if isinstance(r["value"], float)
                          else str(r["value"]))
        out.print(table)
    _emit(as_json, res, render)


async def _goal_needed() -> None:
    raise InvalidRequestError.worded("goal_needed")


def _decimal(value: float | None) -> str:
    """1,234.50 in English, 1.234,50 in Spanish (the documents' own `Wording.money`); "-" for none."""
    return "-" if value is None else Wording(_wording()).money(value)


def _words() -> dict[str, str]:
    return WORDS.get(_wording(), WORDS["en"])


@app.command()
def count(query: Annotated[str | None, typer.Argument(help="who, in words (optional)")] = None, filter: FilterOpt = None,
          segment: SegmentOpt = None, as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """How many customers: exact for filters and segments, an estimate (labelled) for a description in words."""
    _setup_logging()
    res = _run(lambda: _with_container(data_dir, lambda c: c.insights.count(query, filter or None, segment)))

    def render() -> None:
        w = _words()
        out.print(w["of"].format(n=thousands(res["count"], _wording()), total=thousands(res["customers"], _wording()))
                  + f" ({percent(res['share'], _wording())}){'' if res['exact'] else w['estimate']}: {res['method']}",
                  markup=False)
        if (of := res.get("within")) is not None:  # "what percentage of customers from Spain ...": of them
            out.print(w["within"].format(share=percent(of["share"], _wording()), n=thousands(of["customers"],
                                                                                          _wording()), of=of["of"])
                      + ("" if of["exact"] else w["estimate"]), markup=False)
        if (a := res["group"].get("average")) and a.get("mean") is not None:  # "spent more than the average"
            out.print(w["average"].format(label=a["label"], value=_decimal(a["mean"]),
                                          n=thousands(a["customers"], _wording())), markup=False)
        if (m := res.get("measure")) is not None:  # "the average spend of ...": the statistic asked
            out.print(w["measure"].format(stat=w[m["stat"]], label=m["label"], value=_decimal(m["value"]),
                                          n=thousands(m["customers"], _wording())), markup=False)
        if "by" in res:  # "... by gender": one row per value
            measured = "measure" in res
            table = Table(res["by"]["field"], w["customers"], *([w[res["measure"]["stat"]]] if measured else []))
            for row in res["rows"]:
                table.add_row(str(row["value"]), thousands(row["count"], _wording()),
                              *([_decimal(row["measure"])] if measured else []))
            if res["by"]["other"]:
                table.add_row(w["other"], thousands(res["by"]["other"], _wording()))
            out.print(table)
    _emit(as_json, res, render)


@app.command()
def describe(query: Annotated[str | None, typer.Argument(help="who, in words (optional)")] = None,
             filter: FilterOpt = None, segment: SegmentOpt = None,
             field: Annotated[list[str] | None, typer.Option("--field", help="a field to break down")] = None,
             as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """What sets a group of customers apart from everyone."""
    _setup_logging()
    res: dict[str, Any] = _run(lambda: _with_container(
        data_dir, lambda c: c.insights.describe(query, filter or None, segment, field or None)))

    def render() -> None:
        w = _words()
        out.print(w["of"].format(n=thousands(res["size"], _wording()), total=thousands(res["customers"], _wording())),
                  markup=False)
        table = Table(w["apart"], w["group"], w["everyone"], w["lift"])
        for f in res["distinctive"][:10]:
            if "share" in f:  # a value's share of the group and of everyone, in the wording's percent
                mine, everyone = percent(f["share"], _wording()), percent(f.get("population_share") or 0.0, _wording())
            else:
                mine, everyone = str(f.get("mean")), str(f.get("population_mean"))
            table.add_row(str(f["label"]), mine, everyone, str(f.get("lift")))
        out.print(table)
        if res.get("reasons"):  # "why do students churn?": the drivers the model gives them most often
            likely = res.get("group", {}).get("likely") or {}
            why = Table(w["why"].format(model=likely.get("model_id", "")), w["of_group"], w["median"])
            for r in res["reasons"]:
                why.add_row(str(r["label"]), percent(r["share"], _wording()), f"{r['median_value']:g}")
            out.print(why)
        for f in res["fields"]:
            out.print(json.dumps(f, ensure_ascii=False), markup=False)
    _emit(as_json, res, render)


@app.command()
def top(goal: Annotated[str | None, typer.Option(
            "--goal", help="purchase | churn | ltv | event:TYPE (else read from the question: 'most likely to churn')")]
        = None,
        query: Annotated[str | None, typer.Argument(help="who, in words (optional)")] = None,
        by: Annotated[str | None, typer.Option(
            "--by", help="rank by a stored number instead of a model: spend_total, purchases, event_count, "
                         "last_seen, first_seen, a numeric trait, counts.TYPE (else read from the question: 'who "
                         "spent the most', 'the newest customers')")] = None,
        ascending: Annotated[bool, typer.Option("--ascending", help="with --by: lowest first")] = False,
        filter: FilterOpt = None, segment: SegmentOpt = None, limit: Annotated[int, typer.Option("--limit")] = 10,
        as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Customers ranked by a goal's active model, or by a stored number ("who spent the most"); never anyone
    who objected to profiling."""
    _setup_logging()
    goal = goal or (ranked_goal(query) if query and by is None else None)
    if goal is None:
        if by is None and not query:
            _run(_goal_needed)
        _ranked(query, by, ascending, filter, segment, limit, as_json, data_dir)
        return
    res: dict[str, Any] = _run(lambda: _with_container(
        data_dir, lambda c: c.insights.top(str(goal), query, filter or None, segment, limit)))

    def render() -> None:
        w = _words()
        out.print(w["model"].format(model=res["model"]["model_id"], quality=res["model"]["quality"] or w["unknown"]),
                  markup=False)
        table = Table("#", w["profile"], w["score"], w["percentile"], w["tier"], w["reasons"])
        for r in res["ranked"]:
            score = r["probability"] if r["probability"] is not None else r["value"]
            table.add_row(str(r["rank"]), r["profile_id"], f"{score:.3f}", f"{r['percentile']:.1f}", str(r["tier"]),
                          "; ".join(str(d.get("label") or d.get("feature") or d) for d in r["drivers"])[:80])
        out.print(table)
    _emit(as_json, res, render)
