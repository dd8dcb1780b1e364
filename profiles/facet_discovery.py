"""Facets read from the data: which event properties hold categories, whatever the deployment named them.

The bundled dictionary knows the usual names (`category`, `genres`, `topic`, ...), in English. A deployment
whose events say `categoria`, `genero`, `tema` or `marca` (a Spanish shop), or any name of its own, would have
no facets at all: no "frequent categories" in the documents, nothing in the payload's `top`, and no value a
question such as "compraron zapatos" could be read against. So the population sample a first sync freezes its
statistics from (profiles/population.py) is also read for properties that behave like categories:

- short labels (at most MAX_WORDS words, MAX_CHARS characters, not a number, mostly without digits: no SKUs,
  ids, dates or campaign codes), one per event or a short list;
- few distinct values (2 to MAX_DISTINCT), each said again and again (at least MIN_REPEATS events a value);
- at least two values held by MIN_HOLDERS profiles or more, so a few senders cannot make one;
- in at least MIN_EVENTS events of the type, and a label in nearly all of them (MIN_LABEL_SHARE).

A type keeps at most MAX_PER_TYPE of them, the most used first.

A purchase the dictionary does not know (`compra` with `importe`, `pedido` with `total`) would count no spend, no
lifetime value and no purchase for the purchase model ("only 0 positives"). So a type is read as a purchase when
its name says so in English or Spanish (purchase, order, checkout, payment, compra, pedido, pago, venta ...; not
a cancellation or a refund) and nearly all its events (MIN_LABEL_SHARE, at least MIN_EVENTS) hold a number, not
negative, under a money word (value, amount, total, importe, monto, precio ...): that property is its value, and
a three-letter code under `currency` / `moneda` / `divisa` its currency.

A rating the dictionary does not know (`valoracion-contenido` with `puntuacion`) would count no average rating and
no liked items, and "valoraron con 5 estrellas" could not be read. So a type is read as a rating when its name says
so (rating, review, score, valoracion, resena, puntuacion, calificacion ...) and nearly all its events hold a
number from 0 to 10 under a score word (rating, score, stars, puntuacion, valoracion, nota ...): that is its
score, on a scale of 5 where none is above 5, else 10.

The result is frozen with the population statistics, so every process and every later sync reads the same. Events are redacted before they get
here (contact details are never a category). One pass over the sample, bounded per event and per path:
anyone can send an event, with as many properties as they like.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from profiles.words import norm, split_camel

if TYPE_CHECKING:
    from profiles.dictionary import EventDictionary
    from profiles.model import Event

MAX_WORDS, MAX_CHARS = 4, 40
MAX_DISTINCT = 100
MIN_REPEATS = 3
MIN_HOLDERS = 5
MIN_EVENTS = 20
MIN_LABEL_SHARE = 0.9
MAX_DIGIT_SHARE = 0.5  # of the distinct values: "SKU-123", "newsletter-07", "2024-05-01" are no categories
MAX_PER_TYPE = 4
MAX_KEYS_READ = 32  # properties read per event (and per nested object)
MAX_PATHS = 64  # paths followed per event type
MAX_TYPES = 256  # event types followed
MAX_LIST = 8  # a list of labels ("tags": [...]) read up to this many
# keys that name an identifier, an address or a time, whatever their values look like
_NOT_A_CATEGORY = re.compile(r"(?:^|[_\-.\s])(?:id|ids|uuid|guid|sku|ean|upc|isbn|url|uri|href|link|path|referr?er|ip|"
                             r"token|hash|session|time|date|timestamp|created|updated)$|[a-z](?:Id|ID|Url|URL)$",
                             re.IGNORECASE)
_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?%?")


def _label(value: Any) -> str | None:
    """A short label ("zapatos", "ciencia ficción"), or None for anything else (numbers, long text)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > MAX_CHARS or len(text.split()) > MAX_WORDS or _NUMBER.fullmatch(text):
        return None
    return text


@dataclass
class _PathStats:
    events: int = 0  # events of the type holding the path
    labelled: int = 0  # of which with a label (or a list of labels)
    # value -> [profiles holding it, the last profile counted]; None once past MAX_DISTINCT (no category)
    values: dict[str, list[int]] | None = field(default_factory=dict)
    label_events: int = 0  # labels counted (a list counts each)


def _known(dictionary: EventDictionary, etype: str) -> set[str]:
    """The paths a type's spec already reads: its facets (either number), item, money and rating (those learned
    before are learned again)."""
    spec = dictionary.spec(etype)
    known = {".".join(parts) for parts, _ in spec.facet_paths} - set(dictionary.learned.get(etype, {}).get("facets", ()))
    known.update(p for p in (spec.item, spec.value, spec.currency) if p)
    if spec.rating:
        known.add(str(spec.rating.get("property", "")))
    return known


