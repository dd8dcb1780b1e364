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
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, NamedTuple, cast

import numpy as np

from app.search.codes import COUNTRY_KEYS, LANGUAGE_KEYS, code_names, countries_named
from app.search.meaning_match import (
    DISTINCT,
    FILLER,
    MAX_CONTEXT,
    NEGATION_WORDS,
    Lexicon,
    PhraseEncoder,
    build_lexicon,
)
from app.search.spelling import spelled_like
from app.search.units import (
    MONEY_VERBS,
    TIME_UNITS,
    FieldUnit,
    QuestionUnit,
    convert,
    field_unit,
    parse_number,
    question_unit,
)
from embeddings.index import Condition
from profiles.paths import flatten_addressable, last_key
from profiles.words import (
    NO_WORDS,
    SPANISH_FIELD_WORDS,
    SYNONYMS,
    YES_WORDS,
    fold,
    norm,
    number_forms,
    split_camel,
)

log = logging.getLogger(__name__)
MAX_DISTINCT = 60  # a field with more distinct values than this is not categorical (names, free text)
MAX_SPELLINGS = 8  # ways one value of what events are about is written ("Sci-Fi", "sci-fi"), kept for the event log
MAX_CODES = 300  # ... unless every value is a country or language code (there are 249 countries)
# the activity dates every profile's payload holds, by the name a question gives them: "active in the last month"
# (our own fields, so their names are ours to give, in both languages)
ACTIVITY_DATES = {"last_seen": ("last active", "active", "activos", "activas", "ultima actividad", "last activity"),
                  "first_seen": ("first seen", "joined", "signed up", "registered", "se unieron", "se registraron",
                                 "registrados", "registradas", "se dieron de alta", "dados de alta", "dadas de alta",
                                 "primera actividad", "first activity", "new customers", "new clients", "new users",
                                 "new members", "clientes nuevos", "nuevos clientes", "clientas nuevas",
                                 "nuevas clientas", "usuarios nuevos", "nuevos usuarios", "socios nuevos",
                                 "nuevos socios", "are new", "were new", "son nuevos", "son nuevas")}
# "inactive customers", no window said: no activity in the 90 days before the data's latest (a common CRM reading;
# "inactive in the last 6 months" says its own window)
INACTIVE_DAYS = 90
_INACTIVE = re.compile(r"\b(?:inactive|inactivos|inactivas|inactivo|inactiva|dormant|lapsed|"
                       # "haven't come back (in 6 months)", "no han vuelto (desde hace 6 meses)"; not "no han vuelto a
                       # comprar", which is the purchases'
                       r"(?:have|has|had|did)\s+not\s+(?:come\s+back|been\s+back|returned|return)|"
                       r"no\s+(?:han\s+|ha\s+)?(?:vuelto|regresado|volvieron|regresaron)(?!\s+a\s))\b")
_INACTIVE_LINK = frozenset({"in", "for", "since", "during", "en", "desde", "durante"})
_ACTIVE = re.compile(r"\b(?:active|activos|activas|activo|activa)\b")  # "active customers": the same window
# "new customers", no window said: first seen in the 30 days before the data's latest ("new customers this year"
# says its own window)
NEW_DAYS = 30
_NEW = re.compile(r"\bnew\s+(?:customers|clients|users|members)\b|\b(?:clientes|clientas|usuari[oa]s|soci[oa]s)\s+"
                  r"nuev[oa]s\b|\bnuev[oa]s\s+(?:clientes|clientas|usuari[oa]s|soci[oa]s)\b|\b(?:are|were)\s+new\b|"
                  r"\bson\s+nuev[oa]s\b")
EVENT_COUNTS = 16  # event types whose per-profile counts a question can compare ("rated more than 100 movies")
_EVENT_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")  # a type an index path can name as it is
_GENERIC_KEY_WORDS = frozenset({"service", "services", "flag", "status", "enabled", "is", "has", "type", "level"})
_STOP_VALUES = frozenset({"yes", "no", "true", "false", "none", "other", "others", "unknown", "n a", "na", "si",
                          "sí", "otro", "otra", "ninguno", "ninguna", "desconocido", "all", "any"})
_YES = YES_WORDS | {"1"}  # values are read after norm(): "sí" arrives as "si"
_NO = NO_WORDS | {"0"}
_NEGATIONS = ("without", "no", "not", "non", "never", "nor", "neither", "except", "excluding", "besides", "sin", "ni",
              "nunca", "distintos", "distintas", "distinto", "distinta", "aparte", "excluyendo", "outside", "fuera",
              "ningun", "ninguna", "excepto", "salvo", "menos")  # "todos menos los estudiantes"
# negations that leave out a set ("fuera de España", "except students"): they deny what follows them, never a verb
# said after it
_EXCLUDING = frozenset({"except", "excluding", "besides", "aparte", "excluyendo", "outside", "fuera", "excepto",
                        "salvo", "menos", "distintos", "distintas", "distinto", "distinta"})
# two-word negations, by their last word: "customers other than programmers" had read as programmers
_NEGATION_PAIRS = {"than": ("other",), "from": ("apart", "aside")}
_OR = frozenset({"or", "nor", "o", "ni", "u"})  # "don't stream TV or movies": the negation reaches each
# small words that may stand between a negation and what it negates: "not on a two-year contract", "sin el plan"
_BETWEEN = frozenset({"a", "an", "the", "on", "in", "with", "of", "any", "un", "una", "el", "la", "los", "las", "en",
                      "con", "de", "del", "al", "from",  # "not from the United States"
                      # verbs that only tie a person to a flag: "not subscribed to the newsletter"
                      "to", "into", "subscribed", "suscritos", "suscritas", "suscrito", "suscrita", "enrolled",
                      "opted", "inscritos", "inscritas", "apuntados", "apuntadas",
                      # and of preferring: "prefieren el email" for `preferred_channel`
                      "prefer", "prefers", "prefieren", "prefiere", "prefieran",
                      # and of receiving: "customers who don't get the newsletter"
                      "get", "gets", "getting", "receive", "receives", "receiving", "reciben", "recibe", "reciban",
                      # and of speaking a language: "customers who do not speak German"
                      "speak", "speaks", "speaking", "hablan", "habla", "hablen",
                      # Spanish puts the verb after the negation: "mujeres que no son estudiantes"
                      "son", "es", "sean", "sea", "eran", "era", "fueron", "fue", "estan", "esta", "esten",
                      "han", "ha", "estado", "sido",  # "no han estado activos"
                      "been", "be",  # "have not been active in the last 3 months"
                      # and the verbs of having: "do not have a partner" had read as having one
                      "have", "has", "had", "having", "tienen", "tiene", "tengan", "tenga", "tener", "tenian",
                      "tenia", "tenido", "tuvieron", "tuvo",  # "no han tenido actividad" had read as activity
                      # and of living somewhere: "no viven en Madrid" had read as living there
                      "live", "lives", "living", "based", "located", "viven", "vive", "residen", "reside"})


def negation_start(q: str, start: int, key: str = "", slack: int = 0) -> int | None:
    """Where the negation of the phrase starting at `start` begins ("not on a <phrase>", "sin la tarifa
    <phrase>", where `key` is the field's own name), or None. `slack` other words may stand between ("no ven
    <televisión>")."""
    words = q[:start].split()
    between = _BETWEEN | set(key.split())
    skipped = 0
    slipped = False  # a word of its own stands between: "fuera de | España | compraron" denies España, not the verb
    while words and skipped < 4 and (words[-1] in between or (slack > 0 and words[-1] not in _NEGATIONS)) \
            and not (len(words) > 1 and words[-2] in _NEGATION_PAIRS.get(words[-1], ())):  # "apart from" is one
        if words[-1] not in between:
            slack -= 1
            slipped = True
        words.pop()
        skipped += 1
    if len(words) > 1 and words[-1] in _NEGATION_PAIRS and words[-2] in _NEGATION_PAIRS[words[-1]]:
        words.pop()  # the pair starts at its first word
    elif not words or words[-1] not in _NEGATIONS or (slipped and words[-1] in _EXCLUDING):
        return None
    return len(" ".join(words[:-1])) + (1 if len(words) > 1 else 0)
# relative words -> (which numeric field, by its key words; the range)
LEXICON: dict[str, tuple[tuple[str, ...], dict[str, float]]] = {
    "young": (("age", "edad"), {"lte": 30}), "younger": (("age", "edad"), {"lte": 30}),
    "joven": (("age", "edad"), {"lte": 30}), "jovenes": (("age", "edad"), {"lte": 30}),
    "elderly": (("age", "edad"), {"gte": 60}), "older": (("age", "edad"), {"gte": 60}),
    "mayores": (("age", "edad"), {"gte": 60}), "ancianos": (("age", "edad"), {"gte": 60}),
    "teenagers": (("age", "edad"), {"lte": 19}), "adolescentes": (("age", "edad"), {"lte": 19}),
    "old": (("age", "edad"), {"gte": 60}), "seniors": (("age", "edad"), {"gte": 60}),
    "viejos": (("age", "edad"), {"gte": 60}),
    # "in their twenties", "veinteañeros": a decade of age
    **{word: (("age", "edad"), {"gte": float(lo), "lte": float(lo + 9)}) for words, lo in (
        (("twenties", "veinteaneros", "veintitantos"), 20), (("thirties", "treintaneros", "treintaitantos"), 30),
        (("forties", "cuarentones", "cuarentaitantos"), 40), (("fifties", "cincuentones", "cincuentaitantos"), 50),
        (("sixties", "sesentones", "sesentaitantos"), 60)) for word in words},
    # written apart or in figures too: "treinta y tantos", "in their 30s", "30-somethings" (after "their", never
    # a bare "90s", which names films)
    **{form: (("age", "edad"), {"gte": float(lo), "lte": float(lo + 9)}) for tens, lo in (
        ("veinte", 20), ("treinta", 30), ("cuarenta", 40), ("cincuenta", 50), ("sesenta", 60))
        for form in (f"{tens} y tantos", f"their {lo}s", f"{lo} somethings", f"{lo} something")},
}
_COUNTS = frozenset({"event_count", "purchases", "active_days"})  # payload numbers that count something
_NOT_COUNTED = frozenset({"years", "year", "anos", "ano", "or", "o", "and", "y", "yo", "plus", "mas"})
_GERUND = ("ing", "ando", "iendo")  # "women over 40 watching comedies": what they do, not what is counted
# staff counted after a number are a headcount, never an age: "companies with more than 100 employees" (the people a
# question is about are not: "over-40 customers" is an age)
_HEADCOUNT = frozenset({"employees", "employee", "staff", "workers", "empleados", "trabajadores", "plantilla"})
_PAYLOAD_NUMBERS = {"spend_total": ("spent", "spend", "spending", "spenders", "gastaron", "gasto", "gastado", "gasta",
                                   "gastadores"),
                    "event_count": ("events", "eventos", "actions"),
                    "purchases": ("purchases", "compras", "orders", "pedidos"),
                    "active_days": ("active days", "dias activos"),
                    "rating_mean": ("average rating", "mean rating", "rating average", "valoracion media",
                                    "nota media", "puntuacion media")}
# a number's noun said after it in the singular ("more than one purchase", "más de una compra"); before it, these
# words are the verb's ("made a purchase over 100": one purchase's amount)
_PAYLOAD_AFTER = {"purchases": ("purchase", "compra", "order", "pedido")}
_COMPARE = re.compile(r"\b(older than|younger than|mas jovenes que|mas mayores que|mayores que|menores que|"
                      r"over|more than|longer than|above|at least|greater than|mas de|mayores de|mayor de|"
                      r"por encima de|under|less than|shorter than|below|at most|fewer than|menos de|menores de|"
                      r"menor de|por debajo de|al menos|por lo menos|como minimo|como maximo|como mucho|"
                      r"superiores a|superior a|inferiores a|inferior a|mayor que|menor que|exactly|exactamente)\s+")
_EXACT = {"exactly", "exactamente"}  # the bound on both sides
_AT_LEAST = {"at least", "al menos", "por lo menos", "como minimo"}  # the bound itself included
_AT_MOST = {"at most", "como maximo", "como mucho"}
# "40 or more", "50 or older", "30 o más", "18 y mayores": the number first, the bound included
_OR_MORE = re.compile(r"\b(\d+(?:[.,]\d+)?)\s+(?:(years?|anos)\s+)?(?:or|o|y|and)\s+(more|older|over|above|greater|up|"
                      r"mas|mayores|less|fewer|younger|under|below|menos|menores)\b")
_OR_LESS = {"less", "fewer", "younger", "under", "below", "menos", "menores"}
_LOWER = {"under", "less than", "shorter than", "below", "at most", "fewer than", "menos de", "menores de",
          "menor de", "por debajo de", "younger than", "mas jovenes que", "menores que", "inferior a", "inferiores a",
          "menor que"}
_OPPOSITE = {"gt": "lte", "lt": "gte", "lte": "gt", "gte": "lt"}  # a comparison under a negation
# comparisons that can only be about age: "older than 40" is 40 years of age, not of tenure
_AGE_COMPARE = {"older than", "younger than", "mas jovenes que", "mas mayores que", "mayores que", "menores que"}
# of people, "mayores de 30" is an age, whatever comes after it ("clientes mayores de 30 que valoraron ..."); of
# anything else ("pagos mayores de 100") it is not
_AGE_OF = {"mayores de", "menores de", "mayor de", "menor de"}
_PRICE_LEAD = frozenset({"for", "por", "costing", "worth", "priced"})  # a number after them is a price
_PEOPLE = frozenset({"hombres", "mujeres", "gente", "socios", "miembros", "chicos", "chicas", "adultos"})
# a range: "between 25 and 35", "aged 25 to 35", "entre 25 y 35 años"
_RANGE = re.compile(r"\b(between|aged|from|entre|de)\s+(\d+(?:[.,]\d+)?)\s*(?:and|to|-|y|a)\s*(?=\d)"
                    r"|\b(aged|ages|edades)\s+(\d+)\s+(?=\d)")  # "aged 25-34": the dash is gone by now (`norm`)
# an exact age: "30 years old", "a 30-year-old", "30 años de edad", "personas de 30 años", "people aged 30" (not
# "de 40 años o más", "aged 30 or over", "aged 18-24": those are bounds and ranges)
_AGED = re.compile(r"\b(\d{1,3})(?:[ -]years?[ -]old\b| anos de edad\b)"
                   r"|(?<=\bde )(\d{1,3}) anos\b(?! de)(?!\s+(?:o|y)\s+(?:mas|menos|mayores|menores)\b)"
                   r"|(?<=\baged )(\d{1,3})\b(?!\s*(?:\d|and\b|to\b|or\b|y\b|a\b|o\b))")
# "joined in the last year", "en los últimos 6 meses": a duration at most that long
# Spanish may leave the preposition out: "activos el último mes"
_RECENT = re.compile(r"\b(?:(?:in|during|within|over|en|durante)\s+(?:the\s+|el\s+|los\s+|las\s+|la\s+)?|"
                     r"(?:el|los|las|la)\s+)(?:last|past|ultimos?|ultimas?)\s+")


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$")
# "this year", "este año", "in 2023", "since 2023", "before 2020": against a date field and the data's clock
_THIS = re.compile(r"\b(?:this|este|esta)\s+(year|month|week|ano|mes|semana)\b")
# "last year", "el año pasado", "la semana pasada": the calendar period before this one ("in the last year" is the
# 365 days before the clock, `_RECENT`)
_PREVIOUS = re.compile(r"(?<!\bthe )(?<!\bpast )\b(?:last|previous)\s+(year|month|week)\b"
                       r"|\b(?:el|la)\s+(ano|mes|semana)\s+pasad[oa]\b")
# "yesterday", "ayer", "today", "hoy": that one day of the data's clock; "today" not where it says when a state
# holds ("how many customers do we have today", "¿cuántos clientes hay hoy?")
_DAY = re.compile(r"\b(yesterday|ayer|today|hoy)\b")
_STATE_NOW = re.compile(r"\b(?:have|has|are there|is there|tenemos|tiene|tienen|hay|existen)\b|^\W*(?:(?:how|many|"
                        r"cuant[oa]s|our|nuestr[oa]s|the|los|las)\s+)*(?:(?:customers|clients|users|members|clientes|"
                        r"clientas|usuari[oa]s|soci[oa]s)\W*)?$")  # one \W* at a place: linear on a run of spaces
_MONTHS = {name: k + 1 for names in (
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
     "december"),
    ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre",
     "diciembre")) for k, name in enumerate(names)} | {"setiembre": 9}
# "in December", "during March 2024", "en diciembre", "en marzo de 2024" ("may" only with its year: "who may")
# "since March", "desde enero", "before June": from (or up to) that month's first day, not the month alone
_MONTH = re.compile(r"\b(?:in|during|en|durante|(?P<since>since|desde|from|after|despues de)|(?P<before>before|"
                    r"antes de))\s+(" + "|".join(m for m in _MONTHS if m != "may") +
                    r"|may(?=\s+(?:of\s+)?(?:19|20)\d{2}))(?:\s+(?:of\s+|de\s+|del\s+)?((?:19|20)\d{2}))?\b")
_YEAR = re.compile(r"\b(in|during|since|after|before|en|durante|desde|antes de|despues de)\s+((?:19|20)\d{2})\b")


_LEVEL = re.compile(r"^\s*\d{1,2}\s*[.)]\s+")  # "2. Married", "1) Yes": an ordered level's number is not a word


def norm_value(value: str) -> str:
    return norm(_LEVEL.sub("", str(value)))


# a last key that says little alone: read with its parent ("data.job.company.size" is "company size", Tracardi's
# "data.pii.civil.status" "civil status"), so a question about companies or marriage finds it
_VAGUE_KEYS = frozenset({"size", "status", "level", "type", "name", "code", "value", "count", "number", "amount",
                         "kind", "category"})


def field_words(path: str) -> set[str]:
    """The words that name a field in a question, in either language: its key phrase, their plurals, and the
    Spanish words for them ("companies" / "empresas" name `data.job.company.size`)."""
    # and its parent's ("platinum loyalty" for `traits.loyalty.tier`: the word left over had made a count of 0)
    words = set(_key_phrase(path).split()) | set(norm(split_camel(last_key(path))).split()) | set(_parent_words(path))
    return words | {w + "s" for w in words} | {w + "es" for w in words} | {w[:-1] + "ies" for w in words} | \
        {es for es, en in SPANISH_FIELD_WORDS.items() if en in words} | \
        {en for es, en in SPANISH_FIELD_WORDS.items() if es in words}  # "level" for a Spanish shop's `nivel`


def naming_words(path: str) -> frozenset[str]:
    """`field_words`, and the words of the same kind of field in either language ("nivel" for a `tier`)."""
    words = field_words(path)
    kin = {k for w in words for k in _KIN.get(w, ())}
    kin |= {es for es, en in SPANISH_FIELD_WORDS.items() if en in kin}
    return frozenset(w for w in words | kin if len(w) >= 3)


def _key_phrase(path: str) -> str:
    key = norm(split_camel(last_key(path)))
    parts = path.split(".")
    if key in _VAGUE_KEYS and len(parts) > 2:
        return f"{norm(split_camel(parts[-2]))} {key}".strip()
    return key


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


def synonyms(phrase: str) -> list[str]:
    """The other names of a value or flag phrase in either language (profiles/words.py:SYNONYMS), longest first."""
    return sorted(SYNONYMS.get(phrase, frozenset()) - {phrase}, key=lambda w: (-len(w), w))


def _named(phrase: str, abbreviations: int = 0, others: list[str] | None = None, exact: bool = False,
           ) -> re.Pattern[str]:
    """`_pattern` of the phrase or any of its other names (its synonyms unless given): one alternation of fixed
    words, linear like each. `exact`: names that take no plural (a country's: "frances" is French, not France)."""
    others = synonyms(phrase) if others is None else others
    if exact:
        return re.compile("|".join(r"\b" + r"\s+".join(map(re.escape, n.split())) + r"\b" for n in (phrase, *others)))
    if not others:
        return _pattern(phrase, abbreviations)
    return re.compile("|".join(f"(?:{p.pattern})" for p in (_pattern(phrase, abbreviations),
                                                             *(_pattern(o) for o in others))))


SPELLED_MEMO = 4096  # words whose spelling against what events are about is remembered (per vocabulary)
SPELLING_CANDIDATES = 200  # values of its first letters and length a word's spelling is compared with, at most


