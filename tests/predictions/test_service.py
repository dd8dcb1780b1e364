"""Predictions end to end on the synced MovieLens data: the event log in PostgreSQL, training with a model
card, scoring with percentiles and tiers, idempotent write-back, the HTTP routes and clear refusals."""

from __future__ import annotations

from typing import Any

import pytest

from app.errors import DomainError, InvalidRequestError, NotFoundError
from app.predictions.schemas import ScoreRequest, TrainRequest
from prediction.feature_words import feature_label
from tests.test_api import call


@pytest.fixture(scope="module")
def churn(movielens_container: Any) -> Any:
    c = movielens_container
    return c.run(c.predictions.train(TrainRequest(goal="churn", horizon_days=30)))


def test_every_synced_event_is_in_the_log(movielens_container: Any) -> None:
    n = movielens_container.run(movielens_container.database.pool.fetchval("SELECT count(*) FROM profile_ai.events"))
    assert n == 100_000


def test_churn_model_card(churn: Any) -> None:
    card = churn.card
    assert churn.goal == "churn" and churn.status == "active" and churn.model_id.startswith("churn-v")
    assert card["sufficiency"]["verdict"] in ("sufficient", "thin")
    assert card["holdout"]["auc"] > 0.75  # activity history predicts dropping out well on MovieLens
    assert {"recency_frequency_rule", "logistic_rfm"} <= set(card["baselines"])
    assert card["quality"].split(":")[0] in ("strong", "good", "fair")
    assert card["drivers"] and all(d["importance"] > 0 for d in card["drivers"])
    assert card["rows"] > 500 and card["training_rows"] > 0
    assert "profile vectors" in card["excluded"]


def test_scoring_writes_percentiles_tiers_and_is_idempotent(movielens_container: Any, churn: Any) -> None:
    c = movielens_container
    first = c.run(c.predictions.score(ScoreRequest(model_id=churn.model_id, limit=1000)))
    assert first.scored == 943 and first.queued == 943
    preds = first.predictions
    assert [p.percentile for p in preds] == sorted((p.percentile for p in preds), reverse=True)
    assert all(0 <= p.probability <= 1 for p in preds)
    tiers = {t: sum(p.tier == t for p in preds) for t in ("top 1%", "top 10%", "top 50%", "rest")}
    assert 5 <= tiers["top 1%"] <= 15 and 80 <= tiers["top 10%"] <= 100
    assert all(p.drivers for p in preds[:10])
    assert all(d["label"] == feature_label(d["feature"]) for p in preds[:10] for d in p.drivers)  # in words
    again = c.run(c.predictions.score(ScoreRequest(goal="churn", limit=5)))
    assert again.model_id == churn.model_id and again.queued == 0  # same values: nothing re-queued
    rows = c.run(c.database.pool.fetchval(
        "SELECT count(*) FROM profile_ai.predictions WHERE model_id = $1", churn.model_id))
    assert rows == 943
    traits = c.run(c.predictions_repo.current_traits([preds[0].profile_id]))
    assert traits[preds[0].profile_id]["predictions"]["churn"]["tier"] == preds[0].tier


def test_custom_event_goal_with_a_property_condition(movielens_container: Any) -> None:
    c = movielens_container
    m = c.run(c.predictions.train(TrainRequest(goal="event:content-rated[genres=Drama]", horizon_days=30)))
    assert m.goal == "event:content-rated[genres=Drama]"
    assert m.card["positives"] > 10 and m.card["holdout"]["auc"] is not None
    assert any("Drama" in f for f in [d["feature"] for d in m.card["drivers"]]) or m.card["drivers"]


def test_refusals_are_clear(movielens_container: Any) -> None:
    c = movielens_container
    with pytest.raises(InvalidRequestError, match="unknown goal"):
        c.run(c.predictions.train(TrainRequest(goal="buy-more")))
    with pytest.raises(InvalidRequestError, match="no 'page-view' events"):
        c.run(c.predictions.train(TrainRequest(goal="event:page-view")))
    with pytest.raises(DomainError, match="ends after the last event"):
        c.run(c.predictions.train(TrainRequest(goal="churn", horizon_days=30, as_of="1998-04-20T00:00:00Z")))
    with pytest.raises(DomainError, match="not enough data|only"):
        c.run(c.predictions.train(TrainRequest(goal="event:content-rated[genres=Documentary]", horizon_days=3)))
    # MovieLens has ratings only: nothing is a purchase, and the refusal says what to configure (it had been "only 0
    # positives in the label window", as if a longer window could help)
    with pytest.raises(DomainError, match="no event type counts as a purchase.*PURCHASE_TYPES.*content-rated"):
        c.run(c.predictions.train(TrainRequest(goal="purchase", horizon_days=30)))
    with pytest.raises(NotFoundError):
        c.run(c.predictions.score(ScoreRequest(model_id="nope-v1")))
    with pytest.raises(InvalidRequestError, match="ISO time"):
        c.run(c.predictions.score(ScoreRequest(goal="churn", as_of="yesterday")))


