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
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from app.collector import collect_young, collector_paused
from app.errors import ConflictError, InvalidRequestError, NotFoundError
from app.insights.columns import ColumnsBuilder, PopulationColumns
from app.predictions.service import PredictionService
from app.search.filters import parse_filters
from app.search.measures import Measure
from app.search.service import Meaning, SearchService, asked_count, likelihood, likely_goal, without_ranking
from app.search.superlatives import ORDER_VALUE, Order, as_event, order_label
from app.search.understanding import EventReading, abandonment
from app.segments.repository import record_from_text
from app.segments.service import SegmentService
from embeddings.index import Condition, VectorIndex, matching_ids
from prediction.feature_words import feature_label, label_drivers

WALK_FACTOR, WALK_MIN_ROWS = 20, 1000  # how far a ranking walk goes before taking the group's ids instead
MAX_BREAKDOWN = 60  # values a count is broken down by (a categorical field has at most 60: understanding.MAX_DISTINCT)
MATCH_LIMIT = 2000  # customers a meaning is checked against within filters (beyond: estimated from the sample)


# how a count was made (`method_code`), in each wording: the answer's `method` is the deployment's
METHODS: dict[str, dict[str, str]] = {
    "counted": {"en": "counted in the index", "es": "contados en el índice"},
    "matched": {"en": "customers within the filters whose similarity reaches the cut-off (approximate "
                      "nearest-neighbour search over {within} customers)",
                "es": "clientes dentro de los filtros cuya similitud alcanza el umbral (búsqueda aproximada de los "
                      "vecinos más cercanos entre {within} clientes)"},
    "sampled": {"en": "estimated: the share of a random sample above the cut-off ({share}) times the {within} "
                      "customers within the filters (more than {limit} matched)",
                "es": "estimación: la proporción de una muestra aleatoria que supera el umbral ({share}) por los "
                      "{within} clientes dentro de los filtros (más de {limit} coincidencias)"},
}


def thousands(n: int, wording: str) -> str:
    """1,234 in English, 1.234 in Spanish."""
    text = f"{n:,}"
    return text.replace(",", ".") if wording == "es" else text


def percent(share: float, wording: str) -> str:
    """12.5% in English, 12,5 % in Spanish."""
    return f"{share:.1%}" if wording != "es" else f"{share * 100:.1f} %".replace(".", ",")


def walk_ranking(size: int, total: int, wanted: int) -> bool:
    """Rank a group by walking the model's ranking (about wanted * total / size rows, each checked against the
    index) rather than reading the group's ids back from the index first (size ids): the walk is cheaper once
    size * size exceeds wanted * total (at 1M profiles and a top 10, past about 3,000 members)."""
    return size > 0 and size * size > wanted * total