@dataclass
class Vocabulary:
    values: list[tuple[re.Pattern[str], str, str, Any, int]] = field(default_factory=list)  # pattern, phrase, path, value, n
    flags: list[tuple[re.Pattern[str], str, str, Any, Any]] = field(default_factory=list)  # pattern, phrase, path, yes, no
    numbers: dict[str, str] = field(default_factory=dict)  # key phrase -> path
    spans: dict[str, tuple[float, float, bool]] = field(default_factory=dict)  # numeric path -> min, max, whole
    units: dict[str, FieldUnit] = field(default_factory=dict)  # numeric path -> what its key says it holds
    dates: dict[str, str] = field(default_factory=dict)  # key phrase -> path of a field holding ISO dates
    clock: dict[str, str] = field(default_factory=dict)  # date path -> its latest value: the data's own "now"
    aliases: dict[str, list[str]] = field(default_factory=dict)  # value phrase -> its other names (synonyms, codes)
    facets: set[str] = field(default_factory=set)  # the names of what events are about ("product", "genres")
    context: list[str] = field(default_factory=list)  # what events are about, commonest first (never a filter)
    about_values: dict[str, list[str]] = field(default_factory=dict)  # a context phrase -> the values said so
    # event type phrase -> `counts.<type>`: "rated more than 100 movies" counts one type of event
    event_counts: dict[str, str] = field(default_factory=dict)
    # the one event type whose count is every profile's `purchases` (the payload's count of valued events), where
    # one is: "made 2 purchases this year" is that many such events in the window, from the event log
    purchase_type: str | None = None
    # the one event type the event dictionary gives a rating ("rated a movie 5 stars"), set by the search service
    rating_type: str | None = None
    # categorical path -> its values that are age bands, in order, with their years ("65+": 65 up); only where
    # nearly all its values are (`age_bands` takes the one whose name says age)
    bands: dict[str, list[tuple[str, float, float]]] = field(default_factory=dict)
    lexicon: Lexicon | None = None  # the same fields and values by meaning (attach_meaning), else words only
    # the one field that holds plain country codes ("ES", "mx"), where one does: a country named in a question
    # that none of its values is ("de Chile") is that code, which counts 0
    countries: str | None = None
    _phrases: list[tuple[str, list[tuple[re.Pattern[str], str, Any, int]]]] | None = field(default=None, repr=False)
    _by_prefix: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _names_active: bool | None = field(default=None, repr=False)
    _categories: dict[str, tuple[frozenset[str], list[str]]] | None = field(default=None, repr=False)
    _about_spellings: dict[tuple[str, int], list[str]] | None = field(default=None, repr=False)
    _spelled: dict[str, str | None] = field(default_factory=dict, repr=False)

    def names_active(self) -> bool:
        """Whether a field of the data's own is named "active" (a flag, a status value): once per vocabulary,
        not per question (the values run to 20,000)."""
        if self._names_active is None:
            self._names_active = any(_ACTIVE.search(key) for _, key, _, _, _ in self.flags) or \
                any(_ACTIVE.search(phrase) for _, phrase, _, _, _ in self.values)
        return self._names_active

    def categories(self) -> dict[str, tuple[frozenset[str], list[str]]]:
        """Each categorical field whose values are all known (kept whole, MAX_DISTINCT at most): the words that
        name it in a question (either language) and its values, commonest first. Once per vocabulary."""
        if self._categories is None:
            values: dict[str, list[tuple[int, str]]] = defaultdict(list)
            for _, _, path, value, n in self.values:
                values[path].append((n, str(value)))
            self._categories = {path: (naming_words(path), [v for _, v in sorted(found, key=lambda nv: (-nv[0], nv[1]))])
                                for path, found in values.items() if len(found) >= 2}
        return self._categories

    def value_candidates(self, q: str) -> list[tuple[str, list[tuple[re.Pattern[str], str, Any, int]]]]:
        """The value phrases that can occur in `q`, longest first: only those whose first word's first three
        letters start a word of the question are tried (20,000 regex searches per question were 100 ms)."""
        if self._phrases is None:
            by_phrase: dict[str, list[tuple[re.Pattern[str], str, Any, int]]] = defaultdict(list)
            for pattern, phrase, path, value, n in self.values:
                by_phrase[phrase].append((pattern, path, value, n))
            self._phrases = sorted(by_phrase.items(), key=lambda kv: -len(kv[0]))
            for k, (phrase, _) in enumerate(self._phrases):
                for first in {w.split()[0][:3] for w in (phrase, *self.aliases.get(phrase, ()))}:
                    self._by_prefix.setdefault(first, []).append(k)
        hits = sorted({k for w in set(q.split()) for k in self._by_prefix.get(w[:3], ())})
        return [self._phrases[k] for k in hits]

    def spelled_about(self, word: str) -> str | None:
        """The one value of what events are about that `word` spells another way ("jewelry" for `jewellery`,
        "electronis"; `spelling.spelled_like`), among those of its first two letters and a length within reach
        (indexed once per vocabulary; answers remembered, at most SPELLED_MEMO words)."""
        if word in self._spelled:
            return self._spelled[word]
        if self._about_spellings is None:
            index: dict[tuple[str, int], list[str]] = defaultdict(list)
            for phrase in self.about_values:
                if phrase.isalpha():
                    index[(phrase[:2], len(phrase))].append(phrase)
            self._about_spellings = dict(index)
        near = [] if word in self.about_values else [
            p for n in range(len(word) - 2, len(word) + 3) for p in self._about_spellings.get((word[:2], n), ())]
        # the commonest first, and so many at most: values come from events, which anyone can send
        found = spelled_like(word, near[:SPELLING_CANDIDATES]) if near else None
        if len(self._spelled) >= SPELLED_MEMO:
            self._spelled.clear()
        self._spelled[word] = found
        return found

    @property
    def empty(self) -> bool:
        return not (self.values or self.flags or self.numbers)

    def field_kinds(self, limit: int = 64) -> dict[str, str]:
        """The payload index each field a question can filter on needs (keyword, integer, float, bool)."""
        kinds: dict[str, str] = {}
        for path in self.dates.values():
            kinds[path] = "datetime"
        for path in self.numbers.values():
            kinds[path] = "float"
        for path in self.event_counts.values():
            kinds[path] = "integer"
        for _, _, path, yes, no in self.flags:
            sample = yes if yes is not None else no
            kinds.setdefault(path, "bool" if isinstance(sample, bool) else "integer" if isinstance(sample, int)
                             else "keyword")
        for _, _, path, _, _ in self.values:
            kinds.setdefault(path, "keyword")
        # the data's own fields first: activity dates and event counts ("counts." sorts before "data.") take
        # what room is left, so they never push a trait out of its index
        ours = set(ACTIVITY_DATES) | set(self.event_counts.values())
        return dict(sorted(kinds.items(), key=lambda kv: (kv[0] in ours, kv[0]))[:limit])


def build_vocabulary(payloads: Iterable[dict[str, Any]], also_about: Mapping[str, Iterable[str]] | None = None,
                     ) -> Vocabulary:
    """From index payloads: categorical values, flags and numeric fields (their `traits` and `data`), and what
    their events are about (`event_types`, the facets of `top`: names and values). `also_about`: more values of
    what events are about, by facet (the population statistics hold values that are nobody's top five), kept
    for reading which events a question names, after those of the payloads."""
    seen: dict[str, Counter[Any]] = defaultdict(Counter)
    about: Counter[str] = Counter()
    types: Counter[str] = Counter()
    unaddressable: set[str] = set()
    facets: Counter[str] = Counter()
    raw: dict[str, set[str]] = defaultdict(set)  # a value phrase of `top` -> the values written so ("Sci-Fi")
    buyers, agree = 0, Counter[str]()  # profiles with purchases; per type, those whose count is theirs
    for p in payloads:
        about.update(_context_phrases(p))
        if isinstance(top := p.get("top"), dict):
            facets.update(norm(split_camel(str(f))) for f in top)
            for values in top.values():
                for v in values if isinstance(values, list) else ():
                    if isinstance(v, str) and len(said := raw[norm_value(v)]) < MAX_SPELLINGS:
                        said.add(v)
        counts = p.get("counts")
        for path in ACTIVITY_DATES:  # of people with events (traits-only data has no activity to ask about)
            when = p.get(path)
            if counts and isinstance(when, str) and _ISO_DATE.match(when):
                seen[path][when[:10]] += 1
        if isinstance(counts, dict):
            types.update(t for t in counts if isinstance(t, str) and _EVENT_TYPE.match(t))
            if isinstance(bought := p.get("purchases"), int) and bought > 0:
                buyers += 1
                agree.update(t for t, n in counts.items() if n == bought)
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
        key = ACTIVITY_DATES[path][0] if path in ACTIVITY_DATES else _key_phrase(path)
        if key and (yes is not None or no is not None):
            vocab.flags.append((_named(key, abbreviations=3), key, path, yes, no))
        if numeric and len(numeric) >= 0.8 * len(counts) and not (set(numeric) <= {0, 1}) and key:
            vocab.numbers[key] = path
            vocab.spans[path] = (float(min(numeric)), float(max(numeric)), all(float(v).is_integer() for v in numeric))
            vocab.units[path] = field_unit(key.split())
            continue
        dated = [v for v in counts if isinstance(v, str) and _ISO_DATE.match(v)]
        if key and dated and len(dated) >= 0.8 * len(counts):  # "signup_date": "2024-03-01"
            vocab.dates[key] = path
            vocab.clock[path] = max(dated)[:10]
            continue
        # country and language codes ("MX", "es-MX", "ca") by their names in both wordings (app/search/codes.py)
        # (or its parent's: Tracardi's `data.pii.language.native`)
        key_words = set(key.split()) | set(norm(split_camel(last_key(path))).split()) | set(_parent_words(path))
        coded = {v: code_names(key_words, v) for v in counts if isinstance(v, str)} \
            if key_words & (COUNTRY_KEYS | LANGUAGE_KEYS) else {}
        if len(counts) > (MAX_CODES if coded and all(coded.values()) else MAX_DISTINCT):
            continue
        if coded and all(coded.values()) and key_words & COUNTRY_KEYS and all(len(v) == 2 for v in coded):
            vocab.countries = path if vocab.countries is None else ""  # two such fields: neither is "the" country
        texts = [v for v in counts if isinstance(v, str)]
        bands = sorted(((v, *years) for v in texts if (years := _band_years(v)) is not None), key=lambda b: b[1:])
        if len(bands) >= 2 and len(bands) * 5 >= len(texts) * 4:  # "25-34", "65+": ages as bands, kept whole
            vocab.bands[path] = bands
        for value, n in counts.items():
            if not isinstance(value, str):
                continue
            names = coded.get(value, ())
            phrase = names[0] if names else norm_value(value)
            if not names and (len(phrase) < 3 or phrase in _STOP_VALUES or phrase.isdigit()):
                continue
            others = [o for o in dict.fromkeys([*names[1:], *synonyms(phrase)]) if o != phrase]
            if others:
                vocab.aliases[phrase] = others
            vocab.values.append((_named(phrase, 4, others, exact=bool(names)), phrase, path, value, n))
    own_dates = set(vocab.dates.values()) - set(ACTIVITY_DATES)
    for path, names in ACTIVITY_DATES.items():  # the everyday names, where the data has no dates of its own
        if path in vocab.dates.values() and not own_dates:  # ("joined" is its `signup_date` where it has one)
            vocab.dates.update({name: path for name in names[1:]})
    if "last_seen" in vocab.clock and "first_seen" in vocab.clock:  # the latest activity is the data's "now"
        vocab.clock["first_seen"] = vocab.clock["last_seen"]
    vocab.values.sort(key=lambda v: -len(v[1]))  # longest phrase first: "two year" before "year"
    named = {v[1] for v in vocab.values} | {f[1] for f in vocab.flags} | set(vocab.numbers) | set(vocab.dates)
    # a phrase that is also a trait's value or field stays the trait's ("horror" as a favourite genre trait)
    vocab.context = [c for c, _ in about.most_common() if c not in named and len(c) >= 3][:MAX_CONTEXT]
    vocab.facets = {f for f, _ in facets.most_common(MAX_CONTEXT) if f}
    vocab.about_values = {c: sorted(raw[c]) for c in vocab.context if raw.get(c)}
    more: dict[str, set[str]] = defaultdict(set)
    for values in (also_about or {}).values():
        for v in values:
            phrase = norm_value(v)
            if len(phrase) >= 3 and phrase not in named and phrase not in vocab.about_values and \
                    (phrase in more or len(more) < MAX_CONTEXT) and len(more[phrase]) < MAX_SPELLINGS:
                more[phrase].add(v)
    vocab.about_values.update({c: sorted(said) for c, said in more.items()})
    whose = [t for t, n in agree.items() if n == buyers and isinstance(t, str) and _EVENT_TYPE.match(t)]
    vocab.purchase_type = whose[0] if buyers and len(whose) == 1 else None
    for etype, _ in types.most_common(EVENT_COUNTS):  # anyone can send a new type: the commonest only
        phrase = norm(etype.replace("-", " ").replace("_", " "))
        if phrase and phrase not in named:
            vocab.event_counts.setdefault(phrase, f"counts.{etype}")
    return vocab


def _context_phrases(payload: dict[str, Any]) -> set[str]:
    """A payload's event types and facets, names and values, as phrases (each counted once a profile)."""
    out: set[str] = set()
    for etype in payload.get("event_types") or []:
        if isinstance(etype, str):
            out.add(norm(etype.replace("-", " ").replace("_", " ")))
    top = payload.get("top")
    for facet, values in (top.items() if isinstance(top, dict) else ()):
        out.add(norm(split_camel(str(facet))))
        out.update(norm_value(v) for v in (values if isinstance(values, list) else ()) if isinstance(v, str))
    return {p for p in out if p}


def attach_meaning(vocab: Vocabulary, encoder: PhraseEncoder, wordings: tuple[str, ...] = ("en",),
                   event_labels: Callable[[str], list[str]] | None = None) -> Vocabulary:
    """Embed the vocabulary's fields and values with the deployment's encoder (blocking, once per build), so
    questions that use other words for them are read too. `event_labels`: an event type's names in each wording
    (the event dictionary's: "valoraciones" for `content-rated`), so "valoraron más de 100 películas" finds it."""
    fields = [(phrase, path, "flag") for _, phrase, path, _, _ in vocab.flags]
    fields += [(key, path, "number") for key, path in vocab.numbers.items()]
    fields += [(phrase, path, "number") for phrase, path in vocab.event_counts.items()]
    if event_labels is not None:
        fields += [(norm(label), path, "number") for path in vocab.event_counts.values()
                   for label in event_labels(path.removeprefix("counts.")) if norm(label)]
    # an activity date by its first name only: its everyday names ("joined") are for reading words, and as entries
    # they crowded other fields ("children" lost `dependents` to them)
    fields += [(key, path, "date") for key, path in vocab.dates.items()
               if path not in ACTIVITY_DATES or key == ACTIVITY_DATES[path][0]]
    owners: dict[str, set[str]] = defaultdict(set)
    for _, phrase, path, _, _ in vocab.values:
        owners[phrase].add(path)
    values = [(phrase, path, value, _key_phrase(path), len(owners[phrase]) == 1)
              for _, phrase, path, value, _ in sorted(vocab.values, key=lambda v: -v[4])]
    vocab.lexicon = build_lexicon(encoder, fields, values, wordings, vocab.context)
    return vocab


class EventReading(NamedTuple):
    """At least one event of a type (none, where `denied`), about one of `values` (any, where empty), within
    `window` ({"since": day, "before": day}; None: any time): read from the event log, not the index."""
    etype: str
    values: list[str]
    window: dict[str, str] | None
    denied: bool = False
    times: int = 1  # at least this many such events (fewer, where denied)
    # a bound on what such events' amounts add up to ("spent more than 100 euros last year": {"gt": 100}), or None
    amount: dict[str, float] | None = None
    # an event type none of which came after the last such event ("abandoned their cart": added to the cart, and
    # no purchase since), or None
    unfollowed_by: str | None = None
    # a bound one such event's amount meets ("made a purchase over 100": {"gt": 100}), or None
    single: dict[str, float] | None = None
    # a bound such events' rating meets, each counted ("rated a movie 5 stars": {"gte": 5, "lte": 5}), or None
    scored: dict[str, float] | None = None

    @property
    def since(self) -> str | None:
        return (self.window or {}).get("since")

    @property
    def before(self) -> str | None:
        return (self.window or {}).get("before")


@dataclass
class Understanding:
    conditions: list[Condition]
    filters: list[str]  # the conditions, as the user could have written them
    semantic: str  # what is left of the question for meaning
    read: list[dict[str, Any]] = field(default_factory=list)  # each condition with the words it came from, and how
    by_meaning: list[str] = field(default_factory=list)  # parts of the question no condition was read from
    # at least one event of a type about one of these values ("rated horror movies": `content-rated`, ["Horror"]):
    # answered from the event log (`SyncState.profiles_with_event_about`), not the index; also in `filters`
    about: list[tuple[str, list[str]]] = field(default_factory=list)
    # the time window of each of `about` ("in the last month": {"since": "2024-11-01"}), or None
    windows: list[dict[str, str] | None] = field(default_factory=list)
    # whether each of `about` is denied ("never bought shoes", "did not buy anything in the last month"): everyone
    # but those with such an event
    denied: list[bool] = field(default_factory=list)
    # how many such events each of `about` needs at least ("bought at least twice in the last 90 days"); [] is 1
    times: list[int] = field(default_factory=list)
    # a bound on each of `about`'s amounts summed ("spent more than 100 euros last year"), or None; [] is none
    amounts: list[dict[str, float] | None] = field(default_factory=list)
    # the event type none of which may follow each of `about`'s last event ("abandoned their cart"), or None
    unfollowed: list[str | None] = field(default_factory=list)
    # a bound one of each of `about`'s events' amount meets ("a purchase over 100"), or None; [] is none
    singles: list[dict[str, float] | None] = field(default_factory=list)
    # a bound each of `about`'s events' rating meets ("rated a movie 5 stars"), or None; [] is none
    scored: list[dict[str, float] | None] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"filters": self.filters, "semantic": self.semantic, "read": self.read,
                "by_meaning": self.by_meaning}

    def events(self) -> tuple[EventReading, ...]:
        """Each event type of `about` with its values, its time window and whether it is denied."""
        times = self.times or [1] * len(self.about)
        amounts = self.amounts or [None] * len(self.about)
        unfollowed = self.unfollowed or [None] * len(self.about)
        singles = self.singles or [None] * len(self.about)
        scored = self.scored or [None] * len(self.about)
        return tuple(EventReading(etype, values, window, denied, n, amount, then, one, score)
                     for (etype, values), window, denied, n, amount, then, one, score in zip(
                         self.about, self.windows, self.denied, times, amounts, unfollowed, singles, scored,
                         strict=True))

    def approximate(self) -> tuple[dict[str, Any], ...]:
        """The conditions that only approximate what was asked: ages read as age bands that the asked ages cut
        through ("over 40" against 35-44), each with the bands it cut."""
        return tuple({"filter": r["filter"], "from": r["from"], "partly": r["partly"]} for r in self.read
                     if "partly" in r)

    def not_held(self) -> tuple[dict[str, Any], ...]:
        """The values read as no one's ("the premium plan"), each with its field's values. `read` holds the
        conditions' readings in their order, then the events' (which no condition has)."""
        return tuple({"field": c.key, "value": value, "from": r["from"], "values": r["values"]}
                     for c, r in zip(self.conditions, self.read, strict=False)
                     for value in ([c.value] if r["how"] == NOT_HELD else r.get("none_hold", ())))


def _range_text(path: str, bounds: dict[str, Any]) -> str:
    ops = {"gte": ">=", "gt": ">", "lte": "<=", "lt": "<"}
    return ", ".join(f"{path}{ops[k]}{v:g}" if isinstance(v, float | int) else f"{path}{ops[k]}{v}"
                     for k, v in bounds.items())


def _compare_op(phrase: str) -> str:
    return "eq" if phrase in _EXACT else "gte" if phrase in _AT_LEAST else "lte" if phrase in _AT_MOST else "lt" if phrase in _LOWER else "gt"


def _comparisons(q: str) -> list[tuple[str, float, QuestionUnit, tuple[int, int]]]:
    """Each comparison of the question: ("gt"|"lt"|"lte", number, its unit, span). "more than five years",
    "paying over 90 a month", "less than a year ago", "in the last 6 months"."""
    out = []
    for m in _COMPARE.finditer(q):
        number = parse_number(q[m.end():])
        if number is None:
            continue
        value, length = _times_said(q, m.end(), number)
        before = set(q[:m.start()].split()[-4:])
        unit = question_unit(q, m.end() + length, money_context=bool(before & MONEY_VERBS))
        end = unit.end
        if q[end:].startswith(" ago") or q[end:].startswith(" atras"):
            end += 4 if q[end:].startswith(" ago") else 6
        out.append((_compare_op(m.group(1)), value, unit, (m.start(), max(end, m.end() + length))))
    for m in _OR_MORE.finditer(q):
        number = parse_number(m.group(1))
        if number is not None:
            unit = question_unit(q, m.end(1), money_context=False) if m.group(2) else QuestionUnit()
            out.append(("lte" if m.group(3) in _OR_LESS else "gte", number[0], unit, m.span()))
    for value, unit, span in _recent(q):  # "in the last year": a duration of at most one year
        out.append(("lte", value, unit, span))
    for m in _ONLY_TIMES.finditer(q):  # "only once", "solo dos veces", "una sola vez": exactly that many times
        number = (1.0, 0) if m.group("one") else parse_number(q[m.end():])
        if number is not None:
            value, length = _times_said(q, m.end(), number)
            out.append(("eq", value, QuestionUnit(end=m.end() + length), (m.start(), m.end() + length)))
    return out


def _times_said(q: str, at: int, number: tuple[float, int]) -> tuple[float, int]:
    """The number parsed at `at`, where English "once" is one time ("more than once"): `NUMBER_WORDS` reads it as
    the Spanish eleven, which it stays before "veces"."""
    if q.startswith("once", at) and not _TIMES.match(q, at + 4):
        return 1.0, number[1]
    return number