def _walk(props: dict[str, Any]) -> Iterable[tuple[str, Any]]:
    """(path, value) of an event's properties and of their objects one level down, bounded per object."""
    for n, (key, value) in enumerate(props.items()):
        if n >= MAX_KEYS_READ:
            return
        if not isinstance(key, str) or _NOT_A_CATEGORY.search(key):
            continue
        if isinstance(value, dict):
            for m, (sub, inner) in enumerate(value.items()):
                if m >= MAX_KEYS_READ:
                    break
                if isinstance(sub, str) and not isinstance(inner, dict | list) and not _NOT_A_CATEGORY.search(sub):
                    yield f"{key}.{sub}", inner
        else:
            yield key, value


def learn(histories: Sequence[Sequence[Event]], dictionary: EventDictionary) -> dict[str, dict[str, Any]]:
    """What `histories` (each a profile's redacted events) say about event types the dictionary does not: per
    type, {"facets": [paths]}, for a purchase {"value": path, "currency": path}, for a rating {"rating": {...}}."""
    out: dict[str, dict[str, Any]] = {t: {"facets": paths} for t, paths in learn_facets(histories, dictionary).items()}
    for etype, money in learn_money(histories, dictionary).items():
        out.setdefault(etype, {}).update(money)
    for etype, rating in learn_ratings(histories, dictionary).items():
        out.setdefault(etype, {})["rating"] = rating
    return out


def learn_facets(histories: Iterable[Sequence[Event]], dictionary: EventDictionary) -> dict[str, list[str]]:
    """Per event type, the property paths of `histories` (each a profile's redacted events) that read as categories
    and that the dictionary does not read already, the most used first."""
    stats: dict[str, dict[str, _PathStats]] = {}
    known: dict[str, set[str]] = {}
    for profile, events in enumerate(histories):
        for ev in events:
            by_path = stats.get(ev.type)
            if by_path is None:
                if len(stats) >= MAX_TYPES:
                    continue
                by_path = stats[ev.type] = {}
                known[ev.type] = _known(dictionary, ev.type)
            skip = known[ev.type]
            for path, value in _walk(ev.properties):
                if path in skip:
                    continue
                s = by_path.get(path)
                if s is None:
                    if len(by_path) >= MAX_PATHS:
                        continue
                    s = by_path[path] = _PathStats()
                s.events += 1
                if s.values is None:
                    continue
                labels = [x for x in (_label(v) for v in value[:MAX_LIST]) if x] if isinstance(value, list) \
                    else [x] if (x := _label(value)) else []
                if not labels:
                    continue
                s.labelled += 1
                s.label_events += len(labels)
                for label in labels:
                    held = s.values.get(label)
                    if held is None:
                        if len(s.values) >= MAX_DISTINCT:
                            s.values = None  # too many values: an identifier or free text, not a category
                            break
                        held = s.values[label] = [0, -1]
                    if held[1] != profile:
                        held[0] += 1
                        held[1] = profile
    out: dict[str, list[str]] = {}
    for etype, by_path in sorted(stats.items()):
        kept = sorted(((s.labelled, path) for path, s in by_path.items() if _is_category(s)), key=lambda x: (-x[0], x[1]))
        if kept:
            out[etype] = [path for _, path in kept[:MAX_PER_TYPE]]
    return out


def _is_category(s: _PathStats) -> bool:
    values = s.values
    if values is None or s.labelled < MIN_EVENTS or s.labelled < MIN_LABEL_SHARE * s.events or len(values) < 2:
        return False
    if s.label_events < MIN_REPEATS * len(values):
        return False
    if sum(1 for held, _ in values.values() if held >= MIN_HOLDERS) < 2:
        return False
    return sum(1 for v in values if any(c.isdigit() for c in v)) <= MAX_DIGIT_SHARE * len(values)


# what a purchase is called, in English and Spanish; and what undoes one
_PURCHASE_WORDS = frozenset({"purchase", "purchased", "purchases", "order", "orders", "ordered", "checkout", "buy",
                             "bought", "payment", "paid", "transaction", "sale", "sales", "invoice", "compra",
                             "compras", "comprado", "pedido", "pedidos", "pago", "pagos", "venta", "ventas",
                             "transaccion", "factura"})
_UNDONE_WORDS = frozenset({"cancel", "cancelled", "canceled", "cancellation", "refund", "refunded", "return",
                           "returned", "failed", "abandoned", "cancelado", "cancelada", "cancelacion", "reembolso",
                           "devolucion", "devuelto", "fallido", "abandonado", "anulado", "anulacion"})
# the money an event is worth, the first found in this order (a line's total before a unit price)
_MONEY_KEYS = ("value", "amount", "total", "revenue", "importe", "monto", "valor", "total_amount", "subtotal",
               "price", "precio")
