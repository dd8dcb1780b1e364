"""Prediction audiences (issue 30): who a model says, sized before saving, kept current on every rescoring, and
refused in one line when they cannot be built. Real PostgreSQL; the scores are imported with known values, so
every size is checked against an offline computation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.config import DatabaseSettings, Settings
from app.container import Container
from app.demo.writer import write_export
from app.errors import InvalidRequestError
from app.predictions.schemas import ExternalPrediction, ImportRequest
from app.segments.schemas import DescriptionSegmentRequest, PredictionAudienceRequest
from bench.campaign import population

N = 200


@pytest.fixture
async def scored(tmp_path: Path, pg_url: str, encoder: Any) -> Any:
    people = population(N, seed=5, start=datetime(2026, 1, 1, tzinfo=UTC))
    c = await Container.create(Settings(data_dir=tmp_path / "data", database=DatabaseSettings(url=pg_url)),
                               encoder=encoder)
    try:
        await c.sync.run(c.source(str(write_export(tmp_path / "e", people, []))))
        scores = {p["id"]: round(((i * 37) % N) / N, 4) for i, p in enumerate(people)}  # distinct, known
        await c.predictions.import_predictions(ImportRequest(goal="churn", model_name="known", predictions=[
            ExternalPrediction(profile_id=p, probability=s) for p, s in scores.items()]))
        yield c, people, scores
    finally:
        await c.aclose()


def ranked(scores: dict[str, float]) -> list[str]:
    return sorted(scores, key=lambda p: (-scores[p], p))


async def test_sized_before_saving_by_each_rule(scored: Any) -> None:
    c, people, scores = scored
    total = sum(scores.values())
    top = await c.segments.size_audience(PredictionAudienceRequest(name="a", goal="churn", top_percent=10))
    assert top.members == 20 and top.pool == N
    assert top.expected_outcomes == pytest.approx(sum(scores[p] for p in ranked(scores)[:20]), abs=1e-3)
    assert top.share_of_expected == pytest.approx(top.expected_outcomes / total, abs=1e-3)
    cap = await c.segments.size_audience(PredictionAudienceRequest(name="b", goal="churn", capture=0.5))
    cum, want = 0.0, 0
    for p in ranked(scores):  # in score order until half of everyone's expected outcomes
        if cum >= 0.5 * total:
            break
        cum, want = cum + scores[p], want + 1
    assert cap.members == want and cap.share_of_expected >= 0.5
    thr = await c.segments.size_audience(PredictionAudienceRequest(name="c", goal="churn", min_score=0.9))
    assert thr.members == sum(s >= 0.9 for s in scores.values()) and thr.min_score >= 0.9
    tiers = await c.database.pool.fetchval(
        "SELECT count(*) FROM profile_ai.predictions WHERE goal = 'churn' AND tier = 'top 10%'")
    tier = await c.segments.size_audience(PredictionAudienceRequest(name="t", goal="churn", tier="top 10%"))
    assert tier.members == tiers > 0
    assert await c.segments.repo.current() == []  # sizing saved nothing


async def test_within_filters_and_kept_current_on_rescoring(scored: Any) -> None:
    c, people, scores = scored
    plan = {p["id"]: p["traits"]["plan"] for p in people}
    seg = await c.segments.create_audience(PredictionAudienceRequest(
        name="Pro customers most likely to churn", goal="churn", top_percent=20, filters=["traits.plan=pro"]))
    pros = [p for p in ranked(scores) if plan[p] == "pro"]
    members = {m.profile_id for m in (await c.segments.members(seg.segment_id, limit=N)).members}
    assert seg.kind == "prediction" and members == set(pros[: -(-len(pros) * 20 // 100)])
    assert seg.description == "churn: top 20%"
    await c.usecases.publish_segment(seg.segment_id, holdout=0.2)
    # a new scoring (here an import of the opposite order) moves members in and out
    flipped = {p: round(1 - s, 4) for p, s in scores.items()}
    await c.predictions.import_predictions(ImportRequest(goal="churn", model_name="known", predictions=[
        ExternalPrediction(profile_id=p, probability=s) for p, s in flipped.items()]))
    assert await c.segments.refresh_audiences("churn") == 1
    after = {m.profile_id for m in (await c.segments.members(seg.segment_id, limit=N)).members}
    assert after == set(sorted(pros, key=lambda p: (-flipped[p], p))[: len(members)]) and after != members
    entered = await c.database.pool.fetchval(
        "SELECT count(*) FROM profile_ai.segment_exposures WHERE segment_id = $1", seg.segment_id)
    assert entered == len(members | after)  # joiners entered too, each with its arm
    within = await c.segments.size_audience(PredictionAudienceRequest(
        name="d", goal="churn", tier="top 10%", segment_id=seg.segment_id))
    assert within.pool == len(after)
    c.segments.wording = "es"  # a Spanish deployment describes it in its words, as its discovered segments
    es = await c.segments.create_audience(PredictionAudienceRequest(name="Riesgo de abandono", goal="churn",
                                                                    capture=0.5))
    assert es.description == "abandono: el 50 % de los resultados esperados"
    c.segments.wording = "en"


async def test_refusals_are_one_line_and_save_nothing(scored: Any) -> None:
    c, _, _ = scored
    with pytest.raises(InvalidRequestError, match="no scores"):
        await c.segments.create_audience(PredictionAudienceRequest(name="x", goal="upsell", top_percent=5))
    with pytest.raises(InvalidRequestError, match="exactly one of"):
        await c.segments.create_audience(PredictionAudienceRequest(name="x", goal="churn", top_percent=5,
                                                                   capture=0.5))
    with pytest.raises(InvalidRequestError, match="exactly one of"):
        await c.segments.size_audience(PredictionAudienceRequest(name="x", goal="churn"))
    assert await c.segments.repo.current() == []
    seg = await c.segments.create_description(DescriptionSegmentRequest(name="all", description="anyone",
                                                                        threshold=-1, max_members=N))
    with pytest.raises(InvalidRequestError, match="no holdout"):
        await c.lift.lift(seg.segment_id)
