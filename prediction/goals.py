"""The goals a model predicts: `Goal` (what a request names) and the goal table, everything that differs between
goals in one row each. A new goal is one entry in `GOALS`: the parser, the feature spec and the card read the
table, and nothing else in the library tests goal names.

- `label`: the outcome in the label window (`window` masks the events in (as_of, as_of + horizon]).
- `regression`: a value (spend) rather than a probability.
- `forecast`: the BG/NBD x Gamma-Gamma forecasts are features (when there are purchases at all).
- `bgnbd_baseline`: the card compares against BG/NBD (+ Gamma-Gamma for value).
- `rule_sign`: how the recency/frequency rule baseline points (+1: recent and frequent = more likely; -1 for
  churn, where they make it less likely).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from prediction.events import EventLog


class Spec(Protocol):
    """What a label reads of the feature spec (`features.FeatureSpec`)."""

    purchase_types: list[str]
    activity_types: list[str] | None


Label = Callable[["EventLog", "Goal", Spec, np.ndarray], np.ndarray]


def _count(log: EventLog, sel: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    return np.bincount(log.profile[sel], weights=weights, minlength=log.n_profiles).astype(np.float64)


def _spend(log: EventLog, goal: Goal, spec: Spec, window: np.ndarray) -> np.ndarray:
    return _count(log, window, np.nan_to_num(log.value[window]))


def _purchased(log: EventLog, goal: Goal, spec: Spec, window: np.ndarray) -> np.ndarray:
    sel = window & (log.type_mask(spec.purchase_types) | np.isfinite(log.value))
    return (_count(log, sel) > 0).astype(np.int8)


def _churned(log: EventLog, goal: Goal, spec: Spec, window: np.ndarray) -> np.ndarray:
    active = log.type_mask(spec.activity_types) if spec.activity_types else np.ones_like(window)
    return (_count(log, window & active) == 0).astype(np.int8)


def _event(log: EventLog, goal: Goal, spec: Spec, window: np.ndarray) -> np.ndarray:
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


_EVENT = re.compile(r"^event:(?P<type>[^\[\]]+?)(\[(?P<key>[^=\]]+)=(?P<value>[^\]]*)\])?$")


@dataclass(frozen=True)
class Goal:
    """A row of `GOALS` by name (`purchase`, `churn`, `ltv`, ...), or `event:TYPE` with an optional property
    condition `event:TYPE[key=value]` (a list-valued property matches when it contains the value)."""

    kind: str  # a key of GOALS
    event_type: str | None = None
    key: str | None = None
    value: str | None = None

    @classmethod
    def parse(cls, text: str) -> Goal:
        text = text.strip()
        if text in GOALS and text != "event":
            return cls(text)
        m = _EVENT.match(text)
        if not m:
            raise ValueError(f"unknown goal {text!r}: use {', '.join(named_goals())}, event:TYPE or "
                             "event:TYPE[key=value]")
        return cls("event", m.group("type").strip(), m.group("key"), m.group("value"))

    @property
    def name(self) -> str:
        if self.kind != "event":
            return self.kind
        cond = f"[{self.key}={self.value}]" if self.key else ""
        return f"event:{self.event_type}{cond}"

    @property
    def kind_of(self) -> GoalKind:
        """This goal's row of the goal table."""
        return GOALS[self.kind]

    @property
    def is_regression(self) -> bool:
        return self.kind_of.regression


def named_goals() -> Sequence[str]:
    """The goals asked for by name (every row but the parametrised `event`)."""
    return [name for name in GOALS if name != "event"]