def _band(vocab: Vocabulary, low: float, high: float) -> tuple[str, Any] | None:
    """A categorical value that is this very range, written as a band ("25-34", "25 to 34"), where no number
    field holds it: (path, value); None when no field or several do."""
    said = " ".join(str(int(v)) if float(v).is_integer() else str(v) for v in (low, high))
    found = {(path, value) for _, phrase, path, value, _ in vocab.values
             if phrase == said or phrase.replace(" to ", " ").replace(" a ", " ") == said}
    return next(iter(found)) if len(found) == 1 else None


def _age_path(vocab: Vocabulary) -> str | None:
    """The numeric field that holds an age ("age", "edad"), if the data has one."""
    return next((vocab.numbers[k] for k in ("age", "edad") if k in vocab.numbers), None)


# an age band as a field holds it: "25-34", "25 to 34", "25 a 34 años", "65+", "65 or over", "65 y más", "under 18",
# "menos de 18" (values are read after norm(): "25-34" arrives as "25 34", "65+" as "65")
_BAND = re.compile(r"^(?:(?P<lo>\d{1,3})(?:\s*(?:-|to|a|hasta)\s*|\s+)(?P<hi>\d{1,3})|(?P<up>\d{1,3})\s*(?:\+|or over|or more|or older|"
                   r"and over|and older|y mas|o mas|plus|or above)?|(?:under|below|menos de|menores de)\s+(?P<below>\d{1,3})|"
                   r"(?:over|mas de|mayores de)\s+(?P<above>\d{1,3}))(?:\s+(?:years?|anos))?$")
AGE_WORDS = frozenset({"age", "ages", "edad", "edades"})  # words that name an age field
# who a bare number after them is the age of: "women over 40", "men under 30"
_PERSONS = frozenset({"women", "men", "females", "males", "adults", "members", "buyers", "shoppers", "subscribers",
                      "compradores", "suscriptores", "ellas", "ellos"})
OLDEST_AGE = 100.0  # where an open band ("65+") ends, to weigh how much of it a question takes


def _band_years(value: str) -> tuple[float, float] | None:
    """The ages an age band holds, as [from, to) in years ("25-34" -> 25, 35; "65+" -> 65, OLDEST_AGE)."""
    m = _BAND.match(norm_value(value))
    if m is None:
        return None
    if m.group("lo"):
        lo, hi = float(m.group("lo")), float(m.group("hi")) + 1
    elif m.group("up"):
        lo, hi = float(m.group("up")), OLDEST_AGE
    elif m.group("below"):
        lo, hi = 0.0, float(m.group("below"))
    else:
        lo, hi = float(m.group("above")) + 1, OLDEST_AGE
    return (lo, hi) if lo < hi <= OLDEST_AGE + 20 else None


def age_bands(vocab: Vocabulary) -> tuple[str, list[tuple[str, float, float]]] | None:
    """The categorical field that holds age bands ("franja_edad": "18-24", "25-34", ... "65+"), where the data
    has no age as a number: its path and each band with its years. Its name says age, and nearly all its values
    (four in five) read as bands; None where no one field does."""
    found = [(path, bands) for path, bands in vocab.bands.items() if naming_words(path) & AGE_WORDS]
    return found[0] if len(found) == 1 else None


def band_midpoints(bands: list[tuple[str, float, float]]) -> list[float]:
    """Each band's middle age, in the bands' order; an open band ("65+", "under 18") as wide as the closed ones
    are (their median width), so "65+" is about 70, not 82. What an average over bands can only estimate."""
    closed = sorted(hi - lo for _, lo, hi in bands if lo > 0 and hi < OLDEST_AGE) or [10.0]
    width = closed[len(closed) // 2]
    return [(lo + width / 2 if hi >= OLDEST_AGE else hi - width / 2 if lo <= 0 else (lo + hi) / 2)
            for _, lo, hi in bands]


def _bands_within(vocab: Vocabulary, low: float, high: float) -> tuple[str, list[str], list[str]] | None:
    """The age bands a question's ages [low, high) take: each band more than half inside them ("over 40" takes
    45-54 and up, not 35-44, of which 41-44 is), and the bands partly inside them, taken or not (what makes the
    count approximate); None where the data holds no bands."""
    field = age_bands(vocab)
    if field is None:
        return None
    path, bands = field
    inside = {v: max(0.0, min(hi, high) - max(lo, low)) / (hi - lo) for v, lo, hi in bands}
    return path, [v for v, share in inside.items() if share > 0.5], [v for v, share in inside.items() if 0 < share < 1]


def _asked_years(op: str, value: float) -> tuple[float, float]:
    """The whole years a comparison of an age takes, as [from, to): "over 40" is 41 and up, "40 or more" 40."""
    return {"gt": (value + 1, OLDEST_AGE + 20), "gte": (value, OLDEST_AGE + 20), "lt": (0.0, value),
            "lte": (0.0, value + 1), "eq": (value, value + 1)}[op]


def _years_of_age(unit: QuestionUnit, *values: float) -> bool:
    """Years in the range of ages, in order ("de más de 50 años", "entre 25 y 35 años"): where no duration field
    takes them, they are an age."""
    return unit.days == TIME_UNITS["years"] and list(values) == sorted(values) and values[0] >= 10 \
        and values[-1] <= 110


def _ranges(q: str) -> list[tuple[float, float, QuestionUnit, tuple[int, int]]]:
    """Each "between A and B" / "aged A to B" / "entre A y B" of the question: (A, B, the unit after B, span)."""
    out = []
    for m in _RANGE.finditer(q):
        low = parse_number(m.group(2) or m.group(4))
        high = parse_number(q[m.end():])
        if low is None or high is None:
            continue
        unit = question_unit(q, m.end() + high[1], money_context=False)
        out.append((low[0], high[0], unit, (m.start(), max(unit.end, m.end() + high[1]))))
    return out


def _recent(q: str) -> list[tuple[float, QuestionUnit, tuple[int, int]]]:
    """Each "in the last N units" / "en los últimos N ..." of the question: (N, its time unit, span)."""
    out = []
    for m in _RECENT.finditer(q):
        number = parse_number(q[m.end():])
        value, length = number if number is not None and number[0] > 1 else (1.0, 0)
        unit = question_unit(q, m.end() + length, money_context=False)
        if unit.days is not None:
            out.append((value, unit, (m.start(), unit.end)))
    return out


_BEING = frozenset({"were", "was", "been", "are", "is", "be", "estuvieron", "estuvo", "estaban", "estaba", "estan",
                    "esta", "han", "ha", "estado", "fueron", "fue", "son", "sido",
                    "had", "have", "has", "tenido", "tuvieron", "tuvo"})  # "had activity", "han tenido actividad"


def _parent_words(path: str) -> list[str]:
    """The words of a field's parent key ("language" for Tracardi's `data.pii.language.native`); none for a field
    right under `traits` or `data`."""
    return norm(split_camel(path.split(".")[-2])).split() if path.count(".") > 1 else []


# words that name the same kind of field: "nivel oro" is the loyalty `tier` gold
_KIN = {"level": ("tier", "rank"), "tier": ("level", "rank"), "rank": ("tier", "level")}


def _lead_in(q: str, start: int, path: str, free: Callable[[tuple[int, int]], bool]) -> int:
    """Where the words that lead into a flag or value read at `start` begin: the small words and verbs that tie a
    person to it ("subscribed to the newsletter") and a word of the field's own name ("aged 25-34" for `age
    band`, "prefer email" for `preferred channel`), so they are no meaning left over (a count with one left over
    had become an estimate by meaning: 0 of 1,000 "subscribed to the newsletter")."""
    key = [k for k in (*_key_phrase(path).split(), *_parent_words(path)) if len(k) >= 3]
    words = list(re.finditer(r"\S+", q[:start]))[-4:]
    first = len(words)
    while first > 0:
        w = words[first - 1].group()
        said = SPANISH_FIELD_WORDS.get(w, w)  # Tracardi names its fields in English: "idioma" is "language"
        stem = any(x.startswith(k) or (len(x) >= 5 and x[:5] == k[:5]) for k in key
                   for x in (w, said, *_KIN.get(said, ())))
        if w in _NEGATIONS or not (w in _BETWEEN or w in _BEING or stem):
            break
        first -= 1
    if first == len(words) or not free((words[first].start(), start)):
        return start
    return words[first].start()


def _naming_start(q: str, start: int, path: str) -> int:
    """Where the words before a time phrase that name its date field start ("were active" in "were active in the
    last month"), when the field is an activity date: read with the phrase (where no other condition took them),
    so they are no meaning left over."""
    if path not in ACTIVITY_DATES:
        return start
    # only the field's own names: "women active in the last month" keeps "women" for its own condition
    every = {w for name in ACTIVITY_DATES[path] for w in name.split()}
    names = {w for w in every if w not in FILLER}  # "de" names nothing by itself
    words = list(re.finditer(r"\S+", q[:start]))[-4:]
    named = [i for i, m in enumerate(words) if m.group() in names]
    if not named:
        return start
    first = named[0]
    # "were active", "estuvieron activos"; a name's own small words before it: "se dieron de alta"
    while first > 0 and (words[first - 1].group() in _BEING or words[first - 1].group() in every):
        first -= 1
    return words[first].start()


def _date_field(q: str, start: int, vocab: Vocabulary) -> str:
    """The date field a time phrase is about: the one the question names, the only one, or the nearest by
    meaning of the words before it ("se dieron de alta" / `fecha_alta`)."""
    named = [p for k, p in vocab.dates.items() if k in q]
    if named or len(vocab.dates) == 1 or vocab.lexicon is None:
        return (named or list(vocab.dates.values()))[0]
    context = " ".join(w for w in q[:start].split()[-5:] if w not in FILLER)
    index = [j for j, t in enumerate(vocab.lexicon.targets) if t.kind == "date"]
    if not context or not index:
        return list(vocab.dates.values())[0]
    sims = vocab.lexicon.similarity(context, index)[0]
    best = int(sims.argmax())
    path = vocab.lexicon.targets[index[best]].path
    if sims[best] <= vocab.lexicon.threshold[index[best]] and path in ACTIVITY_DATES and "last_seen" in vocab.clock:
        # nothing names a date ("valoraron más de 50 películas en el último mes"): the time is the activity's,
        # not the first one's by a near miss (a date field of the data's own keeps its nearest reading)
        return "last_seen"
    return path


def _period_start(day: date, period: str) -> date:
    """The first day of the calendar year, month or week (Monday) that holds `day` ("ano", "mes", "semana" too)."""
    if period in ("year", "ano"):
        return day.replace(month=1, day=1)
    if period in ("month", "mes"):
        return day.replace(day=1)
    return day - timedelta(days=day.weekday())


def _date_ranges(q: str, vocab: Vocabulary) -> list[tuple[str, dict[str, str], tuple[int, int]]]:
    """Time phrases as ranges on a date field, counted back from the data's own clock (its latest date)."""
    from datetime import date, timedelta

    out: list[tuple[str, dict[str, str], tuple[int, int]]] = []
    inactive = list(_INACTIVE.finditer(q)) if "last_seen" in vocab.clock else []
    for value, unit, span in _recent(q):  # "in the last 6 months", "en el último año"
        assert unit.days is not None
        said = next((m for m in inactive if m.end() <= span[0] and set(q[m.end():span[0]].split()) <= _INACTIVE_LINK),
                    None)  # "inactive in the last 6 months", "no han vuelto desde hace 6 meses"
        path = "last_seen" if said else _date_field(q, span[0], vocab)
        since = date.fromisoformat(vocab.clock[path]) - timedelta(days=value * unit.days)
        out.append((path, {"lt": since.isoformat()}, (said.start(), span[1])) if said else
                   (path, {"gte": since.isoformat()}, span))
    for m in _THIS.finditer(q):  # "this year": since its first day, on the data's clock
        path = _date_field(q, m.start(), vocab)
        first = _period_start(date.fromisoformat(vocab.clock[path]), m.group(1))
        out.append((path, {"gte": first.isoformat()}, m.span()))
    for m in _PREVIOUS.finditer(q):  # "last year", "el mes pasado": the calendar one before this one
        path = _date_field(q, m.start(), vocab)
        period = m.group(1) or m.group(2)
        this = _period_start(date.fromisoformat(vocab.clock[path]), period)
        last = _period_start(this - timedelta(days=1), period)
        out.append((path, {"gte": last.isoformat(), "lt": this.isoformat()}, m.span()))
    for m in _DAY.finditer(q):
        if m.group(1) in ("today", "hoy") and _STATE_NOW.search(q[:m.start()]):
            continue
        path = _date_field(q, m.start(), vocab)
        now = date.fromisoformat(vocab.clock[path])
        day = now - timedelta(days=1) if m.group(1) in ("yesterday", "ayer") else now
        out.append((path, {"gte": day.isoformat(), "lt": (day + timedelta(days=1)).isoformat()}, m.span()))
    for m in _MONTH.finditer(q):  # "in December", "en marzo de 2024": that month, the latest one by the clock
        path = _date_field(q, m.start(), vocab)
        now = date.fromisoformat(vocab.clock[path])
        month = _MONTHS[m.group(3)]
        year = int(m.group(4)) if m.group(4) else now.year if month <= now.month else now.year - 1
        first, after = date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)
        since = after if m.group("since") in ("after", "despues de") else first
        bound = {"gte": since.isoformat()} if m.group("since") else {"lt": first.isoformat()} if m.group("before") \
            else {"gte": first.isoformat(), "lt": after.isoformat()}
        out.append((path, bound, m.span()))
    for m in _YEAR.finditer(q):  # "in 2023", "since 2023", "before 2020"
        path = _date_field(q, m.start(), vocab)
        year, word = int(m.group(2)), m.group(1)
        if word in ("since", "after", "desde", "despues de"):
            bound = {"gte": f"{year if word in ('since', 'desde') else year + 1}-01-01"}
        elif word in ("before", "antes de"):
            bound = {"lt": f"{year}-01-01"}
        else:
            bound = {"gte": f"{year}-01-01", "lt": f"{year + 1}-01-01"}
        out.append((path, bound, m.span()))
    new = _NEW.search(q) if "first_seen" in vocab.clock else None
    path = _date_field(q, new.end(), vocab) if new is not None else ""
    if new is not None and not any(p == path for p, _, _ in out):  # "new customers": the default window
        since = date.fromisoformat(vocab.clock[path]) - timedelta(days=NEW_DAYS)
        out.append((path, {"gte": since.isoformat()}, new.span()))
    if inactive and not any(p == "last_seen" for p, _, _ in out):  # "inactive customers": the default window
        since = date.fromisoformat(vocab.clock["last_seen"]) - timedelta(days=INACTIVE_DAYS)
        out.append(("last_seen", {"lt": since.isoformat()}, inactive[0].span()))
    # a field of the data's own named "active" (a flag, a status) is what the word means there
    active = list(_ACTIVE.finditer(q)) if "last_seen" in vocab.clock else []
    active = active if active and not vocab.names_active() else []
    if active and not any(p == "last_seen" for p, _, _ in out):  # "active customers": the complement of inactive
        since = date.fromisoformat(vocab.clock["last_seen"]) - timedelta(days=INACTIVE_DAYS)
        negated = negation_start(q, active[0].start(), slack=1)  # "not active", "no están activos": inactive
        out.append(("last_seen", {"lt": since.isoformat()}, (negated, active[0].end())) if negated is not None
                   else ("last_seen", {"gte": since.isoformat()}, active[0].span()))
    return out


def _numeric_field(q: str, span: tuple[int, int], unit: QuestionUnit, value: float,
                   vocab: Vocabulary, budget: _Budget) -> tuple[str, int] | None:
    """The numeric field a comparison is about, and where the words that named it start: the one the question
    names, else the one its unit fits (a duration, an amount per month), else the one whose name means most what
    the words around it say ("been at the company for more than ten years": those words are read, not left)."""
    if unit == QuestionUnit(end=unit.end) and (often := _how_often(q, span, vocab, budget)) is not None:
        return often  # "bought more than 3 times": read from the verb on
    found = _pick_numeric(q, span, unit, value, vocab)
    if found is None:
        return None
    path, by_context = found
    if not by_context:
        return path, span[0]
    head = q[:span[0]]
    words = list(re.finditer(r"\S+", head))[-5:]
    # a field named in the words ("men aged 40 or more": "age"): from that word on, "men" is another condition's
    named = [m.start() for m in words for k, p in vocab.numbers.items() if p == path and m.group().startswith(k)]
    # the words that said it by meaning start after the last clause word: in "ingenieros que valoraron más de 100
    # películas" the engineers are another condition's (they had been read with the count, and dropped)
    clause = [i for i, m in enumerate(words) if m.group() in _CLAUSE]
    words = words[clause[-1] + 1:] if clause else words
    if path in _COUNTS or path.startswith("counts."):  # a count is named by its verb, just before the number:
        words = [m for m in words if m.group() not in FILLER][-1:]  # "administradores valoraron menos de 30"
    start = named[-1] if named else next((m.start() for m in words if m.group() not in FILLER), span[0])
    return path, start


_SAID_TIMES = re.compile(r"\b(?:once|twice|thrice|times|vez|veces)$")
_TIME_WORDS = frozenset({"this", "last", "past", "previous", "since", "este", "esta", "ultimo", "ultima", "ultimos",
                         "ultimas", "desde"})


def _with_counted(q: str, span: tuple[int, int], path: str) -> tuple[int, int]:
    """A count's span with what it counts ("more than 100 movies", "between 50 and 100 ratings", "more than 100
    employees")."""
    counted = re.match(r"\s*(\S+)(?:\s+(\S+))?", q[span[1]:])
    if _SAID_TIMES.search(q, span[0], span[1]) or (counted and counted.group(1) in _TIME_WORDS):
        return span  # "more than twice | this year": how often is said, and a window follows, not what was counted
    if counted and (counted.group(1) in _HEADCOUNT or (
            (path in _COUNTS or path.startswith("counts.")) and counted.group(1) not in FILLER)):
        second = counted.group(2)
        # a compound's head after its modifier: "more than 2 support tickets" (not "100 movies | women")
        if path.startswith("counts.") and second and not counted.group(1).endswith("s") and second.endswith("s") \
                and second not in FILLER and second not in _JOIN and second not in _CLAUSE:
            return span[0], span[1] + counted.end(2)
        return span[0], span[1] + counted.end(1)
    return span


def _pick_numeric(q: str, span: tuple[int, int], unit: QuestionUnit, value: float,
                  vocab: Vocabulary) -> tuple[str, bool] | None:
    before = q[:span[0]].split()[-5:]
    numbers = [i for i, w in enumerate(before) if any(ch.isdigit() for ch in w)]
    if numbers:  # a number before ends another comparison: "mayores de 30 valoraron menos de 50 películas"
        before = before[numbers[-1] + 1:]
    said = " ".join(before)
    kind = "money" if unit.money else "time" if unit.days is not None else "distance" if unit.distance else None
    candidates = [(k, p) for k, p in vocab.numbers.items()
                  if kind is None or vocab.units.get(p, FieldUnit()).kind == kind]
    if kind == "money" and unit.period:  # "100 a month": an amount per period before a total
        periodic = [(k, p) for k, p in candidates if vocab.units[p].period]
        candidates = periodic or candidates
    # a key named at a word's start ("aged" names age; "average" does not)
    named = [p for k, p in candidates if k and re.search(rf"\b{re.escape(k)}", said)]
    if named:
        return named[-1], True
    # Tracardi names its fields in English: "empresas de más de 100 empleados" names `company size` by "empresa"
    translated = {SPANISH_FIELD_WORDS[w] for w in before if w in SPANISH_FIELD_WORDS}
    named = [p for k, p in candidates if translated & set(k.split())]
    if len(named) == 1:
        return named[0], True
    if kind == "money" and not candidates and any(w in said for w in _PAYLOAD_NUMBERS["spend_total"]):
        return "spend_total", True  # "spent more than 100 dollars": the events' own total
    if kind is None:
        after = q[span[1]:].split()[:2]
        for path, words in _PAYLOAD_NUMBERS.items():
            if any(w in said for w in words) or any(w in words or w in _PAYLOAD_AFTER.get(path, ()) for w in after):
                return path, True  # the words that named it are read with it
        age = _age_path(vocab)
        if age and any(w in before for w in ("aged", "age", "edad", "older", "younger", "mayores", "menores")):
            return age, False
        # a number that counts something ("rated more than 100 movies", "al menos 20 películas") is no age, and
        # may be a count of one type of event; else a bare number in the range of ages is one ("customers over 60")
        counted = after and (after[0] not in FILLER or after[0] in _HEADCOUNT)
        # a verb right after the number says what its subject did: "customers under 30 | opened a ticket" is an age
        did = bool(after) and _PAST_VERB.fullmatch(after[0]) is not None and 10 <= value <= 110
        if counted and not did and after[0] not in _NOT_COUNTED and not after[0].endswith(_GERUND):
            candidates = [(k, p) for k, p in candidates if p != age] + list(vocab.event_counts.items())
        elif age and 10 <= value <= 110:
            return age, False
        elif did:
            return None  # an age the data holds as bands, if it does (read where no field is picked)
        if vocab.lexicon is None:
            return None
    if len(candidates) == 1 and kind is not None:
        return candidates[0][1], False
    if not candidates or vocab.lexicon is None or vocab.lexicon.empty:
        return None
    # the words around the number, by meaning: "been at the company for more than", "live more than 20 km from"
    context = " ".join(w for w in before + q[span[1]:].split()[:4] if w not in FILLER)
    if not context:
        return None
    index = [j for j, t in enumerate(vocab.lexicon.targets) if t.kind == "number"
             and t.path in {p for _, p in candidates}]
    if not index:
        return None
    sims = vocab.lexicon.similarity(context, index)[0]
    best = int(sims.argmax())
    if kind is None and sims[best] < vocab.lexicon.threshold[index[best]]:
        return None  # no unit and nothing that names a field: not a comparison we can read
    return vocab.lexicon.targets[index[best]].path, True


