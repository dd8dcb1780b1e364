"""Profile -> document text: what the embedding model reads, and what "why it matched" quotes.

A document summarises the whole history first (favourite and most frequent categories with shares, the
traits that describe the person, activity counts, tenure, spend), then quotes the most recent and the most
salient events, and stops near the model's token window. It is deterministic (same profile, same text,
same hash) and free of contact details and identifiers (see redaction.py). Dates are written as month and
year so that no digit run can be mistaken for (or hide) a phone number.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from embeddings.redaction import Redactor
from profiles.aggregates import ProfileSummary, summarise
from profiles.dictionary import EventDictionary
from profiles.facet_discovery import learn
from profiles.model import Event, Profile, ProfileWithEvents
from profiles.paths import as_number, flatten, get_path
from profiles.population import FacetPopulation
from profiles.words import as_flag, split_camel

DOCUMENT_VERSION = "doc-v5"  # bump when the text layout changes: every profile is re-embedded
_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.\-]+)\}")
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")


@dataclass
class ProfileDocument:
    profile_id: str
    text: str
    content_hash: str
    summary: ProfileSummary
    lines: list[str] = field(default_factory=list)
    # the redacted parts the payload, the features and the event log are made of: each value is cleaned once
    traits: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    event_properties: list[dict[str, Any]] = field(default_factory=list)  # in the order of the item's events


def _pct(x: float) -> str:
    return f"{round(x * 100)}%"


def _scalar(value: Any, yes_no: tuple[str, str] = ("yes", "no")) -> str | None:
    if isinstance(value, bool):
        return yes_no[0] if value else yes_no[1]
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, str):
        value = " ".join(value.split())
        return value[:60] if value else None
    if isinstance(value, list):
        items = [s for s in (_scalar(v, yes_no) for v in value[:5]) if s]
        return ", ".join(items) if items else None
    return None


TRAIT_FACTS = 24  # traits written per document (the whole document still stops near max_words)
def _humanise(path: str) -> str:
    """`favouriteGenre`, `StreamingTV` and `favourite_genre.name` read as words ("streaming TV")."""
    words = split_camel(path).replace("_", " ").replace("-", " ").replace(".", " ").split()
    return " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in words)


class DocumentBuilder:
    def __init__(self, dictionary: EventDictionary | None = None, redactor: Redactor | None = None,
                 max_words: int = 150, recent_events: int = 5, salient_events: int = 3,
                 population: FacetPopulation | None = None) -> None:
        self.dictionary = dictionary or EventDictionary.load()
        self.words = self.dictionary.words  # the dictionary's language is the documents' language
        self._yes_no = (self.words("yes"), self.words("no"))
        self.redactor = redactor or Redactor()
        self.max_words = max_words
        self.recent_events = recent_events
        self.salient_events = salient_events
        # Anything that changes the text for the same profile: part of every profile's sync fingerprint.
        config = repr((DOCUMENT_VERSION, self.words.lang, sorted(self.dictionary._specs.items()),
                       [s.facet_paths for _, s in sorted(self.dictionary._specs.items())],
                       self.dictionary.default_facets,
                       self.redactor.allow, max_words, recent_events, salient_events))
        self.layout_key = hashlib.sha256(config.encode()).hexdigest()[:16]
        # what is usual in the population (profiles/population.py): frozen, and part of the key, so new
        # statistics re-render every profile and re-embed the ones whose text they change
        self._population: FacetPopulation | None = None
        self.population = population

    @property
    def population(self) -> FacetPopulation | None:
        return self._population

    @population.setter
    def population(self, population: FacetPopulation | None) -> None:
        """The frozen statistics, and the facets frozen with them read from now on (none without them)."""
        self.dictionary.learn(population.learned if population is not None else {})
        self._population = population

    @property
    def config_key(self) -> str:
        return f"{self.layout_key}+{self.population.version}" if self.population else self.layout_key

    def population_of(self, items: list[ProfileWithEvents]) -> FacetPopulation:
        """Population statistics from these profiles, read exactly as documents read them (events cleaned), with
        what these profiles' events say under names the dictionary does not know (facets such as `categoria`, a
        purchase's value such as `importe`)."""
        histories = [[self.redacted(e) for e in i.events] for i in items]
        learned = learn(histories, self.dictionary)
        previous = self.dictionary.learned
        self.dictionary.learn(learned)
        try:
            return FacetPopulation.from_summaries((summarise(h, self.dictionary) for h in histories), learned=learned)
        finally:
            self.dictionary.learn(previous)  # the statistics' setter applies what is kept (another sync may win)

    # -- one event as a phrase
    def render_event(self, ev: Event) -> str:
        """One event as a phrase; `ev` is expected cleaned (see `redacted`), cleaning twice changes nothing."""
        spec = self.dictionary.spec(ev.type)
        props = ev.properties
        if spec.text:
            def fill(part: str) -> str:
                missing = False

                def sub(m: re.Match[str]) -> str:
                    nonlocal missing
                    val = _scalar(get_path(props, m.group(1)), self._yes_no)
                    if val is None:
                        missing = True
                        return ""
                    return val

                rendered = _PLACEHOLDER.sub(sub, part)
                return "" if missing else rendered

            optional = _OPTIONAL.sub(lambda m: fill(m.group(1)), spec.text)
            text = fill(optional)
            if not text:  # a required placeholder is missing: say what we know
                text = self._generic(ev.type, props, self._yes_no)
        else:
            text = self._generic(ev.type, props, self._yes_no)
        return " ".join(text.split())

    @staticmethod
    def _generic(etype: str, props: dict[str, Any], yes_no: tuple[str, str]) -> str:
        parts = []
        for path, value in flatten(props)[:4]:
            val = _scalar(value, yes_no)
            if val:
                parts.append(f"{_humanise(path)}: {val}")
        name = etype.replace("-", " ").replace("_", " ")
        return f"{name} ({'; '.join(parts)})" if parts else name

    def redacted(self, ev: Event) -> Event:
        return self._with_properties(ev, self.redactor.clean(ev.properties) or {})

    @staticmethod
    def _with_properties(ev: Event, properties: dict[str, Any]) -> Event:
        if properties == ev.properties:  # nothing was redacted (most events): no copy of the event
            return ev
        return ev.model_copy(update={"properties": properties})

    # -- the whole profile
    def build(self, item: ProfileWithEvents) -> ProfileDocument:
        profile = item.profile
        # same history, same text, whatever the order; redacted BEFORE anything is counted, so free text and
        # contact details never become facets, items or quoted events
        cleaned = [self.redactor.clean(e.properties) or {} for e in item.events]
        order = sorted(range(len(item.events)), key=lambda i: (item.events[i].time, item.events[i].id))
        events = [self._with_properties(item.events[i], cleaned[i]) for i in order]
        traits = self.redactor.clean(profile.traits) or {}
        data = self.redactor.describing_data(profile.data)
        summary = summarise(events, self.dictionary)
        lines = [ln for ln in (self._facet_lines(summary) + [self._about(profile, traits, data), self._activity(summary),
                 self._spend(summary), self._items(summary)] + self._events(events)) if ln]
        kept: list[str] = []
        words = 0
        for line in lines:
            n = len(line.split())
            if words + n > self.max_words:
                if not kept:  # at least one (cut) line
                    kept.append(" ".join(line.split()[: self.max_words]))
                break
            kept.append(line)
            words += n
        if not kept:
            kept = [self.words("empty")]
        text = self.redactor.scrub_text("\n".join(kept))
        digest = hashlib.sha256(f"{DOCUMENT_VERSION}\n{text}".encode()).hexdigest()
        return ProfileDocument(profile.id, text, digest, summary, text.split("\n"), traits, data, cleaned)

    def _facet_lines(self, s: ProfileSummary) -> list[str]:
        out = []
        names = sorted(set(s.facets), key=lambda n: (-sum(s.facets[n].values()), n))[:3]
        for name in names:
            liked = s.top_facet(name, 5, liked=True)
            if liked and sum(s.liked_facets[name].values()) >= 3:
                out.append(self.words("favourite", name=_humanise(name),
                                      values=", ".join(f"{v} {_pct(p)}" for v, p in liked)))
            top = s.top_facet(name, 5)
            if top:
                out.append(self.words("frequent", name=_humanise(name),
                                      values=", ".join(f"{v} {_pct(p)}" for v, p in top)))
            # the long tail: interests that are real (3+ events) but never make a top five, so that a rare
            # interest ("documentaries") is still in the text a question about it is matched against
            counter = s.liked_facets.get(name) if liked else s.facets.get(name)
            shown = {v for v, _ in liked} | {v for v, _ in top}
            tail = sorted(((n, v) for v, n in (counter or {}).items() if n >= 3 and v not in shown),
                          key=lambda x: (-x[0], x[1]))[:5]
            if tail:
                out.append(self.words("also", name=_humanise(name), values=", ".join(v for _, v in tail)))
        if self.population is not None:  # what sets this profile apart, rare interests included
            apart: dict[str, list[str]] = {}
            for name, value in self.population.distinctive(s):
                apart.setdefault(name, []).append(value)
            out.extend(self.words("distinctive", name=_humanise(name), values=", ".join(values))
                       for name, values in apart.items())
        return out

    def _about(self, profile: Profile, traits: dict[str, Any], described: dict[str, Any]) -> str:
        facts: list[str] = []
        for path, value in flatten(described):
            val = _scalar(value, self._yes_no)
            if val:
                last = path.rsplit(".", 1)[-1]
                facts.append(val if last in ("gender", "position") else f"{_humanise(last)} {val}")
        facts.extend(self._trait_facts(flatten(traits)))
        interests = self.redactor.clean(profile.interests) or {}
        if interests:
            facts.append(self.words("interests", values=", ".join(sorted(map(str, interests))[:5])))
        if profile.segments:
            facts.append(self.words("segments", values=", ".join(sorted(profile.segments)[:5])))
        return self.words("about", facts="; ".join(facts)) if facts else ""

    def _trait_facts(self, leaves: list[tuple[str, Any]]) -> list[str]:
        """Traits as facts, within a budget that no key order decides: a true flag is written as the fact itself
        ("senior citizen"), a false one not at all (an embedding cannot tell "senior citizen no" from "... yes");
        short categories and flags come first, then numbers, then long text."""
        ranked: list[tuple[int, int, str]] = []
        for i, (path, value) in enumerate(leaves):
            flag = as_flag(value)
            if flag is False:
                continue
            name = _humanise(path)
            if flag is True:
                ranked.append((0, i, name))
                continue
            val = _scalar(value, self._yes_no)
            if not val:
                continue
            kind = 2 if isinstance(value, int | float) else 3 if len(val) > 30 else 1
            ranked.append((min(kind, 2) if kind != 3 else 3, i, f"{name} {val}"))
        return [fact for _, _, fact in sorted(ranked)[:TRAIT_FACTS]]

    def _activity(self, s: ProfileSummary) -> str:
        if not s.event_count:
            return self.words("no_events")
        kinds = ", ".join(f"{n} {self.dictionary.spec(t).label}" for t, n in
                          sorted(s.counts_by_type.items(), key=lambda kv: (-kv[1], kv[0]))[:5])
        w = self.words
        text = w("activity", n=s.event_count, first=w.month(s.first_event_at), last=w.month(s.last_event_at),
                 days=s.active_days, kinds=kinds)
        if s.rating_mean is not None:
            text += w("rating", mean=w.number(s.rating_mean), scale=f"{s.rating_scale:g}")
        return text

    def _spend(self, s: ProfileSummary) -> str:
        if not s.spend_count:
            return ""
        cur = f" {s.currency}" if s.currency else ""
        w = self.words
        return w("spend", n=s.spend_count, total=w.money(s.spend_total), mean=w.money(s.spend_total / s.spend_count),
                 cur=cur)

    def _items(self, s: ProfileSummary) -> str:
        if s.liked_items:
            top = [v for v, _ in sorted(s.liked_items.items(), key=lambda kv: (-kv[1], kv[0]))[:5]]
            return self.words("liked", values="; ".join(top))
        if s.items and max(s.items.values()) > 1:
            top = [v for v, n in sorted(s.items.items(), key=lambda kv: (-kv[1], kv[0]))[:5] if n > 1]
            return self.words("often", values="; ".join(top))
        return ""

    def _events(self, events: list[Event]) -> list[str]:
        if not events:
            return []
        recent = events[-self.recent_events:][::-1]
        chosen = {e.id for e in recent}

        def salience(ev: Event) -> tuple[float, Any, str]:
            spec = self.dictionary.spec(ev.type)
            score = float(spec.salience)
            if spec.rating:
                r = as_number(get_path(ev.properties, spec.rating["property"]))
                if r is not None:
                    score += r / float(spec.rating.get("scale", 5))
            if spec.value:
                v = as_number(get_path(ev.properties, spec.value))
                if v is not None:
                    score += min(v, 10_000) / 10_000
            return (score, ev.time, ev.id)

        salient = [e for e in sorted(events, key=salience, reverse=True) if e.id not in chosen][: self.salient_events]
        # no per-event dates: repeated month names made "when" outweigh "what" in the vector (profiles clustered
        # by the month they were active in); the activity line keeps the time span
        out = [self.words("recently", values="; ".join(self.render_event(e) for e in recent))]
        if salient:
            out.append(self.words("notable", values="; ".join(self.render_event(e) for e in salient)))
        return out
