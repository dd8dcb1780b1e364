"""Readable attributes of profile records: what segments are named by and what rules are written in.

A record is the index payload of a profile (traits, describing data, event counts, top facet values, spend,
ratings, activity). Each attribute knows its label for people, its Tracardi TQL path (None when Tracardi's
profile does not hold it, e.g. our aggregates) and its SQL expression over `profile_ai.profile_features f`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from profiles.paths import flatten

MAX_CATEGORIES = 40  # per categorical field: the most frequent values become flags
MIN_SUPPORT = 0.01  # a flag held by fewer than 1% of profiles (and fewer than 5) explains nothing


@dataclass(frozen=True)
class Attribute:
    name: str  # stable key, e.g. "top.genres=Horror"
    label: str  # for people, e.g. "Horror among top genres"
    kind: str  # "flag" (0/1) or "number"
    tql: str | None  # Tracardi TQL field path, None when Tracardi's profile does not hold it
    sql: str  # SQL expression over profile_ai.profile_features f (a flag: a boolean expression)
    value: str | None = None  # a categorical flag: the value the field equals


@dataclass
class AttributeTable:
    attributes: list[Attribute]
    X: np.ndarray  # (n_profiles, n_attributes) float32; flags 0/1, numbers NaN where unknown

    def index(self, name: str) -> int:
        return next(i for i, a in enumerate(self.attributes) if a.name == name)


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def tql_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _json_path(path: str) -> str:
    """A JSON path as a SQL text[] of quoted literals: trait keys are data, so a quote, a comma, a brace or a
    backslash in one must neither end the literal nor split the path."""
    return "ARRAY[" + ",".join(_sql_str(p) for p in path.split(".")) + "]::text[]"


def _days_before(when: Any, now: datetime | None) -> float:
    if not when or now is None:
        return np.nan
    try:
        t = datetime.fromisoformat(str(when))
    except ValueError:
        return np.nan
    return max((now - t).total_seconds() / 86400.0, 0.0)


def number_sql(path: str) -> str:
    """A numeric trait or data field (`traits.age`) over profile_features: NULL where it is not a number."""
    return (f"CASE WHEN jsonb_typeof(f.attributes #> {_json_path(path)}) = 'number' "
            f"THEN (f.attributes #>> {_json_path(path)})::float8 END")


RECENCY_LABEL = "days since last seen"  # the recency attribute, measured from the latest last_seen
NUMBERS: list[tuple[str, str, str]] = [  # record key, label, SQL over profile_features
    ("event_count", "events", "f.event_count"),
    ("active_days", "active days", "f.active_days"),
    ("spend_total", "spend", "f.monetary"),
    ("purchases", "purchases", "f.purchases"),
    ("rating_mean", "average rating", "f.rating_mean"),
]


def attribute_table(records: Sequence[dict[str, Any]], now: datetime | None = None) -> AttributeTable:
    """Derive flags and numbers from records; `now` anchors recency (default: the latest last_seen)."""
    n = len(records)
    if now is None:
        seen = [r.get("last_seen") for r in records if r.get("last_seen")]
        now = max((datetime.fromisoformat(str(s)) for s in seen), default=None)
    attrs: list[Attribute] = []
    cols: list[np.ndarray] = []
    min_count = max(5, int(MIN_SUPPORT * n))

    # numbers: aggregates, recency and numeric traits
    for key, label, sql in NUMBERS:
        vals = np.array([np.nan if r.get(key) is None else float(r[key]) for r in records], dtype=np.float32)
        if np.isfinite(vals).sum() >= min_count and np.nanstd(vals) > 0:
            attrs.append(Attribute(key, label, "number", None, sql))
            cols.append(vals)
    recency = np.array([_days_before(r.get("last_seen"), now) for r in records], dtype=np.float32)
    if np.isfinite(recency).sum() >= min_count and np.nanstd(recency) > 0:
        anchor = now.isoformat() if now else ""  # rules measure recency from the same instant as the table
        attrs.append(Attribute("recency_days", RECENCY_LABEL, "number", None,
                               f"EXTRACT(EPOCH FROM (TIMESTAMPTZ '{anchor}' - f.last_seen)) / 86400"))
        cols.append(recency)

    # categorical and numeric fields of traits and describing data
    fields: dict[str, list[Any]] = {}
    for i, r in enumerate(records):
        for root in ("traits", "data"):
            for path, v in flatten(r.get(root) or {}, root):
                if isinstance(v, bool):
                    v = str(v).lower()
                if isinstance(v, int | float | str):
                    column = fields.get(path)
                    if column is None:  # not setdefault: its default, a list of n, would be built for every value
                        column = fields[path] = [None] * n
                    column[i] = v
    for path, values in sorted(fields.items()):
        nums = [v for v in values if isinstance(v, int | float)]
        if len(nums) >= min_count and len(nums) >= 0.8 * sum(v is not None for v in values):
            col = np.array([float(v) if isinstance(v, int | float) else np.nan for v in values], dtype=np.float32)
            if np.nanstd(col) > 0:
                attrs.append(Attribute(path, path.rsplit(".", 1)[-1].replace("_", " "), "number", path,
                                       number_sql(path)))
                cols.append(col)
            continue
        counts = Counter(str(v) for v in values if v is not None and str(v).strip())
        for value, c in counts.most_common(MAX_CATEGORIES):
            if c < min_count or c == n:
                continue
            attrs.append(Attribute(f"{path}={value}", value, "flag", path,
                                   f"f.attributes #>> {_json_path(path)} = {_sql_str(value)}", value))
            cols.append(np.array([str(v) == value if v is not None else False for v in values], dtype=np.float32))

    # behaviour: event types done, and the top values of every facet
    types = Counter(t for r in records for t in (r.get("counts") or {}))
    for t, c in types.most_common(MAX_CATEGORIES):
        if c < min_count or c == n:
            continue
        attrs.append(Attribute(f"event:{t}", f"{t} events", "flag", None, f"f.counts ? {_sql_str(t)}"))
        cols.append(np.array([t in (r.get("counts") or {}) for r in records], dtype=np.float32))
    facets: dict[str, Counter[str]] = {}
    for r in records:
        for facet, values in (r.get("top") or {}).items():
            facets.setdefault(facet, Counter()).update(set(values))
    for facet, counter in sorted(facets.items()):
        for value, c in counter.most_common(MAX_CATEGORIES):
            if c < min_count or c == n:
                continue
            attrs.append(Attribute(f"top.{facet}={value}", value, "flag", None,
                                   f"f.top -> {_sql_str(facet)} ? {_sql_str(value)}"))
            cols.append(np.array([value in ((r.get("top") or {}).get(facet) or []) for r in records],
                                 dtype=np.float32))
    X = np.column_stack(cols).astype(np.float32) if cols else np.zeros((n, 0), dtype=np.float32)
    return AttributeTable(attrs, X)
