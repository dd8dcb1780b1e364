"""The goal table: everything that differs between goals, in one row each. A new goal is one entry here (and
its name in `Goal.parse`); nothing else in the library tests goal names.

- `label`: the outcome in the label window (`window` masks the events in (as_of, as_of + horizon]).
- `regression`: a value (spend) rather than a probability.
- `forecast`: the BG/NBD x Gamma-Gamma forecasts are features (when there are purchases at all).
- `bgnbd_baseline`: the card compares against BG/NBD (+ Gamma-Gamma for value).
- `rule_sign`: how the recency/frequency rule baseline points (+1: recent and frequent = more likely; -1 for
  churn, where they make it less likely).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from prediction.events import EventLog, Goal
    from prediction.features import FeatureSpec

Label = Callable[["EventLog", "Goal", "FeatureSpec", np.ndarray], np.ndarray]


def _count(log: EventLog, sel: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    return np.bincount(log.profile[sel], weights=weights, minlength=log.n_profiles).astype(np.float64)


def _spend(log: EventLog, goal: Goal, spec: FeatureSpec, window: np.ndarray) -> np.ndarray:
    return _count(log, window, np.nan_to_num(log.value[window]))


def _purchased(log: EventLog, goal: Goal, spec: FeatureSpec, window: np.ndarray) -> np.ndarray:
    sel = window & (log.type_mask(spec.purchase_types) | np.isfinite(log.value))
    return (_count(log, sel) > 0).astype(np.int8)


def _churned(log: EventLog, goal: Goal, spec: FeatureSpec, window: np.ndarray) -> np.ndarray:
    active = log.type_mask(spec.activity_types) if spec.activity_types else np.ones_like(window)
    return (_count(log, window & active) == 0).astype(np.int8)


def _event(log: EventLog, goal: Goal, spec: FeatureSpec, window: np.ndarray) -> np.ndarray:
    sel = window & log.type_mask([goal.event_type or ""])
    if goal.key:
        cond = log.matches.get(goal.name)
        if cond is None:
            raise ValueError(f"goal {goal.name} needs its property condition evaluated on the log")
        sel &= cond
    return (_count(log, sel) > 0).astype(np.int8)


@dataclass(frozen=True)
class GoalKind:
    label: Label
    regression: bool = False
    forecast: bool = False
    bgnbd_baseline: bool = False
    rule_sign: int = 1


GOALS: dict[str, GoalKind] = {
    "purchase": GoalKind(_purchased, forecast=True, bgnbd_baseline=True),
    "churn": GoalKind(_churned, forecast=True, rule_sign=-1),
    "ltv": GoalKind(_spend, regression=True, forecast=True, bgnbd_baseline=True),
    "event": GoalKind(_event),
}
