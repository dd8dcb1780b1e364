"""Everyone's attributes as columns, so a question about a group is array work over a mask, not a walk over
records.

`PopulationColumns` is built once per sync from records streamed page by page (`ColumnsBuilder.add`); no
record is kept. Each trait or data field becomes one column: numbers as float64 (NaN where unknown), anything
else as int32 codes into its distinct values (-1 where unknown). Event types and the top values of each facet
are (row, code) pairs, one per profile holding them. At a million profiles that is a few hundred MB of arrays,
where the records themselves were several GB of Python objects and every question walked all of them.

A group is a boolean mask over the rows. Its breakdown (`field`), behaviour (`event_types`) and what sets it
apart (`distinctive`, the measure segments are named by: `segmentation.naming.rank_attributes`) are counted with
`np.bincount` and masked means.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from embeddings.index import Condition, eq_alternatives
from profiles.paths import flatten
from segmentation.attributes import MAX_CATEGORIES, MIN_SUPPORT, NUMBERS, RECENCY_LABEL
from segmentation.naming import MIN_LIFT, AttributeStats, rank_attributes

AGGREGATES = tuple(key for key, _, _ in NUMBERS)  # record keys of the per-profile aggregates
MAX_DISTINCT = 200_000  # values coded per field; later new values of a field past this count as one "other"
OTHER = -2  # the code of a value past MAX_DISTINCT (counted as known, never listed)


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else np.nan


class _Coder:
    """Distinct values of one field (or one kind of set) to dense codes, capped at MAX_DISTINCT."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        code = self.codes.get(text)
        if code is None:
            if len(self.codes) >= MAX_DISTINCT:
                return OTHER
            code = self.codes[text] = len(self.codes)
        return code

    def labels(self) -> list[str]:
        return list(self.codes)


class _FieldParts:
    """One trait or data field while it is read: the rows holding it, their codes and their numbers."""

    def __init__(self) -> None:
        self.rows = array("i")
        self.codes = array("i")
        self.numbers = array("d")
        self.coder = _Coder()

    def add(self, row: int, value: Any) -> None:
        self.rows.append(row)
        self.codes.append(self.coder(_text(value)))
        self.numbers.append(_number(value))


class _SetParts:
    """Values a profile holds several of (its event types, a facet's top values), one (row, code) each; for
    event types, how many of each too (what "who opened the most tickets" ranks by)."""

    def __init__(self) -> None:
        self.rows = array("i")
        self.codes = array("i")
        self.numbers = array("f")
        self.coder = _Coder()

    def add(self, row: int, values: Iterable[Any]) -> None:
        for value in dict.fromkeys(_text(v) for v in values):  # once per profile, in order
            code = self.coder(value)
            if code >= 0:
                self.rows.append(row)
                self.codes.append(code)

    def add_counted(self, row: int, counts: dict[str, Any]) -> None:
        for value, n in counts.items():
            code = self.coder(_text(value))
            if code >= 0:
                self.rows.append(row)
                self.codes.append(code)
                self.numbers.append(_number(n))


@dataclass
class Categorical:
    codes: np.ndarray  # int32 per row: the value's index in labels, -1 unknown, OTHER past MAX_DISTINCT
    labels: list[str]
    counts: np.ndarray  # everyone's count per label
    capped: bool = False  # some values were past MAX_DISTINCT (coded OTHER)

    def group_counts(self, mask: np.ndarray) -> np.ndarray:
        mine = self.codes[mask]
        return np.bincount(mine[mine >= 0], minlength=len(self.labels))


@dataclass
class Numeric:
    values: np.ndarray  # float64 per row, NaN unknown
    mean: float
    sd: float
    quartiles: dict[str, float | int] | None
    mixed: bool = False  # some known values were not numbers (they are NaN here)


