"""Query understanding without an LLM: the parts of a question that name traits become filters.

The vocabulary is the synced data's own (gathered from index payloads, cached until the next sync): the
values of categorical traits ("Two year", "student", "female"), flags (`SeniorCitizen: true`,
`StreamingTV: "Yes"`), and numeric traits (age, tenure). A small lexicon adds relative words ("young",
"jóvenes", "big spenders") and comparisons ("over 100", "más de 30"). Everything else stays semantic. The
answer says what was understood, and a request can turn it off (`understand: false`).

Matching is on normalised words (lower case, accents folded, hyphens as spaces, a plural "s"/"es" tolerated),
whole words only, so "female" never matches "male". A phrase that is a value of several fields is given to the
field whose name the question also mentions, else to the most common one.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from embeddings.index import Condition
from profiles.paths import flatten_addressable, last_key
from profiles.words import NO_WORDS, YES_WORDS, fold, split_camel

log = logging.getLogger(__name__)
MAX_DISTINCT = 60  # a field with more distinct values than this is not categorical (names, free text)
_GENERIC_KEY_WORDS = frozenset({"service", "services", "flag", "status", "enabled", "is", "has", "type", "level"})
_STOP_VALUES = frozenset({"yes", "no", "true", "false", "none", "other", "others", "unknown", "n a", "na", "si",
                          "sí", "otro", "otra", "ninguno", "ninguna", "desconocido", "all", "any"})
_YES = YES_WORDS | {"1"}  # values are read after norm(): "sí" arrives as "si"
_NO = NO_WORDS | {"0"}
_NEGATIONS = ("without", "no", "not", "non", "except", "excluding", "sin", "ningun", "ninguna", "excepto", "salvo")
# small words that may stand between a negation and what it negates: "not on a two-year contract", "sin el plan"
_BETWEEN = frozenset({"a", "an", "the", "on", "in", "with", "of", "any", "un", "una", "el", "la", "los", "las", "en",
                      "con", "de", "del", "al"})


def negation_start(q: str, start: int, key: str = "") -> int | None:
    """Where the negation of the phrase starting at `start` begins ("not on a <phrase>", "sin la tarifa
    <phrase>", where `key` is the field's own name), or None."""
    words = q[:start].split()
    between = _BETWEEN | set(key.split())
    skipped = 0
    while words and words[-1] in between and skipped < 4:
        words.pop()
        skipped += 1
    if not words or words[-1] not in _NEGATIONS:
        return None
    return len(" ".join(words[:-1])) + (1 if len(words) > 1 else 0)
# relative words -> (which numeric field, by its key words; the range)
LEXICON: dict[str, tuple[tuple[str, ...], dict[str, float]]] = {
    "young": (("age", "edad"), {"lte": 30}), "younger": (("age", "edad"), {"lte": 30}),
    "joven": (("age", "edad"), {"lte": 30}), "jovenes": (("age", "edad"), {"lte": 30}),
    "elderly": (("age", "edad"), {"gte": 60}), "older": (("age", "edad"), {"gte": 60}),
    "mayores": (("age", "edad"), {"gte": 60}), "ancianos": (("age", "edad"), {"gte": 60}),
    "teenagers": (("age", "edad"), {"lte": 19}), "adolescentes": (("age", "edad"), {"lte": 19}),
}
_PAYLOAD_NUMBERS = {"spend_total": ("spent", "spend", "spending", "gastaron", "gasto", "gastado"),
                    "event_count": ("events", "eventos", "actions"), "purchases": ("purchases", "compras", "orders"),
                    "active_days": ("active days", "dias activos")}
_COMPARE = re.compile(r"\b(over|more than|above|at least|greater than|mas de|mayores de|mayor de|por encima de|"
                      r"under|less than|below|at most|fewer than|menos de|menores de|menor de|por debajo de)\s+"
                      r"(\d+(?:[.,]\d+)?)\b")
_LOWER = {"under", "less than", "below", "at most", "fewer than", "menos de", "menores de", "menor de",
          "por debajo de"}


def norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", fold(str(text)).lower()))


_LEVEL = re.compile(r"^\s*\d{1,2}\s*[.)]\s+")  # "2. Married", "1) Yes": an ordered level's number is not a word


def norm_value(value: str) -> str:
    return norm(_LEVEL.sub("", str(value)))


def _key_phrase(path: str) -> str:
    return norm(split_camel(last_key(path)))


def _pattern(phrase: str, abbreviations: int = 0) -> re.Pattern[str]:
    """Whole words, a plural tolerated; with `abbreviations=N`, a last word of N to 4 letters ("ins", "tel",
    "grad") also matches the longer words it abbreviates ("insurance", "telephone", "graduates"). Values use
    4 only: a 3-letter value ("Pro") would otherwise match "products"."""
    words = phrase.split()
    if abbreviations and abbreviations <= len(words[-1]) <= 4 and not words[-1].isdigit():
        body = r"\s+".join(re.escape(w) for w in words)
        return re.compile(r"\b" + body + r"[a-z]*\b")
    body = r"\s+".join(re.escape(w) for w in words[:-1])
    tail = words[-1]
    last = (re.escape(tail[:-1]) + r"(?:y|ies)") if tail.endswith("y") and len(tail) > 3 else \
        re.escape(tail) + r"(?:s|es)?"
    return re.compile(r"\b" + (body + r"\s+" if body else "") + last + r"\b")


@dataclass
class Vocabulary:
    values: list[tuple[re.Pattern[str], str, str, Any, int]] = field(default_factory=list)  # pattern, phrase, path, value, n
    flags: list[tuple[re.Pattern[str], str, str, Any, Any]] = field(default_factory=list)  # pattern, phrase, path, yes, no
    numbers: dict[str, str] = field(default_factory=dict)  # key phrase -> path

    @property
    def empty(self) -> bool:
        return not (self.values or self.flags or self.numbers)

    def field_kinds(self, limit: int = 64) -> dict[str, str]:
        """The payload index each field a question can filter on needs (keyword, integer, float, bool)."""
        kinds: dict[str, str] = {}
        for path in self.numbers.values():
            kinds[path] = "float"
        for _, _, path, yes, no in self.flags:
            sample = yes if yes is not None else no
            kinds.setdefault(path, "bool" if isinstance(sample, bool) else "integer" if isinstance(sample, int)
                             else "keyword")
        for _, _, path, _, _ in self.values:
            kinds.setdefault(path, "keyword")
        return dict(sorted(kinds.items())[:limit])


def build_vocabulary(payloads: Iterable[dict[str, Any]]) -> Vocabulary:
    """From index payloads (their `traits` and `data`): categorical values, flags and numeric fields."""
    seen: dict[str, Counter[Any]] = defaultdict(Counter)
    unaddressable: set[str] = set()
    for p in payloads:
        for root in ("traits", "data"):
            leaves, skipped = flatten_addressable(p.get(root) or {}, root)
            if skipped and len(unaddressable) < 100:
                unaddressable.update(skipped[:10])
            for path, value in leaves:
                if isinstance(value, bool | int | float | str) and str(value).strip():
                    seen[path][value] += 1
    if unaddressable:  # a key holding a quote cannot be named in an index path: understood by meaning only
        log.warning("query understanding leaves out %d field(s) whose keys no index path can name, e.g. %r",
                    len(unaddressable), sorted(unaddressable)[0][:80])
    vocab = Vocabulary()
    for path, counts in sorted(seen.items()):
        yes: Any = next((v for v in counts if v is True or (isinstance(v, str) and norm_value(v) in _YES)), None)
        no: Any = next((v for v in counts if v is False or (isinstance(v, str) and norm_value(v) in _NO)), None)
        numeric = [v for v in counts if isinstance(v, int | float) and not isinstance(v, bool)]
        if numeric and set(numeric) <= {0, 1} and len(counts) <= 2:  # 0/1-coded flag
            yes, no = (1 if 1 in counts else None), (0 if 0 in counts else None)
        key = _key_phrase(path)
        if key and (yes is not None or no is not None):
            vocab.flags.append((_pattern(key, abbreviations=3), key, path, yes, no))
        if numeric and len(numeric) >= 0.8 * len(counts) and not (set(numeric) <= {0, 1}) and key:
            vocab.numbers[key] = path
            continue
        if len(counts) > MAX_DISTINCT:
            continue
        for value, n in counts.items():
            if not isinstance(value, str):
                continue
            phrase = norm_value(value)
            if len(phrase) < 3 or phrase in _STOP_VALUES or phrase.isdigit():
                continue
            vocab.values.append((_pattern(phrase, abbreviations=4), phrase, path, value, n))
    vocab.values.sort(key=lambda v: -len(v[1]))  # longest phrase first: "two year" before "year"
    return vocab


@dataclass
class Understanding:
    conditions: list[Condition]
    filters: list[str]  # the conditions, as the user could have written them
    semantic: str  # what is left of the question for meaning

    def as_dict(self) -> dict[str, Any]:
        return {"filters": self.filters, "semantic": self.semantic}


def _range_text(path: str, bounds: dict[str, float]) -> str:
    ops = {"gte": ">=", "gt": ">", "lte": "<=", "lt": "<"}
    return ", ".join(f"{path}{ops[k]}{v:g}" for k, v in bounds.items())


def understand(query: str, vocab: Vocabulary) -> Understanding:
    q = norm(query)
    taken: list[tuple[int, int]] = []
    conditions: list[Condition] = []
    filters: list[str] = []
    used_paths: set[str] = set()

    def free(span: tuple[int, int]) -> bool:
        return all(span[1] <= a or span[0] >= b for a, b in taken)

    def add(path: str, condition: Condition, text: str, span: tuple[int, int]) -> None:
        if path in used_paths:
            return
        used_paths.add(path)
        taken.append(span)
        conditions.append(condition)
        filters.append(text)

    # comparisons: "spent over 100", "aged over 40", "tenure under 12"
    for m in _COMPARE.finditer(q):
        before = q[:m.start()].split()[-3:]
        value = float(m.group(2).replace(",", "."))
        op = ("lt" if m.group(1) in _LOWER else "gt")
        target = None
        for path, words in _PAYLOAD_NUMBERS.items():
            if any(w in " ".join(before) for w in words):
                target = path
        for key, path in vocab.numbers.items():
            if key and key in " ".join(before) or (key in ("age", "edad") and any(
                    w in before for w in ("aged", "age", "edad", "older", "younger", "mayores", "menores"))):
                target = path
        age = next((vocab.numbers[k] for k in ("age", "edad") if k in vocab.numbers), None)
        if target is None and age and 10 <= value <= 110:
            target = age  # "customers over 60": a bare number in the range of ages is an age
        if target:
            add(target, Condition(target, "range", {op: value}), _range_text(target, {op: value}), m.span())
    # relative words: "young", "jóvenes"
    for word, (keys, bounds) in LEXICON.items():
        said = re.search(rf"\b{word}\b", q)
        age_path = next((vocab.numbers[k] for k in keys if k in vocab.numbers), None)
        if said and age_path and free(said.span()):
            add(age_path, Condition(age_path, "range", dict(bounds)), _range_text(age_path, dict(bounds)), said.span())
    # flags, negated or not: "senior citizens", "without internet", "sin permanencia"
    for pattern, phrase, path, yes, no in vocab.flags:
        flag = pattern.search(q)
        if flag is None:
            core = " ".join(w for w in phrase.split() if w not in _GENERIC_KEY_WORDS)
            flag = _pattern(core).search(q) if core and core != phrase else None
        if flag is None or not free(flag.span()):
            continue
        negated = negation_start(q, flag.start())
        value = no if negated is not None else yes
        if value is None:
            continue
        start = negated if negated is not None else flag.start()  # "without" is part of what was read
        add(path, Condition(path, "eq", value), f"{path}={value}", (start, flag.end()))
    # categorical values: "two-year contract", "students", "female"
    by_phrase: dict[str, list[tuple[re.Pattern[str], str, Any, int]]] = defaultdict(list)
    for pattern, phrase, path, value, n in vocab.values:
        by_phrase[phrase].append((pattern, path, value, n))
    for _phrase, options in sorted(by_phrase.items(), key=lambda kv: -len(kv[0])):
        found = options[0][0].search(q)
        if found is None or not free(found.span()):
            continue
        named = [o for o in options if _key_phrase(o[1]) and _key_phrase(o[1]) in q]
        _, field_path, field_value, _ = max(named or options, key=lambda o: o[3])
        negated = negation_start(q, found.start(), _key_phrase(field_path))
        if negated is not None:  # "not on a month-to-month contract": set, and another value
            add(field_path, Condition(field_path, "ne", field_value), f"{field_path}!={field_value}",
                (negated, found.end()))
        else:
            add(field_path, Condition(field_path, "eq", field_value), f"{field_path}={field_value}", found.span())
    rest = q
    for a, b in sorted(taken, reverse=True):
        rest = rest[:a] + " " + rest[b:]
    return Understanding(conditions, filters, " ".join(rest.split()))
