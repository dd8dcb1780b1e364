"""What is usual in the population, so that a document can say what sets one profile apart.

For every facet (genre, category, topic, ...) the population share of each value is the mean, over the
profiles that have the facet, of that value's share of the profile's own facet events: a profile-weighted
average, so a few heavy users do not decide what is "usual". A profile's value is distinctive when its own
share is at least `MIN_LIFT` times the population's and it rests on at least `MIN_EVENTS` events; the most
distinctive come first (share x log lift: the value's contribution to how far the profile is from the
population).

Statistics are computed once from a sample of profiles and then frozen (stored with the document version),
so the same profile always gives the same text; new statistics change the texts they touch, and the content
hash re-embeds exactly those. A value held by fewer than `MIN_PROFILES` sampled profiles is not kept: it says
more about a few people than about the population.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from profiles.aggregates import ProfileSummary

MIN_PROFILES = 5
MIN_LIFT = 2.0
MIN_EVENTS = 3
MAX_VALUES = 500  # per facet: the most common values are kept, rarer ones are not judged


def facet_counts(summary: ProfileSummary, name: str) -> Counter[str]:
    """The events a profile's interest in a facet is read from: what it liked when it rated enough (3+), else
    everything it did (the same choice as the document's "favourite" line)."""
    liked = summary.liked_facets.get(name)
    if liked and sum(liked.values()) >= 3:
        return liked
    return summary.facets.get(name) or Counter()


@dataclass(frozen=True)
class FacetPopulation:
    shares: dict[str, dict[str, float]]  # facet -> value -> mean share among profiles with the facet
    profiles: int  # how many profiles the statistics were taken from
    # what was read from the same sample about event types (profiles/facet_discovery.py: type -> {"facets": [...],
    # "value": ..., "currency": ...}); frozen with the statistics so that every process reads the same
    learned: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_summaries(cls, summaries: Iterable[ProfileSummary], min_profiles: int = MIN_PROFILES,
                       learned: dict[str, dict[str, Any]] | None = None) -> FacetPopulation:
        sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        holders: dict[str, Counter[str]] = defaultdict(Counter)
        with_facet: Counter[str] = Counter()
        n = 0
        for s in summaries:
            n += 1
            for name in s.facets:
                counts = facet_counts(s, name)
                total = sum(counts.values())
                if not total:
                    continue
                with_facet[name] += 1
                for value, c in counts.items():
                    sums[name][value] += c / total
                    holders[name][value] += 1
        shares: dict[str, dict[str, float]] = {}
        for name, values in sorted(sums.items()):
            kept = [(v, share) for v, share in values.items() if holders[name][v] >= min_profiles]
            kept.sort(key=lambda vt: (-vt[1], vt[0]))
            if kept:
                shares[name] = {v: round(share / with_facet[name], 6) for v, share in kept[:MAX_VALUES]}
        return cls(shares, n, dict(learned or {}))

    @property
    def version(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:12]

    def to_json(self) -> str:
        # "learned" only where there is some: statistics frozen before it existed keep their version
        extra = {"learned": self.learned} if self.learned else {}
        return orjson.dumps({"shares": self.shares, "profiles": self.profiles, **extra},
                            option=orjson.OPT_SORT_KEYS).decode()

    @classmethod
    def from_json(cls, text: str) -> FacetPopulation:
        data: dict[str, Any] = orjson.loads(text)
        learned = data.get("learned")
        learned = learned if isinstance(learned, dict) else {}
        return cls({str(k): {str(v): float(s) for v, s in vals.items()} for k, vals in data["shares"].items()},
                   int(data["profiles"]), {str(t): dict(v) for t, v in learned.items() if isinstance(v, dict)})

    def distinctive(self, summary: ProfileSummary, n: int = 5) -> list[tuple[str, str]]:
        """(facet, value) pairs where this profile is far above the population, most distinctive first."""
        found: list[tuple[float, str, str]] = []
        for name in summary.facets:
            usual = self.shares.get(name)
            counts = facet_counts(summary, name)
            total = sum(counts.values())
            if not usual or not total:
                continue
            for value, c in counts.items():
                q = usual.get(value)
                p = c / total
                if q is None or c < MIN_EVENTS or p < MIN_LIFT * q:
                    continue
                found.append((p * math.log(p / q), name, value))
        found.sort(key=lambda x: (-x[0], x[1], x[2]))
        return [(name, value) for _, name, value in found[:n]]
