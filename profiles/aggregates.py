"""Aggregates over a profile's WHOLE event history: counts, category shares, spend, ratings, recency.

They feed the document text, the index payload (filterable facts) and, later, prediction features.
Computed from the event dictionary's hints (facets, value, rating), so any event type contributes.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from profiles.paths import as_number, get_parts, get_path

if TYPE_CHECKING:
    from profiles.dictionary import EventDictionary
    from profiles.model import Event


MAX_FACET_CHARS = 60  # a category is a short label; anything longer is free text, not a facet


def facet_values(value: Any) -> list[str]:
    if isinstance(value, str):  # the usual case, without the list
        text = value.strip()
        return [text] if text and len(text) <= MAX_FACET_CHARS else []
    values = value if isinstance(value, list) else [value]
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            continue
        text = str(v).strip()
        if text and len(text) <= MAX_FACET_CHARS:
            out.append(text)
    return out


@dataclass
class ProfileSummary:
    event_count: int = 0
    counts_by_type: Counter[str] = field(default_factory=Counter)
    first_event_at: datetime | None = None
    last_event_at: datetime | None = None
    active_days: int = 0
    facets: dict[str, Counter[str]] = field(default_factory=dict)  # facet -> value -> events
    liked_facets: dict[str, Counter[str]] = field(default_factory=dict)  # only events rated "liked"
    liked_items: Counter[str] = field(default_factory=Counter)
    items: Counter[str] = field(default_factory=Counter)
    spend_total: float = 0.0
    spend_count: int = 0
    currency: str | None = None
    rating_sum: float = 0.0
    rating_count: int = 0
    rating_scale: float = 5.0

    @property
    def rating_mean(self) -> float | None:
        return self.rating_sum / self.rating_count if self.rating_count else None

    @property
    def tenure_days(self) -> int:
        if self.first_event_at is None or self.last_event_at is None:
            return 0
        return (self.last_event_at - self.first_event_at).days

    def top_facet(self, name: str, n: int = 3, liked: bool = False) -> list[tuple[str, float]]:
        counter = (self.liked_facets if liked else self.facets).get(name)
        if not counter:
            return []
        total = sum(counter.values())
        # the n first of the sorted order without sorting a long tail (a profile may view thousands of items)
        return [(v, c / total) for v, c in heapq.nsmallest(n, counter.items(), key=lambda kv: (-kv[1], kv[0]))]

    def top_values(self, n: int = 5) -> dict[str, list[str]]:
        """The n most frequent values of every facet (filterable in the payload, stored with the features)."""
        return {name: [v for v, _ in self.top_facet(name, n)] for name in sorted(self.facets)}


def summarise(events: list[Event], dictionary: EventDictionary) -> ProfileSummary:
    s = ProfileSummary()
    days: set[Any] = set()
    currencies: Counter[str] = Counter()
    counts, facets, liked_facets = s.counts_by_type, s.facets, s.liked_facets
    first = last = None
    for ev in events:  # the hottest loop of a sync: one pass, paths split once per type (EventSpec.facet_paths)
        spec = dictionary.spec(ev.type)
        props, at = ev.properties, ev.time
        counts[ev.type] += 1
        days.add(at.date())
        if first is None or at < first:
            first = at
        if last is None or at > last:
            last = at
        liked = False
        if spec.rating:
            score = as_number(get_path(props, spec.rating["property"]))
            if score is not None:
                s.rating_sum += score
                s.rating_count += 1
                s.rating_scale = float(spec.rating.get("scale", 5))
                liked = score >= float(spec.rating.get("liked", s.rating_scale * 0.8))
        for parts, name in spec.facet_paths:
            found = get_parts(props, parts)
            if found is None:
                continue
            for v in facet_values(found):
                counter = facets.get(name)
                if counter is None:
                    counter = facets[name] = Counter()
                counter[v] += 1
                if liked:
                    liked_facets.setdefault(name, Counter())[v] += 1
        if spec.item:
            item = get_path(props, spec.item)
            if isinstance(item, str | int) and str(item).strip():
                s.items[str(item).strip()] += 1
                if liked:
                    s.liked_items[str(item).strip()] += 1
        if spec.value:
            amount = as_number(get_path(props, spec.value))
            if amount is not None:
                s.spend_total += amount
                s.spend_count += 1
                cur = get_path(props, spec.currency) if spec.currency else None
                if isinstance(cur, str) and cur:
                    currencies[cur] += 1
    s.event_count = len(events)
    s.first_event_at, s.last_event_at = first, last
    s.active_days = len(days)
    s.currency = currencies.most_common(1)[0][0] if currencies else None
    return s
