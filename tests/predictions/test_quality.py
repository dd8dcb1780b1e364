"""Live model quality on the synced MovieLens data (issue 35): each scoring kept as a snapshot, realized quality
of a matured one equal to an offline computation from the same events and snapshot, drift and broken outcomes
acted on once through the job engine, and clear refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from app.errors import InvalidRequestError
from app.jobs.engine import JOB_SCHEMA
from app.jobs.runner import JobRunner
from app.predictions.schemas import ExternalPrediction, ImportRequest, ScoreRequest, TrainRequest
from prediction import artifacts
from prediction.features import labels
from prediction.monitoring import decode_snapshot

GOAL = "event:content-rated[genres=Comedy]"


@pytest.fixture(scope="module")
def comedy(movielens_container: Any) -> Any:
    c = movielens_container
    return c.run(c.predictions.train(TrainRequest(goal=GOAL, horizon_days=30)))


def test_a_matured_snapshot_is_what_came_true(movielens_container: Any, comedy: Any) -> None:
    c = movielens_container
    with pytest.raises(InvalidRequestError, match="never scored"):
        c.run(c.predictions.monitor.history(comedy.model_id))
    last = c.run(c.database.pool.fetchval("SELECT max(time) FROM profile_ai.events"))
    past = last - timedelta(days=45)  # its 30 days have passed in the data
    c.run(c.predictions.score(ScoreRequest(model_id=comedy.model_id, as_of=past.isoformat(), limit=0)))
    c.run(c.predictions.score(ScoreRequest(model_id=comedy.model_id, limit=0)))  # now: nothing to check yet
    h = c.run(c.predictions.monitor.history(comedy.model_id))
    first, second = h["snapshots"]
    assert first["realized"] is not None and second["realized"] is None and second["matures_at"]
    assert first["bytes"] / first["profiles"] < 20
    assert h["holdout"]["auc"] is not None and "score" in second["drift"]
    # offline: the same snapshot and the same events
    trained = artifacts.loads(c.run(c.predictions_repo.artifact(comedy.model_id)), comedy.model_id)
    log, _ = c.run(c.predictions.event_log(trained.goal))
    blob = c.run(c.predictions.monitor.snapshots.scores(first["snapshot_id"]))
    ordinals, values, _ = decode_snapshot(blob)
    ids = c.run(c.predictions.monitor.snapshots.profiles_of(ordinals.tolist()))
    index = {p: i for i, p in enumerate(log.profiles)}
    rows = np.array([index[ids[int(o)]] for o in ordinals])
    y = (labels(log, trained.goal, trained.spec, past.timestamp(), 30)[rows] > 0).astype(float)
    assert first["realized"]["auc"] == round(float(roc_auc_score(y, values)), 4)
    assert first["realized"]["profiles"] == len(rows) and first["realized"]["base_rate"] == round(float(y.mean()), 6)
    again = c.run(c.predictions.monitor.history(comedy.model_id))  # computed once, then kept
    assert again["snapshots"][0]["realized"]["computed_at"] == first["realized"]["computed_at"]


def test_drift_and_broken_outcomes_retrain_once_and_the_new_card_says_why(movielens_container: Any,
                                                                         comedy: Any) -> None:
    c = movielens_container
    q = c.predictions.monitor
    reasons: list[str] = []

    async def note(goal: str, model_id: str, reason: str) -> None:
        reasons.append(reason)

    pid = c.run(c.database.pool.fetchval("SELECT profile_id FROM profile_ai.profile_features LIMIT 1"))
    external = c.run(c.predictions.import_predictions(ImportRequest(goal="drift-goal", model_name="external",
                                                                    predictions=[ExternalPrediction(
                                                                        profile_id=pid, probability=0.5)])))
    q.on_degraded = note
    try:
        ids = [f"p{i}" for i in range(2000)]
        rng = np.random.default_rng(0)
        when = datetime.now(UTC)
        tiers = ["rest"] * len(ids)
        c.run(q.record(external.model_id, "drift-goal", 30, when, ids, rng.beta(2, 8, 2000), tiers, {}))
        c.run(q.record(external.model_id, "drift-goal", 30, when, ids, rng.beta(2, 8, 2000), tiers, {}))
        assert reasons == []  # the same population: quiet
        c.run(q.record(external.model_id, "drift-goal", 30, when, ids, rng.beta(5, 5, 2000), tiers, {}))
        assert len(reasons) == 1 and reasons[0].startswith("drift: PSI of score")
        c.run(q._judge(GOAL, comedy.model_id, {"auc": 0.8, "base_rate": 0.2}, {"base_rate": 0.0, "auc": None}))
        assert "renamed upstream" in reasons[-1]  # no outcome at all where training saw one
        c.run(q._judge(GOAL, comedy.model_id, {"auc": 0.8}, {"base_rate": 0.2, "auc": 0.62}))
        assert "realized AUC 0.62" in reasons[-1]
    finally:
        q.on_degraded = c.usecases.retrain_later
    # through the job engine: one waiting retrain per goal, however many causes
    # (the scorings above may already have queued one: their population is the whole data against a past one)
    c.run(c.usecases.retrain_later(GOAL, comedy.model_id, "drift: PSI of score is 0.40"))
    assert c.run(c.usecases.retrain_later(GOAL, comedy.model_id, "realized AUC 0.55")) is None
    waiting = c.run(c.database.pool.fetchval(
        f"SELECT count(*) FROM {JOB_SCHEMA}.procrastinate_jobs WHERE task_name = 'retrain' AND status = 'todo' "
        "AND queueing_lock = $1", f"waiting:retrain:{GOAL}"))
    assert waiting == 1
    done = c.run(JobRunner(c, owns_index=True).retrain({"goal": GOAL, "replaces": comedy.model_id,
                                                        "reason": "drift: PSI of score is 0.40"}))
    card = c.run(c.predictions.model(done["model_id"])).card
    assert card["replaces"] == {"model_id": comedy.model_id, "reason": "drift: PSI of score is 0.40"}


def test_a_retention_shorter_than_a_horizon_is_refused_and_deletes_nothing(movielens_container: Any,
                                                                           comedy: Any) -> None:
    c = movielens_container
    q = c.predictions.monitor
    before = c.run(c.database.pool.fetchval("SELECT count(*) FROM profile_ai.score_snapshots"))
    kept = q.settings.snapshot_retention_days
    q.settings.snapshot_retention_days = 10  # shorter than the comedy model's 30 days
    try:
        with pytest.raises(InvalidRequestError, match="shorter than the longest horizon"):
            c.run(q.prune())
    finally:
        q.settings.snapshot_retention_days = kept
    assert c.run(c.database.pool.fetchval("SELECT count(*) FROM profile_ai.score_snapshots")) == before
    assert c.run(q.prune()) == 0  # within the retention: nothing old enough to go


def test_an_outcome_renamed_upstream_is_flagged_within_one_horizon(movielens_container: Any) -> None:
    """Tracardi starts sending the outcome under another name after the model was trained: the first snapshot
    whose horizon passes has no outcome at all, and the goal is queued for retraining with that reason."""
    c = movielens_container
    model = c.run(c.predictions.train(TrainRequest(goal="event:content-rated[genres=Horror]", horizon_days=30)))
    last = c.run(c.database.pool.fetchval("SELECT max(time) FROM profile_ai.events"))
    past = last - timedelta(days=45)
    c.run(c.predictions.score(ScoreRequest(model_id=model.model_id, as_of=past.isoformat(), limit=0)))
    renamed = "UPDATE profile_ai.events SET type = $1 WHERE type = $2 AND time > $3"
    reasons: list[str] = []

    async def note(goal: str, model_id: str, reason: str) -> None:
        reasons.append(reason)

    c.predictions.monitor.on_degraded = note
    c.run(c.database.pool.execute(renamed, "content-rated-v2", "content-rated", past))
    try:
        h = c.run(c.predictions.monitor.history(model.model_id))
    finally:
        c.run(c.database.pool.execute(renamed, "content-rated", "content-rated-v2", past))
        c.predictions.monitor.on_degraded = c.usecases.retrain_later
    assert h["snapshots"][0]["realized"]["base_rate"] == 0
    assert reasons and "renamed upstream" in reasons[0]
