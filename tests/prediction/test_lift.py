"""Measured lift's statistics (prediction/lift.py) on simulated campaigns with a known truth: the 95% interval
covers the true lift in at least 90% of 50 seeds, an A/A test excludes zero in at most 10%, CUPED keeps the
estimate and shrinks its interval when the past predicts the future."""

from __future__ import annotations

import numpy as np
import pytest

from prediction.lift import Arm, conversion_lift, cuped, mean_difference, power


def arm(y: np.ndarray, x: np.ndarray | None = None) -> Arm:
    x = np.zeros_like(y) if x is None else x
    return Arm(len(y), float(y.sum()), float((y * y).sum()), float(x.sum()), float((x * x).sum()),
               float((x * y).sum()))


def campaign(seed: int, n: int, base: float, effect: float, holdout: float = 0.2) -> tuple[Arm, Arm]:
    rng = np.random.default_rng(seed)
    treated = rng.random(n) >= holdout
    y = (rng.random(n) < base + effect * treated).astype(float)
    return arm(y[treated]), arm(y[~treated])


def test_the_interval_covers_the_true_lift_in_at_least_90_percent_of_50_campaigns() -> None:
    covered = 0
    for seed in range(50):
        t, c = campaign(seed, 4000, 0.10, 0.03)
        lo, hi = conversion_lift(t, c, seed=seed)["absolute"]["interval"]
        covered += lo <= 0.03 <= hi
    assert covered >= 45, covered


def test_an_aa_test_excludes_zero_in_at_most_10_percent_of_50_campaigns() -> None:
    false_alarms = 0
    for seed in range(50):
        t, c = campaign(1000 + seed, 4000, 0.10, 0.0)
        lo, hi = conversion_lift(t, c, seed=seed)["absolute"]["interval"]
        false_alarms += lo > 0 or hi < 0
    assert false_alarms <= 5, false_alarms


def test_the_answer_says_which_arm_is_better_and_by_how_much_relatively() -> None:
    t, c = campaign(7, 20000, 0.10, 0.05)
    out = conversion_lift(t, c)
    assert out["probability_treated_better"] > 0.99
    assert out["relative"]["interval"][0] > 0.2  # +5 points on 10% is +50%
    assert "Beta-binomial" in out["method"]


def test_cuped_keeps_the_estimate_and_shrinks_the_interval_when_the_past_predicts() -> None:
    rng = np.random.default_rng(3)
    n = 6000
    habit = rng.gamma(2.0, 20.0, n)  # each member's own spending level
    treated = rng.random(n) >= 0.3
    before = habit + rng.normal(0, 5, n)
    after = habit + 4.0 * treated + rng.normal(0, 5, n)
    t, c = arm(after[treated], before[treated]), arm(after[~treated], before[~treated])
    plain, adjusted = mean_difference(t, c), cuped(t, c)
    assert adjusted is not None
    assert abs(adjusted["estimate"] - 4.0) < 1.0 and adjusted["interval"][0] < 4.0 < adjusted["interval"][1]
    width = lambda r: r["interval"][1] - r["interval"][0]  # noqa: E731
    assert width(adjusted) < 0.5 * width(plain)
    assert adjusted["variance_reduction"] > 0.7


def test_power_says_the_smallest_detectable_effect_and_what_a_smaller_one_needs() -> None:
    t, c = campaign(5, 2000, 0.10, 0.0)
    now = power(t, c, entry_per_day=100, target=0.01)
    assert 0.02 < now["detectable_effect"] < 0.06  # about 4 points with 1,600 against 400
    assert now["more_members"] > 2000 and now["more_days"] == -(-now["more_members"] // 100)
    bigger = power(*campaign(5, 20000, 0.10, 0.0), entry_per_day=100, target=0.01)
    assert bigger["detectable_effect"] < now["detectable_effect"]


@pytest.mark.volume
def test_planted_heterogeneity_comes_back_as_the_first_rule_and_none_is_said_plainly() -> None:
    from prediction.uplift import design_matrix, uplift_rules

    rng = np.random.default_rng(11)
    n = 4000
    attrs = [{"traits": {"plan": str(rng.choice(["basic", "plus", "pro"])), "tenure_months": int(rng.integers(1, 72))}}
             for _ in range(n)]
    x, names = design_matrix(attrs)
    assert "traits.plan=pro" in names and "traits.tenure_months" in names
    treated = rng.random(n) >= 0.3
    planted = np.array([a["traits"]["plan"] == "pro" for a in attrs])
    y = (rng.random(n) < 0.1 + 0.3 * (planted & treated)).astype(int)
    found = uplift_rules(x, names, treated, y)
    assert found.heterogeneous and found.qini > found.qini_null_95
    first = found.rules[0]
    assert "traits.plan is pro" in first["rule"] and "traits.plan=pro" in first["filters"]
    assert first["interval"][0] > 0.1 and all(r["uplift"] < first["interval"][0] for r in found.rules[1:])
    flat = (rng.random(n) < 0.1 + 0.05 * treated).astype(int)  # the same effect for everyone
    none = uplift_rules(x, names, treated, flat)
    assert not none.heterogeneous and "no detectable heterogeneity" in none.note