@dataclass
class ValueSet:
    rows: np.ndarray  # int32: the profile of each (profile, value) pair
    codes: np.ndarray  # int32: the value
    labels: list[str]
    counts: np.ndarray  # profiles holding each value
    numbers: np.ndarray | None = None  # float32 per pair: how many of the value the profile holds (event types)

    def group_counts(self, mask: np.ndarray) -> np.ndarray:
        return np.bincount(self.codes[mask[self.rows]], minlength=len(self.labels))


def _timestamp(value: Any) -> float:
    try:
        return datetime.fromisoformat(str(value)).timestamp() if value else np.nan
    except ValueError:
        return np.nan


def quartiles(values: np.ndarray) -> dict[str, float | int] | None:
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    q1, med, q3 = np.percentile(values, [25, 50, 75])
    return {"n": int(len(values)), "q1": round(float(q1), 4), "median": round(float(med), 4), "q3": round(float(q3), 4)}


def _numeric(values: np.ndarray, mixed: bool = False) -> Numeric:
    finite = values[np.isfinite(values)]
    return Numeric(values, float(finite.mean()) if len(finite) else np.nan,
                   float(finite.std()) if len(finite) else 0.0, quartiles(values), mixed)


class ColumnsBuilder:
    def __init__(self) -> None:
        self.ids: list[str] = []
        self._aggregates = {key: array("d") for key in AGGREGATES}
        self._last_seen = array("d")
        self._first_seen = array("d")
        self._objected = array("i")  # rows of those who objected to profiling (art. 21): never ranked
        self._fields: dict[str, _FieldParts] = {}
        self._sets: dict[str, _SetParts] = {}
        self._odd: set[str] = set()  # paths that also hold blanks or lists somewhere

    def add(self, record: dict[str, Any]) -> None:
        """One profile's record (the index payload's field names: traits, data, counts, top, aggregates)."""
        row = len(self.ids)
        self.ids.append(str(record.get("profile_id")))
        for key, column in self._aggregates.items():
            value = record.get(key)
            column.append(np.nan if value is None else _number(value))
        self._last_seen.append(_timestamp(record.get("last_seen")))
        self._first_seen.append(_timestamp(record.get("first_seen")))
        if record.get("objected") is True:
            self._objected.append(row)
        for root in ("traits", "data"):
            for path, value in flatten(record.get(root) or {}, root):
                if isinstance(value, int | float | str):
                    if isinstance(value, str) and not value.strip():
                        self._odd.add(path)  # set for the index, unknown here: filters on it are the index's
                        continue
                    parts = self._fields.get(path)
                    if parts is None:
                        parts = self._fields[path] = _FieldParts()
                    parts.add(row, value)
                elif value is not None:
                    self._odd.add(path)  # a list: the index matches any element, the columns hold scalars
        counts = record.get("counts") or {}
        if isinstance(counts, dict) and counts:
            self._set("counts").add_counted(row, counts)
        for facet, values in (record.get("top") or {}).items():
            if isinstance(values, list) and values:
                self._set(f"top.{facet}").add(row, values)

    def _set(self, name: str) -> _SetParts:
        parts = self._sets.get(name)
        if parts is None:
            parts = self._sets[name] = _SetParts()
        return parts

    def build(self) -> PopulationColumns:
        n = len(self.ids)
        numbers: dict[str, Numeric] = {}
        categories: dict[str, Categorical] = {}
        for key, column in self._aggregates.items():
            numbers[key] = _numeric(np.frombuffer(column, dtype=np.float64).copy())
        seen = np.frombuffer(self._last_seen, dtype=np.float64)
        if np.isfinite(seen).any():  # recency measured from the latest last_seen, as the attribute table does
            numbers["recency_days"] = _numeric(np.maximum((np.nanmax(seen) - seen) / 86400.0, 0.0))
        for path, parts in self._fields.items():
            rows = np.frombuffer(parts.rows, dtype=np.int32)
            nums = np.frombuffer(parts.numbers, dtype=np.float64)
            finite = np.isfinite(nums)
            # a number when most known values are numbers and there are more than two of them (0/1 is a flag)
            known = nums[finite]
            if len(known) >= 0.8 * len(rows) and len(known) and \
                    bool(((known != known.min()) & (known != known.max())).any()):
                values = np.full(n, np.nan)
                values[rows] = nums
                numbers[path] = _numeric(values, mixed=len(known) < len(rows))
            else:
                codes = np.full(n, -1, dtype=np.int32)
                codes[rows] = np.frombuffer(parts.codes, dtype=np.int32)
                labels = parts.coder.labels()
                counts = np.bincount(codes[codes >= 0], minlength=len(labels))
                categories[path] = Categorical(codes, labels, counts, bool((codes == OTHER).any()))
            self._fields[path] = _FieldParts()  # let the parts go as their column is made
        sets = {}
        for name, set_parts in self._sets.items():
            rows = np.frombuffer(set_parts.rows, dtype=np.int32).copy()
            codes = np.frombuffer(set_parts.codes, dtype=np.int32).copy()
            labels = set_parts.coder.labels()
            counted = np.frombuffer(set_parts.numbers, dtype=np.float32).copy() if len(set_parts.numbers) else None
            sets[name] = ValueSet(rows, codes, labels, np.bincount(codes, minlength=len(labels)), counted)
        times = {"last_seen": seen.copy(), "first_seen": np.frombuffer(self._first_seen, dtype=np.float64).copy()}
        objected = np.zeros(n, dtype=bool)
        objected[np.frombuffer(self._objected, dtype=np.int32)] = True
        return PopulationColumns(self.ids, numbers, categories, sets, frozenset(self._odd), times, objected)


