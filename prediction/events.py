"""The event log as columns (numpy), and the goal a model predicts.

Times are seconds since the epoch (float64). Everything point-in-time filters on them: features see events
with time < as_of, labels see events with as_of < time <= as_of + horizon.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from prediction.goals import GoalKind

DAY = 86400.0
_GOAL = re.compile(r"^(purchase|churn|ltv|event:(?P<type>[^\[\]]+?)(\[(?P<key>[^=\]]+)=(?P<value>[^\]]*)\])?)$")


@dataclass(frozen=True)
class Goal:
    """`purchase`, `churn`, `ltv`, or `event:TYPE` with an optional property condition `event:TYPE[key=value]`
    (a list-valued property matches when it contains the value)."""

    kind: str  # purchase | churn | ltv | event
    event_type: str | None = None
    key: str | None = None
    value: str | None = None

    @classmethod
    def parse(cls, text: str) -> Goal:
        m = _GOAL.match(text.strip())
        if not m:
            raise ValueError(f"unknown goal {text!r}: use purchase, churn, ltv, event:TYPE or event:TYPE[key=value]")
        if m.group("type"):
            return cls("event", m.group("type").strip(), m.group("key"), m.group("value"))
        return cls(text.strip())

    @property
    def name(self) -> str:
        if self.kind != "event":
            return self.kind
        cond = f"[{self.key}={self.value}]" if self.key else ""
        return f"event:{self.event_type}{cond}"

    @property
    def kind_of(self) -> GoalKind:
        """This goal's row of the goal table (prediction/goals.py)."""
        from prediction.goals import GOALS

        return GOALS[self.kind]

    @property
    def is_regression(self) -> bool:
        return self.kind_of.regression


@dataclass
class EventLog:
    """Columns of every event; `profiles` names the row of each profile index."""

    profiles: list[str]
    profile: np.ndarray  # int32 index into profiles
    type: np.ndarray  # int32 index into types
    types: list[str]
    time: np.ndarray  # float64 epoch seconds
    value: np.ndarray  # float64 money amount, NaN when none
    matches: dict[str, np.ndarray] = field(default_factory=dict)  # goal name -> bool per event (conditions)

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[str, str, float, float | None]], profiles: Sequence[str] | None = None,
                  ) -> EventLog:
        """rows: (profile_id, type, epoch seconds, value)."""
        ids = list(profiles) if profiles is not None else sorted({r[0] for r in rows})
        pidx = {p: i for i, p in enumerate(ids)}
        types = sorted({r[1] for r in rows})
        tidx = {t: i for i, t in enumerate(types)}
        keep = [r for r in rows if r[0] in pidx]
        return cls(ids, np.array([pidx[r[0]] for r in keep], dtype=np.int32),
                   np.array([tidx[r[1]] for r in keep], dtype=np.int32), types,
                   np.array([r[2] for r in keep], dtype=np.float64),
                   np.array([np.nan if r[3] is None else r[3] for r in keep], dtype=np.float64))

    @property
    def n_profiles(self) -> int:
        return len(self.profiles)

    def type_mask(self, names: Sequence[str]) -> np.ndarray:
        wanted = [i for i, t in enumerate(self.types) if t in set(names)]
        return np.isin(self.type, wanted)

    def span(self) -> tuple[float, float]:
        return (float(self.time.min()), float(self.time.max())) if self.time.size else (0.0, 0.0)

