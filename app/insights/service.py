"""Business questions over the customers, answered exactly where the data allows and labelled where it does not:

- count: exact for filters and segments (the index counts); a meaning ("horror fans") is counted against a
  cut-off (similarity 2 sd above a random customer's) and labelled an estimate.
- describe: what sets a group apart, against everyone: the distinctive attributes (the measure segments are
  named by: flag lift, number z-score), then per field the top values' shares or the quartiles.
- top: customers ranked by the active model of a goal, with percentile, tier, drivers and the model's quality.
- explain: what the layer holds and infers about one customer.

A group is filters AND a segment AND a meaning, whichever are given. People who objected to profiling are
never in a ranking."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import numpy as np

from app.errors import InvalidRequestError, NotFoundError
from app.predictions.service import PredictionService
from app.search.filters import parse_filters
from app.search.service import Meaning, SearchService
from app.segments.service import SegmentService
from embeddings.index import Condition, VectorIndex
from prediction.feature_words import label_drivers
from profiles.paths import flatten
from segmentation.attributes import attribute_table
from segmentation.naming import distinctive_features

MATCH_LIMIT = 2000  # customers a meaning is checked against within filters (beyond: estimated from the sample)
RECORD_FIELDS = ["profile_id", "traits", "data", "counts", "top", "event_count", "spend_total", "purchases",
                 "active_days", "rating_mean", "last_seen", "objected"]
NUMERIC_FIELDS = ("event_count", "spend_total", "purchases", "active_days", "rating_mean")


def _quartiles(values: list[float]) -> dict[str, float | int] | None:
    if not values:
        return None
    q1, med, q3 = np.percentile(np.asarray(values, dtype=np.float64), [25, 50, 75])
    return {"n": len(values), "q1": round(float(q1), 4), "median": round(float(med), 4), "q3": round(float(q3), 4)}


class InsightService:
    def __init__(self, index: VectorIndex, search: SearchService, segments: SegmentService,
                 predictions: PredictionService, *, wording: str = "en") -> None:
        self.index = index
        self.search = search
        self.segments = segments
        self.predictions = predictions
        self.wording = wording
        self._everyone: list[dict[str, Any]] | None = None
        self._table: Any = None  # everyone's attribute table, built once per sync
        self._rows: dict[str, int] = {}  # profile id -> its row in everyone (once per sync)
        self._columns: dict[str, tuple[np.ndarray, list[Any]]] = {}  # path -> (rows holding it, their values)
        self._population: dict[str, Any] = {}  # path -> everyone's quartiles, or everyone's value counts

    def invalidate(self) -> None:
        self._everyone = None
        self._table = None
        self._rows = {}
        self._columns = {}
        self._population = {}

    # -- the group a question is about
    async def _active_model(self, goal: str) -> str:
        repo = self.predictions.repo
        model_id = await repo.active_model(goal)
        if model_id is None:
            known = sorted({m["goal"] for m in await repo.models()})
            raise NotFoundError(f"no active model for goal {goal[:60]!r}; train one (profile-ai train --goal ...)"
                                + (f"; goals with a model: {', '.join(known)}" if known else ""))
        return model_id

    async def _group(self, query: str | None, filters: Any, segment: str | None,
                     tier: str | None = None) -> tuple[list[Condition], dict[str, Any], Meaning | None]:
        conditions = parse_filters(filters)
        defined: dict[str, Any] = {"filters": [f"{c.key} {c.op} {c.value}" for c in conditions]}
        if tier:
            goal, sep, name = tier.partition(":")
            if not sep or not goal.strip() or not name.strip():
                raise InvalidRequestError(f"tier {tier[:80]!r}: write GOAL:TIER, e.g. 'churn:top 10%'")
            ids = await self.predictions.repo.in_tier(await self._active_model(goal.strip()), name.strip())
            conditions.append(Condition("", "ids", ids))
            defined["tier"] = {"goal": goal.strip(), "tier": name.strip(), "members": len(ids)}
        if segment:
            row = await self.segments.show(segment)  # NotFoundError for an unknown segment
            ids = [p for p, _ in await self.segments.repo.members(segment, row.version)]
            conditions.append(Condition("", "ids", ids))
            defined["segment"] = {"segment_id": segment, "name": row.name, "members": len(ids)}
        meaning = None
        if query and query.strip():
            meaning = await asyncio.to_thread(self.search.meaning, query)
            conditions.extend(meaning.conditions)
            defined["query"] = {"text": query[:200], **meaning.as_dict()}
        return conditions, defined, meaning

    async def _members(self, conditions: list[Condition], meaning: Meaning | None) -> tuple[list[str], bool]:
        """The ids of a group, and whether the list was cut at MATCH_LIMIT (only a meaning is cut: it is matched
        by a nearest-neighbour search; conditions alone are read whole)."""
        if meaning is not None and meaning.vector is not None:
            hits = await asyncio.to_thread(self.search.matching, meaning, conditions, MATCH_LIMIT)
            return [pid for pid, _ in hits], len(hits) >= MATCH_LIMIT

        def read() -> list[str]:
            return [str(h.payload.get("profile_id")) for page in
                    self.index.scroll(batch=5000, filters=conditions, fields=["profile_id"]) for h in page]
        return await asyncio.to_thread(read), False

    # -- count
    async def count(self, query: str | None = None, filters: Any = None, segment: str | None = None,
                    tier: str | None = None) -> dict[str, Any]:
        conditions, defined, meaning = await self._group(query, filters, segment, tier)
        total = await asyncio.to_thread(self.search.customers)
        within = await asyncio.to_thread(self.index.count, conditions) if conditions else total
        out: dict[str, Any] = {"group": defined, "customers": total}
        if meaning is None or meaning.vector is None:
            out.update(count=within, exact=True, method="counted in the index")
            return out
        ids, cut = await self._members(conditions, meaning)
        if not cut:
            out.update(count=len(ids), exact=False,
                       method=f"customers within the filters whose similarity reaches the cut-off (approximate "
                              f"nearest-neighbour search over {within} customers)")
        else:
            share = meaning.sample_share or 0.0
            out.update(count=int(round(share * within)), exact=False,
                       method=f"estimated: the share of a random sample above the cut-off ({share:.1%}) times the "
                              f"{within} customers within the filters (more than {MATCH_LIMIT} matched)")
        out["estimate"] = True
        return out

    # -- describe
    async def _everyone_records(self) -> list[dict[str, Any]]:
        if self._everyone is None:
            def read() -> list[dict[str, Any]]:
                return [h.payload for page in self.index.scroll(batch=2000, fields=RECORD_FIELDS) for h in page]
            self._everyone = await asyncio.to_thread(read)
        return self._everyone

    async def describe(self, query: str | None = None, filters: Any = None, segment: str | None = None,
                       fields: list[str] | None = None, top_values: int = 5, tier: str | None = None) -> dict[str, Any]:
        conditions, defined, meaning = await self._group(query, filters, segment, tier)
        everyone = await self._everyone_records()
        ids, cut = await self._members(conditions, meaning)
        members = set(ids)
        if not members:
            return {"group": defined, "size": 0, "customers": len(everyone), "distinctive": [], "fields": [],
                    "behaviour": []}
        if not self._rows or len(self._rows) != len(everyone):
            self._rows = {str(r.get("profile_id")): i for i, r in enumerate(everyone)}
        mask = np.zeros(len(everyone), dtype=bool)
        mask[[self._rows[p] for p in members if p in self._rows]] = True
        group = [everyone[i] for i in np.flatnonzero(mask)]

        def analyse() -> dict[str, Any]:
            if self._table is None or self._table[0] is not everyone:
                self._table = (everyone, attribute_table(everyone))
            table = self._table[1]
            distinct = distinctive_features(table, mask, wording=self.wording)[:12]
            wanted = fields or list(dict.fromkeys(f["attribute"].split("=", 1)[0] for f in distinct
                                                   if not f["attribute"].startswith(("event:", "top.", "recency"))))[:6]
            return {"distinctive": distinct, "fields": [self._field(path, mask, everyone, top_values)
                                                        for path in wanted],
                    "behaviour": self._behaviour(group, everyone)}

        analysed = await asyncio.to_thread(analyse)
        unknown = [f["field"] for f in analysed["fields"] if f["kind"] == "unknown"]
        if fields and unknown:
            raise InvalidRequestError(f"unknown field(s): {', '.join(unknown[:5])}: use a path such as traits.plan, "
                                      "data.pii.gender or event_count")
        return {"group": defined, "size": len(group), "customers": len(everyone),
                "share": round(len(group) / len(everyone), 4), "capped": cut, **analysed}

    def _column(self, path: str, everyone: list[dict[str, Any]]) -> tuple[np.ndarray, list[Any]]:
        """Everyone's values of one field, with the rows that hold them: read once per sync, then a group's
        values are a mask away (a million records flattened per field per question took seconds)."""
        if path not in self._columns:
            rows: list[int] = []
            values: list[Any] = []
            root = path.split(".", 1)[0]
            for i, r in enumerate(everyone):
                if path in NUMERIC_FIELDS:
                    if r.get(path) is not None:
                        rows.append(i)
                        values.append(r.get(path))
                    continue
                for p, v in flatten(r.get(root) or {}, root):
                    if p == path and v is not None and str(v).strip():
                        rows.append(i)
                        values.append(v)
            self._columns[path] = (np.asarray(rows, dtype=np.int64), values)
        return self._columns[path]

    def _field(self, path: str, mask: np.ndarray, everyone: list[dict[str, Any]], top_values: int) -> dict[str, Any]:
        rows, all_ = self._column(path, everyone)
        if not all_:
            return {"field": path, "kind": "unknown"}
        mine = [all_[k] for k in np.flatnonzero(mask[rows])]
        if path not in self._population:  # everyone's side of the comparison, once per sync
            numbers = [float(v) for v in all_ if isinstance(v, int | float) and not isinstance(v, bool)]
            self._population[path] = (_quartiles(numbers) if len(numbers) >= 0.8 * len(all_) and
                                      len({*numbers}) > 2 else Counter(str(v) for v in all_))
        everyone_side = self._population[path]
        if not isinstance(everyone_side, Counter):
            return {"field": path, "kind": "number",
                    "group": _quartiles([float(v) for v in mine if isinstance(v, int | float)]),
                    "everyone": everyone_side}
        g, a = Counter(str(v) for v in mine), everyone_side
        n_g, n_a = int(mask.sum()), len(everyone)
        values = []
        for value, c in g.most_common(top_values):
            share, pop = c / n_g, a[value] / n_a
            values.append({"value": value, "count": c, "share": round(share, 4), "population_share": round(pop, 4),
                           "ratio": round(share / pop, 2) if pop else None})
        return {"field": path, "kind": "categorical", "known_in_group": len(mine), "values": values}

    def _behaviour(self, group: list[dict[str, Any]], everyone: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if "\0counts" not in self._population:  # everyone's side, once per sync (a key no field path has)
            self._population["\0counts"] = Counter(t for r in everyone for t in (r.get("counts") or {}))
        g = Counter(t for r in group for t in (r.get("counts") or {}))
        a = self._population["\0counts"]
        return [{"event_type": t, "share": round(c / len(group), 4), "population_share": round(a[t] / len(everyone), 4)}
                for t, c in g.most_common(8)]

    # -- top by a model
    async def top(self, goal: str, query: str | None = None, filters: Any = None, segment: str | None = None,
                  limit: int = 10, offset: int = 0) -> dict[str, Any]:
        if not 1 <= limit <= 1000 or offset < 0:
            raise InvalidRequestError("limit must be 1..1000 and offset >= 0")
        repo = self.predictions.repo
        model_id = await self._active_model(goal)
        model = next(m for m in await self.predictions.models(goal) if m.model_id == model_id)
        ids: list[str] | None = None
        defined: dict[str, Any] = {}
        if query or filters or segment:
            conditions, defined, meaning = await self._group(query, filters, segment)
            ids, _ = await self._members(conditions, meaning)
        rows = await repo.ranked(model_id, ids, limit, offset)
        card = model.card
        return {"goal": goal, "group": defined, "model": {
                    "model_id": model_id, "version": model.version, "as_of": model.as_of,
                    "horizon_days": model.horizon_days, "quality": card.get("quality"), "holdout": card.get("holdout"),
                    "warning": card.get("warning")},
                "ranked": [{"rank": offset + i + 1, "profile_id": r["profile_id"], "probability": r["probability"],
                            "value": r["value"], "percentile": r["percentile"], "tier": r["tier"],
                            "drivers": label_drivers((r["drivers"] or [])[:3], self.wording)} for i, r in enumerate(rows)]}