_CURRENCY_KEYS = ("currency", "moneda", "divisa")


def _events_named(histories: Iterable[Sequence[Event]], named: Callable[[str, set[str]], bool]) -> Iterator[Event]:
    """The events whose type `named` accepts, asked once per type with the words of its name (`compra`,
    `valoracion-contenido`); at most MAX_TYPES types are asked (anyone can send an event of a new type)."""
    asked: dict[str, bool] = {}
    for events in histories:
        for ev in events:
            ok = asked.get(ev.type)
            if ok is None:
                if len(asked) >= MAX_TYPES:
                    continue
                ok = asked[ev.type] = named(ev.type, set(norm(split_camel(ev.type)).split()))
            if ok:
                yield ev


def learn_money(histories: Iterable[Sequence[Event]], dictionary: EventDictionary) -> dict[str, dict[str, str]]:
    """Per purchase type the dictionary gives no value: {"value": path, "currency": path (where one is said)}."""
    seen: dict[str, list[int]] = {}  # type -> [events, events with each money key...]
    currency: dict[str, Counter[str]] = {}

    def purchase(etype: str, words: set[str]) -> bool:
        return bool(words & _PURCHASE_WORDS) and not words & _UNDONE_WORDS and not dictionary.spec(etype).value

    for ev in _events_named(histories, purchase):
        counts = seen.setdefault(ev.type, [0] * (1 + len(_MONEY_KEYS)))
        counts[0] += 1
        props = ev.properties
        for k, key in enumerate(_MONEY_KEYS, 1):
            v = props.get(key)
            if isinstance(v, int | float) and not isinstance(v, bool) and v >= 0:
                counts[k] += 1
        for key in _CURRENCY_KEYS:
            c = props.get(key)
            if isinstance(c, str) and len(c.strip()) == 3 and c.strip().isalpha():
                currency.setdefault(ev.type, Counter())[key] += 1
    out: dict[str, dict[str, str]] = {}
    for etype, counts in sorted(seen.items()):
        if counts[0] < MIN_EVENTS:
            continue
        value = next((key for k, key in enumerate(_MONEY_KEYS, 1) if counts[k] >= MIN_LABEL_SHARE * counts[0]), None)
        if value is None:
            continue
        out[etype] = {"value": value}
        said = currency.get(etype, Counter()).most_common(1)
        if said and said[0][1] >= MIN_LABEL_SHARE * counts[0]:
            out[etype]["currency"] = said[0][0]
    return out


# what a rating is called, in English and Spanish; and the keys its score is under, the first found in this order
_RATING_WORDS = frozenset({"rating", "ratings", "rated", "rate", "review", "reviews", "reviewed", "score", "scored",
                           "stars", "valoracion", "valoraciones", "valorado", "valorada", "resena", "resenas",
                           "puntuacion", "puntuaciones", "calificacion", "calificaciones", "opinion", "opiniones"})
_SCORE_KEYS = ("rating", "score", "stars", "puntuacion", "valoracion", "calificacion", "nota", "estrellas", "puntos")
MAX_SCALE = 10


def learn_ratings(histories: Iterable[Sequence[Event]], dictionary: EventDictionary) -> dict[str, dict[str, Any]]:
    """Per rating type the dictionary gives no rating (`valoracion-contenido` with `puntuacion`: its name says a
    rating, and nearly all its events hold a number from 0 to 10 under a score word): {"property": key, "scale": 5
    or 10, "liked": 4 or 8}, so averages, liked items and "rated a movie 5 stars" read it as the dictionary's own."""
    seen: dict[str, list[int]] = {}  # type -> [events, events with a score under each key...]
    top: dict[str, list[float]] = {}  # type -> the highest score under each key

    def rating(etype: str, words: set[str]) -> bool:
        return bool(words & _RATING_WORDS) and not dictionary.spec(etype).rating

    for ev in _events_named(histories, rating):
        counts = seen.setdefault(ev.type, [0] * (1 + len(_SCORE_KEYS)))
        highest = top.setdefault(ev.type, [0.0] * len(_SCORE_KEYS))
        counts[0] += 1
        for k, key in enumerate(_SCORE_KEYS):
            v = ev.properties.get(key)
            if isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= MAX_SCALE:
                counts[k + 1] += 1
                highest[k] = max(highest[k], float(v))
    out: dict[str, dict[str, Any]] = {}
    for etype, counts in sorted(seen.items()):
        at = next((k for k in range(len(_SCORE_KEYS)) if counts[0] >= MIN_EVENTS
                   and counts[k + 1] >= MIN_LABEL_SHARE * counts[0]), None)
        if at is not None:
            scale = 5 if top[etype][at] <= 5 else MAX_SCALE
            out[etype] = {"property": _SCORE_KEYS[at], "scale": scale, "liked": 4 if scale == 5 else 8}
    return out