# "never rated a movie", "no purchases", "did not open any email", "nunca valoraron", "sin compras": no events of a
# type. The words after the cue (a few, fillers skipped) are compared by meaning with the event types' names
_NONE_OF = re.compile(r"\b(?:never|nunca|jamas|zero|0|no|not|without|sin|ningun[ao]?)\b")
_NONE_FILLER = frozenset({"ever", "once", "even", "single", "yet", "han", "ha", "hayan", "haya", "hecho", "made",
                          "anything", "nothing", "nada", "algo",
                          "ningun", "ninguna", "ninguno", "alguna", "algun"})


NONE_MARGIN = 0.2  # over the null line: how clearly the words after "never" must name an event type
AS_ASKED = 0.9  # an event's phrase said nearly as the dictionary says it: the event, whatever values it names
OBJECTLESS_MARGIN = 0.15  # the same after "something" / "anything" / "algo" (`_some_of`)
# phrases encoded to read events with or without a number: a question of 500 "a"s must not cost 500 encodings
MAX_EVENT_READINGS = 8
# "did not rate": the auxiliary right before the cue is read with it
_AUXILIARY = re.compile(r"\b(?:did|do|does|have|has|had|ha|han|hayan|haya)\s+$")


# what a denied verb acted on, said again by a pronoun: "viewed jackets but did not buy them", "vieron chaquetas
# pero no las compraron" (Spanish puts the pronoun before the verb)
# ("never bought any" is no purchase at all, so "any" is no such pronoun)
_PRONOUN_AFTER = frozenset({"them", "it", "those", "these"})
_PRONOUN_BEFORE = frozenset({"lo", "la", "los", "las"})


def _none_of(q: str, vocab: Vocabulary, free: Callable[[tuple[int, int]], bool],
             ) -> list[tuple[str, tuple[int, int], float, list[str], bool]]:
    """Event types the question says people have none of: (`counts.<type>`, the words read, similarity, the
    values of what such events were about: "never bought shoes" is no purchase of shoes, from the event log; [] for
    none at all; whether a pronoun says what was acted on, which the event read before it named: "did not buy
    them")."""
    lexicon = vocab.lexicon
    if lexicon is None or lexicon.empty or not vocab.event_counts:
        return []
    index = _event_entries(lexicon)
    # what events are about ("horror"): "never watch horror" is about which events, not whether there were any
    about = {w for c in vocab.context if c not in vocab.event_counts for w in c.split()}
    values_of = {w for c in vocab.about_values if c not in vocab.event_counts and c not in vocab.facets
                 for w in c.split()}
    out: list[tuple[str, tuple[int, int], float, list[str], bool]] = []
    tried = 0
    for cue in _NONE_OF.finditer(q):
        clause = _untaken(q, cue.end(), _PARTS.split(q[cue.end():], maxsplit=1)[0], free)
        said = list(re.finditer(r"\S+", clause))[:7]
        words = [m for m in said if m.group() not in FILLER and m.group() not in _NONE_FILLER
                 and m.group() not in _PRONOUN_AFTER]
        content = [m for m in words if m.start() <= said[4].start()][:2] if len(said) > 4 else words[:2]
        objects = [m for m in words if m.group() in about or _is_about(m.group(), values_of)
                   or vocab.spelled_about(m.group())]
        if objects:  # "never bought shoes": the words before the values say which events, the values which of them
            lead = [m for m in words if m.start() < objects[0].start()][:3]
            if lead and _about(q, cue.end(), cue.end() + lead[-1].end(), vocab)[0]:
                content = lead
            elif len(said) <= 4 or objects[0].start() <= said[4].start():
                continue  # what it was about is no value the events hold: a meaning, as before
            else:
                objects = []  # "never opened a support ticket about ...": the event, as before
        if not content or not index:
            continue
        end = cue.end() + content[-1].end()
        following = [m for m in said if m.start() > content[0].start()][:1]
        refers = not objects and len(content) == 1 and (
            bool(said) and said[0].group() in _PRONOUN_BEFORE and said[0].end() < content[0].start()
            or bool(following) and following[0].group() in _PRONOUN_AFTER)
        if refers and following and following[0].group() in _PRONOUN_AFTER:
            end = cue.end() + following[0].end()  # "did not buy them": the pronoun is read with the verb
        trailing = re.match(r"(?:\s+(?:anything|nothing|nada|algo|at all|en absoluto))+", q[end:])
        end += trailing.end() if trailing else 0  # "not bought anything": the whole denial is read
        aux = _AUXILIARY.search(q, max(0, cue.start() - 12), cue.start())
        start = aux.start() if aux else cue.start()  # "did not rate": the auxiliary is read with it
        if not free((start, end)) or (tried := tried + 1) > MAX_EVENT_READINGS:
            continue
        sims = lexicon.similarity(" ".join(m.group() for m in content), index)[0]
        best = int(sims.argmax())
        # an entry's own bar is raised by the everyday verbs that resemble it ("buy" against purchases); after a
        # cue the verb is what is counted ("never purchased"), so a clear margin over the null line is enough;
        # a conjugation the model reads under it, by its stem ("nunca compraron" against "compras")
        # a verb alone before what it was about ("not buy | shoes") is read as one before "anything" is
        passed = sims[best] > _event_bar(lexicon, index[best], OBJECTLESS_MARGIN if objects and len(content) == 1
                                         else NONE_MARGIN)
        stem = None if passed else _by_stem(content[0].group(), lexicon, index)
        if stem is not None and not objects:
            # the verb alone read the event: what follows must say nothing more ("did not buy a sofa" is no "bought
            # nothing"; "did not buy a product" is)
            own = _event_words(lexicon, index, lexicon.targets[index[stem]].path) | vocab.facets
            if any(not _is_about(m.group(), own) and not _shares_a_stem(m.group(), own) for m in content[1:]):
                stem = None
        if passed or stem is not None:
            best = best if stem is None else stem
            values: list[str] = []
            if objects:
                values, end = _about(q, cue.end(), end, vocab)
            out.append((lexicon.targets[index[best]].path, (start, end), round(float(sims[best]), 3), values, refers))
    return out


_WORD = re.compile(r"\S+")


class _Budget:
    """Phrases a question may still encode to read its verbs as events: a question of 50 "not X in the last
    month" or "X more than 2 times" must not cost 50 encodings (`MAX_EVENT_READINGS` in all)."""

    def __init__(self, left: int = MAX_EVENT_READINGS) -> None:
        self.left = left

    def take(self) -> bool:
        self.left -= 1
        return self.left >= 0


def _untaken(q: str, at: int, clause: str, free: Callable[[tuple[int, int]], bool]) -> str:
    """The clause starting at `at`, up to the first word another reading took: "bought something | this year" is
    the event, and the window read before it is joined to it later."""
    for m in _WORD.finditer(clause):
        if not free((at + m.start(), at + m.end())):
            return clause[:m.start()]
    return clause


def _names_what_events_are_about(words: str, vocab: Vocabulary) -> bool:
    """One of `words` is a value events are about ("not | bags | this year")."""
    about = {w for c in vocab.about_values for w in c.split()}
    return any(_is_about(w, about) for w in words.split()[1:] if w not in FILLER and w not in _BETWEEN)


def _says_an_event(words: str, vocab: Vocabulary, budget: _Budget) -> bool:
    """One of `words` (those between a negation and a time phrase: "not | bought | in the last 6 months") is the
    verb of an event type, by meaning or by its stem: then the negation denies that event in the window, not all
    activity."""
    verbs = [w for w in words.split()[1:3] if w not in _BETWEEN and w not in FILLER and w not in _NEGATIONS]
    # a word's other names too: "ningún correo | en el último mes" denies the emails of `email-abierto`
    return bool(verbs) and budget.take() and any(_event_of(w, vocab) is not None
                                                 for w in (verbs[0], *sorted(SYNONYMS.get(verbs[0], ()))[:3]))


def _event_of(verb: str, vocab: Vocabulary) -> str | None:
    """The event type (`counts.<type>`) one verb names, by meaning (a clear margin over the null line, as after
    "never") or by its stem ("compraron" / "compró", "buy" / "bought"); None where it names none."""
    lexicon = vocab.lexicon
    if lexicon is None or lexicon.empty or not vocab.event_counts:
        return None
    index = _event_entries(lexicon)
    if not index:
        return None
    sims = lexicon.similarity(verb, index)[0]
    best = int(sims.argmax())
    if sims[best] <= _event_bar(lexicon, index[best], NONE_MARGIN):
        stem = _by_stem(verb, lexicon, index)
        if stem is None:
            return None
        best = stem
    return lexicon.targets[index[best]].path


# a number of times: "bought more than 3 times", "compraron al menos dos veces", "more than once", "at least twice"
_TIMES = re.compile(r"\s*\b(?:times|time|veces|vez)\b")
_TIMES_WORDS = ("twice", "thrice", "once")
_ONLY_TIMES = re.compile(r"\b(?:only|just|solo|solamente|unicamente)\s+(?=(?:once|twice|thrice)\b|\S+\s+(?:times|veces|vez)\b)"
                         r"|\b(?P<one>una sola)(?=\s+vez\b)")


def _how_often(q: str, span: tuple[int, int], vocab: Vocabulary, budget: _Budget) -> tuple[str, int] | None:
    """A comparison that counts times ("more than 3 times", "al menos dos veces", "at least twice"): the event
    type the verb before it names (`counts.<type>`: one of the last three words that are no filler, after any
    number), and where that verb starts; None where the number counts no times, or no verb names an event."""
    if not (_TIMES.match(q, span[1]) or q[span[0]:span[1]].endswith(_TIMES_WORDS)):
        return None
    words = list(_WORD.finditer(q, max(0, span[0] - 60), span[0]))[1:]
    numbers = [i for i, m in enumerate(words) if any(ch.isdigit() for ch in m.group())]
    words = words[numbers[-1] + 1:] if numbers else words  # "mayores de 30 compraron más de 3 veces"
    said = [m for m in words if m.group() not in FILLER and m.group() not in _PEOPLE][-3:]
    # the longest run that names an event ("opened a support ticket"), else the last word that does
    for m in said:
        if budget.take() and (path := _event_of(q[m.start():said[-1].end()], vocab)) is not None:
            return path, m.start()
    return None
# what stands before "a" without being what people did: "with a partner", "on a two-year plan", "have a"
_NOT_A_VERB = frozenset({"with", "on", "in", "of", "for", "to", "from", "at", "by", "as", "is", "are", "was", "were",
                         "be", "been", "have", "has", "had", "having", "get", "got", "own", "who", "that", "which",
                         "customers", "people", "users", "clients", "con", "de", "en", "para", "por", "es", "son",
                         "tienen", "tiene", "tengan", "que", "quienes", "clientes", "personas", "usuarios", "than",
                         "like", "love", "want", "need", "use", "uses", "using", "usan", "quieren", "prefer"})
# a clause that states a quantity is read by the numbers' passes, not as "at least one"
_QUANTITY = re.compile(r"\d|\b(?:above|over|under|below|more|less|fewer|least|most|than|average|mean|total|mas|menos|"
                       r"mayor|menor|media|promedio|superior|inferior|encima|debajo)\b")
# the auxiliary of a perfect, before the verb that says the event: "who have bought", "que han comprado"
_PERFECT = frozenset({"have", "has", "had", "han", "ha", "hayan", "haya", "habian", "habia", "hubieran"})
# verbs that say an event only with what follows them: "made a purchase", "hicieron una compra"
_LIGHT_VERBS = frozenset({"made", "make", "makes", "did", "do", "placed", "place", "hicieron", "hizo", "hecho",
                          "realizaron", "realizo", "realizado"})
# at least one event of a type: "who opened a support ticket", "who bought something", "que compraron algo", and
# a verb said right after "who" / "que" ("customers who added to cart")
_PARTS_WORDS = frozenset({"and", "or", "but", "nor", "with", "who", "whose", "which", "that", "y", "o", "ni", "pero",
                          "con", "que", "quienes"})
_PARTS = re.compile(r"\b(?:" + "|".join(sorted(_PARTS_WORDS, key=len, reverse=True)) + r")\b")


_SOME_OF = re.compile(r"\b(?:a|an|any|some|something|anything|un|una|algun|alguna|algunos|algunas|algo|nada|ningun|ninguna|ninguno)\b"
                      r"|\b(?P<who>who|que|quienes|customers|people|users|clientes|personas|usuarios|and|y) (?=\S)")


# a preposition right after a verb: what follows is where or how it was done ("compraron | en la web")
_BY_WAY_OF = re.compile(r"\s+(?:en|on|in|via|by|through|por|desde|from|online)\b")
# only an article between a verb and what it acted on: "visitaron | la | web", "visited | the | website"
_STEM_NAMED = re.compile(r"\s+(?:(?:the|a|an|el|la|los|las|un|una)\s+)?")


def _some_of(q: str, vocab: Vocabulary, free: Callable[[tuple[int, int]], bool], after: Sequence[int] = (),
             ) -> list[tuple[str, tuple[int, int], float, bool, list[str]]]:
    """Event types the question says people have at least one of: a verb, then "a" / "some" / "something" and
    what was acted on, or a verb right after "who" / "que", read by meaning as one event type's phrase or name
    ("opened a support ticket" against the dictionary's "opened a support ticket"; "bought something" against
    "bought"; "added to cart" against "add to cart"). What events are about ("watched a documentary") stays a
    meaning, and words that name a trait's value after "who" stay the value's. A denied one is none (the last item
    True): "haven't opened any emails" is the event, not the channel `email`.
    `after`: where other readings end; a verb right after one is read as after "who" ("women from Spain | bought
    books", "clientes con plan empresa | compraron joyería"), and only those are tried."""
    lexicon = vocab.lexicon
    if lexicon is None or lexicon.empty or not vocab.event_counts:
        return []
    index = _event_entries(lexicon)
    # what events are about, by its values: a facet's own name ("viewed a product") says no more than the verb
    about = {w for c in (*vocab.context, *vocab.about_values) if c not in vocab.event_counts and c not in vocab.facets
             for w in c.split()}
    out: list[tuple[str, tuple[int, int], float, bool, list[str]]] = []
    tried = 0
    cues = [(m.group("who") is not None, m.start(), m.end(), m.group()) for m in _SOME_OF.finditer(q)] if not after \
        else [(True, e, e + len(q[e:]) - len(q[e:].lstrip()), "") for e in sorted(set(after))]
    for after_who, cue_start, cue_end, cue_said in cues:
        if after_who:  # after "who": the clause's first word is the verb, what follows its object
            verb = _WORD.match(q, cue_end)
            if verb is not None and verb.group() in _PERFECT and (participle := _WORD.match(q, verb.end() + 1)):
                verb = participle  # "who have bought shoes", "clientes han comprado zapatos": the participle
            rest = verb.end() if verb else cue_end
        else:
            before = list(re.finditer(r"\S+", q[:cue_start]))
            verb, rest = (before[-1] if before else None), cue_end
        if verb is None or verb.group() in _NOT_A_VERB or _NONE_OF.fullmatch(verb.group()):
            continue
        whole = _PARTS.split(q[rest:], maxsplit=1)[0]
        clause = _untaken(q, rest, whole, free)
        if _QUANTITY.search(clause) or (not clause.split() and _COMPARE.match(whole.lstrip())):
            # "gave an average rating above 4", "a purchase over 100": a number's; "opened | more than 2 tickets":
            # the count's, whose verb it reads once the passes are done
            continue
        content = [m for m in list(re.finditer(r"\S+", clause))[:3] if m.group() not in FILLER][:2]
        if len(content) == 2 and (_FINITE_PAST.fullmatch(content[1].group()) or (
                _PAST_VERB.fullmatch(content[1].group()) and _is_about(content[0].group(), about))):
            content = content[:1]  # "who bought shoes | bought bags", "viewed bags | added": a verb starts a clause
        said = content if verb.group() in _LIGHT_VERBS else [verb, *content]  # "made a purchase": the purchase
        if not index or not said or _is_about(verb.group(), about):
            continue
        # what the event was about ("rated horror movies"): the verb and the rest read the event type, and the
        # value which events (answered from the event log)
        objects = [m for m in content if _is_about(m.group(), about) or vocab.spelled_about(m.group())]
        said = [m for m in said if not any(m is o for o in objects)]
        if not said:
            continue
        start, end = verb.start(), rest + (content[-1].end() if content else 0)
        words = q[start:end]
        # after "who" nothing says an event was counted: words that name a trait's value are the value's
        named = after_who and \
            any(options[0][0].search(words) for _, options in vocab.value_candidates(words))
        denied = negation_start(q, start, slack=1)  # "haven't opened any emails": none, read before the values
        if denied is None and _NONE_OF.search(q, verb.end(), end):  # "who did not buy anything": within
            denied = start
        start = denied if denied is not None else start
        if not free((start, end)) or (tried := tried + 1) > MAX_EVENT_READINGS or (objects and denied):
            continue  # "never bought shoes" stays a meaning: the log answers who did, not who did not
        sims = lexicon.similarity(" ".join(m.group() for m in said), index)[0]
        best = int(sims.argmax())
        # a trait's value, unless the words are how the dictionary says the event ("visitaron la web"), or the
        # value is what the verb acted on and the verb is the event's own name ("visitaron la web" against a
        # shop's `visita-pagina`; "compraron en la web" keeps the channel)
        owned = named and not denied and content and _STEM_NAMED.fullmatch(q[verb.end():rest + content[0].start()]) \
            and _by_stem(verb.group(), lexicon, index) is not None
        # "compraron | en la web": a value said after a preposition is where or how, not what was acted on; the
        # verb alone is the event, and the value is read as a value after
        circumstance = named and not owned and denied is None and bool(content) and \
            _BY_WAY_OF.match(q, verb.end()) is not None
        if named and not owned and not circumstance and \
                float(lexicon.similarity(q[verb.start():end], index)[0].max()) < AS_ASKED:
            continue
        if circumstance:
            said, content, objects, end = [verb], [], [], verb.end()
            sims = lexicon.similarity(verb.group(), index)[0]
            best = int(sims.argmax())
        # "something" / "anything" / "algo" say an event happened without saying to what: the verb is all there is
        # to read, so a smaller margin ("did not buy anything": "buy" 0.789 against "bought", a line of 0.79)
        margin = OBJECTLESS_MARGIN if cue_said in ("something", "anything", "algo", "nada") else NONE_MARGIN
        if sims[best] <= _event_bar(lexicon, index[best], margin) and len(said) > 1 and said[0] is verb:
            # what was acted on can dilute the verb ("valoraron una película": 0.39 against "valoraciones", the
            # verb alone 0.58): the verb alone, where it reads the same event type
            alone = lexicon.similarity(verb.group(), index)[0]
            if lexicon.targets[index[int(alone.argmax())]].path == lexicon.targets[index[best]].path:
                sims, best = alone, int(alone.argmax())
        passed = sims[best] > _event_bar(lexicon, index[best], margin)
        stem = None if passed else _by_stem(verb.group(), lexicon, index)
        if passed or stem is not None:
            best = best if stem is None else stem
            path = lexicon.targets[index[best]].path
            # what was acted on, when it is neither the event's own words ("opened a support ticket"), a word for
            # anything ("something", "a product") nor a value events hold ("a sofa", "zapatos" over English data):
            # it is left to the meaning, so the count is an estimate among such events, not all of them
            own = _event_words(lexicon, index, path) | vocab.facets
            specific = [] if owned else [
                m for m in content if not any(m is o for o in objects) and m.group() not in _ABOUT_LINK
                and not _is_about(m.group(), own) and not _shares_a_stem(m.group(), own)
                and not SYNONYMS.get(m.group(), frozenset()) & own]  # "correo" is the event's own "email"
            values: list[str] = []
            if specific and lexicon.across:  # "bought watches" where the events say "relojes"
                values, across_end = _about_across(q, verb.end(), vocab)
                if values:
                    end = _own_words_after(q, across_end, own, free)
            if specific and not values:
                if denied is not None or objects:
                    continue  # "did not buy a sofa" is not "bought nothing": a meaning, as before
                end = max(verb.end(), rest + len(q[rest:rest + specific[0].start()].rstrip()))
            elif not specific:
                values, end = _about(q, rest, end, vocab)
                if values:  # "added jackets | to the cart": the event's own words after what it was about
                    end = _own_words_after(q, end, own, free)
            if objects and not values:
                continue  # what it was about is no value the events hold: a meaning, as before
            out.append((path, (start, end), round(float(sims[best]), 3), denied is not None, values))
            also = _AND.match(q, end)
            if values and denied is None and also is not None:
                # "bought shoes and bags": such an event about each (a list with "or" is either, read by `_about`);
                # "shoes but not bags", "zapatos pero no bolsos": and none about the second
                more, more_end = _about(q, also.end(), also.end(), vocab)
                if more and not set(more) & set(values) and more_end > also.end():
                    out.append((path, (also.start() + 1, more_end), round(float(sims[best]), 3),
                                also.group("not") is not None, more))
    # two cues may read one event ("customers | added something" and "added something | to the cart"): the
    # longest reading, so what it took runs up to what follows (a window: "... to the cart this week")
    kept: list[tuple[str, tuple[int, int], float, bool, list[str]]] = []
    for found in sorted(out, key=lambda r: (r[1][0], -r[1][1])):
        if not any(found[1][0] < k[1][1] and k[1][0] < found[1][1] for k in kept):
            kept.append(found)
    return kept