class PopulationColumns:
    def __init__(self, ids: list[str], numbers: dict[str, Numeric], categories: dict[str, Categorical],
                 sets: dict[str, ValueSet], odd: frozenset[str] = frozenset(),
                 times: dict[str, np.ndarray] | None = None, objected: np.ndarray | None = None) -> None:
        self.ids = ids
        self.odd = odd
        self.n = len(ids)
        self.numbers = numbers
        self.categories = categories
        self.sets = sets
        self.times = times or {}  # first_seen / last_seen as epoch seconds, NaN unknown
        self.objected = objected if objected is not None else np.zeros(self.n, dtype=bool)
        self._rows: dict[str, int] | None = None
        self._id_order: np.ndarray | None = None

    def ranking_values(self, path: str) -> np.ndarray | None:
        """Everyone's value of one number a ranking can be by (NaN where unknown), or None where the population
        holds no such number: an aggregate or a numeric field (`numbers`), a time (`times`), or how many events of
        one type each profile has (`counts.<type>`: 0 for those with none)."""
        if path in self.times:
            return self.times[path]
        if path in self.numbers and path != "recency_days":
            return self.numbers[path].values
        if path == "order_value_mean" and "spend_total" in self.numbers and "purchases" in self.numbers:
            # what an order was worth on average: spend over purchases, unknown for those who never bought
            bought = self.numbers["purchases"].values
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(bought > 0, self.numbers["spend_total"].values / bought, np.nan)
        counted = self.sets.get("counts")
        if path.startswith("counts.") and counted is not None and counted.numbers is not None:
            name = path.removeprefix("counts.")
            if name not in counted.labels:
                return None
            values = np.zeros(self.n)
            pairs = counted.codes == counted.labels.index(name)
            values[counted.rows[pairs]] = counted.numbers[pairs]
            return values
        return None

    def ordered(self, path: str, order: dict[str, float]) -> np.ndarray | None:
        """Everyone's place in an order of a categorical field's values ("18-24": 0, "25-34": 1), NaN where a
        profile holds another value or none; None where the population holds no such field."""
        column = self.categories.get(path)
        if column is None:
            return None
        places = np.array([order.get(label, np.nan) for label in column.labels] + [np.nan])
        return places[np.where(column.codes >= 0, column.codes, len(column.labels))]

    def counted(self, counts: dict[str, int] | dict[str, float]) -> np.ndarray:
        """Everyone's count (or sum) from a per-profile tally (0 for those it does not name)."""
        rows, values = self._row_of(), np.zeros(self.n)
        for pid, n in counts.items():
            if (row := rows.get(pid)) is not None:
                values[row] = n
        return values

    def timed(self, times: dict[str, datetime]) -> np.ndarray:
        """Everyone's time from a per-profile record, as epoch seconds (NaN for those it does not name)."""
        rows, values = self._row_of(), np.full(self.n, np.nan)
        for pid, at in times.items():
            if (row := rows.get(pid)) is not None:
                values[row] = at.timestamp()
        return values

    def ranked(self, values: np.ndarray, mask: np.ndarray, descending: bool, limit: int, offset: int = 0
               ) -> tuple[list[tuple[str, float]], int]:
        """The rows of `mask` with a known value (`values`, one per row: `ranking_values`), best first (ties by
        profile id, so a page is the same page every time), `offset` skipped and `limit` kept: (profile id,
        value) each, and how many were ranked. Those who objected to profiling are never ranked."""
        rows = np.flatnonzero(mask & np.isfinite(values) & ~self.objected)
        keys = values[rows]
        if self._id_order is None:  # each row's place among the ids sorted: ties broken without comparing strings
            self._id_order = np.argsort(np.argsort(np.asarray(self.ids, dtype=str), kind="stable"), kind="stable")
        order = np.lexsort((self._id_order[rows], -keys if descending else keys))
        page = rows[order[offset:offset + limit]]
        return [(self.ids[r], float(values[r])) for r in page], len(rows)

    def _row_of(self) -> dict[str, int]:
        if self._rows is None:
            self._rows = {pid: i for i, pid in enumerate(self.ids)}
        return self._rows

    def mask(self, profile_ids: Iterable[str]) -> np.ndarray:
        """The rows of those of `profile_ids` in the population (others are ignored)."""
        rows = self._row_of()
        found = [r for r in (rows.get(p) for p in profile_ids) if r is not None]
        mask = np.zeros(self.n, dtype=bool)
        mask[np.asarray(found, dtype=np.int64)] = True
        return mask

    def where(self, conditions: Sequence[Condition]) -> np.ndarray | None:
        """The rows meeting every condition, as the index would select them, or None when one of them is not
        answerable from the columns (a field they do not hold, a list, a date range, a field coded past
        MAX_DISTINCT). Callers check the count against the index's own before trusting it."""
        mask = np.ones(self.n, dtype=bool)
        for condition in conditions:
            met = self._condition(condition)
            if met is None:
                return None
            mask &= met
        return mask

    def _condition(self, c: Condition) -> np.ndarray | None:
        if c.op == "ids":
            return self.mask(c.value or [])
        if c.op == "not_ids":
            return ~self.mask(c.value or [])
        if c.key in self.odd:
            return None
        number, column = self.numbers.get(c.key), self.categories.get(c.key)
        if number is not None:
            if number.mixed or c.key == "recency_days":  # recency is ours, not a payload field
                return None
            values, known = number.values, np.isfinite(number.values)
            if c.op == "range":
                bounds = dict(c.value or {})
                if not bounds or any(not isinstance(v, int | float) or isinstance(v, bool) for v in bounds.values()):
                    return None
                met = known.copy()
                for op, compare in (("gte", np.greater_equal), ("gt", np.greater), ("lte", np.less_equal),
                                    ("lt", np.less)):
                    if op in bounds:
                        met &= compare(values, float(bounds[op]), where=known, out=np.zeros(self.n, dtype=bool))
                return met
            if c.op == "exists":
                return known
            alternatives = [float(a) for a in eq_alternatives(c) if isinstance(a, int | float) and not isinstance(a, bool)]
            equal = np.isin(values, alternatives)
            return equal if c.op == "eq" else (known & ~equal) if c.op == "ne" else None
        if column is None or column.capped or c.op == "range":
            return None
        known = column.codes != -1
        if c.op == "exists":
            return known
        texts = {_text(a) for a in eq_alternatives(c)}
        wanted = [code for code, label in enumerate(column.labels) if label in texts]
        equal = np.isin(column.codes, wanted)
        return equal if c.op == "eq" else (known & ~equal) if c.op == "ne" else None

    def has(self, path: str) -> bool:
        return path in self.numbers or path in self.categories

    # -- a group against everyone
    def field(self, path: str, mask: np.ndarray, top_values: int = 5) -> dict[str, Any]:
        """A field's breakdown in the group: a number's quartiles against everyone's, or a categorical field's
        most common values with their share in the group and among everyone."""
        number = self.numbers.get(path)
        if number is not None:
            return {"field": path, "kind": "number", "group": quartiles(number.values[mask]),
                    "everyone": number.quartiles}
        column = self.categories.get(path)
        if column is None:
            return {"field": path, "kind": "unknown"}
        counts = column.group_counts(mask)
        n_group = int(mask.sum())
        values = []
        for code in np.argsort(-counts, kind="stable")[:top_values]:
            c = int(counts[code])
            if not c:
                break
            share, everyone = c / n_group, int(column.counts[code]) / self.n
            values.append({"value": column.labels[code], "count": c, "share": round(share, 4),
                           "population_share": round(everyone, 4),
                           "ratio": round(share / everyone, 2) if everyone else None})
        return {"field": path, "kind": "categorical", "known_in_group": int((column.codes[mask] != -1).sum()),
                "values": values}

    def event_types(self, mask: np.ndarray, top: int = 8) -> list[dict[str, Any]]:
        """The event types most of the group has done, with everyone's share."""
        kinds = self.sets.get("counts")
        n_group = int(mask.sum())
        if kinds is None or not n_group:
            return []
        counts = kinds.group_counts(mask)
        return [{"event_type": kinds.labels[code], "share": round(int(counts[code]) / n_group, 4),
                 "population_share": round(int(kinds.counts[code]) / self.n, 4)}
                for code in np.argsort(-counts, kind="stable")[:top] if counts[code]]

    def distinctive(self, mask: np.ndarray, *, wording: str = "en", min_lift: float = MIN_LIFT) -> list[dict[str, Any]]:
        """What sets the group apart from everyone, strongest first: the attributes segments are named by (the
        numbers; each field's, event type's and facet's most common values as flags, held by at least 1% of
        profiles and not by all)."""
        n, n_group = self.n, int(mask.sum())
        if not n_group:
            return []
        min_count = max(5, int(MIN_SUPPORT * n))
        labels = {key: label for key, label, _ in NUMBERS} | {"recency_days": RECENCY_LABEL}
        stats: list[AttributeStats] = []
        for path, number in sorted(self.numbers.items()):
            if number.sd <= 0:
                continue
            mine = number.values[mask]
            known = np.isfinite(mine)
            if int(np.isfinite(number.values).sum()) < min_count or known.sum() < 3:
                continue
            stats.append(AttributeStats(path, labels.get(path, path.rsplit(".", 1)[-1].replace("_", " ")), "number",
                                        float(mine[known].mean()), number.mean, number.sd, int(known.sum())))

        def flags(prefix: str, everyone: np.ndarray, group: np.ndarray, names: list[str]) -> None:
            for code in np.argsort(-everyone, kind="stable")[:MAX_CATEGORIES]:
                c = int(everyone[code])
                if c < min_count or c == n:
                    continue
                stats.append(AttributeStats(f"{prefix}{names[code]}", names[code], "flag", int(group[code]) / n_group,
                                            c / n))

        for path, column in sorted(self.categories.items()):
            flags(f"{path}=", column.counts, column.group_counts(mask), column.labels)
        for name, values in sorted(self.sets.items()):
            flags("event:" if name == "counts" else f"{name}=", values.counts, values.group_counts(mask),
                  values.labels)
        return rank_attributes(stats, min_lift, wording)
