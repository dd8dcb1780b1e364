"""Measured lift of a campaign with a control group: plain numbers in, estimates with intervals out.

- Conversion: each arm's rate has a Beta(1 + converters, 1 + non-converters) posterior (uniform prior); the
  absolute and relative lift and the probability that the treated arm is better are read from paired draws
  (seeded, so the same numbers give the same answer). The 95% interval is the 2.5th-97.5th percentile of the draws.
- Spend (or any per-member amount): the difference of means with a normal (Welch) interval.
- CUPED: each member's own outcome before entry (`x`) explains part of the outcome after (`y`); the adjusted
  outcome y - theta (x - mean x), theta = cov(x, y) / var(x) pooled over both arms, has the same expected
  difference and a smaller variance. Reported beside the plain estimate, from per-arm sums (n, Σy, Σx, Σy², Σx²,
  Σxy), so a million members never leave PostgreSQL one by one.
- Power: the smallest absolute effect the current members could detect (two-sided 5%, power 80%), and how many
  more members, and days at the current entry rate, a target effect needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

Z95 = 1.959964
Z80 = 0.841621
DRAWS = 40_000


@dataclass(frozen=True)
class Arm:
    """Per-arm sums: members, Σy, Σy², and the pre-entry outcome x: Σx, Σx², Σxy."""

    n: int
    sy: float
    syy: float
    sx: float = 0.0
    sxx: float = 0.0
    sxy: float = 0.0

    @property
    def mean(self) -> float:
        return self.sy / self.n if self.n else 0.0

    @property
    def var(self) -> float:
        if self.n < 2:
            return 0.0
        return max((self.syy - self.sy * self.sy / self.n) / (self.n - 1), 0.0)


def conversion_lift(treated: Arm, control: Arm, *, seed: int = 0, draws: int = DRAWS) -> dict[str, Any]:
    """Beta-binomial posterior of each arm's rate (y is 0/1: Σy is the converters)."""
    rng = np.random.default_rng(seed)
    pt = rng.beta(1 + treated.sy, 1 + treated.n - treated.sy, draws)
    pc = rng.beta(1 + control.sy, 1 + control.n - control.sy, draws)
    diff = pt - pc
    rel = diff / np.maximum(pc, 1e-12)
    return {"method": "Beta-binomial posterior (uniform prior), 95% equal-tailed interval from paired draws",
            "absolute": _summary(treated.mean - control.mean, diff),
            "relative": _summary((treated.mean - control.mean) / control.mean if control.mean else None, rel),
            "probability_treated_better": round(float((diff > 0).mean()), 4)}


def _summary(point: float | None, draws: np.ndarray) -> dict[str, Any]:
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return {"estimate": None if point is None else round(point, 6), "interval": [round(float(lo), 6),
                                                                               round(float(hi), 6)]}


def mean_difference(treated: Arm, control: Arm) -> dict[str, Any]:
    """Difference of means with a normal (Welch) 95% interval."""
    diff = treated.mean - control.mean
    se = math.sqrt((treated.var / treated.n if treated.n else 0.0) + (control.var / control.n if control.n else 0.0))
    return {"method": "difference of means, normal (Welch) 95% interval", "estimate": round(diff, 6),
            "interval": [round(diff - Z95 * se, 6), round(diff + Z95 * se, 6)], "standard_error": round(se, 6)}


def cuped(treated: Arm, control: Arm) -> dict[str, Any] | None:
    """The difference of CUPED-adjusted means, or None when the pre-entry outcome does not vary."""
    n = treated.n + control.n
    if n < 4:
        return None
    sx, sy = treated.sx + control.sx, treated.sy + control.sy
    sxx, sxy = treated.sxx + control.sxx, treated.sxy + control.sxy
    var_x = (sxx - sx * sx / n) / (n - 1)
    if var_x <= 1e-12:
        return None
    cov = (sxy - sx * sy / n) / (n - 1)
    theta = cov / var_x
    mx = sx / n

    def adjusted(a: Arm) -> tuple[float, float]:
        if a.n < 2:
            return 0.0, 0.0
        mean = a.mean - theta * (a.sx / a.n - mx)
        # variance of y - theta x within the arm
        vy = (a.syy - a.sy * a.sy / a.n) / (a.n - 1)
        vx = (a.sxx - a.sx * a.sx / a.n) / (a.n - 1)
        cxy = (a.sxy - a.sx * a.sy / a.n) / (a.n - 1)
        return mean, max(vy + theta * theta * vx - 2 * theta * cxy, 0.0) / a.n

    mt, vt = adjusted(treated)
    mc, vc = adjusted(control)
    diff, se = mt - mc, math.sqrt(vt + vc)
    plain = mean_difference(treated, control)["standard_error"]
    return {"method": "CUPED: outcome adjusted by each member's own rate before entry (theta pooled)",
            "estimate": round(diff, 6), "interval": [round(diff - Z95 * se, 6), round(diff + Z95 * se, 6)],
            "theta": round(theta, 6), "variance_reduction": round(1 - (se / plain) ** 2, 4) if plain else None}


def power(treated: Arm, control: Arm, *, entry_per_day: float, target: float | None = None) -> dict[str, Any]:
    """The smallest absolute effect detectable now (5% two-sided, 80% power) and what a target effect needs."""
    if treated.n < 2 or control.n < 2:
        return {"detectable_effect": None, "more_members": None, "more_days": None}
    pooled_var = ((treated.var * (treated.n - 1)) + (control.var * (control.n - 1))) / (treated.n + control.n - 2)
    if pooled_var <= 0:  # nobody converted (or everybody): use the worst case of a rate near the observed one
        p = (treated.sy + control.sy + 1) / (treated.n + control.n + 2)
        pooled_var = p * (1 - p)
    mde = (Z95 + Z80) * math.sqrt(pooled_var * (1 / treated.n + 1 / control.n))
    out: dict[str, Any] = {"detectable_effect": round(mde, 6), "more_members": None, "more_days": None,
                           "target_effect": None if target is None else round(target, 6)}
    if target and target > 0:
        factor = (mde / target) ** 2  # members needed scale with the inverse square of the effect
        more = max(0, math.ceil((factor - 1) * (treated.n + control.n)))
        out["more_members"] = more
        out["more_days"] = None if entry_per_day <= 0 else (0 if more == 0 else math.ceil(more / entry_per_day))
    return out
