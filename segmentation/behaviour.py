"""The behavioural block of the clustering space: activity, spend, ratings, recency and numeric traits of
profile records, log-scaled where heavy-tailed, gaps filled with the median. The spec is learned once and
stored, so profiles assigned later are measured exactly as the clustered ones were."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import numpy as np

from profiles.paths import get_path

BASE = ("event_count", "active_days", "spend_total", "purchases", "rating_mean", "recency_days")


def record_value(record: dict[str, Any], key: str, anchor: datetime | None) -> float:
    if key == "recency_days":
        seen = record.get("last_seen")
        if not seen or anchor is None:
            return np.nan
        try:
            return max((anchor - datetime.fromisoformat(str(seen))).total_seconds() / 86400.0, 0.0)
        except (TypeError, ValueError):
            return np.nan
    cur = get_path(record, key)
    return float(cur) if isinstance(cur, int | float) and not isinstance(cur, bool) else np.nan


@dataclass
class BehaviourSpec:
    keys: list[str]
    log: list[bool]
    fill: list[float]
    anchor: str | None  # ISO time recency is measured from (the latest activity at fit time)

    @classmethod
    def fit(cls, records: Sequence[dict[str, Any]], numeric_traits: Sequence[str] = ()) -> BehaviourSpec:
        seen = [str(r["last_seen"]) for r in records if r.get("last_seen")]
        anchor = max((datetime.fromisoformat(s) for s in seen), default=None)
        keys, logs, fills = [], [], []
        for key in (*BASE, *numeric_traits):
            col = np.array([record_value(r, key, anchor) for r in records], dtype=np.float64)
            finite = col[np.isfinite(col)]
            if finite.size < max(5, 0.05 * len(records)) or finite.std() == 0:
                continue  # absent or constant here: explains nothing
            med = float(np.median(finite))
            heavy = bool(finite.min() >= 0 and np.percentile(finite, 99) > 10 * max(med, 1e-9))
            keys.append(key)
            logs.append(heavy)
            fills.append(med)
        return cls(keys, logs, fills, anchor.isoformat() if anchor else None)

    def matrix(self, records: Sequence[dict[str, Any]]) -> np.ndarray:
        anchor = datetime.fromisoformat(self.anchor) if self.anchor else None
        M = np.empty((len(records), len(self.keys)), dtype=np.float64)
        for j, (key, lg, fill) in enumerate(zip(self.keys, self.log, self.fill, strict=True)):
            col = np.array([record_value(r, key, anchor) for r in records], dtype=np.float64)
            col[~np.isfinite(col)] = fill
            M[:, j] = np.log1p(np.maximum(col, 0)) if lg else col
        return M.astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BehaviourSpec:
        return cls(**d)