# "last purchase was more than 90 days ago", "who last bought over a year ago", "cuya última compra fue hace más de
# 3 meses", "compraron por última vez hace menos de 30 días": the event's word, then the comparison
_LAST_TIME = re.compile(r"\b(?:(?:last|latest|ultima|ultimo)\s+(?P<what>[a-z]+)|(?P<verb>[a-z]+)\s+por\s+ultima\s+vez)"
                        r"(?:\s+(?:was|were|fue|fueron))?\s+(?:hace\s+)?"
                        r"(?P<cmp>more than|over|less than|under|within|mas de|menos de)\s+")
_LESS_AGO = frozenset({"less than", "under", "within", "menos de"})
_FIRST_TIME = re.compile(r"\b(?:for the first time|for the 1st time|por primera vez|por vez primera)\b")
_UNIT = r"(days?|weeks?|months?|years?|dias?|semanas?|mes|meses|anos?)"
# the same question said another way, as the readings below read it (spans are kept as rewritten: `from` says it
# the way it was read)
_PARAPHRASES = [
    # "both shoes and bags", "tanto zapatos como bolsos": each
    (re.compile(r"\bboth ((?:\S+ ){1,3}?)and\b"), r"\1and"),
    (re.compile(r"\btanto ((?:\S+ ){1,3}?)como\b"), r"\1y"),
    # "bought shoes also bought bags", "y también compraron": one more thing they did, as "and" says it
    (re.compile(r"\b(who|that|which|que|quienes) (?:also|tambien)\b"), r"\1"),
    (re.compile(r"(?<!\bwho )(?<!\bthat )(?<!\bwhich )(?:\band )?\balso\b"), "and"),
    (re.compile(r"(?<!\bque )(?<!\bquienes )(?:\by )?\btambien\b"), "y"),
    # "have ever bought", "alguna vez": what any purchase already says
    (re.compile(r"(?<!\s)\s+(?:ever|alguna vez)\b"), ""),
    # a number of times said bare ("bought shoes twice", "bought 2 times", "compraron dos veces"): exactly that many,
    # as "only twice" is; not after a comparison ("at least twice", "más de 2 veces") nor a rate ("twice a month")
    (re.compile(r"(?<!than )(?<!least )(?<!most )(?<!over )(?<!under )(?<!exactly )(?<!only )(?<!just )(?<!solo )"
                r"(?<!de )(?<!menos )(?<!mucho )(?<!and )(?<! y )(?<!or )(?<! o )(?<!solamente )(?<!unicamente )"
                r"\b((?:twice|thrice|once|(?:\d{1,3}|two|three|four|five|dos|tres|cuatro|cinco) (?:times|veces))"
                r"(?!\s+(?:a|an|per|every|each|al|por|cada|o|or)\b))"), r"only \1"),
    (re.compile(r"\b(?:have |has )?spent nothing\b"), "did not buy anything"),  # "spent nothing": no purchase
    (re.compile(r"\bno (?:han )?gastado nada\b|\bno gastaron nada\b"), "no compraron nada"),
    (re.compile(r"\bnon[- ]?buyers\b"), "customers who never bought"),  # "how many non-buyers"
    # "no han comprado nunca": "nunca han comprado"
    (re.compile(r"\bno ((?:han |ha |hemos |habian )?\w+) (?:nunca|jamas)\b"), r"nunca \1"),
    # "have not bought in over 90 days", "not active for 3 months", "inactive for more than 3 months": in the last
    (re.compile(r"\b(not \w+|never \w+|inactive|not been active|no activity) (?:in|for) (?:over |more than |the "
                r"(?:last|past) )?(\d+) " + _UNIT + r"\b"), r"\1 in the last \2 \3"),
    # "have gone 90 days without buying", "llevan más de 90 días sin comprar", "llevan 6 meses sin actividad"
    (re.compile(r"\b(?:have |has )?gone (?:more than |over )?(\d+) " + _UNIT + r" without (\w+)"),
     r"not \3 in the last \1 \2"),
    (re.compile(r"\b(?:llevan?|llevaban?) (?:mas de )?(\d+) " + _UNIT + r" sin actividad\b"),
     r"no han tenido actividad en los ultimos \1 \2"),
    (re.compile(r"\b(?:llevan?|llevaban?) (?:mas de )?(\d+) " + _UNIT + r" sin (\w+)"), r"no \3 en los ultimos \1 \2"),
    # "no compran desde hace 90 días", "inactivos desde hace 3 meses" (a positive "desde hace" is how long, not when)
    (re.compile(r"\b(no (?:han |ha |hemos )?\w+|inactiv[oa]s?|sin actividad) (?:desde hace|durante|hace) (?:mas de )?(\d+) "
                + _UNIT +
                r"\b"), r"\1 en los ultimos \2 \3"),
]


def _plainly(q: str) -> str:
    """A question's paraphrases said the way the readings read them (`_PARAPHRASES`); "made their first purchase
    this year" is "bought for the first time this year"."""
    q = _FIRST_PURCHASE_ES.sub("compraron por primera vez", _FIRST_PURCHASE.sub("bought for the first time", q))
    for pattern, said in _PARAPHRASES:
        q = pattern.sub(said, q)
    if _DENIED_ANY.search(q):  # "haven't opened an email in 3 months": within the last 3 months
        q = _IN_A_STRETCH.sub(lambda m: "in the last " if m.group(1) in ("in", "within") else "en los ultimos ", q)
    return q


_DENIED_ANY = re.compile(r"\b(?:not|no|never|nunca|without|sin)\b")
_IN_A_STRETCH = re.compile(r"\b(in|within|en) (?=(?:\d+|two|three|four|five|six|seven|eight|nine|ten|twelve|dos|tres|"
                           r"cuatro|cinco|seis|siete|ocho|nueve|diez|doce) (?:days|weeks|months|years|dias|semanas|"
                           r"meses|anos)\b)")


_FIRST_PURCHASE = re.compile(r"\b(?:made|make|placed|place|did) (?:(?:their|his|her|a|the) )?(?:very )?first "
                             r"(?:purchase|order)\b")
_FIRST_PURCHASE_ES = re.compile(r"\b(?:hicieron|hizo|han hecho|ha hecho|realizaron|realizo) (?:(?:su|una|la) )?"
                                r"primera (?:compra|pedido)\b")
_BUT = frozenset({"but", "and", "pero", "y", "yet", "aunque", "sin", "embargo"})
_AND = re.compile(r"\s+(?:(?:and|y|e)\s+(?:also\s+|tambien\s+)?|(?:but|and|pero|y)\s+(?P<not>not|no)\s+"
                  r"(?:any\s+|ningun[oa]?s?\s+)?)")


# words for whatever was acted on: they say an event happened, not to what
_ANYTHING = frozenset({"something", "anything", "thing", "things", "item", "items", "product", "products", "movie",
                       "movies", "film", "films", "order", "orders", "algo", "nada", "cosa", "cosas", "articulo",
                       "articulos", "producto", "productos", "pelicula", "peliculas", "pedido", "pedidos"})


def _shares_a_stem(word: str, words: set[str]) -> bool:
    """`word` is a form of one of `words` ("rate" of "rated", "rating" of "ratings"): four letters or more, one
    the start of the other."""
    return len(word) >= 4 and any(len(w) >= 4 and (w.startswith(word) or word.startswith(w)) for w in words)


def _event_words(lexicon: Lexicon, index: list[int], path: str) -> set[str]:
    """The words of an event type's names in the lexicon ("rated", "ratings", "content rated", "valoraciones"),
    and words for anything."""
    return {w for j in index if lexicon.targets[j].path == path for w in lexicon.texts[j].split()} | _ANYTHING


# words that tie an event to what it was about: "a support ticket about refunds", "compras de zapatos", "or bags"
_ABOUT_LINK = frozenset({"about", "regarding", "for", "of", "on", "with", "in", "sobre", "acerca", "de", "del", "por",
                         "con", "en", "a", "an", "the", "el", "la", "los", "las", "un", "una", "some", "unos", "unas",
                         "or", "o", "u"})
_ABOUT_END = re.compile(r"\b(?:" + "|".join(sorted(_PARTS_WORDS - {"or", "o", "with", "con"}, key=len, reverse=True))
                        + r")\b")


def _either_number(phrase: str) -> re.Pattern[str]:
    """A phrase of what events are about, its last word singular or plural ("a book" for "books")."""
    *head, last = phrase.split()
    tail = "|".join(re.escape(f) for f in sorted(number_forms(last), key=len, reverse=True))
    return re.compile(r"\b" + "".join(re.escape(w) + r"\s+" for w in head) + f"(?:{tail})" + r"\b")


_LONG_WORD = re.compile(r"\b[^\W\d_]{5,40}\b")


def _about(q: str, rest: int, end: int, vocab: Vocabulary) -> tuple[list[str], int]:
    """The values of what events are about said in the clause of an event read up to `end` ("horror" in "rated
    horror movies", "refunds" in "opened a support ticket about refunds"): within what was read, or after it
    joined by small words only. The values as the events write them, and where what was read now ends."""
    stop = _ABOUT_END.search(q, rest)  # "or" lists values ("viewed jackets or bags"); "and" starts a clause
    clause_end = stop.start() if stop else len(q)
    said: list[tuple[int, int, str]] = []  # where each value is said, the longest phrase first where they overlap
    for phrase in sorted(vocab.about_values, key=len, reverse=True):
        if phrase.split()[0][:4] not in q[rest:clause_end]:
            continue
        said.extend((m.start(), m.end(), phrase) for m in _either_number(phrase).finditer(q, rest, clause_end)
                    if not any(m.start() < b and a < m.end() for a, b, _ in said))
    for m in _LONG_WORD.finditer(q, rest, clause_end):  # spelled another way: "jewelry" for `jewellery`
        if not any(m.start() < b and a < m.end() for a, b, _ in said) and (spelled := vocab.spelled_about(m.group())):
            said.append((m.start(), m.end(), spelled))
    found: list[str] = []
    last = end
    for a, b, phrase in sorted(said):  # in the order said: each joined to what was read by small words only
        if a < end or all(w in _ABOUT_LINK for w in q[last:a].split()):
            found.extend(vocab.about_values[phrase])
            last = max(last, b)
        else:
            break
    tail = q[last:clause_end].split()
    if found and len(tail) == 1 and tail[0] not in _ABOUT_LINK and tail[0] not in FILLER:
        last = clause_end  # the clause's last word is what was acted on: "rated a thriller or a war movie"
    if not found and vocab.lexicon is not None and vocab.lexicon.across:
        return _about_across(q, end, vocab)
    return list(dict.fromkeys(found)), last


_OBJECT = re.compile(r"\s+(?:(?:a|an|the|some|any|el|la|los|las|un|una|unos|unas)\s+)?(?P<w>[a-z]+)(?:\s(?P<w2>[a-z]+))?")


def _about_across(q: str, end: int, vocab: Vocabulary) -> tuple[list[str], int]:
    """What was acted on right after q[:end], said in the other language than the events say it ("bought
    shoes" over `zapatos`): the object's words matched to what events are about by meaning, where one leads
    clearly (`Lexicon.across_languages`); none, and `end` unchanged, otherwise. (A value spelled another way is
    read by `_about` itself, in either kind of deployment.)"""
    stop = _ABOUT_END.search(q, end)
    obj = _OBJECT.match(q, end, stop.start() if stop else len(q))
    assert vocab.lexicon is not None
    if obj is None or obj.group("w") in FILLER or obj.group("w") in _ANYTHING or obj.group("w") in _TIME_WORDS:
        return [], end
    second = obj.group("w2")
    tries = [(f"{obj.group('w')} {second}", obj.end("w2"))] if second and second not in FILLER and \
        second not in _TIME_WORDS and second not in _CLAUSE else []
    for words, said_end in [*tries, (obj.group("w"), obj.end("w"))]:
        phrase = vocab.lexicon.across_languages(words, list(vocab.about_values))
        if phrase is not None:
            return list(vocab.about_values[phrase]), said_end
    return [], end


MAX_OWN_WORDS = 4  # an event's own words after what it was about ("to the cart"), at most


def _own_words_after(q: str, end: int, own: set[str], free: Callable[[tuple[int, int]], bool]) -> int:
    """Where an event's reading ends once the words after it up to the clause's end (or another reading's words:
    a window) are taken, where they are only the event's own words and small ones ("added jackets | to the cart |
    but ...", "... | to the cart | this week"); else `end`."""
    stop = _ABOUT_END.search(q, end)
    clause_end = end + len(_untaken(q, end, q[end:stop.start() if stop else len(q)], free))
    tail = q[end:clause_end].split()
    def owns(w: str) -> bool:  # the event's own word, in either language ("cart" for `anadir-al-carrito`)
        return w in own or _shares_a_stem(w, own) or bool(SYNONYMS.get(w, frozenset()) & own)

    if tail and len(tail) <= MAX_OWN_WORDS and any(owns(w) for w in tail) and \
            all(w in _ABOUT_LINK or w in ("to", "into", "al") or owns(w) for w in tail):
        return end + len(q[end:clause_end].rstrip())
    return end


def _event_entries(lexicon: Lexicon) -> list[int]:
    """The lexicon's entries that name an event type's count (`counts.<type>`), by position."""
    return [j for j, t in enumerate(lexicon.targets) if t.kind == "number" and t.path.startswith("counts.")]


def _event_bar(lexicon: Lexicon, entry: int, margin: float) -> float:
    """What an event reading must beat: the entry's own bar, or a clear margin over the null line where everyday
    verbs raised it ("bought" against the filler "buy": 1.0), as after "never". On 1,000 shop profiles, phrases of no
    event scored 0.25-0.49 ("chose a premium plan", "ganaron un premio") against bars of 0.59-0.64; events 0.64-1.0."""
    return min(float(lexicon.threshold[entry]), lexicon.null_line + margin)


def _is_about(word: str, about: set[str]) -> bool:
    """`word` names what events are about, in the singular or the plural ("a book" and the category "books",
    "comedies" and the genre "comedy")."""
    return not number_forms(word).isdisjoint(about)


# English verbs whose past is not said with -ed (the dictionary says events in the past: "bought", "paid")
_IRREGULAR_PAST = {"buy": "bought", "pay": "paid", "spend": "spent", "send": "sent", "leave": "left", "make": "made",
                   "get": "got", "give": "gave", "see": "saw", "write": "wrote", "read": "read", "sell": "sold",
                   "take": "took", "choose": "chose", "win": "won", "find": "found", "go": "went", "come": "came"}


# a verb in the past, as questions say what people did: "opened", "bought", "compraron", "abrieron"
_PAST_VERB = re.compile(r"[a-z]{3,}ed|" + "|".join(sorted(set(_IRREGULAR_PAST.values()))) + r"|[a-z]{2,}(?:aron|ieron|yeron)")


# Spanish verbs whose participle (what an event type's name says: "vista-producto", "email-abierto") shares no
# first five letters with the forms a question uses ("vieron", "abrieron"): the start of a form, the participle's
_IRREGULAR_PARTICIPLE = (("devolv", "devuelt"), ("resolv", "resuelt"), ("escrib", "escrit"), ("abr", "abiert"),
                         ("cubr", "cubiert"), ("volv", "vuelt"), ("romp", "rot"), ("pus", "puest"), ("pon", "puest"))
_FORMS_OF_VER = frozenset({"ver", "ve", "ven", "vea", "vean", "vi", "vio", "vimos", "vieron", "viendo", "visto",
                           "vista", "vistos", "vistas", "veia", "veian"})


# a question's verb (by its start) -> how the other language starts the words of the same event's name: "bought"
# meets `compra`, "compraron" `purchase-order`; commerce's own verbs only, each form long enough to be no other word
_SAME_VERB: tuple[tuple[str, tuple[str, ...]], ...] = (
    # English verbs over a Spanish shop's types
    ("bought", ("compr",)), ("buy", ("compr",)), ("purchas", ("compr",)), ("ordered", ("pedid", "compr")),
    ("open", ("abiert", "abrir")), ("view", ("vist",)), ("visit", ("visit",)), ("added", ("anad", "agreg")),
    ("rate", ("valor", "puntu")), ("reviewed", ("resen", "valor")), ("clicked", ("clic",)),
    ("subscribed", ("suscri",)), ("returned", ("devol", "devuelt")), ("cancel", ("cancel",)),
    ("searched", ("busc", "busqu")), ("registered", ("registr",)), ("paid", ("pag",)),
    # Spanish verbs over an English shop's types ("vieron", not "vier": "viernes" is a day; months never get here)
    ("compr", ("purchase", "bought", "buy", "order")), ("abrieron", ("open",)), ("abrio", ("open",)),
    ("abiert", ("open",)), ("vieron", ("view",)), ("vist", ("view",)), ("anad", ("add", "cart")),
    ("agreg", ("add", "cart")), ("valor", ("rat", "review")), ("puntu", ("rat", "scor")),
    ("devol", ("return", "refund")), ("busc", ("search",)), ("registr", ("regist", "sign")),
    ("suscri", ("subscri",)), ("pagaron", ("pay", "paid")), ("pagar", ("pay", "paid")))


def _participle(word: str) -> str | None:
    """The start of the Spanish participle of an irregular verb's form ("vieron" -> "vist", "abrieron" ->
    "abiert"), or None."""
    if word in _FORMS_OF_VER:
        return "vist"
    if word in _MONTHS:  # "abril" is no form of "abrir"
        return None
    return next((p for start, p in _IRREGULAR_PARTICIPLE if word.startswith(start) and len(word) > len(start) + 1),
                None)


def _past_forms(word: str) -> set[str]:
    """The past a question's English verb may have in the dictionary's phrases: "buy" / "buying" / "buys" ->
    "bought", "rate" -> "rated", "open" / "opens" -> "opened"."""
    bases = {word}
    if word.endswith("ing") and len(word) > 5:
        bases |= {word[:-3], word[:-3] + "e"}
    elif word.endswith("s") and len(word) > 3:
        bases.add(word[:-1])
    return {p for b in bases for p in (b + "ed", b + "d", _IRREGULAR_PAST.get(b, ""))} - {""}


def _by_stem(word: str, lexicon: Lexicon, index: list[int]) -> int | None:
    """The one event entry whose verb is the question's verb in the past ("buy" against "bought": 0.79, at the
    bar on 20,000 shop profiles) or shares its first five letters, where meaning fell short on a conjugation
    ("compraron" against the dictionary's "compró": 0.48, under its bar): its position in `index`, or None when
    none or several event types do."""
    past = _past_forms(word)
    said = {lexicon.targets[j].path: k for k, j in enumerate(index) if lexicon.texts[j].split()[0] in past}
    if len(said) == 1:
        return next(iter(said.values()))
    if (participle := _participle(word)) is not None:  # "vieron" against "vista producto"
        forms = [k for k, j in enumerate(index) if any(w.startswith(participle) for w in lexicon.texts[j].split())]
        if forms:  # several types say it ("paginas vistas", "vistas de producto"): the nearest in meaning
            sims = lexicon.similarity(word, index)[0]
            return max(forms, key=lambda k: float(sims[k]))
    if len(word) >= 5:
        found = {lexicon.targets[j].path: k for k, j in enumerate(index)
                 if len(first := lexicon.texts[j].split()[0]) >= 5 and first[:5] == word[:5]}
        if len(found) == 1:
            return next(iter(found.values()))
    # the same verb in the other language ("bought" over a Spanish shop's `compra`, "abrieron" over
    # `email-opened`): where meaning falls short across languages on a bare verb
    stems = next((other for start, other in _SAME_VERB if word.startswith(start)), ()) if word not in _MONTHS else ()
    found = {lexicon.targets[j].path: k for k, j in enumerate(index)
             if any(w.startswith(stems) for w in lexicon.texts[j].split())} if stems else {}
    return next(iter(found.values())) if len(found) == 1 else None


def _privative(key: str, words: str) -> bool:
    """The question names what the field's name denies: "paper bills" against `paperless_billing`, "factura en
    papel" against `factura_sin_papel`."""
    said = set(words.split())
    parts = key.split()
    for k, w in enumerate(parts):
        if w.endswith("less") and len(w) > 6 and w not in said and any(x.startswith(w[:-4]) for x in said):
            return True
        if w in ("sin", "without", "no", "non") and k + 1 < len(parts) and w not in said and parts[k + 1] in said:
            return True
    return False