class InsightService:
    def __init__(self, index: VectorIndex, search: SearchService, segments: SegmentService,
                 predictions: PredictionService, *, wording: str = "en") -> None:
        self.index = index
        self.search = search
        self.segments = segments
        self.predictions = predictions
        self.wording = wording
        self._columns: PopulationColumns | None = None  # everyone, as columns: built once per sync
        self._population_lock = asyncio.Lock()  # two first questions after a sync build it once
        self._asked = False  # a describe used the columns: rebuilt after each sync from then on

    def invalidate(self) -> None:
        self._columns = None

    async def prebuild(self) -> bool:
        """Build everyone's columns again after a sync dropped them, if a question here ever used them: the
        first "what do they have in common" after a nightly sync then answers warm (at 1M the build takes
        seconds of a core). Whether it built."""
        if not self._asked:
            return False
        await self._population()
        return True

    # -- the group a question is about
    async def _active_model(self, goal: str) -> str:
        repo = self.predictions.repo
        model_id = await repo.active_model(goal)
        if model_id is None:
            known = sorted({m["goal"] for m in await repo.models()})
            if known:
                raise NotFoundError.worded("no_model_for_goal_but", goal=goal[:60], goals=", ".join(known))
            raise NotFoundError.worded("no_model_for_goal", goal=goal[:60])
        return model_id

    async def _group(self, query: str | None, filters: Any, segment: str | None, tier: str | None = None,
                     ranked_top: bool = False) -> tuple[list[Condition], dict[str, Any], Meaning | None]:
        """A group's conditions, how the answer says it, and its meaning. `ranked_top`: the question may name the
        top of a ranking as the group ("what do our 10 biggest spenders have in common"), as counts and describes
        do; a ranking's own "top 10" is how many it lists."""
        conditions = parse_filters(filters)
        defined: dict[str, Any] = {"filters": [f"{c.key} {c.op} {c.value}" for c in conditions]}
        if ranked_top:
            query, top, ranked = await self._top_group(query)
            if top is not None:
                conditions.append(top)
                defined["ranked"] = ranked
        if tier:
            goal, sep, name = tier.partition(":")
            if not sep or not goal.strip() or not name.strip():
                raise InvalidRequestError.worded("tier_format", tier=tier[:80])
            ids = await self.predictions.repo.in_tier(await self._active_model(goal.strip()), name.strip())
            conditions.append(Condition("", "ids", ids))
            defined["tier"] = {"goal": goal.strip(), "tier": name.strip(), "members": len(ids)}
        if segment:
            row = await self.segments.show(segment)  # NotFoundError for an unknown segment
            ids = [p for p, _ in await self.segments.repo.members(segment, row.version)]
            conditions.append(Condition("", "ids", ids))
            defined["segment"] = {"segment_id": segment, "name": row.name, "members": len(ids)}
        likely = likely_goal(query) if query and not tier else None
        if likely is not None:  # "customers likely to churn": whom the goal's active model gives an even chance
            goal, said, query = likely
            how, bound, query = likelihood(said, query)
            model_id = await self._active_model(goal)
            ids = await self.predictions.repo.chosen(model_id, how, bound)
            conditions.append(Condition("", "ids", ids))
            key = {"top": "top_percent", "below": "probability_below", "at_least": "probability_at_least"}[how]
            defined["likely"] = {"goal": goal, "model_id": model_id, "from": said, key: bound, "members": len(ids)}
        query, average = await self._at_average(query)
        if average is not None:
            defined["average"] = average
        meaning = None
        if query and query.strip():
            meaning = await asyncio.to_thread(self.search.meaning, query)
            conditions.extend(meaning.conditions)
            conditions.extend(await self.search.about(meaning.about))  # "rated horror movies": the event log's
            defined["query"] = {"text": query[:200], **meaning.as_dict()}
        return conditions, defined, meaning

    async def _at_average(self, query: str | None) -> tuple[str | None, dict[str, Any] | None]:
        """"spent more than the average": the question with everyone's mean of the number in the average's place
        (over those who hold it; a count of events is 0 for those with none), and how the answer says it; the
        question unchanged where it compares with no average (None), or the population holds no such number."""
        versus = await asyncio.to_thread(self.search.versus_average, query) if query else None
        if versus is None:
            return query, None
        template, path, said = versus
        everyone = await self._population()
        values = everyone.ranking_values(path) if path not in everyone.times else None
        held = values[np.isfinite(values)] if values is not None else np.zeros(0)
        if not len(held):
            return query, {"field": path, "from": said, "mean": None}
        mean = round(float(held.mean()), 2)
        return template.format(n=f"{mean:.2f}".rstrip("0").rstrip(".")), \
            {"field": path, "label": order_label(path, self.wording), "from": said, "mean": mean,
             "customers": int(len(held))}

    async def _members(self, conditions: list[Condition], meaning: Meaning | None) -> tuple[list[str], bool]:
        """The ids of a group, and whether the list was cut at MATCH_LIMIT (only a meaning is cut: it is matched
        by a nearest-neighbour search; conditions alone are read whole)."""
        if meaning is not None and meaning.vector is not None:
            hits = await asyncio.to_thread(self.search.matching, meaning, conditions, MATCH_LIMIT)
            return [pid for pid, _ in hits], len(hits) >= MATCH_LIMIT
        return await asyncio.to_thread(matching_ids, self.index, conditions), False

    # -- count
    async def count(self, query: str | None = None, filters: Any = None, segment: str | None = None,
                    tier: str | None = None) -> dict[str, Any]:
        by = measure = average = None
        if query and query.strip():  # "how many customers by gender": the group, then a count per value
            query, by = await asyncio.to_thread(self.search.grouping, query)
            # "spent more than the average": everyone's mean in its place, before the share and the statistic
            query, average = await self._at_average(query)
            # "the average spend of customers from Spain": the group, then the statistic over it
            if query and (found := await asyncio.to_thread(self.search.measure, query)) is not None:
                measure, query = found
        out, members = await self._count(query, filters, segment, tier)
        if average is not None:
            out["group"]["average"] = average
        if query and by is None and (base := await asyncio.to_thread(self.search.share_base, query)) is not None:
            # "what percentage of customers from Spain bought shoes?": the share of the group it is of
            of, _ = await self._count(base, filters, segment, tier)
            out["within"] = {"of": base, "customers": of["count"], "exact": bool(of["exact"] and out["exact"]),
                             "share": round(out["count"] / of["count"], 4) if of["count"] else 0.0,
                             "understood": of["group"].get("query", {}).get("understood", [])}
        if by is not None:  # the rows an agent's token budget trims first (largest kept)
            out["by"], out["rows"] = await self._breakdown(by, out, members)
        if measure is not None:  # "the average spend (by country)": the statistic over the group, and each row
            out["measure"], each = await self._measured(measure, members, by, out.get("rows", []))
            for row, value in zip(out.get("rows", []), each, strict=True):
                row["measure"] = value
        return out

    async def _measured(self, measure: Measure, conditions: list[Condition], by: tuple[str, list[Any]] | None,
                        rows: list[dict[str, Any]]) -> tuple[dict[str, Any], list[Any]]:
        """A statistic of one stored number over a group's members, those holding it: its mean, total and
        median, the one asked as `value`; and the asked one of each breakdown row (`by`, `rows`). An order's value
        is the group's spend over its purchases; spend on a value or in a window is those purchases' amounts,
        summed from the event log once (0 for members with none)."""
        everyone = await self._population()
        mask, _ = await self._group_mask(everyone, conditions, None)
        order = Order(measure.field, True, measure.said, event=measure.event)
        order, values, ranked_by = await self._ranking(order, everyone)
        masks = []
        if by is not None:
            path, listed = by
            for row in rows:  # a row's value, or a number's bin by its label
                bin_ = next((v for v in listed if isinstance(v, dict) and v.get("label") == row["value"]), None)
                each = Condition(path, "range", {"gte": bin_["gte"], "lt": bin_["lt"]}) if bin_ is not None \
                    else Condition(path, "eq", row["value"])
                masks.append(mask & (await self._group_mask(everyone, [*conditions, each], None))[0])

        bands: list[str] = ranked_by.get("bands", [])
        middles = np.asarray((await asyncio.to_thread(self.search.band_middles, order.field) if bands else None)
                             or [], dtype=float)

        def stats(group: np.ndarray) -> dict[str, Any]:
            held = group & np.isfinite(values)
            if not held.any():
                return {"mean": None, "total": None, "median": None}
            if bands:  # ages held as bands: the median band, and a mean from the bands' middle ages (estimated)
                places = values[held].astype(int)
                return {"mean": float(middles[places].mean()) if len(middles) == len(bands) else None,
                        "total": None, "median": bands[int(np.median(places))]}
            if measure.field == ORDER_VALUE:  # the group's own: all it spent over all its orders
                spend, bought = (everyone.ranking_values(f) for f in ("spend_total", "purchases"))
                assert spend is not None and bought is not None
                orders = float(np.nansum(bought[held]))
                mean, total = (float(np.nansum(spend[held])) / orders if orders else None), None
            else:
                mean, total = float(values[held].mean()), float(values[held].sum())
            return {"mean": mean, "total": total, "median": float(np.median(values[held]))}

        def shown(v: Any) -> Any:
            return round(v, 2) if isinstance(v, float) else v

        def answer() -> tuple[dict[str, Any], list[Any]]:
            got = {k: shown(v) for k, v in stats(mask).items()}
            per_row = [shown(stats(m)[measure.stat]) for m in masks]
            estimated = {"estimated_from": "the bands' middle ages"} if bands and measure.stat == "mean" else {}
            return {**measure.as_dict(), "label": ranked_by["label"],
                    **{k: ranked_by[k] for k in ("about", "window", "bands") if k in ranked_by},
                    "value": got[measure.stat], **got, **estimated,
                    "customers": int((mask & np.isfinite(values)).sum())}, per_row

        return await asyncio.to_thread(answer)

    async def _breakdown(self, by: tuple[str, list[Any]], counted: dict[str, Any],
                         conditions: list[Condition]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The group's count per value of one field, counted in the index (a group read by meaning: among its
        matches), largest first; `other`: the group's customers holding none of them (a value the vocabulary
        leaves out, such as "other" or "none", or the field unset)."""
        path, values = by

        def counted_each() -> list[dict[str, Any]]:  # one trip off the event loop for every value
            if values and isinstance(values[0], dict):  # a numeric field's bins, in their order
                bins = [(b["label"], self.index.count([*conditions, Condition(path, "range", {
                    "gte": b["gte"], "lt": b["lt"]})])) for b in values[:MAX_BREAKDOWN]]
                return [{"value": label, "count": n} for label, n in bins if n]
            found = [(value, self.index.count([*conditions, Condition(path, "eq", value)]))
                     for value in values[:MAX_BREAKDOWN]]
            return sorted(({"value": v, "count": n} for v, n in found if n), key=lambda r: -r["count"])

        rows = await asyncio.to_thread(counted_each)
        other = max(0, counted["count"] - sum(r["count"] for r in rows)) if counted.get("exact") else None
        return {"field": path, "other": other}, rows

    async def _count(self, query: str | None, filters: Any, segment: str | None,
                     tier: str | None) -> tuple[dict[str, Any], list[Condition]]:
        """The count, and the conditions that select the group's members (a meaning's: its matches' ids)."""
        conditions, defined, meaning = await self._group(query, filters, segment, tier, ranked_top=True)
        total = await asyncio.to_thread(self.search.customers)
        within = await asyncio.to_thread(self.index.count, conditions) if conditions else total
        out: dict[str, Any] = {"group": defined, "customers": total}
        w = self.wording if self.wording in METHODS["counted"] else "en"
        if meaning is None or meaning.vector is None:
            out.update(count=within, exact=True, method=METHODS["counted"][w], method_code="counted",
                       share=round(within / total, 4) if total else 0.0)  # "what share of customers are women"
            return out, conditions
        ids, cut = await self._members(conditions, meaning)
        if not cut:
            out.update(count=len(ids), exact=False, method_code="matched",
                       method=METHODS["matched"][w].format(within=thousands(within, w)))
        else:
            share = meaning.sample_share or 0.0
            out.update(count=int(round(share * within)), exact=False, method_code="sampled",
                       method=METHODS["sampled"][w].format(share=percent(share, w), within=thousands(within, w),
                                                           limit=thousands(MATCH_LIMIT, w)))
        out["estimate"] = True
        out["share"] = round(out["count"] / total, 4) if total else 0.0
        return out, [*conditions, Condition("", "ids", ids)]

    # -- describe
    async def _population(self) -> PopulationColumns:
        """Everyone as columns, built once per sync from the records the sync stored beside the index
        (profile_features of the indexed profiles), page by page: no record is kept, and each page is parsed
        and added off the event loop."""
        self._asked = True
        async with self._population_lock:
            if self._columns is None:
                builder = ColumnsBuilder()

                def add(rows: list[Any]) -> None:
                    for row in rows:
                        builder.add(record_from_text(row))
                with collector_paused():  # a million records' dicts, all alive until built (app/collector.py)
                    async for rows in self.segments.repo.indexed_records():
                        await asyncio.to_thread(add, rows)
                    self._columns = await asyncio.to_thread(builder.build)
                collect_young()
            return self._columns

    async def _group_mask(self, everyone: PopulationColumns, conditions: list[Condition],
                          meaning: Meaning | None) -> tuple[np.ndarray, bool]:
        """A group as rows of everyone. Filters are evaluated on the columns when they can answer them and the
        index's own count agrees (reading 300,000 ids back from the index took seconds at 1M); a meaning, or a
        filter the columns cannot answer, is read from the index."""
        if meaning is None or meaning.vector is None:
            mask = await asyncio.to_thread(everyone.where, conditions)
            if mask is not None and int(mask.sum()) == await asyncio.to_thread(self.index.count, conditions):
                return mask, False
        ids, cut = await self._members(conditions, meaning)
        return await asyncio.to_thread(everyone.mask, ids), cut

    async def describe(self, query: str | None = None, filters: Any = None, segment: str | None = None,
                       fields: list[str] | None = None, top_values: int = 5, tier: str | None = None) -> dict[str, Any]:
        conditions, defined, meaning = await self._group(query, filters, segment, tier, ranked_top=True)
        everyone = await self._population()
        if fields:
            unknown = [f for f in fields if not everyone.has(f)]
            if unknown:
                raise InvalidRequestError.worded("unknown_fields", fields=", ".join(u[:80] for u in unknown[:5]))
        mask, cut = await self._group_mask(everyone, conditions, meaning)

        def analyse() -> dict[str, Any]:
            size = int(mask.sum())
            if not size:
                return {"size": 0, "distinctive": [], "fields": [], "behaviour": []}
            distinct = everyone.distinctive(mask, wording=self.wording)[:12]
            wanted = fields or list(dict.fromkeys(f["attribute"].split("=", 1)[0] for f in distinct
                                                   if not f["attribute"].startswith(("event:", "top.", "recency"))))[:6]
            return {"size": size, "share": round(size / everyone.n, 4), "capped": cut, "distinctive": distinct,
                    "fields": [everyone.field(path, mask, top_values) for path in wanted],
                    "behaviour": everyone.event_types(mask)}

        analysed = await asyncio.to_thread(analyse)
        if "likely" in defined and "probability_below" not in defined["likely"] and analysed["size"]:
            # "why do students churn?": the model's commonest reasons towards it too
            analysed["reasons"] = await self._reasons(defined["likely"]["model_id"], everyone, mask)
        return {"group": defined, "customers": everyone.n, **analysed}

    async def _reasons(self, model_id: str, everyone: PopulationColumns, mask: np.ndarray) -> list[dict[str, Any]]:
        """The drivers the model gives most often for the group, towards its goal: what "why" asks of a model."""
        ids = [everyone.ids[i] for i in np.flatnonzero(mask)]
        rows = await self.predictions.repo.common_drivers(model_id, ids)
        return [{"feature": r["feature"], "label": feature_label(r["feature"], self.wording),
                 "share": round(r["profiles"] / len(ids), 4),
                 "median_value": None if r["median_value"] is None else round(float(r["median_value"]), 3)}
                for r in rows]

    # -- ranked by a stored number
    async def ranked(self, query: str | None = None, filters: Any = None, segment: str | None = None,
                     by: str | None = None, descending: bool | None = None, limit: int = 10, offset: int = 0,
                     tier: str | None = None) -> dict[str, Any]:
        """Customers ranked by one stored number, within a group: "the 10 customers who spent the most", "los
        más antiguos", "with the most page views" (read from the question), or `by` a field named outright. Exact
        over the group (a group read by meaning is its matches above the cut-off); those without the number, and
        those who objected to profiling, are not ranked."""
        if not 1 <= limit <= 1000 or offset < 0:
            raise InvalidRequestError.worded("limit_range", most=1000) if offset >= 0 else \
                InvalidRequestError.worded("offset_negative")
        # how many, from the question as asked ("the first 5 customers to buy shoes": within the order's words)
        asked = asked_count(query)[0] if query else None
        limit = max(1, min(asked, 1000)) if asked else limit
        if by is not None:
            order = Order(by.strip()[:200], True if descending is None else descending, "")
        else:  # read before "top 10" is taken as how many: "top 10 customers by spend"
            found = await asyncio.to_thread(self.search.order, query) if query and query.strip() else None
            if found is None:
                raise InvalidRequestError.worded("order_needed")
            order, query = found
            if (abandoned := abandonment(order.said)) is not None:
                # "who abandoned their cart most recently": by the cart's last time, among those who abandoned it
                query = f"{query} {abandoned}"
            if descending is not None:
                order = replace(order, descending=descending)
        if query:
            query = asked_count(query)[1]
        query = (without_ranking(query) or None) if query else query
        everyone = await self._population()
        order, values, ranked_by = await self._ranking(order, everyone)
        conditions, defined, meaning = await self._group(query, filters, segment, tier)
        mask, cut = await self._group_mask(everyone, conditions, meaning)
        rows, ranked = await asyncio.to_thread(everyone.ranked, values, mask, order.descending, limit, offset)
        timed = order.field in everyone.times or order.when is not None
        bands: list[str] = ranked_by.get("bands", [])

        def shown(value: float) -> Any:  # a time as ISO, a band as its label (ranked by its place), else the number
            return datetime.fromtimestamp(value, UTC).isoformat() if timed else bands[int(value)] if bands \
                else round(value, 4)

        return {"ranked_by": ranked_by, "group": defined, "customers": everyone.n, "in_group": int(mask.sum()),
                "ranked_customers": ranked, "exact": meaning is None or meaning.vector is None, "capped": cut,
                "ranked": [{"rank": offset + i + 1, "profile_id": pid, "value": shown(value)}
                           for i, (pid, value) in enumerate(rows)]}

    async def _ranking(self, order: Order, everyone: PopulationColumns
                       ) -> tuple[Order, np.ndarray, dict[str, Any]]:
        """Everyone's value of what an order ranks by (the population's number; an event's count or time from the
        event log where its words say what about, when, or first / last), the order with its field resolved, and
        how the answer says it (`ranked_by`)."""
        field = order.field if everyone.ranking_values(order.field) is not None else f"traits.{order.field}"
        values = everyone.ranking_values(field)
        bands = await asyncio.to_thread(self.search.band_order, order.field) if values is None else None
        if bands:  # "los más jóvenes" where the data holds age bands: by the band's place, ties by id
            field, values = order.field, everyone.ordered(order.field, {band: k for k, band in enumerate(bands)})
        if values is None:  # "age" outright: the trait, where the data holds it
            raise InvalidRequestError.worded("unknown_ranking", field=order.field)
        order = replace(order, field=field)
        ranked_by: dict[str, Any] = {**order.as_dict(), "label": order_label(order.field, self.wording, order.when)}
        if bands:
            ranked_by["bands"] = bands
        about = await self._counted_about(order)
        if order.field == "spend_total":
            if about is None or not self.search.amount_path(about.etype):
                about = None  # a type without an amount: what it was about cannot be summed; total spend, as said
            else:  # "who spent the most on shoes": the amounts of those purchases, from the event log
                sums = await self.search.event_sums(about)
                values = await asyncio.to_thread(everyone.counted, sums)
                spanish = self.wording == "es"
                ranked_by["label"] = (("gasto en " if spanish else "spend on ") + ", ".join(about.values)) \
                    if about.values else ("gasto en el periodo" if spanish else "spend in the window")
        elif order.when:  # "the first customers to buy shoes": when each first did it, from the event log
            reading = about or EventReading(order.field.removeprefix("counts."), [], None)
            times = await self.search.event_times(reading, latest=order.when == "last")
            values = await asyncio.to_thread(everyone.timed, times)
        elif about is not None:  # "who rated the most horror movies": from the event log
            values = await asyncio.to_thread(everyone.counted, await self.search.event_counts(about))
        if about is not None:
            ranked_by["about"] = about.values
            if about.window:
                ranked_by["window"] = about.window
            if about.scored:  # "the most 5-star ratings": only those whose score meets it
                ranked_by["rating"] = about.scored
        return order, values, ranked_by

    async def _top_group(self, query: str | None) -> tuple[str | None, Condition | None, dict[str, Any] | None]:
        """A group that is the top of a ranking, where a count or describe question names one: "what do the 10
        customers who spent the most have in common", "how many of our 100 biggest spenders are from Spain",
        "¿qué tienen en común los 50 clientes más antiguos?". The question without those words, the group's ids,
        and how the answer says it; the question unchanged where it names no number of people and an order."""
        if not query:
            return query, None, None
        asked, rest = asked_count(query)
        found = await asyncio.to_thread(self.search.order, rest) if asked else None
        if found is None or asked is None:
            return query, None, None
        order, rest = found
        everyone = await self._population()
        order, values, ranked_by = await self._ranking(order, everyone)
        rows, _ = await asyncio.to_thread(everyone.ranked, values, np.ones(everyone.n, dtype=bool), order.descending,
                                          min(asked, everyone.n) or 1)
        ids = [pid for pid, _ in rows]
        return rest, Condition("", "ids", ids), {**ranked_by, "top": asked, "members": len(ids)}

    async def _counted_about(self, order: Order) -> EventReading | None:
        """Where a ranking counts one type of event and its words say what about or when ("rated the most horror
        movies", "bought the most shoes this year"), that reading of them; None for a plain count of the type."""
        counted = order.field.startswith("counts.")
        if not (counted or order.field in ("purchases", "spend_total")) or not order.said or \
                (order.field == "spend_total" and not order.event):
            return None
        etype = order.field.removeprefix("counts.")
        said = order.event or as_event(order.said)
        words = said.split()
        # read as a clause about people, as questions say it ("who rated horror movies"); Spanish may put the
        # object first ("los que más zapatos compraron": "que compraron zapatos")
        for text in (f"who {said}", f"que {said}", f"que {' '.join(words[-1:] + words[:-1])}"):
            meaning = await asyncio.to_thread(self.search.meaning, text)
            # "bought the most this year": the purchases are the events the verb names, counted in the window
            found = next((e for e in meaning.about if (e.etype == etype or not counted) and not e.denied
                          and (e.values or e.window or e.scored)), None)
            if found is not None:
                return found
        return None

    # -- top by a model
    async def top(self, goal: str, query: str | None = None, filters: Any = None, segment: str | None = None,
                  limit: int = 10, offset: int = 0) -> dict[str, Any]:
        if not 1 <= limit <= 1000 or offset < 0:
            raise InvalidRequestError.worded("limit_range", most=1000) if offset >= 0 else \
                InvalidRequestError.worded("offset_negative")
        repo = self.predictions.repo
        model_id = await self._active_model(goal)
        model = await self.predictions.model(model_id, counted=False)
        defined: dict[str, Any] = {}
        # "students most likely to churn": the model's ranking is the "most likely"; the group is the students;
        # "the 3 students ...", "top 5": how many the question asks for, whatever the default
        if query:
            asked, query = asked_count(query)
            limit = max(1, min(asked, 1000)) if asked else limit
        query = (without_ranking(query) or None) if query else query
        if query or filters or segment:
            conditions, defined, meaning = await self._group(query, filters, segment)
            walked: list[dict[str, Any]] | None = None
            if meaning is None or meaning.vector is None:
                size = await asyncio.to_thread(self.index.count, conditions)
                total = await asyncio.to_thread(self.search.customers)
                if walk_ranking(size, total, offset + limit):
                    # at most 20x the rows the group's share predicts: a large group whose members were mostly
                    # never scored (new profiles) falls back to its ids instead of walking the whole ranking
                    walked = await self._ranked_within(model_id, conditions, limit, offset, max_rows=WALK_FACTOR * (
                        offset + limit) * total // max(size, 1) + WALK_MIN_ROWS)
            if walked is not None:
                rows = walked
            else:
                ids, _ = await self._members(conditions, meaning)
                rows = await repo.ranked(model_id, ids, limit, offset)
        else:
            rows = await repo.ranked(model_id, None, limit, offset)
        if not rows and not offset and not await repo.ranked(model_id, None, 1):
            # trained, never scored: an empty ranking would read as "nobody in this group", which is not so
            raise ConflictError.worded("model_not_scored", model=model_id, goal=goal)
        card = model.card
        return {"goal": goal, "group": defined, "model": {
                    "model_id": model_id, "version": model.version, "as_of": model.as_of,
                    "horizon_days": model.horizon_days, "quality": card.get("quality"), "holdout": card.get("holdout"),
                    "warning": card.get("warning")},
                "ranked": [{"rank": offset + i + 1, "profile_id": r["profile_id"], "probability": r["probability"],
                            "value": r["value"], "percentile": r["percentile"], "tier": r["tier"],
                            "drivers": label_drivers((r["drivers"] or [])[:3], self.wording)} for i, r in enumerate(rows)]}

    async def _ranked_within(self, model_id: str, conditions: list[Condition], limit: int, offset: int,
                             max_rows: int) -> list[dict[str, Any]] | None:
        """A large group's best first: the model's ranking is read page by page (in the order of the
        `predictions_ranked` index) and each page's ids are checked against the group's filters in the index,
        until `offset + limit` members are found (or the ranking ends). Reading a 300,000-member group's ids back
        from the index first took seconds; a page of the ranking and one filtered look-up take milliseconds.
        None once `max_rows` were read without finding them: the caller takes the group's ids instead."""
        wanted, start, page = offset + limit, 0, max(200, 4 * (offset + limit))
        found: list[dict[str, Any]] = []
        # a segment's or a tier's members are a set already: checked here, not sent to the index with every page
        id_sets = [set(c.value) for c in conditions if c.op == "ids"]
        rest = [c for c in conditions if c.op != "ids"]
        while len(found) < wanted:
            if start >= max_rows:
                return None
            rows = await self.predictions.repo.ranked(model_id, None, page, start)
            if not rows:
                break
            ids = [r["profile_id"] for r in rows if all(r["profile_id"] in s for s in id_sets)]

            members = set(ids) if not rest or not ids else set(await asyncio.to_thread(
                matching_ids, self.index, [*rest, Condition("", "ids", ids)], len(ids)))
            found.extend(r for r in rows if r["profile_id"] in members)
            start += len(rows)
            page = min(page * 2, 20_000)
        return found[offset:wanted]
