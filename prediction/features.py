"""Point-in-time features and labels. Features use only events strictly before `as_of`; labels only events
in (as_of, as_of + horizon]. Nothing else in this module looks at time, so no later event can leak in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from prediction.events import DAY, EventLog
from prediction.goals import Goal

WINDOWS = (30, 90)
MAX_TYPES = 20


@dataclass
class FeatureSpec:
    """Which event types get their own columns (learned on the training snapshot, reused for scoring)."""

    types: list[str]
    purchase_types: list[str]
    activity_types: list[str] | None  # None = every type counts as activity
    condition: str | None = None  # a goal with a property condition: its past matching events are features

    @classmethod
    def fit(cls, log: EventLog, as_of: float, purchase_types: Sequence[str],
            activity_types: Sequence[str] | None = None, condition: str | None = None) -> FeatureSpec:
        before = log.time < as_of
        counts = np.bincount(log.type[before], minlength=len(log.types))
        top = [log.types[i] for i in np.argsort(-counts, kind="stable")[:MAX_TYPES] if counts[i] > 0]
        return cls(sorted(top), list(purchase_types), list(activity_types) if activity_types else None, condition)

    def names(self) -> list[str]:
        base = ["events", "recency_days", "tenure_days", "active_span_days", "events_per_30d",
                *[f"events_{w}d" for w in WINDOWS], "events_prev_90d", "trend_90d",
                "purchases", "purchase_recency_days", "spend", "spend_mean", *[f"spend_{w}d" for w in WINDOWS]]
        per_type = [f"{kind}[{t}]" for t in self.types for kind in ("count", "recency_days", "count_90d")]
        goal = [f"{kind}[{self.condition}]" for kind in ("count", "recency_days", "count_90d")] if self.condition \
            else []
        return base + per_type + goal


def _per_profile(n: int, idx: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    return np.bincount(idx, weights=weights, minlength=n).astype(np.float64)


def _last(n: int, idx: np.ndarray, t: np.ndarray) -> np.ndarray:
    out = np.full(n, -np.inf)
    np.maximum.at(out, idx, t)
    return out


def _first(n: int, idx: np.ndarray, t: np.ndarray) -> np.ndarray:
    out = np.full(n, np.inf)
    np.minimum.at(out, idx, t)
    return out


def features(log: EventLog, spec: FeatureSpec, as_of: float) -> np.ndarray:
    """(n_profiles, n_features) float64; NaN where a recency is undefined (never happened)."""
    n = log.n_profiles
    m = log.time < as_of  # the only line that decides what a feature may see
    p, t, ty, v = log.profile[m], log.time[m], log.type[m], log.value[m]
    cols: list[np.ndarray] = []
    count = _per_profile(n, p)
    last = _last(n, p, t)
    first = _first(n, p, t)
    has = count > 0
    recency = np.where(has, (as_of - last) / DAY, np.nan)
    tenure = np.where(has, (as_of - first) / DAY, np.nan)
    cols += [count, recency, tenure, np.where(has, (last - first) / DAY, np.nan),
             np.where(has, count / np.maximum(tenure, 1.0) * 30.0, 0.0)]
    for w in WINDOWS:
        cols.append(_per_profile(n, p[t >= as_of - w * DAY]))
    prev = _per_profile(n, p[(t >= as_of - 180 * DAY) & (t < as_of - 90 * DAY)])
    cols += [prev, cols[6] - prev]  # events_90d - events_prev_90d
    buy = np.isin(ty, [i for i, name in enumerate(log.types) if name in set(spec.purchase_types)]) | np.isfinite(v)
    purchases = _per_profile(n, p[buy])
    plast = _last(n, p[buy], t[buy])
    vv = np.nan_to_num(v)
    spend = _per_profile(n, p, vv)
    cols += [purchases, np.where(purchases > 0, (as_of - plast) / DAY, np.nan), spend,
             np.where(purchases > 0, spend / np.maximum(purchases, 1), np.nan)]
    for w in WINDOWS:
        recent = t >= as_of - w * DAY
        cols.append(_per_profile(n, p[recent], vv[recent]))
    for name in spec.types:
        if name not in log.types:
            cols += [np.zeros(n), np.full(n, np.nan), np.zeros(n)]
            continue
        k = log.types.index(name)
        sel = ty == k
        c = _per_profile(n, p[sel])
        lt = _last(n, p[sel], t[sel])
        cols += [c, np.where(c > 0, (as_of - lt) / DAY, np.nan),
                 _per_profile(n, p[sel & (t >= as_of - 90 * DAY)])]
    if spec.condition:
        sel = log.matches[spec.condition][m]
        c = _per_profile(n, p[sel])
        lt = _last(n, p[sel], t[sel])
        cols += [c, np.where(c > 0, (as_of - lt) / DAY, np.nan), _per_profile(n, p[sel & (t >= as_of - 90 * DAY)])]
    return np.column_stack(cols)


def population(log: EventLog, as_of: float) -> np.ndarray:
    """Profiles that exist at as_of: at least one event before it."""
    return _per_profile(log.n_profiles, log.profile[log.time < as_of]) > 0


def labels(log: EventLog, goal: Goal, spec: FeatureSpec, as_of: float, horizon_days: float) -> np.ndarray:
    """The outcome in (as_of, as_of + horizon]: 0/1 for classification goals, spend for ltv."""
    window = (log.time > as_of) & (log.time <= as_of + horizon_days * DAY)
    return goal.kind_of.label(log, goal, spec, window)
