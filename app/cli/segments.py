"""Smart segments: discover, inspect, create, publish."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from app.cli.common import (
    DataDirOpt,
    JsonOpt,
    _emit,
    _run,
    _setup_logging,
    _with_container,
    out,
    segments_app,
)

if TYPE_CHECKING:
    from app.container import Container


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

    async def go(c: Container) -> dict[str, Any]:
        return (await c.segments.discover(req)).model_dump()

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

    async def go(c: Container) -> dict[str, Any]:
        return {"segments": [s.model_dump() for s in await c.segments.current(all_)]}

    res = _run(lambda: _with_container(data_dir, go))
    _emit(as_json, res, lambda: _segments_table(res["segments"]))


@segments_app.command("show")
def segments_show(segment_id: str, as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """One segment: name, explanation, distinguishing features, rules."""
    _setup_logging()

    async def go(c: Container) -> dict[str, Any]:
        return (await c.segments.show(segment_id)).model_dump()

    res = _run(lambda: _with_container(data_dir, go))
    _emit(as_json, res, lambda: _print_segment(res))


@segments_app.command("members")
def segments_members(segment_id: str, limit: Annotated[int, typer.Option("--limit")] = 100,
                     offset: Annotated[int, typer.Option("--offset")] = 0, as_json: JsonOpt = False,
                     data_dir: DataDirOpt = None) -> None:
    """Members of a segment, closest to its centre first."""
    _setup_logging()

    async def go(c: Container) -> dict[str, Any]:
        return (await c.segments.members(segment_id, limit, offset)).model_dump()

    res = _run(lambda: _with_container(data_dir, go))

    def render() -> None:
        out.print(f"{res['total']} members of {segment_id} v{res['version']}")
        for m in res["members"]:
            out.print(f"{m['profile_id']}\t{m['score']}\t{m['arm']}")
    _emit(as_json, res, render)


@segments_app.command("publish")
def segments_publish(segment_id: str,
                     holdout: Annotated[float | None, typer.Option(
                         "--holdout", help="share kept out as a control group, 0-0.5 (fixed for the segment's life)",
                         min=0.0, max=0.5)] = None,
                     as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Publish membership: PostgreSQL traits now, Tracardi traits.ai.segments when a Tracardi URL is set. With
    --holdout, that share of the members is a control group that never receives the segment."""
    _setup_logging()

    async def go(c: Container) -> dict[str, Any]:
        return (await c.usecases.publish_segment(segment_id, holdout)).model_dump()

    res = _run(lambda: _with_container(data_dir, go))
    _emit(as_json, res, lambda: out.print(
        f"published {segment_id} v{res['version']}: {res['members']} members"
        + (f" ({res['holdout']:.0%} held out as a control group)" if res.get("holdout") else "")
        + f", {res['queued']} write-backs queued"
        + (f", {res['delivered']} delivered to Tracardi" if res["delivered"] is not None else
           " (no Tracardi URL set: delivered by `profile-ai tracardi writeback` later)")))


