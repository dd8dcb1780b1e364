"""How event types read: labels, phrases, which properties are items, facets, money and ratings. The
bundled YAML (with its Spanish wording), extended by a deployment's own file; unknown types get a generic reading.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from profiles.wording import Wording

UNKNOWN_TYPES_KEPT = 4096  # specs of types the dictionary does not name, made once each (then emptied when full)


def _other_number(word: str) -> str:
    """The plural of a singular key and the singular of a plural one: genre / genres, category / categories."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("ss"):
        return word + "es"
    if word.endswith("s"):
        return word[:-1]
    return word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else word + "s"


@dataclass(frozen=True)
class EventSpec:
    type: str
    label: str
    text: str | None = None
    item: str | None = None
    facets: tuple[str, ...] = ()
    value: str | None = None
    currency: str | None = None
    rating: dict[str, Any] | None = None
    salience: int = 1
    # other ways a question says such an event ("visited the site" for a page view): read by questions only, never
    # rendered, so no part of the documents' layout key
    asked: tuple[str, ...] = field(default=(), repr=False, compare=False)
    # each facet as (path split once, the name it is counted under): summarise reads them for every event
    facet_paths: tuple[tuple[tuple[str, ...], str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # a facet's other number too, counted under the name given ("genre" where the dictionary says "genres"):
        # any deployment's events may use either, and a facet missed is a question that cannot be read
        twins = [(t, f) for f in self.facets if "." not in f for t in (_other_number(f),) if t not in self.facets]
        object.__setattr__(self, "facet_paths", tuple((tuple(f.split(".")), f.rsplit(".", 1)[-1])
                                                      for f in self.facets) + tuple(((t,), f) for t, f in twins))

    @property
    def said(self) -> str:
        """How one such event is said, its text up to the first detail ("bought", "opened a support ticket",
        "compró"), or "" when that is more than a short phrase: people ask "who bought something"."""
        head = re.split(r"[{\[\"(]", self.text or "", maxsplit=1)[0].strip()
        return head if len(head.split()) <= 4 else ""


class EventDictionary:
    """How event types read as text: the bundled YAML, extended by a user's file or dict."""

    def __init__(self, types: dict[str, dict[str, Any]], default_facets: list[str], wording: str = "en") -> None:
        self.default_facets = tuple(default_facets)
        self.words = Wording(wording)
        self._specs = {k: self._spec(k, v or {}) for k, v in types.items()}
        self._cache: dict[str, EventSpec] = {}
        # facets read from the data (profiles/facet_discovery.py), frozen with the population statistics: each
        # type's spec with them added, looked up first (the hot path stays one dictionary look-up a known type)
        self.learned: dict[str, dict[str, Any]] = {}
        self._effective: dict[str, EventSpec] = self._specs

    def _spec(self, etype: str, raw: dict[str, Any]) -> EventSpec:
        return EventSpec(
            type=etype,
            label=raw.get("label") or self.words("events_of", type=etype.replace("-", " ")),
            text=raw.get("text"),
            item=raw.get("item"),
            facets=tuple(raw.get("facets") or self.default_facets),
            value=raw.get("value"),
            currency=raw.get("currency"),
            rating=raw.get("rating"),
            salience=int(raw.get("salience", 1)),
            asked=tuple(str(a) for a in raw.get("asked") or () if isinstance(a, str)),
        )

    @classmethod
    def load(cls, extra: Path | str | dict[str, Any] | None = None, wording: str = "en") -> EventDictionary:
        """The bundled dictionary, its translation of labels and texts for `wording`, then the user's file."""
        text = resources.files("profiles").joinpath("event_dictionary.yaml").read_text(encoding="utf-8")
        base = yaml.safe_load(text)
        types: dict[str, dict[str, Any]] = {k: dict(v or {}) for k, v in (base.get("event_types") or {}).items()}
        facets = list(base.get("default_facets") or [])
        if wording != "en":
            name = f"event_dictionary.{wording}.yaml"
            translated = yaml.safe_load(resources.files("profiles").joinpath(name).read_text(encoding="utf-8"))
            for etype, words in (translated.get("event_types") or {}).items():
                types.setdefault(etype, {}).update(words or {})
        if extra is not None:
            more = extra if isinstance(extra, dict) else yaml.safe_load(Path(extra).read_text(encoding="utf-8"))
            types.update(more.get("event_types") or {})
            facets = list(more.get("default_facets") or facets)
        return cls(types, facets, wording)

    def knows(self, etype: str) -> bool:
        """Whether the dictionary names this type (else it renders generically)."""
        return etype in self._specs

    def learn(self, learned: Mapping[str, Mapping[str, Any]]) -> None:
        """Read what was learned from the data (profiles/facet_discovery.py) too, in place of anything learned
        before: per event type, more facets ({"facets": [paths]}), for a purchase the dictionary gives no value,
        its value and currency ({"value": path, "currency": path}), and for a rating it gives no score, where the
        score is ({"rating": {"property": key, "scale": n, "liked": n}})."""
        self.learned = {t: dict(v) for t, v in learned.items() if v}
        effective = dict(self._specs)
        for etype, more in self.learned.items():
            base = self._specs.get(etype) or self._spec(etype, {"salience": 1})
            paths = [str(p) for p in more.get("facets") or () if p not in base.facets]
            value = base.value or (str(more["value"]) if more.get("value") else None)
            currency = base.currency or (str(more["currency"]) if more.get("currency") and value else None)
            rating = base.rating or (dict(more["rating"]) if isinstance(more.get("rating"), Mapping) else None)
            effective[etype] = replace(base, facets=base.facets + tuple(paths), value=value, currency=currency,
                                       rating=rating)
        self._effective = effective

    def spec(self, etype: str) -> EventSpec:
        found = self._effective.get(etype)
        if found is not None:
            return found
        known = self._cache.get(etype)
        if known is None:  # unknown type: generic rendering, default facets
            if len(self._cache) >= UNKNOWN_TYPES_KEPT:  # anyone can send an event of a new type: bounded
                self._cache.clear()
            known = self._cache[etype] = self._spec(etype, {"salience": 1})
        return known