def test_http_routes(movielens_container: Any, churn: Any) -> None:
    listed = call(movielens_container, "GET", "/v1/models").json()["models"]
    assert churn.model_id in {m["model_id"] for m in listed}
    card = call(movielens_container, "GET", f"/v1/models/{churn.model_id}").json()
    assert card["card"]["goal"] == "churn"
    r = call(movielens_container, "POST", f"/v1/models/{churn.model_id}/score", json={"limit": 2})
    assert r.status_code == 200 and len(r.json()["predictions"]) == 2
    pid = r.json()["predictions"][0]["profile_id"]
    mine = call(movielens_container, "GET", f"/v1/profiles/{pid}/predictions").json()
    assert any(p["model_id"] == churn.model_id for p in mine["predictions"])
    bad = call(movielens_container, "POST", "/v1/models", json={"goal": "event:content-rated[genres=Documentary]",
                                                                 "horizon_days": 3})
    assert bad.status_code == 422 and bad.json()["error"] == "insufficient_data"


def test_imported_predictions_get_percentiles_tiers_and_lineage(movielens_container: Any) -> None:
    from app.predictions.schemas import ExternalPrediction, ImportRequest

    c = movielens_container
    ids = [r["profile_id"] for r in c.run(c.database.pool.fetch(
        "SELECT profile_id FROM profile_ai.profile_features ORDER BY profile_id LIMIT 4"))]
    req = ImportRequest(goal="upsell", model_name="my model", metrics={"auc": 0.7}, predictions=[
        *[ExternalPrediction(profile_id=p, probability=i / 10) for i, p in enumerate(ids)],
        ExternalPrediction(profile_id="nobody", probability=0.5)])
    res = c.run(c.predictions.import_predictions(req))
    assert res.stored == 4 and res.unknown_profiles == ["nobody"] and res.queued == 4
    card = c.run(c.predictions.model(res.model_id)).card
    assert card["external"] and card["holdout"] == {"auc": 0.7}
    top = c.run(c.predictions.of_profile(ids[-1])).predictions
    mine = next(p for p in top if p.model_id == res.model_id)
    assert mine.percentile == 100.0 and mine.probability == pytest.approx(0.3)
    with pytest.raises(InvalidRequestError, match="mix of probabilities and values"):
        c.run(c.predictions.import_predictions(ImportRequest(goal="upsell", model_name="x", predictions=[
            ExternalPrediction(profile_id=ids[0], probability=0.1), ExternalPrediction(profile_id=ids[1], value=3)])))


def test_an_import_never_overwrites_another_model(movielens_container: Any, churn: Any) -> None:
    """Goal "Churn" slugs to the trained churn models' ids: the import is refused with 409, nothing changes."""
    from app.predictions.schemas import ExternalPrediction, ImportRequest

    c = movielens_container
    pool = c.database.pool

    async def snapshot() -> list[tuple[Any, ...]]:
        rows = await pool.fetch("SELECT m.model_id, m.goal, m.card::text AS card, count(p.profile_id) AS n "
                                "FROM profile_ai.models m LEFT JOIN profile_ai.predictions p USING (model_id) "
                                "WHERE m.goal = 'churn' GROUP BY m.model_id, m.goal, m.card::text ORDER BY 1")
        return [tuple(r) for r in rows]

    before = c.run(snapshot())
    assert churn.model_id in {r[0] for r in before}
    pid = c.run(pool.fetchval("SELECT profile_id FROM profile_ai.profile_features ORDER BY profile_id LIMIT 1"))
    with pytest.raises(DomainError) as caught:
        c.run(c.predictions.import_predictions(ImportRequest(goal="Churn", model_name="x", predictions=[
            ExternalPrediction(profile_id=pid, probability=0.99)])))
    assert caught.value.status == 409 and "churn-v1 already exists" in str(caught.value)
    assert c.run(snapshot()) == before
    assert c.run(pool.fetchval("SELECT count(*) FROM profile_ai.models WHERE goal = 'Churn'")) == 0


def test_a_stored_pickle_is_never_loaded(movielens_container: Any, churn: Any) -> None:
    import pickle

    c = movielens_container
    pool = c.database.pool
    original = c.run(pool.fetchval("SELECT artifact FROM profile_ai.models WHERE model_id = $1", churn.model_id))
    assert original[:2] == b"PK"  # stored as a zip of JSON + skops, not as a pickle
    c.run(pool.execute("UPDATE profile_ai.models SET artifact = $2 WHERE model_id = $1", churn.model_id,
                       pickle.dumps({"planted": "by whoever can write the database"})))
    try:
        r = call(c, "POST", f"/v1/models/{churn.model_id}/score", json={"limit": 2})
        assert r.status_code == 409 and r.json()["error"] == "model_unusable"
        assert "train the goal again" in r.json()["detail"]
    finally:
        c.run(pool.execute("UPDATE profile_ai.models SET artifact = $2 WHERE model_id = $1", churn.model_id,
                           original))