_JOIN = _OR | {"and", "y", "e"}


_CLAUSE = frozenset({"and", "but", "who", "that", "which", "whose", "with", "y", "pero", "que", "quienes", "con"})


def _denied_in_a_list(q: str, start: int) -> bool:
    """A value listed after a denied one ("not students or programmers", "sin fibra o teléfono"): "or" / "nor" /
    "ni" right before it, and a negation a few words before that, in the same clause."""
    words = q[:start].split()
    if not words or words[-1] not in _OR:
        return False
    for w in reversed(words[-6:-1]):
        if w in _NEGATIONS:
            return True
        if w in _CLAUSE:
            return False
    return False


def _joined(q: str, a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Two spans of the question listed together: "or" / "and" / "y" / "o" between them and nothing else but
    articles ("programmers or engineers", "estudiantes y los jubilados"; a list's commas were read as "and")."""
    first, second = sorted((a, b))
    between = q[first[1]:second[0]].split()
    lead = q[second[0]:second[1]].split()[:1]  # "no son estudiantes ni programadores": "ni" was read with its value
    if lead and lead[0] in _JOIN:
        between.append(lead[0])
    # a join word is needed: "science fiction" side by side is two readings of one phrase, not a list
    return first[1] <= second[0] and any(w in _JOIN for w in between) and \
        all(w in _JOIN or w in _BETWEEN for w in between)


# Spanish says a group of women by the feminine of its noun: "¿cuántas clientas compraron bolsos?"
_FEMININE = re.compile(r"\b(?:clientas|usuarias|compradoras|consumidoras|socias|suscriptoras|abonadas)\b")
_GENDER_KEYS = frozenset({"gender", "genero", "sex", "sexo"})


def _feminine(q: str, vocab: Vocabulary) -> str:
    """"clientas" as "mujeres" where the data says a gender (read as the gender's value, by meaning, as "mujeres"
    is), else as "clientes": who they are, said."""
    if not _FEMININE.search(q):
        return q
    gendered = any(norm(last_key(path)) in _GENDER_KEYS for path in vocab.categories())
    return _FEMININE.sub("mujeres" if gendered else "clientes", q)


def _norm_question(text: str) -> str:
    """`norm`, a number's separators kept ("40.16", "120,000", "1.234,56": `parse_number` reads them; "40 16"
    had been two numbers)."""
    return " ".join(re.findall(r"\d+(?:[.,]\d+)+|[a-z0-9]+", fold(str(text)).lower()))


def _read_form(query: str, vocab: Vocabulary) -> str:
    """A question as the readings read it: "don't" is a negation, "do not"; a list's commas join as "and" does
    ("students, programmers or engineers"), while "120,000" keeps its comma; the feminine and paraphrases said
    plainly."""
    q = _feminine(_norm_question(re.sub(r",\s+", " and ", re.sub(r"n['’]t\b", " not", query))), vocab)
    return _plainly(q)


# "what percentage of customers from Spain | bought shoes": where what is asked of the group starts (a verb of
# its own, not one of a clause of the group's: "customers who bought shoes | also bought bags")
_RELATIVE = frozenset({"who", "that", "which", "whose", "que", "quienes", "cuyo", "cuya", "cuyos", "cuyas"})
_PREDICATE = frozenset({"are", "is", "were", "was", "have", "has", "had", "did", "do", "does", "will", "would",
                        "also", "son", "es", "eran", "fueron", "estan", "esta", "han", "ha", "habian", "tienen",
                        "tiene", "tambien", "hicieron", "hizo"})
# a verb in the past that no group's description uses ("compraron", "bought"; not "-ed": "retired", "married")
_FINITE_PAST = re.compile(r"[a-z]{2,}(?:aron|ieron|yeron)|" + "|".join(sorted(set(_IRREGULAR_PAST.values()))))
_VERB_FORM = re.compile(r"[a-z]{3,}(?:ed|aron|ieron|yeron|an|en|o|io)|spent|bought|paid|made|did|gave|took|got|"
                        r"spend|buy|pay|make|gasta|compra|paga")
_NO_VERB = frozenset({"with", "con", "more", "less", "fewer", "over", "under", "at", "mas", "menos", "of", "de", "del",
                      "en", "in", "on", "por", "a", "an", "the", "el", "la", "los", "las", "un", "una", "sin",
                      "without", "no", "not", "never", "nunca"})
_EVERYONE = frozenset({"customers", "customer", "clients", "client", "clientes", "cliente", "users", "usuarios",
                       "people", "personas", "members", "socios", "our", "the", "all", "los", "las", "nuestros",
                       "nuestras", "todos", "todas", "of", "de"})
_OF_SHARE = re.compile(r"\b(?:share|percentage|percent|proportion|fraction|porcentaje|proporcion|parte|tanto por "
                       r"ciento)\s+(?:of|de)\b")


def _named_base(words: list[str]) -> str | None:
    """A share's group without its leading article ("los clientes recurrentes" -> "clientes recurrentes"); None
    where it names no one in particular."""
    while words and words[0] in _LEADING:
        words = words[1:]
    return " ".join(words) if set(words) - _EVERYONE else None


_LEADING = frozenset({"the", "our", "all", "los", "las", "el", "la", "nuestros", "nuestras", "todos", "todas"})


def share_base(question: str, vocab: Vocabulary) -> str | None:
    """What a share is of ("what percentage of | customers from Spain | bought shoes?": "customers from spain"),
    in the readings' words; None where the question asks no share, or asks it of everyone ("what share of
    customers are women")."""
    plain = _norm_question(question)  # before the paraphrases, which say "also" as "and"
    of = _OF_SHARE.search(plain)
    if of is None:
        return None
    words = plain[of.end():].split()
    also = next((k for k, w in enumerate(words) if w in ("also", "tambien")), None)
    if also:  # "of customers who bought shoes | also bought bags"
        return _named_base(words[:also - 1] if words[also - 1] in ("and", "y") else words[:also])
    q = _read_form(question, vocab)
    of = _OF_SHARE.search(q)
    if of is None:
        return None
    starts = [m.start() for m in re.finditer(r"\S+", q[of.end():])]
    words = q[of.end():].split()
    read = understand(q[of.end():], vocab)
    # where an event (or spend, a count of purchases) was read from a verb ("compró", "bought shoes", "spent more
    # than"); not a count said after "with" / "more than", nor a group named by how often ("clientes recurrentes")
    verbs = {of.end() + q[of.end():].find(r["from"]) for k, r in enumerate(read.read)
             if r["from"] and r["from"].split()[0] not in _NO_VERB and (
                 k >= len(read.conditions) or r["filter"].startswith(("counts.", "events.", *_PAYLOAD_NUMBERS))
                 and _VERB_FORM.fullmatch(r["from"].split()[0]))}
    inside = False  # within a clause of the group's own ("who bought shoes")
    for k, word in enumerate(words):
        prev = words[k - 1] if k else ""
        at = of.end() + starts[k]
        if prev in _RELATIVE or (inside and prev in _PREDICATE):
            inside = True
            continue
        if (word in _PREDICATE or at in verbs or _FINITE_PAST.fullmatch(word)) and k:
            return _named_base(words[:k])
    return None


# one event in two windows: "bought shoes last month but not this month", "compraron en noviembre y en diciembre"
_MONTH_NAMES = "|".join(m for m in _MONTHS if m != "may")
_A_WINDOW = (r"(?:(?:this|last|previous|este|esta)\s+(?:year|month|week|ano|mes|semana)|(?:el|la)\s+(?:ano|mes|semana)"
             r"\s+pasad[oa]|yesterday|ayer|today|hoy|(?:(?:in|en|during|durante)\s+)?(?:" + _MONTH_NAMES +
             r")(?:\s+(?:of\s+|de\s+)?(?:19|20)\d{2})?|(?:in|en|during|durante)\s+(?:19|20)\d{2})")
_TWO_WINDOWS = re.compile(r"^(?P<head>\S.*?)\s(?P<w1>" + _A_WINDOW + r")\s+(?P<join>but\s+not|and\s+not|but|and|pero\s+no|"
                          r"y\s+no|pero|y|ni)\s+(?P<w2>" + _A_WINDOW + r")(?P<tail>\s.*)?$")
_NOT_JOIN = frozenset({"but not", "and not", "pero no", "y no", "ni"})


def _two_windows(q: str, vocab: Vocabulary) -> Understanding | None:
    """An event said once in two windows ("bought shoes last month but not this month"): the first window read
    as said, and the same event in the second (none of it, after "but not" / "pero no"); None where the question
    is not so, or names no event in the second window."""
    m = _TWO_WINDOWS.match(q)
    if m is None:
        return None
    head, tail, w1, w2 = m.group("head"), m.group("tail") or "", m.group("w1"), m.group("w2")
    if w2.split()[0] in _MONTHS and w1.split()[0] not in _MONTHS:  # "in November and December": "in" is both's
        w2 = f"{w1.split()[0]} {w2}"
    first = understand(f"{head} {w1}{tail}", vocab, two_windows=False)  # each half once: no split within a half
    second = [e for e in understand(f"{head} {w2}{tail}", vocab, two_windows=False).events() if e.window is not None]
    if not first.about or not second:
        return None
    negate = " ".join(m.group("join").split()) in _NOT_JOIN
    extra = [e._replace(denied=not e.denied) if negate else e for e in second]
    said = q[m.start("join"):m.end("w2")]
    events = [*first.events(), *extra]
    return Understanding(first.conditions, first.filters + [_event_text(e) for e in extra], first.semantic,
                         first.read + [{"filter": _event_text(e), "from": said, "how": "words"} for e in extra],
                         first.by_meaning, [(e.etype, e.values) for e in events], [e.window for e in events],
                         [e.denied for e in events], [e.times for e in events], [e.amount for e in events],
                         [e.unfollowed_by for e in events], [e.single for e in events], [e.scored for e in events])


def understand(query: str, vocab: Vocabulary, *, two_windows: bool = True) -> Understanding:
    q = _read_form(query, vocab)
    if two_windows and (two := _two_windows(q, vocab)) is not None:
        return two
    # "bought for the first time this month": the words are blanked (same length, so every span stays the
    # question's) and read last, as none such before the window
    original = q
    first_times = [m.span() for m in _FIRST_TIME.finditer(q)]
    for a, b in first_times:
        q = q[:a] + " " * (b - a) + q[b:]
    taken: list[tuple[int, int]] = []
    conditions: list[Condition] = []
    filters: list[str] = []
    read: list[dict[str, Any]] = []
    used_paths: set[str] = set()
    negated_ends: list[int] = []
    context: list[tuple[int, int]] = []  # (a comparison's span in `taken`, where the words that chose its field start)
    budget = _Budget(MAX_EVENT_READINGS)  # verbs read as events for "how often" and before a denied window

    # events about a value ("rated horror movies"): kept apart, as they are no index condition; `taken`, `filters`
    # and `read` stay aligned with `conditions`
    about: list[tuple[str, list[str]]] = []
    denied_about: list[bool] = []  # "never bought shoes": no such event
    about_times: list[int] = []  # "bought shoes more than twice": at least 3 such events (fewer, where denied)
    about_taken: list[tuple[int, int]] = []
    about_read: list[dict[str, Any]] = []
    listed: dict[int, int] = {}  # a reading of "and" ("bought shoes | and bags") -> the first of its list
    amounts: dict[int, dict[str, float]] = {}  # a reading of `about` -> a bound on its events' amounts summed
    unfollowed: dict[int, str] = {}  # a reading of `about` -> the type none of which came after its last event
    singles: dict[int, dict[str, float]] = {}  # a reading of `about` -> a bound one of its events' amount meets
    scored: dict[int, dict[str, float]] = {}  # a reading of `about` -> a bound its events' rating meets

    def add_about(etype: str, values: list[str], span: tuple[int, int], denied: bool, times: int = 1,
                  how: str = "meaning", similarity: float | None = None) -> None:
        about.append((etype, values))
        denied_about.append(denied)
        about_times.append(times)
        about_taken.append(span)
        about_read.append({"filter": "", "from": q[span[0]:span[1]], "how": how, "similarity": similarity})

    def free(span: tuple[int, int]) -> bool:
        return all(span[1] <= a or span[0] >= b for a, b in (*taken, *about_taken))

    def add(path: str, condition: Condition, text: str, span: tuple[int, int], how: str = "words",
            similarity: float | None = None, negated: bool = False) -> None:
        # a second window on the activity date may be a second event's ("opened an email in November and bought in
        # December"): kept, to be joined to its event below
        if path in used_paths and not (path == "last_seen" and condition.op == "range" and _window(condition)):
            k = next(i for i, c in enumerate(conditions) if c.key == path)
            prev = conditions[k]
            if condition.op == prev.op and condition.op in ("eq", "ne") and _joined(q, taken[k], span):
                # "programmers or engineers", "students and retired people": one field, either value
                values = (prev.value if isinstance(prev.value, list) else [prev.value]) + [condition.value]
                conditions[k] = Condition(path, prev.op, values)
                filters[k] = f"{path}{'=' if prev.op == 'eq' else '!='}{','.join(str(v) for v in values)}"
                taken[k] = (min(taken[k][0], span[0]), max(taken[k][1], span[1]))
                read[k].update({"filter": filters[k], "from": q[taken[k][0]:taken[k][1]]})
            return
        used_paths.add(path)
        taken.append(span)
        conditions.append(condition)
        filters.append(text)
        entry: dict[str, Any] = {"filter": text, "from": q[span[0]:span[1]], "how": how}
        if similarity is not None:
            entry["similarity"] = similarity
        read.append(entry)
        if negated:
            negated_ends.append(span[1])

    def add_bands(path: str, values: list[str], partly: list[str], span: tuple[int, int]) -> None:
        """Ages read as the data's age bands: one of them, or either of several; the bands the ages cut through
        are said with the reading ("over 40": 35-44 is partly)."""
        before = len(taken)
        add(path, Condition(path, "eq", values[0] if len(values) == 1 else values), f"{path}={','.join(values)}",
            span, "age bands")
        if partly and len(taken) > before:
            read[-1]["partly"] = partly

    # "rated a movie 5 stars", "gave a rating below 3", "valoraron con 5 estrellas": such events whose rating meets it;
    # read before counts and ages, which "con menos de 3 estrellas" or "for more than 50" would otherwise be
    for m in _RATED.finditer(q) if vocab.rating_type is not None else ():
        obj = m.group("obj") or ""
        values, end = _about(q, m.start("obj"), m.start("obj"), vocab) if obj.strip() else ([], m.start("obj"))
        leftover = [w for w in q[end:m.start("obj") + len(obj)].split() if w not in FILLER and w not in _ANYTHING
                    and w not in _RATED_THINGS]
        score = float(m.group("n").replace(",", "."))
        after = _WORD.match(q, m.end() + len(q[m.end():]) - len(q[m.end():].lstrip()))
        if not (m.group("word") or m.group("unit") or m.group("kind")) and after is not None and \
                after.group() not in FILLER and after.group() not in _TIME_WORDS:
            continue  # "rated more than 3 movies": how many, not a score
        if leftover or not free(m.span()) or score > 10 or negation_start(q, m.start(), slack=1) is not None:
            continue
        add_about(str(vocab.rating_type), values, m.span(), False, 1, "words")
        scored[len(about) - 1] = _score_bound(m.group("cmp"), m.group("or"), score)
    for m in _BOUGHT_FOR.finditer(q) if vocab.purchase_type is not None else ():
        values, end = _about(q, m.start("obj"), m.start("obj"), vocab)
        if values and end == m.start("obj") + len(m.group("obj").rstrip()) and free(m.span()) and \
                negation_start(q, m.start(), slack=1) is None:
            add_about(str(vocab.purchase_type), values, m.span(), False, 1, "words")
            bound = {_ORDER_BOUND[m.group("cmp")]: float(m.group("n").replace(",", "."))}
            if m.group("total"):
                amounts[len(about) - 1] = bound
            else:
                singles[len(about) - 1] = bound
    # the latest such event: "whose last purchase was more than 90 days ago", "compraron por última vez hace más de 3
    # meses" is such an event and none since that day; "less than" one since it (from the event log)
    preset: dict[int, dict[str, str]] = {}  # an event reading's window, given before the windows are read
    for m in _LAST_TIME.finditer(q) if "last_seen" in vocab.clock else ():
        number = parse_number(q[m.end():])
        unit = question_unit(q, m.end() + number[1], money_context=False) if number else QuestionUnit()
        if number is None or unit.days is None or not free((m.start(), unit.end)) or not budget.take():
            continue
        path = _event_of(m.group("what") or m.group("verb"), vocab)
        if path is None:
            continue
        ago = re.match(r"\s+(?:ago|atras)\b", q[unit.end:])
        span = (m.start(), unit.end + (ago.end() if ago else 0))
        day = (date.fromisoformat(vocab.clock["last_seen"]) - timedelta(days=number[0] * unit.days)).isoformat()
        etype, lapsed = path.removeprefix("counts."), m.group("cmp") not in _LESS_AGO
        if lapsed:
            add_about(etype, [], span, False, how="words")  # such an event ever, and (below) none since the day
        preset[len(about)] = {"since": day}
        add_about(etype, [], span, lapsed, how="words")
    # dates: "joined this year", "signed up in the last 6 months", "customers since 2023"
    if vocab.dates:
        for path, when, span in _date_ranges(q, vocab):
            if free(span):
                # "have not been active in the last 3 months": before that, or never
                negated = negation_start(q, span[0], _key_phrase(path), slack=1)
                if negated is not None and (_names_what_events_are_about(q[negated:span[0]], vocab)
                                            or _says_an_event(q[negated:span[0]], vocab, budget)):
                    # "have not bought in the last 6 months": no purchase in it (`_none_of`); "shoes but not bags
                    # this year": bags are denied, not the activity
                    negated = None
                if negated is not None and set(when) == {"gte"}:
                    when, span = {"lt": when["gte"]}, (negated, span[1])
                start, before = _naming_start(q, span[0], path), len(taken)
                add(path, Condition(path, "range", dict(when)), _range_text(path, dict(when)), span, "unit",
                    negated=negated is not None)
                if start < span[0] and len(taken) > before:
                    context.append((before, start))  # "were active": read once the other passes took theirs
    age_path = _age_path(vocab)
    # an exact age: "30 years old"
    for m in _AGED.finditer(q):
        if age_path and free(m.span()):
            # "at least 45 years old", "over 30 years old": the comparison before it is the bound
            window = q[max(0, m.start() - 24):m.start()]
            said = next((c for c in _COMPARE.finditer(window) if c.end() == len(window)), None)
            age = float(next(g for g in m.groups() if g is not None))
            years = {"gte": age, "lte": age}
            span = (m.start() - len("aged ") if m.group(3) else m.start(), m.end())  # "aged" is read with it
            if said is not None and _compare_op(said.group(1)) != "eq":
                years = {_compare_op(said.group(1)): age}
                span = (m.start() - len(window) + said.start(), m.end())
            add(age_path, Condition(age_path, "range", years), _range_text(age_path, years), span)
    # ranges: "between 25 and 35", "aged 25 to 35 years", "entre 25 y 35 años"
    for low, high, unit, span in _ranges(q):
        if not free(span):
            continue
        # "aged 18-24" names age itself, whatever follows ("aged 18-24 who rated fewer than 25 movies")
        picked: tuple[str, int] | None
        if age_path and q.startswith(("aged", "ages", "edades"), span[0]):
            picked, unit = (age_path, span[0]), QuestionUnit()
        elif q.startswith(("aged", "ages", "edades"), span[0]):
            picked = None  # where the data holds age bands: a band, never a number said later ("spent over 200")
        else:
            picked = _numeric_field(q, span, unit, low, vocab, budget)
        if picked is None and age_path and _years_of_age(unit, low, high):
            picked, unit = (age_path, span[0]), QuestionUnit()
        if picked is None:
            if (band := _band(vocab, low, high)) is not None:  # "de 25 a 34 años": the age band "25-34"
                add(band[0], Condition(band[0], "eq", band[1]), f"{band[0]}={band[1]}", span)
            elif age_path is None and (low >= 10 and high <= 110 or _years_of_age(unit, low, high)) and \
                    (within := _bands_within(vocab, min(low, high), max(low, high) + 1)) and within[1]:
                add_bands(*within, span)  # "entre 25 y 44 años": the bands 25-34 and 35-44
            continue
        number_path, start = picked
        lo, hi = (convert(v, unit, vocab.units.get(number_path, FieldUnit())) for v in (low, high))
        if lo is None or hi is None:
            continue
        bound = {"gte": round(min(lo, hi), 4), "lte": round(max(lo, hi), 4)}
        span = _with_counted(q, span, number_path)
        before = len(taken)
        add(number_path, Condition(number_path, "range", bound), _range_text(number_path, bound), span,
            "unit" if (lo, hi) != (low, high) else "words")
        if start < span[0] and len(taken) > before:
            context.append((before, start))
    # comparisons, with units: "over 60", "more than five years", "paying over 90 a month", "in the last year"
    for op, value, unit, span in _comparisons(q):
        if not free(span):
            continue
        said_of = q[:span[0]].split()[-1:]
        if said_of and said_of[0] in _PRICE_LEAD:
            said_of = ["<price>"]  # "bought shoes for more than 50": what they cost, never an age
        if age_path and (any(q.startswith(c, span[0]) for c in _AGE_COMPARE) or (  # "older than 40": an age
                10 <= value < 100 and any(q.startswith(c, span[0]) for c in _AGE_OF)
                and (not said_of or said_of[0] in FILLER or said_of[0] in _PEOPLE))):
            picked, unit = (age_path, span[0]), QuestionUnit()
        else:
            picked = _numeric_field(q, span, unit, value, vocab, budget)
        if picked is None and age_path and _years_of_age(unit, value):
            picked, unit = (age_path, span[0]), QuestionUnit()
        if picked is None and age_path is None and (
                any(q.startswith(c, span[0]) for c in _AGE_COMPARE) or _years_of_age(unit, value) or (
                    10 <= value < 100 and unit == QuestionUnit(end=unit.end)
                    and (not said_of or said_of[0] in FILLER or said_of[0] in _PEOPLE or said_of[0] in _PERSONS))):
            # "over 40", "mayores de 40", "tienen más de 40 años" where the data holds age bands, not ages
            negated = negation_start(q, span[0], slack=1)
            if negated is None or op != "eq":
                asked = _asked_years(_OPPOSITE[op] if negated is not None else op, value)
                if (within := _bands_within(vocab, *asked)) and within[1]:
                    add_bands(*within, (negated if negated is not None else span[0], span[1]))
            continue
        if picked is None:
            continue
        number_path, start = picked
        converted = convert(value, unit, vocab.units.get(number_path, FieldUnit()))
        if converted is None:
            continue
        span = _with_counted(q, span, number_path)
        negated = negation_start(q, span[0], slack=1)  # "not over 40", "no son mayores de 40": at most 40
        if negated is not None and op == "eq":
            continue  # "not exactly 20" is no range: left to the meaning
        if negated is not None:
            op, span = _OPPOSITE[op], (negated, span[1])
        bound = {"gte": round(converted, 4), "lte": round(converted, 4)} if op == "eq" else {op: round(converted, 4)}
        how = "unit" if converted != value else "words"
        if number_path.startswith("counts.") and (times := _at_least(bound)) is not None and \
                (verb := _WORD.match(q, start)) is not None and free((start, span[1])):
            values, _ = _about(q, verb.end(), verb.end(), vocab)
            if values:  # "bought shoes more than twice": three purchases of shoes or more, from the event log
                add_about(number_path.removeprefix("counts."), values, (min(start, span[0]), span[1]), times[1],
                          times[0], "words")
                continue
        if number_path.startswith("counts.") and op == "eq" and 1 <= converted <= 1000 and \
                (verb := _WORD.match(q, start)) is not None and free((start, span[1])):
            values, _ = _about(q, verb.end(), verb.end(), vocab)
            if values:  # "bought shoes twice": two purchases of shoes, and fewer than three (both share a window)
                etype, n = number_path.removeprefix("counts."), int(converted)
                add_about(etype, values, (min(start, span[0]), span[1]), False, n, "words")
                listed[len(about)] = listed.get(len(about) - 1, len(about) - 1)
                add_about(etype, values, (span[1], span[1]), True, n + 1, "words")
                continue
        before = len(taken)
        add(number_path, Condition(number_path, "range", bound), _range_text(number_path, bound), span, how,
            negated=negated is not None)
        if start < span[0] and len(taken) > before:
            context.append((before, start))  # its words are read once the other passes have taken theirs
    # relative words: "young", "jóvenes"
    for word, (keys, bounds) in LEXICON.items():
        said = re.search(rf"\b{word}\b", q)
        age_path = next((vocab.numbers[k] for k in keys if k in vocab.numbers), None)
        if said and age_path and free(said.span()):
            add(age_path, Condition(age_path, "range", dict(bounds)), _range_text(age_path, dict(bounds)), said.span())
        elif said and free(said.span()) and _age_path(vocab) is None and \
                (within := _bands_within(vocab, bounds.get("gte", 0.0), bounds.get("lte", OLDEST_AGE + 19) + 1)) \
                and within[1]:  # "clientes jóvenes" where the data holds age bands
            add_bands(*within, said.span())
    # at least one event of a type: "opened a support ticket" (before values: "opened an email" is the event,
    # not the channel `email`)
    def events(found: list[tuple[str, tuple[int, int], float, bool, list[str]]]) -> None:
        for path, span, similarity, denied, values in found:
            bound = {"lt": 1} if denied else {"gte": 1}
            if free(span) and values:  # "rated horror movies": who has such an event, from the event log; "did
                if about and about[-1][0] == path.removeprefix("counts.") and about_taken[-1][1] < span[0] and \
                        q[about_taken[-1][1]:span[0]].split() == [] and q.startswith(("and ", "y ", "e "), span[0]):
                    listed[len(about)] = listed.get(len(about) - 1, len(about) - 1)
                add_about(path.removeprefix("counts."), values, span, denied, similarity=similarity)  # not open
            elif free(span):  # a ticket about refunds": everyone else
                add(path, Condition(path, "range", bound), _range_text(path, bound), span, "meaning", similarity,
                    negated=denied)

    # "abandoned their cart", "carrito abandonado": added to the cart, and no purchase after the last time
    cart = _cart_type(vocab)
    for m in _ABANDONED.finditer(q) if cart is not None and vocab.purchase_type is not None else ():
        if free(m.span()):
            add_about(str(cart), [], m.span(), False, 1, "words")
            unfollowed[len(about) - 1] = str(vocab.purchase_type)
    # "made a purchase over 100", "una compra de más de 100 euros": one such purchase's amount, from the event log
    for m in _ONE_ORDER.finditer(q) if vocab.purchase_type is not None else ():
        if free(m.span()) and negation_start(q, m.start(), slack=1) is None:
            add_about(str(vocab.purchase_type), [], m.span(), False, 1, "words")
            singles[len(about) - 1] = {_ORDER_BOUND[m.group("cmp")]: float(m.group("n").replace(",", "."))}
    # "repeat customers", "one-time buyers": how many purchases, where one event type is the purchase
    if vocab.purchase_type is not None:
        for m in _BUYERS_BY_TIMES.finditer(q):
            path = f"counts.{vocab.purchase_type}"
            bound = {"gte": 2} if m.group("repeat") else {"gte": 1, "lte": 1}
            if free(m.span()):
                add(path, Condition(path, "range", bound), _range_text(path, bound), m.span())
    events(_some_of(q, vocab, free))
    # flags, negated or not: "senior citizens", "without internet", "sin permanencia"
    flags = {path: (yes, no) for _, _, path, yes, no in vocab.flags}
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
        # "without" is part of what was read, as are the words that lead into it ("subscribed to the")
        start = negated if negated is not None else _lead_in(q, flag.start(), path, free)
        add(path, Condition(path, "eq", value), f"{path}={value}", (start, flag.end()), negated=negated is not None)
    # categorical values: "two-year contract", "students", "female"
    for _phrase, options in vocab.value_candidates(q):
        found = options[0][0].search(q)
        if found is None or not free(found.span()):
            continue
        named = [o for o in options if _key_phrase(o[1]) and _key_phrase(o[1]) in q]
        _, field_path, field_value, _ = max(named or options, key=lambda o: o[3])
        negated = negation_start(q, found.start(), _key_phrase(field_path))
        if negated is None and _denied_in_a_list(q, found.start()):  # "not students or programmers": neither
            add(field_path, Condition(field_path, "ne", field_value), f"{field_path}!={field_value}", found.span(),
                negated=True)
        elif negated is not None:  # "not on a month-to-month contract": set, and another value
            add(field_path, Condition(field_path, "ne", field_value), f"{field_path}!={field_value}",
                (negated, found.end()), negated=True)
        else:
            add(field_path, Condition(field_path, "eq", field_value), f"{field_path}={field_value}",
                (_lead_in(q, found.start(), field_path, free), found.end()))
    # a country none of the data's customers is from ("de Chile", "from Argentina or Chile"): its code, which
    # counts 0, said in `not_held` with the countries held (it had been an estimate by meaning, or left over);
    # before the events said after a group ("from Mexico or Chile | bought shoes")
    if vocab.countries and vocab.countries in vocab.categories():
        _countries_not_held(q, vocab.countries, vocab.categories()[vocab.countries][1], free, taken, conditions, read,
                            add)
    # an event said right after what names its subject, without "who": "women from Spain bought books",
    # "clientes con plan empresa compraron joyería"
    names = {w for path in used_paths for w in naming_words(path)}
    events(_some_of(q, vocab, free, after=[_past_names(q, b, names) for _, b in (*taken, *about_taken)]))
    # no events of a type: "never rated a movie" is a count below 1 (an absent count is 0: embeddings/index.py)
    # ("never bought shoes": everyone but those with such an event, from the event log)
    denials: list[tuple[str, tuple[int, int], float, bool, list[str]]] = []
    for path, span, similarity, values, refers in _none_of(q, vocab, free):
        earlier = [k for k, (_, b) in enumerate(about_taken) if b <= span[0]]
        if refers and not values and earlier:  # "viewed jackets but did not buy them": no purchase of jackets
            values = list(about[earlier[-1]][1])
        denials.append((path, span, similarity, True, values))
    events(denials)
    for k, start in context:
        a, b = taken[k]
        # up to the nearest words another condition took: "students active in the last 2 weeks" reads "active"
        start = max([start] + [e for s, e in taken if (s, e) != (a, b) and start < e <= a])
        start += len(q[start:a]) - len(q[start:a].lstrip())
        if start < a:
            taken[k] = (start, b)
            read[k]["from"] = q[start:b]
    # the rest by meaning: "children" -> dependents, "auto-pay from their bank" -> Bank transfer (automatic)
    if vocab.lexicon is not None and not vocab.lexicon.empty:
        words = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", q)]
        # a field's own name beside a value read by words ("two year contract") is read with it
        key_words = {w for path in used_paths for w in _key_phrase(path).split()}
        open_words = [w for w in words if free((w[0], w[1])) and w[2] not in key_words]
        by_meaning_from = len(taken)
        for match in sorted(vocab.lexicon.match(q, open_words, frozenset({"flag", "value"})), key=lambda m: m.start):
            target = match.target
            # a negation inside the phrase that the entry shares ("never travel" / "Non-Travel") is the value
            # itself; one the entry lacks ("not stream tv" / "streaming tv"), or one before the phrase, denies it
            span_neg = match.words.split()[0] in NEGATION_WORDS
            entry_neg = any(w in NEGATION_WORDS for w in match.text.split())
            if span_neg:
                negated, denied = None, not entry_neg
            else:
                negated = negation_start(q, match.start, _key_phrase(target.path), slack=1)
                prior = [e for e in negated_ends if e <= match.start]
                gap = q[max(prior):match.start].split() if prior else []
                carried = 0 < len(gap) <= 3 and any(w in _OR for w in gap)  # "not X or Y": Y is denied too
                denied = negated is not None or carried
            start = negated if negated is not None else match.start
            if target.kind == "flag":
                yes, no = flags[target.path]
                # the phrase means the flag's absence ("living alone"), or names what its name denies
                negative = denied != (target.value is False)
                if _privative(_key_phrase(target.path), match.words):
                    negative = not negative
                value = no if negative else yes
                if value is None:
                    continue
                add(target.path, Condition(target.path, "eq", value), f"{target.path}={value}",
                    (start, match.end), "meaning", match.similarity, negated=negative)
            elif denied:
                add(target.path, Condition(target.path, "ne", target.value), f"{target.path}!={target.value}",
                    (start, match.end), "meaning", match.similarity, negated=True)
            else:
                add(target.path, Condition(target.path, "eq", target.value), f"{target.path}={target.value}",
                    (match.start, match.end), "meaning", match.similarity)
        # an event said right after a group read by meaning, as after one read by words: "women | bought bags"
        meant = [b for a, b in taken[by_meaning_from:]]
        if meant:
            names = {w for path in used_paths for w in naming_words(path)}
            events(_some_of(q, vocab, free, after=[_past_names(q, b, names) for b in meant]))
    # a value no one holds, beside the name of a field whose values are all known ("the premium plan", "nivel
    # diamante"): that value, which counts 0, and the field's values, rather than a meaning that estimates ~20
    for path, word, span in _unheld(q, vocab, free, used_paths):
        add(path, Condition(path, "eq", word), f"{path}={word}", span, NOT_HELD)
        read[-1]["values"] = vocab.categories()[path][1][:MAX_LISTED]
    # an event in a time window ("bought shoes in the last month"): the events' own times, from the event log, not
    # "ever did it" AND "active lately" (a shoe bought a year ago by someone who viewed a page last week)
    windows: list[dict[str, str] | None] = [preset.get(k) for k in range(len(about))]
    drop: set[int] = set()
    for i, c in enumerate(conditions):  # "spent more than 50 | on shoes": those purchases' amounts, summed
        if c.key == "spend_total" and c.op == "range" and vocab.purchase_type is not None:
            values, end = _about(q, taken[i][1], taken[i][1], vocab)
            if values and end > taken[i][1] and free((taken[i][1], end)):
                add_about(vocab.purchase_type, values, (taken[i][0], end), False, 1, read[i]["how"],
                          read[i].get("similarity"))
                windows.append(None)
                amounts[len(about) - 1] = dict(c.value)
                drop.add(i)
    for k, c in enumerate(conditions):
        win = _window(c) if taken[k][1] not in negated_ends else None
        if win is None:
            continue
        ds, de = taken[k]
        # a trait's value between an event and its window is no gap: "compraron | en la tienda | este año"
        gapless = q
        for i, (a, b) in enumerate(taken):
            if i != k and i not in drop and conditions[i].op in ("eq", "ne") and not conditions[i].key.startswith(
                    ("counts.", "events.")):
                gapless = gapless[:a] + " " * (b - a) + gapless[b:]
        joined = [i for i, (_, e) in enumerate(about_taken) if _leads_into(gapless, e, ds) and windows[i] is None]
        counted = [i for i, (_, e) in enumerate(taken) if i not in drop and _leads_into(gapless, e, ds)
                   and (conditions[i].key.startswith("counts.") or (conditions[i].key == "purchases"
                                                                    and vocab.purchase_type is not None))
                   and _at_least(conditions[i].value) is not None]
        spent = [i for i, (_, e) in enumerate(taken) if i not in drop and _leads_into(gapless, e, ds)
                 and conditions[i].key == "spend_total" and vocab.purchase_type is not None]
        if joined:
            ai = joined[0]
        elif spent:  # "spent more than 100 euros last year": those purchases' amounts, summed in the window
            si = spent[0]
            add_about(str(vocab.purchase_type), [], taken[si], False, 1, read[si]["how"], read[si].get("similarity"))
            windows.append(None)
            amounts[len(about) - 1] = dict(conditions[si].value)
            drop.add(si)
            ai = len(about) - 1
        elif counted:  # "bought something in the last month": any event of the type, within the window; "did not
            ci = counted[0]  # buy anything in the last month": none in it; "bought at least twice in ...": two
            many, none = _at_least(conditions[ci].value) or (1, False)
            counted_type = str(vocab.purchase_type if conditions[ci].key == "purchases" else conditions[ci].key)
            add_about(counted_type.removeprefix("counts."), [], taken[ci], none, many, read[ci]["how"],
                      read[ci].get("similarity"))
            windows.append(None)
            drop.add(ci)
            ai = len(about) - 1
        elif _any_activity(read[k]["from"], win):  # "active in November": an event of any type in it
            add_about(ANY_EVENT, [], taken[k], False, 1, read[k]["how"], read[k].get("similarity"))
            windows.append(win)
            drop.add(k)
            continue
        else:
            if any(c2.key == "last_seen" for c2 in conditions[:k]):
                drop.add(k)  # a second window no event takes ("bought shoes in November or in December"): a meaning
            continue
        first = listed.get(ai, ai)
        for li in range(len(about)):  # "bought shoes and bags this year": each of the list in it
            if listed.get(li, li) == first and windows[li] is None:
                windows[li] = win
        about_taken[ai] = (about_taken[ai][0], de)
        about_read[ai]["from"] = q[about_taken[ai][0]:de]
        drop.add(k)
    # "added to cart in the last week but did not buy": no purchase in that week either (an abandoned cart), not
    # "never bought": a denied event right after a windowed one, joined by "but" / "and", shares its window
    for i, c in enumerate(conditions):
        if i in drop or not c.key.startswith("counts.") or c.value != {"lt": 1} or \
                q[taken[i][0]:].split()[0] in ("never", "nunca", "jamas"):  # "but never bought": never
            continue
        prior = [k for k, (_, e) in enumerate(about_taken) if windows[k] is not None and not denied_about[k]
                 and e <= taken[i][0] and 0 < len(between := q[e:taken[i][0]].split()) <= 2
                 and all(w in _BUT for w in between)]
        if prior:
            add_about(c.key.removeprefix("counts."), [], taken[i], True, 1, read[i]["how"], read[i].get("similarity"))
            windows.append(windows[prior[-1]])
            drop.add(i)
    for a, b in first_times:  # "compraron por primera vez este mes": and none such before the month
        new = [k for k, (s0, e0) in enumerate(about_taken) if s0 <= a and b <= e0 and not denied_about[k]
               and (windows[k] or {}).get("since")]
        if new:
            k = new[0]
            add_about(about[k][0], list(about[k][1]), (a, b), True, 1, about_read[k]["how"],
                      about_read[k]["similarity"])
            windows.append({"before": cast(dict[str, str], windows[k])["since"]})
    if drop:
        keep = [i for i in range(len(conditions)) if i not in drop]
        conditions, filters = [conditions[i] for i in keep], [filters[i] for i in keep]
        taken, read = [taken[i] for i in keep], [read[i] for i in keep]
    if first_times:  # what each reading was read from, in the question's words
        for r, (a, b) in zip(read + about_read, taken + about_taken, strict=True):
            r["from"] = original[a:b].strip()
    for k, r in enumerate(about_read):
        r["filter"] = _event_text(EventReading(*about[k], windows[k], denied_about[k], about_times[k],
                                               amounts.get(k), unfollowed.get(k), singles.get(k), scored.get(k)))
        if r["similarity"] is None:
            del r["similarity"]
    rest = q
    for a, b in sorted(taken + about_taken, reverse=True):
        if b > a:  # a reading said by another's words ("fewer than 3" of "twice") takes none of its own
            rest = rest[:a] + " " + rest[b:]
    return Understanding(conditions, filters + [r["filter"] for r in about_read], " ".join(rest.split()),
                         read + about_read, _unread(q, taken + about_taken), about, windows, denied_about,
                         about_times, [amounts.get(k) for k in range(len(about))] if amounts else [],
                         [unfollowed.get(k) for k in range(len(about))] if unfollowed else [],
                         [singles.get(k) for k in range(len(about))] if singles else [],
                         [scored.get(k) for k in range(len(about))] if scored else [])


def _at_least(bound: Any) -> tuple[int, bool] | None:
    """A count's one-sided bound as "at least n such events" (True: fewer than n, denied): {"gt": 2} is at least 3,
    {"lt": 1} none; None for a two-sided one, or one everybody meets."""
    if not isinstance(bound, dict) or len(bound) != 1:
        return None
    ((op, value),) = bound.items()
    if op not in ("gt", "gte", "lt", "lte") or not isinstance(value, int | float):
        return None
    n = math.floor(value) + 1 if op in ("gt", "lte") else math.ceil(value)
    return (n, op in ("lt", "lte")) if n >= 1 else None


def _event_text(e: EventReading) -> str:
    """An event reading as the user could have written it: "events.purchase-order about shoes since 2024-11-01:
    none", "events.compra since 2024-10-02: 2 or more"."""
    text = (f"events.{e.etype}" if e.etype != ANY_EVENT else "events") + (f" about {','.join(e.values)}" if e.values
                                                                            else "")
    text += "".join(f" {op} {day}" for op, day in (e.window or {}).items())
    if e.amount:
        return text + ": " + _range_text("amount", e.amount)
    if e.unfollowed_by:
        return text + f": no events.{e.unfollowed_by} after the last"
    if e.single:
        return text + ": one with " + _range_text("amount", e.single)
    if e.scored:
        return text + ": " + _range_text("rating", e.scored) + (f", {e.times} or more" if e.times > 1 else "")
    if e.denied:
        return text + (": none" if e.times == 1 else f": fewer than {e.times}")
    return text + (f": {e.times} or more" if e.times > 1 else "")


def _past_names(q: str, end: int, names: set[str]) -> int:
    """Where a reading ending at `end` ends with the name of its field said after the value ("on the enterprise |
    plan", "nivel oro"; `names`: the words that name the fields read): a verb said after it comes next."""
    while (word := _WORD.match(q, end + len(q[end:]) - len(q[end:].lstrip()))) and word.group() in names:
        end = word.end()
    return end


ANY_EVENT = ""  # an event reading of any type ("active in November"); no event type is empty (schemas.parse_event)
_ACTIVE_WORDS = frozenset({"active", "activos", "activas", "activo", "activa", "activity", "actividad"})
_LAST_WORDS = frozenset({"last", "latest", "recent", "recently", "seen", "ultima", "ultimo", "reciente", "visto",
                         "vistos", "vista", "vistas"})


def _any_activity(said: str, win: dict[str, str]) -> bool:
    """Whether a window on the activity date is activity within it: "active in November", "activos en marzo" is any
    event in it (someone active then and since was last seen since). Not "last active in November" (the last
    activity), nor a window open at either end ("active in the last 30 days", "not active since March": the last
    activity answers those alone)."""
    words = set(norm(said).split())
    return bool(words & _ACTIVE_WORDS) and not words & _LAST_WORDS and "since" in win and "before" in win


def _window(c: Condition) -> dict[str, str] | None:
    """The time window of a range over the activity date (`last_seen`), as the event log reads it: since (from that
    day) and before (up to that day); None for anything else."""
    if c.key != "last_seen" or c.op != "range" or not isinstance(c.value, dict) or not c.value:
        return None
    out: dict[str, str] = {}
    for op, day in c.value.items():
        if not isinstance(day, str) or not _ISO_DATE.match(day):
            return None
        if op in ("gte", "gt"):
            out["since"] = day
        elif op == "lt":
            out["before"] = day
        elif op == "lte":
            out["before"] = (date.fromisoformat(day[:10]) + timedelta(days=1)).isoformat()
    return out or None


def _leads_into(q: str, end: int, start: int) -> bool:
    """What was read up to `end` runs straight into what starts at `start` (nothing but small words between, or
    a word for anything: "compraron algo en el último mes")."""
    return end <= start and all(w in _ABOUT_LINK or w in _ANYTHING for w in q[end:start].split())


NOT_HELD = "no such value"  # how a value that no one holds was read (`Understanding.read`)
MAX_LISTED = 12  # a field's values listed beside a value no one holds, commonest first
# what leads into a field's name before the value said after it ("el plan premium", "del nivel diamante"), and
# into a value said before the name ("the premium plan", "on a diamond tier")
_BEFORE_NAME = frozenset({"el", "la", "los", "las", "un", "una", "del", "al", "de", "con", "en", "su", "sus"})
_BEFORE_VALUE = frozenset({"the", "a", "an", "on", "in", "with", "of", "their", "its", "at"})


# "abandoned their (shopping) cart", "cart abandoners", "abandonaron el carrito", "con carrito abandonado"
_ABANDONED = re.compile(
    r"\b(?:abandon(?:ed|s|ing)?\s+(?:(?:their|a|the|an|his|her)\s+)?(?:shopping\s+|online\s+)?(?:carts?|baskets?)|"
    r"(?:cart|basket)\s+abandon(?:ers?|ment|ed)|abandon(?:aron|o|an|ado|ados)\s+(?:(?:el|su|sus|un|los)\s+)?"
    r"(?:carritos?|carros?|cestas?)(?:\s+de\s+(?:la\s+)?compra)?|(?:carritos?|carros?|cestas?)(?:\s+de\s+"
    r"(?:la\s+)?compra)?\s+abandonad[oa]s?)\b")


def abandonment(text: str) -> str | None:
    """The words that say a cart was abandoned ("abandoned their cart", "abandonó el carrito"), or None."""
    m = _ABANDONED.search(norm(text))
    return m.group(0) if m is not None else None


_CART_WORDS = frozenset({"cart", "carts", "basket", "baskets", "carrito", "carritos", "carro", "carros", "cesta", "cestas"})


def _cart_type(vocab: Vocabulary) -> str | None:
    """The one event type whose name says a cart ("add-to-cart", "anadir-al-carrito"), where one does."""
    found = {t.removeprefix("counts.") for t in vocab.event_counts.values()
             if _CART_WORDS & set(norm(t.removeprefix("counts.")).split())}
    return found.pop() if len(found) == 1 else None


# "made a purchase over 100", "an order of more than 200 euros", "una compra de más de 100 euros", "algún pedido
# superior a 200": one purchase's amount, not what they add up to
_ORDER_BOUND = {"over": "gt", "above": "gt", "more than": "gt", "greater than": "gt", "exceeding": "gt",
                "mas de": "gt", "superior a": "gt", "superiores a": "gt", "mayor de": "gt", "mayor que": "gt",
                "por encima de": "gt", "at least": "gte", "al menos": "gte", "under": "lt", "below": "lt",
                "less than": "lt", "menos de": "lt", "inferior a": "lt", "menor de": "lt", "menor que": "lt"}
_ONE_ORDER = re.compile(
    r"\b(?:(?:made|placed|did|had|has|have|hicieron|hizo|realizaron|tuvieron|tienen|con|with)\s+)?"
    r"(?:a|an|any|one|una|un|algun|alguna)\s+(?:single\s+)?(?:purchase|order|transaction|compra|pedido|transaccion)"
    r"(?:\s+(?:of|de|por))?\s+(?P<cmp>" + "|".join(sorted(_ORDER_BOUND, key=len, reverse=True)) +
    r")\s+(?P<n>\d{1,9}(?:[.,]\d{1,2})?)(?:\s*(?:euros?|eur|dollars?|usd|pesos?|pounds?|libras?))?\b")

# "rated a movie 5 stars", "rated something below 3", "gave a 5-star rating", "gave a rating of 4 or more",
# "valoraron una película con 5 estrellas", "dieron una puntuación inferior a 3": a score said of a rating event
_SCORE_CMP = {"below": "lt", "under": "lt", "less than": "lt", "lower than": "lt", "above": "gt", "over": "gt",
              "more than": "gt", "higher than": "gt", "at least": "gte", "at most": "lte", "menos de": "lt",
              "por debajo de": "lt", "inferior a": "lt", "mas de": "gt", "por encima de": "gt", "superior a": "gt",
              "al menos": "gte", "como mucho": "lte", "como maximo": "lte"}
_RATED_THINGS = frozenset({"movie", "movies", "film", "films", "product", "products", "item", "items", "title",
                           "titles", "show", "shows", "book", "books", "it", "them", "one", "pelicula", "peliculas",
                           "producto", "productos", "articulo", "articulos", "libro", "libros", "titulo", "algun",
                           "alguna", "content", "contenido", "contenidos", "video", "videos", "song", "songs",
                           "cancion", "canciones", "episode", "episodes", "episodio", "episodios", "series", "serie"})
_RATED = re.compile(
    r"\b(?:(?:rated|scored|valoraron|valoro|puntuaron|puntuo|calificaron|califico)(?P<obj>(?:\s+[^\W\d_]+){0,4}?)"
    r"|(?:gave|left|dieron|dejaron|dio|dejo|pusieron|puso)(?:\s+(?:a|an|una|un))?"
    r"(?:\s+(?P<word>ratings?|scores?|reviews?|valoracion(?:es)?|puntuacion(?:es)?|calificacion(?:es)?|notas?|"
    r"resenas?))?)"
    r"\s+(?:(?:of|with|con|de)\s+)?(?:(?P<cmp>" + "|".join(sorted(_SCORE_CMP, key=len, reverse=True)) + r")\s+)?"
    r"(?P<n>\d{1,2}(?:[.,]5)?)(?!\d)(?P<unit>\s*-?\s*(?:stars?|estrellas?|points?|puntos?)|\s*/\s*(?:5|10)"
    r"|\s+out of (?:5|10)|\s+sobre (?:5|10))?(?P<or>\s+(?:or (?:more|less|higher|lower|above|below)|o (?:mas|menos)))?"
    r"(?P<kind>\s+(?:ratings?|reviews?|valoraciones?|puntuaciones?))?\b")


def _score_bound(cmp: str | None, either: str | None, score: float) -> dict[str, float]:
    """A score as said: "5" (exactly), "below 3", "4 or more"."""
    if cmp:
        return {_SCORE_CMP[cmp]: score}
    if either:
        return {"gte": score} if either.split()[-1] in ("more", "higher", "above", "mas") else {"lte": score}
    return {"gte": score, "lte": score}


# "bought a watch for more than 100", "compraron zapatos por más de 50 euros": a purchase of those values whose
# amount meets the bound ("in total" / "en total": what such purchases add up to); the object is checked by `_about`
_BOUGHT_FOR = re.compile(
    r"\b(?:bought|purchased|ordered|compraron|compro|adquirieron|pidieron)\s+(?P<obj>(?:[^\W\d_]+\s+){1,4}?)"
    r"(?:for|por|at|a|de)\s+(?P<cmp>" + "|".join(sorted(_ORDER_BOUND, key=len, reverse=True)) +
    r")\s+(?P<n>\d{1,9}(?:[.,]\d{1,2})?)(?:\s*(?:euros?|eur|dollars?|usd|pesos?|pounds?|libras?))?"
    r"(?P<total>\s+(?:in total|en total|altogether|overall|in all))?\b")


# the everyday names of customers by how often they bought: "repeat customers" (twice or more), "one-time buyers"
# (once), "clientes recurrentes", "compradores de una sola vez"
_BUYERS_BY_TIMES = re.compile(
    r"\b(?:(?P<repeat>(?:repeat|returning)\s+(?:customers|clients|buyers|purchasers|shoppers)|(?:customers|clients|"
    r"buyers|shoppers)\s+(?:who|that)\s+(?:have\s+)?(?:bought|purchased|ordered|shopped)\s+again|(?:(?:clientes|"
    r"compradores|compradoras|clientas)\s+(?:que\s+)?|\b(?:son|sean|eran)\s+)(?:(?:son|sean|eran)\s+)?(?:recurrentes|"
    r"habituales)|(?:clientes|compradores|compradoras|clientas)\s+(?:que\s+)?(?:repiten|(?:volvieron|han\s+vuelto|"
    r"vuelven)\s+a\s+comprar))|(?:one[\s-]time|single[\s-]"
    r"purchase)\s+(?:customers|clients|buyers|purchasers|shoppers)|(?:clientes|compradores|compradoras|clientas)\s+"
    r"de\s+una\s+(?:sola\s+)?(?:vez|compra))\b")
_BEFORE_PLACE = frozenset({"from", "in", "de", "del", "en", "desde"})


def _countries_not_held(q: str, path: str, held: list[str], free: Callable[[tuple[int, int]], bool],
                        taken: list[tuple[int, int]], conditions: list[Condition], read: list[dict[str, Any]],
                        add: Callable[..., None]) -> None:
    """Each country named after "from" / "de" / "en", or listed with a country read ("Argentina o Chile"), that no
    value of `path` is: its code as the data writes codes, read as held by none."""
    words = list(re.finditer(r"\S+", q))
    upper = all(v.isupper() for v in held)
    have = {v.lower() for v in held}
    for i, j, code in countries_named([w.group() for w in words]):
        span = (words[i].start(), words[j - 1].end())
        if code in have or not free(span):
            continue
        k = next((n for n, c in enumerate(conditions) if c.key == path), None)
        lead = words[i - 1].group() if i else ""
        if lead not in _BEFORE_PLACE and (k is None or not _joined(q, taken[k], span)):
            continue
        value = code.upper() if upper else code
        before = len(read)
        add(path, Condition(path, "eq", value), f"{path}={value}",
            (words[i - 1].start(), span[1]) if lead in _BEFORE_PLACE else span, NOT_HELD)
        if len(read) > before:
            read[-1]["values"] = held[:MAX_LISTED]
        elif k is not None and conditions[k].op == "eq" and value in (conditions[k].value or ()):
            # listed with a country some hold: the count is theirs, and this one is said to be no one's
            read[k].setdefault("none_hold", []).append(value)
            read[k]["values"] = held[:MAX_LISTED]


def _unheld(q: str, vocab: Vocabulary, free: Callable[[tuple[int, int]], bool],
            used: set[str]) -> list[tuple[str, str, tuple[int, int]]]:
    """(path, word, span) for each word left unread right beside the name of a categorical field not read yet,
    that is none of its values nor like one: "premium" in "the premium plan" or "el plan premium". Only where one
    field has that name, and the word names nothing else the data holds (a value, a field, what events are
    about): anything else stays a meaning."""
    fields = vocab.categories()
    if not fields:
        return []
    words = list(re.finditer(r"\S+", q))
    out: list[tuple[str, str, tuple[int, int]]] = []
    for i, name in enumerate(words):
        owners = [p for p, (names, _) in fields.items() if name.group() in names and p not in used]
        if len(owners) != 1 or not free(name.span()):
            continue
        path = owners[0]
        lead = words[i - 1].group() if i else ""
        # English puts the value first ("the premium plan"), Spanish after the name ("el plan premium")
        if i > 0 and (i == 1 or words[i - 2].group() in _BEFORE_VALUE) and lead not in _BEFORE_NAME:
            said, span = words[i - 1], (words[i - 1].start(), name.end())
        elif i + 1 < len(words) and lead in _BEFORE_NAME and (i + 2 == len(words) or words[i + 2].group() in _PARTS_WORDS):
            said, span = words[i + 1], (name.start(), words[i + 1].end())
        else:
            continue
        word = said.group()
        if free(said.span()) and _could_be_a_value(word, vocab) and not _like_a_value(word, fields[path][1]):
            out.append((path, word, span))
    return out


# words that pick among a field's values without naming one: "the same plan", "el plan actual"
_NOT_A_VALUE = frozenset({
    "same", "other", "another", "different", "current", "previous", "next", "last", "first", "new", "old", "own",
    "which", "what", "whose", "every", "each", "higher", "lower", "better", "worse", "best", "worst", "top",
    "bottom", "usual", "default", "right", "wrong", "whole", "entire", "mismo", "misma", "mismos", "mismas", "otro",
    "otra", "otros", "otras", "distinto", "distinta", "actual", "anterior", "siguiente", "nuevo", "nueva", "viejo",
    "vieja", "antiguo", "antigua", "propio", "propia", "cada", "mejor", "peor", "mayor", "menor", "superior",
    "inferior", "cualquier", "habitual", "completo", "completa"})


def _could_be_a_value(word: str, vocab: Vocabulary) -> bool:
    """A word that says nothing else: letters, not a small or asking word, no field's name, nothing events are
    about, no value of any field."""
    if len(word) < 3 or not word.isalpha() or word in FILLER or word in _BETWEEN or word in _BEING \
            or word in _NEGATIONS or word in _PEOPLE or word in _PARTS_WORDS or word in _NOT_A_VALUE \
            or (word.endswith("est") and len(word) > 5):  # "the cheapest plan" compares, names none
        return False
    if any(word in names for names, _ in vocab.categories().values()) or \
            _is_about(word, set(vocab.context) | set(vocab.about_values)):
        return False
    return not any(options[0][0].search(word) for _, options in vocab.value_candidates(word))


def _like_a_value(word: str, values: list[str]) -> bool:
    """The word starts like a word of one of the field's values ("prem" of "Premium Plus"): maybe that one."""
    return any(w[:4] == word[:4] for v in values for w in norm_value(v).split())


def _unread(q: str, taken: list[tuple[int, int]]) -> list[str]:
    """The parts of a conjunction ("X and Y", "X con Y") from which no condition was read: answered by meaning."""
    out = []
    pos = 0
    for m in list(_PARTS.finditer(q)) + [None]:
        end = m.start() if m is not None else len(q)
        part = q[pos:end]
        content = [w for w in part.split() if w not in FILLER and w not in _NEGATIONS]
        if content and all(end <= a or pos >= b for a, b in taken):
            out.append(" ".join(part.split()))
        pos = m.end() if m is not None else len(q)
    return out


# "how many customers by gender", "número de estudiantes por ocupación": a count broken down by one field
_GROUPING = re.compile(r"\b(?:broken down by|split by|for each|by|per|por cada|por|segun)\s+"
                       r"(?:the |their |el |la |los |las |su |sus |each |cada )?([a-z0-9 ]{2,40}?)\s*$")


# "customers in each country who bought shoes", "clientes de cada país que compraron zapatos": one word, mid-question
_EACH = re.compile(r"\b(?:de cada|en cada|para cada|for each|in each|from each)\s+([a-z0-9]{2,40})\b")


# "which occupation has the most customers?", "¿qué ocupación tiene más clientes?": the count by that field, whose
# rows come largest first
_MOST_BY = re.compile(r"^(?:which|what|que|cual|cuales)\s+(?:is |are |es |son )?(?:the |el |la |los |las )?"
                      r"([a-z0-9 ]{2,40}?)\s+(?:has|have|had|tiene|tienen|tenia|hay con)\s+(?:the )?(?:most|more|mas)"
                      r"(?:\s+([a-z0-9 ]{0,60}))?$")


def split_grouping(question: str) -> tuple[str, str | None]:
    """A question and the field phrase it is broken down by, if it ends with one ("... by gender") or asks which
    value has the most ("which occupation has the most women?": the women, by occupation)."""
    q = norm(question)
    most = _MOST_BY.search(q)
    if most is not None:
        return (most.group(2) or "").strip(), most.group(1).strip()
    m = _GROUPING.search(q)
    if m is None:
        each = _EACH.search(q)  # "¿cuántos clientes de cada país compraron zapatos?": within the question
        if each is None:
            return question, None
        return " ".join((q[:each.start()] + " " + q[each.end():]).split()), each.group(1)
    return q[:m.start()].strip(), m.group(1).strip()


def _path_words(path: str) -> str:
    """A path's words below its root: `data.job.position` -> "job position"."""
    return " ".join(norm(split_camel(path)).split()[1:])


MAX_BINS = 12


def number_bins(low: float, high: float, whole: bool, step: float | None = None) -> list[dict[str, Any]]:
    """Ranges a numeric field is broken down by: equal steps of 1, 2 or 5 times a power of ten (at most
    MAX_BINS; ages by tens, as people group them), from the step below the lowest value; each {"gte", "lt",
    "label"} ("20-29" for whole numbers)."""
    if not (np.isfinite(low) and np.isfinite(high)) or high < low:
        return []
    span = max(high - low, 1.0 if whole else 1e-9)
    if step is None or span / step >= MAX_BINS:  # none for a range no power of ten in reach spans (1e300)
        step = next((m * 10.0 ** e for e in range(-6, 16) for m in (1, 2, 5) if span / (m * 10.0 ** e) < MAX_BINS),
                    None)
    if step is None:
        return []
    if whole:
        step = max(1.0, round(step))
    start = np.floor(low / step) * step
    out: list[dict[str, Any]] = []
    while start <= high and len(out) < MAX_BINS + 1:
        end = start + step
        label = (f"{start:g}-{end - 1:g}" if step > 1 else f"{start:g}") if whole else f"{start:g}-{end:g}"
        out.append({"gte": round(float(start), 10), "lt": round(float(end), 10), "label": label})
        start = end
    return out


def grouping_field(phrase: str, vocab: Vocabulary) -> tuple[str, list[Any]] | None:
    """The categorical field a grouping phrase names, and its values: by a word of its path ("gender", "job" of
    `data.job.position`), or by meaning, as its name or as what its values are ("occupation": programmer,
    engineer, ...), above the lexicon's chance line and clear of the next field. A numeric field named by its key
    ("by age", "por edad", "age group") comes with bins of the data's range (`number_bins`). None for nothing
    clear."""
    fields: dict[str, list[Any]] = defaultdict(list)
    for _, _, path, value, _ in vocab.values:
        if value not in fields[path]:
            fields[path].append(value)
    for _, _, path, yes, no in vocab.flags:
        fields.setdefault(path, [v for v in (yes, no) if v is not None])
    for path, bands in vocab.bands.items():  # age bands in order, "65+" too (no value phrase of its own)
        fields[path] = [band for band, _, _ in bands]
    words = phrase.split()
    said_number = [p for k, p in vocab.numbers.items() if set(k.split()) <= set(words)
                   or set(k.split()) <= {SPANISH_FIELD_WORDS.get(w, w) for w in words}]
    if said_number:  # "by age", "por edad", "by age group": bins of the data's own range
        path = said_number[0]
        bins = number_bins(*vocab.spans[path], step=10.0 if path == _age_path(vocab) else None) \
            if path in vocab.spans else []
        return (path, list(bins)) if bins else None
    if not fields:
        return None
    said = set(words) | {SPANISH_FIELD_WORDS[w] for w in words if w in SPANISH_FIELD_WORDS}  # "ocupacion": position
    named = [path for path in fields if said & set(_path_words(path).split())]
    if len(named) == 1:
        return named[0], fields[named[0]]
    lex = vocab.lexicon
    if lex is None or lex.empty:
        return None
    asked = lex.phrases([phrase])
    by_path: dict[str, list[int]] = defaultdict(list)  # one pass over the entries (20,000 at most), not one a field
    for j, t in enumerate(lex.targets):
        if t.kind in ("value", "flag") and t.path in fields:
            by_path[t.path].append(j)
    scores: dict[str, float] = {}
    for path in fields:
        entries = by_path[path]
        by_values = np.sort(asked @ lex.vectors[entries].T)[0][::-1][:3].mean() if entries else -1.0
        named_by = [_key_phrase(path), _path_words(path)]  # "position", "job position"
        by_name = float((asked @ lex.phrases(named_by).T).max())
        scores[path] = max(by_name, float(by_values))
    ranked = sorted(scores, key=lambda p: -scores[p])
    best = ranked[0]
    if scores[best] < lex.null_line or (len(ranked) > 1 and scores[ranked[1]] > scores[best] - DISTINCT):
        return None
    return best, fields[best]
