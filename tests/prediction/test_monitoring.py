"""Live quality's arithmetic (prediction/monitoring.py): snapshots small and exact, PSI quiet on a stable
population over 20 seeds and loud on a shifted one, realized metrics equal to sklearn's on the same numbers."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from prediction.monitoring import decode_snapshot, encode_snapshot, psi, realized_probability, reference


def test_a_snapshot_round_trips_in_under_20_bytes_a_profile() -> None:
    rng = np.random.default_rng(0)
    n = 100_000
    ordinals = np.arange(1, n + 1, dtype=np.int32)
    values = rng.beta(2, 8, n)
    tiers = [("top 1%", "top 10%", "top 50%", "rest")[int(k)] for k in rng.integers(0, 4, n)]
    blob = encode_snapshot(ordinals, values, tiers)
    assert len(blob) / n < 20
    o, v, t = decode_snapshot(blob)
    assert (o == ordinals).all() and np.allclose(v, values, atol=1e-3) and t.max() <= 3


def test_psi_is_quiet_on_a_stable_population_and_fires_on_a_shift() -> None:
    for seed in range(20):
        rng = np.random.default_rng(seed)
        ref = reference(rng.beta(2, 8, 5000))
        stable = psi(ref, rng.beta(2, 8, 5000))
        assert stable is not None and stable < 0.25, (seed, stable)
        shifted = psi(ref, rng.beta(4, 6, 5000))  # a product launch: everyone's churn risk moved up
        assert shifted is not None and shifted > 0.25, (seed, shifted)


def test_realized_quality_equals_an_offline_computation() -> None:
    rng = np.random.default_rng(4)
    p = rng.random(3000)
    y = (rng.random(3000) < p).astype(float)
    got = realized_probability(y, p)
    assert got["auc"] == round(roc_auc_score(y, p), 4) and got["pr_auc"] == round(average_precision_score(y, p), 4)
    assert got["brier"] == round(float(((p - y) ** 2).mean()), 6)
    lo, hi = got["auc_interval"]
    assert lo < got["auc"] < hi and hi - lo < 0.1
    top = np.argsort(-p, kind="stable")[:300]
    assert got["lift_top_10"] == round(float(y[top].mean() / y.mean()), 3)
    assert len(got["calibration"]) == 10 and abs(got["calibration"][-1]["observed"] - 0.95) < 0.06
