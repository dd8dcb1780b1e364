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
from segmentation.attributes import NUMBERS, number_sql

BASE = ("event_count", "active_days", "spend_total", "purchases", "rating_mean", "recency_days")
_SQL = {key: sql for key, _, sql in NUMBERS}


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

    def raw(self, records: Sequence[dict[str, Any]]) -> np.ndarray:
        """The spec's columns as measured, NaN where unknown: what `raw_sql` computes in PostgreSQL."""
        anchor = datetime.fromisoformat(self.anchor) if self.anchor else None
        return np.array([[record_value(r, key, anchor) for key in self.keys] for r in records],
                        dtype=np.float64).reshape(len(records), len(self.keys))

    def raw_sql(self) -> list[str]:
        """One SQL expression per column over `profile_ai.profile_features f`, so assignment at scale reads
        numbers from PostgreSQL instead of every profile's record."""
        # the anchor is re-printed from the parsed time: a stored model cannot smuggle SQL in through it
        anchor = f"TIMESTAMPTZ '{datetime.fromisoformat(self.anchor).isoformat()}'" if self.anchor else "NULL"
        # CASE first: GREATEST skips NULLs, so a profile never seen would be "seen 0 days ago"
        recency = f"CASE WHEN f.last_seen IS NOT NULL THEN GREATEST(EXTRACT(EPOCH FROM ({anchor} - f.last_seen)) " \
                  "/ 86400.0, 0) END"
        return [recency if key == "recency_days" else _SQL.get(key) or number_sql(key) for key in self.keys]

    def finish(self, raw: np.ndarray) -> np.ndarray:
        """Gaps filled with the fitted medians, heavy tails log-scaled."""
        M = np.array(raw, dtype=np.float64, copy=True).reshape(-1, len(self.keys))
        for j, (lg, fill) in enumerate(zip(self.log, self.fill, strict=True)):
            col = M[:, j]
            col[~np.isfinite(col)] = fill
            if lg:
                M[:, j] = np.log1p(np.maximum(col, 0))
        return M.astype(np.float32)

    def matrix(self, records: Sequence[dict[str, Any]]) -> np.ndarray:
        return self.finish(self.raw(records))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BehaviourSpec:
        return cls(**d)
