"""Stored models are never pickles: a round trip scores identically; a pickle, other library versions, a type
outside the allow-list and damaged bytes are refused with a message that says what to do."""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np
import orjson
import pytest
import skops.io as sio
from sklearn.preprocessing import FunctionTransformer

from prediction import Goal, score, train
from prediction.artifacts import ArtifactError, dumps, loads
from prediction.events import DAY
from tests.prediction.test_library import T0, synthetic


@pytest.fixture(scope="module")
def models():  # type: ignore[no-untyped-def]
    log = synthetic(300)
    purchase = train(log, Goal.parse("purchase"), 60, purchase_types=["purchase-order"], random_state=0)
    ltv = train(log, Goal.parse("ltv"), 60, purchase_types=["purchase-order"], random_state=0)
    return log, purchase, ltv


def _rewrite(blob: bytes, *, meta: dict | None = None, estimator: bytes | None = None) -> bytes:
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        old_meta, old_est = orjson.loads(z.read("meta.json")), z.read("estimator.skops")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("meta.json", orjson.dumps(meta if meta is not None else old_meta))
        z.writestr("estimator.skops", estimator if estimator is not None else old_est)
    return out.getvalue()


@pytest.mark.volume
def test_round_trip_scores_identically_for_classification_and_regression(models) -> None:  # type: ignore[no-untyped-def]
    log, *trained = models
    for model in trained:
        blob = dumps(model)
        assert blob[:2] == b"PK" and b"pickle" not in blob  # a zip, not a pickle stream
        again = loads(blob)
        a, b = score(model, log, T0 + 400 * DAY), score(again, log, T0 + 400 * DAY)
        assert np.array_equal(a.values, b.values) and a.drivers == b.drivers
        assert again.goal == model.goal and again.spec == model.spec and again.card == model.card


def test_a_pickle_is_refused(models) -> None:  # type: ignore[no-untyped-def]
    _, purchase, _ = models
    with pytest.raises(ArtifactError, match="pickle.*train the goal again"):
        loads(pickle.dumps(purchase), "churn-v1")


def test_other_library_versions_are_refused_with_what_to_do(models) -> None:  # type: ignore[no-untyped-def]
    _, purchase, _ = models
    blob = dumps(purchase)
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        meta = orjson.loads(z.read("meta.json"))
    meta["libraries"]["scikit-learn"] = "0.24.2"
    with pytest.raises(ArtifactError, match=r"scikit-learn 0\.24\.2 \(here .*train the goal again"):
        loads(_rewrite(blob, meta=meta), "purchase-v3")


def test_a_type_outside_the_allow_list_is_refused(models) -> None:  # type: ignore[no-untyped-def]
    _, purchase, _ = models
    hostile = sio.dumps(FunctionTransformer(func=print))  # would call a builtin when used
    with pytest.raises(ArtifactError, match="types profile-ai does not load: .*print"):
        loads(_rewrite(dumps(purchase), estimator=hostile))


@pytest.mark.parametrize("blob", [b"", b"garbage", b"PK\x03\x04broken"])
def test_damaged_bytes_are_refused(blob: bytes) -> None:
    with pytest.raises(ArtifactError, match="not a profile-ai model artifact"):
        loads(blob)