@segments_app.command("create")
def segments_create(name: str, description: Annotated[str, typer.Option("--description")],
                    threshold: Annotated[float | None, typer.Option(
                        "--threshold", help="a raw cosine bar; left out, the description is read as `count` reads a "
                                            "question (traits as filters, a calibrated cut-off)")] = None,
                    filter: Annotated[list[str] | None, typer.Option("--filter")] = None,
                    as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """A segment defined by a description (and filters), refreshed on every sync."""
    _setup_logging()
    from app.segments.schemas import DescriptionSegmentRequest

    req = DescriptionSegmentRequest(name=name, description=description, threshold=threshold, filters=filter)

    async def go(c: Container) -> dict[str, Any]:
        return (await c.segments.create_description(req)).model_dump()

    res = _run(lambda: _with_container(data_dir, go))
    _emit(as_json, res, lambda: out.print(f"{res['segment_id']}: {res['name']}, {res['size']} members"))


@segments_app.command("lookalike")
def segments_lookalike(seed_segment_id: str, size: Annotated[int, typer.Option("--size")] = 100,
                       as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """The N non-members most similar to a segment."""
    _setup_logging()
    from app.segments.schemas import LookalikeRequest

    req = LookalikeRequest(seed_segment_id=seed_segment_id, size=size)

    async def go(c: Container) -> dict[str, Any]:
        return (await c.segments.create_lookalike(req)).model_dump()

    res = _run(lambda: _with_container(data_dir, go))
    _emit(as_json, res, lambda: out.print(f"{res['segment_id']}: {res['name']}, {res['size']} members, "
                                          f"{res['definition']}"))


@segments_app.command("lift")
def segments_lift(segment_id: str,
                  outcome: Annotated[str, typer.Option("--outcome", help="purchase, spend or event:TYPE")] = "purchase",
                  days: Annotated[int, typer.Option("--days", min=1, max=730,
                                                    help="the outcome counts within this many days of entry")] = 30,
                  as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Measured lift of a segment published with a holdout: treated against control, with a 95% interval."""
    _setup_logging()

    async def go(c: Container) -> dict[str, Any]:
        return (await c.lift.lift(segment_id, outcome, days)).model_dump(mode="json")

    res = _run(lambda: _with_container(data_dir, go))

    def render() -> None:
        out.print(f"{segment_id}: {outcome} within {days} days of entry (holdout {res['holdout']:.0%})", markup=False)
        for name, a in res["arms"].items():
            out.print(f"  {name}: {a['members']} members, {a['converters']} converted ({a['rate']:.1%}), "
                      f"spend {a['spend_per_member']} per member", markup=False)
        out.print(res["verdict"], markup=False)
        if res.get("cuped"):
            lo, hi = res["cuped"]["interval"]
            out.print(f"  CUPED: {res['cuped']['estimate']} (95% interval {lo} to {hi}, variance reduced "
                      f"{res['cuped']['variance_reduction']:.0%})", markup=False)
    _emit(as_json, res, render)


@segments_app.command("audience")
def segments_audience(name: str, goal: Annotated[str, typer.Option("--goal", help="the model's goal (churn, ...)")],
                      tier: Annotated[str | None, typer.Option("--tier")] = None,
                      top_percent: Annotated[float | None, typer.Option("--top-percent")] = None,
                      min_score: Annotated[float | None, typer.Option("--min-score")] = None,
                      capture: Annotated[float | None, typer.Option(
                          "--capture", help="share of expected outcomes to capture, 0-1")] = None,
                      segment: Annotated[str | None, typer.Option("--segment", help="only within this segment")] = None,
                      filter: Annotated[list[str] | None, typer.Option("--filter")] = None,
                      size_only: Annotated[bool, typer.Option("--size-only", help="size it, save nothing")] = False,
                      as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """A prediction audience: a model's tier, top percent, score threshold or share of expected outcomes,
    optionally within a segment or filters; kept current on every rescoring."""
    from app.segments.schemas import PredictionAudienceRequest

    _setup_logging()
    req = PredictionAudienceRequest(name=name, goal=goal, tier=tier, top_percent=top_percent, min_score=min_score,
                                    capture=capture, segment_id=segment, filters=filter or None)

    async def go(c: Container) -> dict[str, Any]:
        if size_only:
            return (await c.segments.size_audience(req)).model_dump()
        return (await c.segments.create_audience(req)).model_dump(mode="json")

    res = _run(lambda: _with_container(data_dir, go))

    def render() -> None:
        if size_only:
            out.print(f"{res['members']} of {res['pool']} scored customers; expected outcomes "
                      f"{res['expected_outcomes']:g} ({res['share_of_expected']:.0%} of everyone's)", markup=False)
        else:
            _print_segment(res)
    _emit(as_json, res, render)


@segments_app.command("uplift")
def segments_uplift(segment_id: str,
                    outcome: Annotated[str, typer.Option("--outcome", help="purchase or event:TYPE")] = "purchase",
                    days: Annotated[int, typer.Option("--days", min=1, max=730)] = 30,
                    as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Who changed because of the campaign: a few readable rules, each with its uplift measured on members the
    rules were not found on, or plainly that there is no detectable difference."""
    _setup_logging()

    async def go(c: Container) -> dict[str, Any]:
        return await c.lift.uplift(segment_id, outcome, days)

    res = _run(lambda: _with_container(data_dir, go))

    def render() -> None:
        out.print(res["note"], markup=False)
        for r in res["rules"]:
            lo, hi = r["interval"]
            out.print(f"  {r['rule']}: {r['uplift'] * 100:+.1f} points [{lo * 100:.1f}, {hi * 100:.1f}], "
                      f"{r['members']} members", markup=False)
    _emit(as_json, res, render)
