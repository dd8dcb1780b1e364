"""Semantic / hybrid search, profile cards and lookalikes over the vector index."""

from __future__ import annotations

import asyncio
import logging
import operator
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from app.errors import InvalidRequestError, NotFoundError, UnavailableError
from app.search.filters import parse_filters
from app.search.measures import Measure, read_measure, versus_average
from app.search.phrase_store import PhraseVectorStore, RememberingEncoder
from app.search.schemas import (
    ProfileCard,
    SearchHit,
    SearchMode,
    SearchRequest,
    SearchResponse,
    SimilarHit,
    SimilarResponse,
)
from app.search.superlatives import Order, read_order
from app.search.understanding import (
    EventReading,
    Vocabulary,
    age_bands,
    attach_meaning,
    band_midpoints,
    build_vocabulary,
    grouping_field,
    naming_words,
    norm,
    share_base,
    split_grouping,
    understand,
)
from app.sync.state import SyncState
from embeddings.encoder import Encoder
from embeddings.index import Condition, Hit, VectorIndex
from embeddings.sparse import Bm25Encoder
from profiles.population import FacetPopulation
from profiles.words import fold

log = logging.getLogger(__name__)
MEANING_Z = 2.0  # a customer matches a meaning when their cosine is 2 sd above a random customer's (see meaning())
VOCABULARY_SAMPLE = 20_000  # payloads read for the question vocabulary (once per sync)
RELEVANCE_CUTOFF = 0.95  # suggested: better than 95% of customers by meaning
_WORD = re.compile(r"\w+")
# words that say who is wanted ("people who love ...", "clientes a los que les gustan ...") rather than what:
# every document would share them. Accents are stripped before the comparison.
_FILLER = frozenset(["the", "a", "an", "and", "but", "pero", "or", "of", "to", "in", "on", "for", "from", "do", "does", "did", "who", "that", "with", "people", "customers", "customer", "users", "user", "fans", "fan", "love", "loves", "like", "likes", "are", "is", "were", "was", "their", "they", "them", "those", "these", "which", "what", "have", "has", "had", "about", "very", "much", "enjoy", "enjoys", "lovers", "lover", "los", "las", "el", "la", "les", "lo", "un", "una", "unos", "unas", "y", "o", "de", "del", "al", "a", "en", "con", "por", "para", "que", "quien", "quienes", "personas", "persona", "clientes", "cliente", "usuarios", "usuario", "aficionados", "aficionado", "fans", "amantes", "amante", "gusta", "gustan", "encanta", "encantan", "disfrutan", "disfruta", "son", "es", "muy", "mucho", "mucha", "sus", "su", "tienen", "tiene", "tengan", "tenga", "tuvo", "tuvieron", "tenia", "tenian", "han", "ha", "estan", "están", "sean", "sea", "our", "my", "nuestros", "nuestras", "nuestro", "nuestra", "mis", "whose", "cuya", "cuyo", "cuyas", "cuyos", "se", "something", "anything", "algo", "been", "being", "members", "member", "miembros", "miembro", "socios",
                    "socio", "today", "hoy", "now", "ahora", "currently", "actualmente", "spenders", "gastadores", "among", "amongst"])


# the asking itself, in a question for counting or grouping ("how many ... are there", "¿cuántas ... hay?",
# "show me", "what do they have in common"): it names nobody, so it is neither a filter nor a meaning customers
# must match. Regex fragments; tried longest first, so "tell me about" goes before "tell me".
ASKING_PHRASES = (
    "how many", "how much", "number of", "count of", "total of", "are there", "is there", "do we have",
    "do you have", "have we got", "we have", "show me", "tell me about", "tell me", "give me", "list", "find me",
    "get me", "please", "all", "every", "which", "what", "what do", "what does", "what are", "what is",
    "have in common", "has in common", "in common", "what sets", "sets apart", r"apart(?!\s+from)", "distinguishes",
    "describe", "cu[aá]nt[oa]s", "cu[aá]nt[oa]", "n[uú]mero de", "total de", "hay", "existen", "tenemos", "tienes",
    "mu[eé]strame", "mu[eé]stranos", "mu[eé]stra", "dame", "danos", "l[ií]stame", "dime", "b[uú]scame",
    "por favor", "todos", "todas", "cu[aá]les", "cu[aá]l", "qui[eé]nes", "qu[eé] tienen en com[uú]n",
    "tienen en com[uú]n", "en com[uú]n", "qu[eé] distingue a", "distingue a", "describe a", "d[eé]scribeme",
    "c[oó]mo son", "everyone", "everybody", "anyone", "anybody", "todo el mundo", "cu[aá]les son", "qui[eé]nes son",
    # "why do students leave?": the asking; what is left is the group ("students") and what it does
    "why", "why do", "why does", "why are", "why is", "why did", "por qu[eé]",
    "qué",  # accented, it asks ("¿qué mujeres ...?"); "que" joins a clause
    # "how many customers are there in total?": everyone ("in total" had been left as a meaning: an estimate)
    "in total", "in all", "altogether", "overall", "en total", "en conjunto",
    # a share is a count over everyone ("what share of customers are women": the count answers with its percent)
    "share of", "percentage of", "percent of", "proportion of", "fraction of", "porcentaje de", "proporci[oó]n de",
    "parte de", "qu[eé] parte de", "tanto por ciento de",
)
_ASKING = re.compile(r"(?<![\w-])(?:" + "|".join(sorted(ASKING_PHRASES, key=len, reverse=True)) + r")(?![\w-])",
                     re.IGNORECASE)


_AVERAGE_MARK = 987654.0  # the average's place while the number compared with it is read (no data holds it)


_TOTALS = frozenset({"in total", "in all", "altogether", "overall", "en total", "en conjunto"})
_NUMBER_BEFORE = re.compile(r"\d(?:\s*(?:euros?|eur|dollars?|usd|pesos?|pounds?|libras?|€|\$))?\s+$", re.IGNORECASE)


def without_asking(question: str) -> str:
    """A question without the words that only ask it: "how many women over 40 are there" -> "women over 40"; a
    total said after an amount is the amount's ("spent more than 100 in total")."""
    def asking(m: re.Match[str]) -> str:
        said = " ".join(m.group().lower().split())
        if said in _TOTALS and _NUMBER_BEFORE.search(question, max(0, m.start() - 24), m.start()):
            return m.group()
        return " "

    return " ".join(_ASKING.sub(asking, question).replace("¿", " ").replace("?", " ").split())


# ranking words, in a question put to a model's ranking ("students most likely to churn", "top at risk",
# "los más probables de darse de baja"): the ranking answers them, the group is what is left
_RANKING = re.compile(
    r"(?<![\w-])(?:(?:most|least|more|less) likely to \w+|likely to \w+|likeliest to \w+|"
    r"at (?:high |highest )?risk(?: of \w+)?|most at risk(?: of \w+)?|"
    r"(?:with )?(?:the )?(?:highest|greatest|best|biggest|lowest) (?:chance|probability|likelihood|risk)s? "
    r"(?:of|to) \w+|will \w+(?: first| soon| next)?|(?:top|first|best) \d+|top|first|next|"
    r"soonest|highest|lowest|"
    r"(?:m[aá]s|menos) probables? (?:de|a|que) (?:darse de baja|\w+)|con (?:m[aá]s|mayor) riesgo(?: de \w+)?|"
    r"(?:con |que tienen |tienen |que tenga |tengan )?(?:la |una )?(?:m[aá]s|mayor|menor|menos) "
    r"(?:probabilidad|riesgo|propensi[oó]n)(?:es)? (?:de|a) (?:darse de baja|\w+)|"
    r"(?:m[aá]s|menos) propens[oa]s? a (?:darse de baja|\w+)|"
    r"en riesgo(?: de \w+)?|(?:los |las )?(?:(?:primer[oa]s|mejores) \d+|\d+ (?:primer[oa]s|mejores))|primer[oa]s?)(?![\w-])", re.IGNORECASE)


# a model's goal named as a likelihood ("customers likely to churn", "en riesgo de irse", "probablemente compren"):
# the people the goal's active model gives at least an even chance (LIKELY); the verb says which goal
LIKELY = 0.5
_LIKELY = re.compile(
    r"(?<![\w-])(?:(?:very |more |most |less |not |un)?likely to|expected to|predicted to|going to|will probably|"
    r"probably will|(?:at |with (?:a )?)?(?:high |higher |elevated |low |lower |little )?(?:risk|chance|probability) "
    r"(?:of|to)|probablemente|(?:con |en )?(?:alto |mucho |bajo |poco )?riesgo de|"
    r"(?:con )?(?:alta |poca |baja )?probabilidad de|propens[oa]s? a|(?:es )?(?:poco |muy )?probable que|"
    r"(?:con |en )?riesgo (?:alto |elevado |bajo )de|(?:con )?probabilidad (?:alta |baja )de|"
    r"improbable que|a punto de)\s+(?:se |nos |lo |la |les |los )?(?P<verb>[a-záéíóúñ]+(?: de baja)?)(?![\w-])",
    re.IGNORECASE)
_GOAL_VERBS = {"churn": ("churn", "leav", "cancel", "quit", "lapse", "unsubscrib", "drop out", "ir", "irse", "vay",
                         "abandon", "dar", "darse de baja", "march", "dej", "baja", "fug"),
               "purchase": ("buy", "purchas", "order", "shop", "convert", "compr", "repit", "pedir", "pidan")}


# "unlikely to churn", "con poca probabilidad de irse": below an even chance
_LOW = re.compile(r"(?<![\w-])(?:unlikely|not likely|less likely|low|lower|little|poca|(?<!de )baja|bajo|poco|"
                  r"improbable)"
                  r"(?![\w-])", re.IGNORECASE)
# "el 10 % con más riesgo de abandono", "the top 5% most likely to buy": a share of the model's ranking
_SHARE_WORDS = (r"(?<![\w-])(?:(?:in|en|within|dentro del?) )?(?:the |el |los |las )?(?:top |first |primer[oa]s? )?"
                r"(\d{1,2}(?:[.,]\d+)?) ?%")
_SHARE = re.compile(_SHARE_WORDS + r"(?: (?:con |with )?(?:the )?(?:m[aá]s|mayor|most|highest|greatest))?(?![\w-])",
                    re.IGNORECASE)
_SHARE_ALONE = re.compile(_SHARE_WORDS + r"(?![\w-])", re.IGNORECASE)  # its ranking words read by _RANKING


def _cut(text: str, m: re.Match[str]) -> str:
    """The text without what `m` matched, its spaces collapsed."""
    return " ".join((text[:m.start()] + " " + text[m.end():]).split())


def _goal_of(verb: str) -> str | None:
    """The goal whose verbs `verb` is one of, or starts with ("leaving": churn, "compren": purchase)."""
    verb = fold(verb).lower()
    return next((g for g, stems in _GOAL_VERBS.items()
                 if any(verb == s or (len(s) > 2 and verb.startswith(s)) for s in stems)), None)


# a likelihood's own bound: "a churn risk above 70%", "probabilidad de compra superior al 80 %", "over 0.7"
_BOUND_WORDS = (r"(?:(?P<up>above|over|more than|greater than|higher than|at least|of at least|superior (?:al|a)|"
                r"mayor (?:al|del|de|que)|por encima del?|(?:de )?m[aá]s del?|al menos(?: del?)?)|(?P<down>below|under|"
                r"less than|lower than|inferior (?:al|a)|menor (?:al|del|de|que)|por debajo del?|(?:de )?menos del?))"
                r"\s+(?:the |el |un )?(?P<n>\d{1,3}(?:[.,]\d+)?)\s?(?P<pct>%|percent|por ?ciento)?(?![\w-])")
_BOUND = re.compile(r"(?<![\w-])" + _BOUND_WORDS, re.IGNORECASE)
_BOUND_AFTER = re.compile(r"\s+(?:of\s+)?" + _BOUND_WORDS, re.IGNORECASE)


def likelihood(said: str, rest: str) -> tuple[str, float, str]:
    """How the words of a likelihood choose people, and the rest of the question without them: ("top", a
    percent of the ranking, ...) for "el 10 % con más riesgo de irse", ("below", LIKELY, ...) for "unlikely to
    churn", else ("at_least", LIKELY, ...)."""
    if (bound := _BOUND.search(said)) is not None:  # "a churn risk above 70%": that probability, not an even chance
        value = float(bound.group("n").replace(",", "."))
        value = value / 100 if bound.group("pct") or value > 1 else value
        if 0 < value <= 1:
            return ("below" if bound.group("down") else "at_least"), round(value, 4), rest
    if _LOW.search(said):
        return "below", LIKELY, rest
    share = _SHARE.search(rest)
    percent = float(share.group(1).replace(",", ".")) if share is not None else 0.0
    if share is not None and 0 < percent <= 100:
        return "top", percent, _cut(rest, share)
    return "at_least", LIKELY, rest


# the goal said as a noun before its risk: "customers with a high churn risk", "high purchase probability"
_GOAL_RISK = re.compile(r"(?<![\w-])(?:(?:with |at )?(?:a )?(?:high |higher |elevated |low |lower )?)"
                        r"(?P<verb>churn|purchase|buying|cancellation)\s+(?:risk|probability|likelihood|propensity)"
                        r"(?![\w-])", re.IGNORECASE)


# "why do students churn?", "¿por qué se van los estudiantes?": a why-question names a goal by its bare verb
_WHY = re.compile(r"(?<![\w-])(?:why|por qu[eé])(?![\w-])", re.IGNORECASE)
_BARE_GOAL = re.compile(r"(?<![\w-])(?:(?P<churn>churn(?:s|ed|ing)?|leav(?:e|es|ing)|quit(?:s|ting)?|"
                        r"cancel(?:s|led|ling)?|se van|se marchan|abandonan|se dan de baja|dejan)|"
                        r"(?P<purchase>buy(?:s|ing)?|purchas(?:e|es|ing)|compran|comprar))(?![\w-])", re.IGNORECASE)


_HORIZON = re.compile(r"(?<!\s)\s+(?:(?:in |within |over )?(?:the )?next (?:\d{1,3} )?(?:days?|weeks?|months?|quarter|year)|"
                      r"soon|(?:en |durante )?(?:el|la|los|las) pr[oó]xim[oa]s? (?:\d{1,3} )?(?:d[ií]as|semanas?|"
                      r"mes(?:es)?|trimestre|año)|pronto)(?![\w-])", re.IGNORECASE)


def likely_goal(question: str) -> tuple[str, str, str] | None:
    """(goal, the words that named it, the question without them) where a question names a model's goal as a
    likelihood: "how many customers are likely to churn" -> ("churn", "likely to churn", "how many customers
    are"), or asks why people do it ("why do students churn?"). None when it names none, or a verb no goal owns
    ("likely to enjoy horror")."""
    for m in (*_LIKELY.finditer(question), *_GOAL_RISK.finditer(question)):
        verb = m.group("verb")
        goal = "churn" if fold(verb).lower().endswith(" de baja") else _goal_of(verb)
        if goal is not None:
            # "likely to buy | next month": the model's own horizon, said (its card says how many days it is)
            horizon = _HORIZON.match(question, m.end())
            stop = horizon.end() if horizon else m.end()
            # "a churn risk | above 70%": the likelihood's own bound, said right after it (not "over 40" elsewhere)
            stop = bound.end() if (bound := _BOUND_AFTER.match(question, stop)) is not None else stop
            said = question[m.start():stop]
            rest = " ".join((question[:m.start()] + " " + question[stop:]).split())
            # "¿por qué se van los clientes con riesgo de abandono?": the goal's bare verb says it again
            again = _BARE_GOAL.search(rest) if _WHY.search(rest) else None
            if again is not None and ("churn" if again.group("churn") else "purchase") == goal:
                rest = _cut(rest, again)
            return goal, said, rest
    bare = _BARE_GOAL.search(question) if _WHY.search(question) else None
    if bare is not None:
        goal = "churn" if bare.group("churn") else "purchase"
        return goal, bare.group(0), _cut(question, bare)
    return None


_ASKED_COUNT = re.compile(r"(?<![\w-])(?:(?:top|first|the|best|our|my|los|las|mejores|primer[oa]s|nuestr[oa]s|mis)\s+(\d{1,4})(?![\w.,-]|\s?%)|"
                          r"(\d{1,4})\s+(?:primer[oa]s|mejores|first|best)(?![\w-]))", re.IGNORECASE)


def asked_count(question: str) -> tuple[int | None, str]:
    """How many a ranking question asks for, and the question without it: "the 3 students most likely to churn",
    "top 5 engineers", "los 10 primeros" -> 3, 5, 10 ("los 3" had been left as a meaning to match)."""
    m = _ASKED_COUNT.search(question)
    if m is None:
        return None, question
    return int(m.group(1) or m.group(2)), _cut(question, m)


def ranked_goal(question: str) -> str | None:
    """The goal a question asks to rank by, from its words ("students most likely to churn", "los 5 con más riesgo
    de irse", "who will buy next"): a likelihood's verb, else a ranking phrase's; None when it names none."""
    found = likely_goal(question)
    if found is not None:
        return found[0]
    for m in _RANKING.finditer(question):
        for word in reversed(m.group(0).split()):  # "will buy next": the verb, not the adverb
            goal = _goal_of(word)
            if goal is not None:
                return goal
    return None


def without_ranking(question: str) -> str:
    """A question to a model's ranking without its ranking words: "students most likely to churn" -> "students";
    a share of the ranking ("in the top 10%", "el 10 % con más riesgo") is the ranking's too."""
    asked = _HORIZON.sub(" ", " " + without_asking(question))  # "most likely to buy | next month": the model's
    return " ".join(_RANKING.sub(" ", _SHARE_ALONE.sub(" ", asked)).split())


def content_words(query: str) -> str:
    """The query without filler words, for matching it against document lines."""
    return " ".join(w for w in _WORD.findall(query) if fold(w).lower() not in _FILLER)


def explain(document: str, query_terms: set[int], terms: Callable[[str], set[int]], n: int = 2) -> list[str]:
    """The document lines that share most terms with the query, where `terms` is the deployment's own BM25
    analysis (Unicode-aware, stemmed and stop-worded per language: "comedias" meets "comedia", "información"
    stays one word); the summary line when none shares any."""
    lines = [ln for ln in document.split("\n") if ln.strip()]
    if query_terms:
        scored = sorted(((len(query_terms & terms(ln)), -i, ln) for i, ln in enumerate(lines)), reverse=True)
        best = [_evidence(ln, query_terms, terms) for score, _, ln in scored if score > 0][:n]
        if best:
            return best
    return lines[:1]


def _evidence(line: str, query_terms: set[int], terms: Callable[[str], set[int]]) -> str:
    """Only the items of a list line that carry the match best ("Favourite genres: Horror 18%" rather than the
    whole top five), so each hit shows its own evidence instead of one line repeated on every hit."""
    head, sep, body = line.partition(": ")
    if not sep:
        return line
    joiner = "; " if "; " in body else ", "
    items = [x.strip().rstrip(".") for x in _top_level(body, joiner)]
    shared = [len(query_terms & terms(x)) for x in items]
    # the items that share the most ("compra (categoria: relojes)" for "compran relojes", not every "compra")
    kept = [x for x, n in zip(items, shared, strict=True) if n and n == max(shared)]
    return f"{head}: {joiner.join(kept)}" if kept and len(kept) < len(items) else line


def _top_level(body: str, joiner: str) -> list[str]:
    """`body` split at `joiner` outside parentheses: an event's properties are joined by the same "; " as the
    events ("compra (articulos: 3; categoria: relojes); visita pagina (...)"), and cutting inside one left
    "compra (articulos: 3" as the evidence. One pass; a stray ")" never drops the depth below zero."""
    items, depth, start, i = [], 0, 0, 0
    while i < len(body):
        ch = body[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        elif depth == 0 and body.startswith(joiner, i):
            items.append(body[start:i])
            start = i = i + len(joiner)
            continue
        i += 1
    items.append(body[start:])
    return items


def _summary(payload: dict[str, Any]) -> str:
    doc = str(payload.get("document") or "")
    return doc.split("\n", 1)[0][:300]


_COMPARED = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


def _property_path(lookup: Callable[[str], str | None] | None, etype: str) -> list[str]:
    """An event type's property path as `lookup` (the dictionary) gives it, split: ["importe"]; [] for none."""
    path = lookup(etype) if lookup is not None else None
    return path.split(".") if path else []


def _within(value: float, bound: dict[str, float]) -> bool:
    """Whether a number meets a range's bounds ({"gt": 100}, {"gte": 10, "lte": 20})."""
    return all(_COMPARED[op](value, limit) for op, limit in bound.items() if op in _COMPARED)


@dataclass(frozen=True)
class Meaning:
    """A question read for counting and grouping: the trait conditions it names, and the cut-off for the rest."""

    understood: list[str]  # the conditions as the user could have written them
    conditions: list[Condition]
    semantic: str  # what is left for meaning ("" when the whole question named traits)
    vector: np.ndarray | None
    threshold: float | None  # cosine cut-off: mean + MEANING_Z sd of the question's similarity to the sample
    sample_share: float | None  # share of the background sample at or above the cut-off
    # values the question names that no customer holds, each with the field's values ("the premium plan")
    not_held: tuple[dict[str, Any], ...] = ()
    # events of a type about a value ("rated horror movies"), in a time window or not ("in the last month"): read
    # from the event log (`SearchService.about`)
    about: tuple[EventReading, ...] = ()
    # conditions that only approximate what was asked ("over 40" read as age bands, 35-44 cut through)
    approximate: tuple[dict[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"understood": self.understood, "semantic": self.semantic,
                               "cutoff": None if self.threshold is None else {
                                   "cosine": round(self.threshold, 4), "rule": f"similarity at least {MEANING_Z:g} "
                                   "standard deviations above a random customer's (a fixed sample of the index)"}}
        if self.not_held:
            out["not_held"] = list(self.not_held)
        if self.approximate:
            out["approximate"] = list(self.approximate)
        return out


class SearchService:
    def __init__(self, encoder: Encoder, sparse: Bm25Encoder, index: VectorIndex, state: SyncState,
                 *, max_limit: int = 100, reference_size: int = 1000, default_mode: SearchMode = "hybrid",
                 wordings: tuple[str, ...] = ("en",), event_labels: Callable[[str], list[str]] | None = None,
                 phrases: PhraseVectorStore | None = None,
                 population: Callable[[], FacetPopulation | None] | None = None,
                 amount_of: Callable[[str], str | None] | None = None,
                 rating_of: Callable[[str], str | None] | None = None) -> None:
        self.encoder = encoder
        self.wordings = wordings  # how a flag's absence is written for matching by meaning ("without", "sin")
        self.event_labels = event_labels  # an event type's names in each wording ("valoraciones", "ratings")
        self.amount_of = amount_of  # an event type's amount path in its properties ("value", "importe"), if any
        self.rating_of = rating_of  # an event type's rating path in its properties ("rating"), if any
        self.default_mode = default_mode
        self.sparse = sparse
        self.index = index
        self.state = state
        self.max_limit = max_limit
        self.reference_size = reference_size
        self._reference: np.ndarray | None = None
        self._vocab: Vocabulary | None = None
        self._count: int | None = None  # customers in the index, for the cut-off's estimate (refreshed per sync)
        self._warming = threading.Lock()  # one thread builds the vocabulary; a concurrent question waits for it
        # each invalidation starts a generation: what was computed from the index before it is used once, not kept
        # (a question building the vocabulary while a sync ends must not keep the old one until the next sync)
        self._generation = 0
        self._storing = threading.Lock()  # a build's phrase vectors are stored, or forgotten, one at a time
        self.phrases = phrases  # the vocabulary's phrase vectors between processes (app/search/phrase_store.py)
        # the documents' population statistics: every value of what events are about that enough people hold,
        # where the payloads keep each person's top five only ("rated a documentary")
        self.population = population

    async def search(self, req: SearchRequest) -> SearchResponse:
        query = " ".join(req.query.split())
        if not query:
            raise InvalidRequestError.worded("query_empty")
        if req.limit > self.max_limit:
            raise InvalidRequestError.worded("limit_range", most=self.max_limit)
        conditions = parse_filters(req.filters)
        requested: SearchMode = req.mode or self.default_mode
        dense = await asyncio.to_thread(self.encoder.encode_query, query) if requested != "sparse" else None
        sparse = self.sparse.query(query) if requested != "dense" else None
        if requested == "sparse" and (sparse is None or not sparse.indices):
            return SearchResponse(query=query, mode=requested, results=[])
        mode: SearchMode = "dense" if requested == "hybrid" and (sparse is None or not sparse.indices) else requested
        understood = None
        if req.understand:
            vocab = await asyncio.to_thread(self._vocabulary)
            understood = understand(query, vocab) if not vocab.empty else None
        k = req.offset + req.limit

        def run(extra: list[Condition]) -> list[Hit]:
            return self.index.search(dense=dense, sparse=sparse, filters=conditions + extra, limit=k, offset=0,
                                     mode=mode)

        boost = list(understood.conditions) if understood else []
        if understood and understood.about:
            try:
                boost += await self.about(understood.events())
            except UnavailableError as exc:  # a boost, not the answer: the rest of what was read still ranks first
                log.warning("%s", exc)
        if boost:
            # what the question names comes first (ranked by meaning), then the rest: a boost, not a wall, so a
            # misread word costs order, never the answer
            try:
                first = await asyncio.to_thread(run, boost)
            except ValueError as exc:  # a field the index cannot address: the question is answered by meaning
                log.warning("understood filters refused by the index (%s): searching by meaning only", str(exc)[:200])
                understood, first = None, []
            seen = {h.point_id for h in first}
            rest = [] if len(first) >= k else [h for h in await asyncio.to_thread(run, []) if h.point_id not in seen]
            hits = (first + rest)[req.offset:k]
            # how many meet all of it: the hits after them are the closest others, not more of the same
            matches = await asyncio.to_thread(self.index.count, conditions + boost) if understood else None
        else:
            seen, matches = set(), None
            hits = (await asyncio.to_thread(run, []))[req.offset:k]
        relevance, cutoff = await asyncio.to_thread(self._relevance, dense, hits)
        wanted = self._terms(content_words(query), query=True)
        matched = [f"matches {f}" for f in understood.filters] if understood else []
        results = [self._hit(h, wanted, r, matched if h.point_id in seen else [])
                   for h, r in zip(hits, relevance, strict=True)]
        return SearchResponse(query=query, mode=mode, results=results,
                              understood=understood.as_dict() if understood else None, cutoff=cutoff,
                              understood_matches=matches)

    def _vocabulary(self) -> Vocabulary:
        """The synced data's own words (trait values, flags, numeric fields, what events are about), from a
        sample of payloads."""
        with self._warming:
            if self._vocab is not None:
                return self._vocab
            generation = self._generation
            payloads: list[dict[str, Any]] = []
            fields = ["traits", "data", "event_types", "counts", "purchases", "top", "last_seen", "first_seen"]
            for page in self.index.scroll(batch=2000, fields=fields):
                payloads.extend(h.payload for h in page)
                if len(payloads) >= VOCABULARY_SAMPLE:
                    break
            stats = self.population() if self.population is not None else None
            vocab = build_vocabulary(payloads, stats.shares if stats is not None else None)
            if self.rating_of is not None:  # the one event type the dictionary gives a rating, if one
                rated = [t.removeprefix("counts.") for t in dict.fromkeys(vocab.event_counts.values())
                         if self.rating_of(t.removeprefix("counts."))]
                vocab.rating_type = rated[0] if len(rated) == 1 else None
            try:  # the same fields and values by meaning; without it, questions are read by their words
                self._attach_meaning(vocab, generation)
            except Exception as exc:  # noqa: BLE001 - an encoder failure costs the synonyms, never search
                log.warning("fields and values not embedded for question understanding: %s", str(exc)[:200])
            if generation == self._generation:
                self._vocab = vocab
            # the fields a question can become a filter on get payload indexes (once, where missing): a
            # selective filter ("retired") was a graph walk rejecting nearly every candidate
            try:
                self.index.ensure_field_indexes(vocab.field_kinds())
            except ValueError as exc:  # one odd field must not take every search down
                log.warning("payload indexes for understood fields not created: %s", str(exc)[:200])
            return vocab

    def _attach_meaning(self, vocab: Vocabulary, generation: int) -> None:
        """Embed the vocabulary's phrases, taking those the last build stored (a new process then encodes only
        what changed), and store this build's for the next process."""
        if self.phrases is None:
            attach_meaning(vocab, self.encoder, self.wordings, self.event_labels)
            return
        remembering = RememberingEncoder(self.encoder, self.phrases.load())
        attach_meaning(vocab, remembering, self.wordings, self.event_labels)
        if vocab.lexicon is not None:
            vocab.lexicon.encoder = self.encoder  # a question's own phrases are encoded, never stored
        with self._storing:
            if generation == self._generation:  # an erasure since the build started: nothing of it is stored
                self.phrases.save(remembering.asked)

    def _relevance(self, dense: np.ndarray | None, hits: list[Hit]) -> tuple[list[float | None], dict[str, Any] | None]:
        """Each hit's cosine to the question, as the share of a fixed background sample it beats: 0.97 means
        a better match than 97% of customers, whatever the question. The cut-off is RELEVANCE_CUTOFF; the
        count above it is estimated from the same sample."""
        ref = self._reference_vectors()
        if dense is None or not hits or not len(ref):
            return [None] * len(hits), None
        q = np.asarray(dense, dtype=np.float32)
        background = np.sort(ref @ q)
        vectors = {h.point_id: h.vector for h in self.index.retrieve([str(h.payload.get("profile_id")) for h in hits],
                                                                     with_vector=True)}
        out: list[float | None] = []
        for h in hits:
            v = vectors.get(h.point_id)
            cos = float(np.asarray(v, dtype=np.float32) @ q) if v is not None else None
            out.append(None if cos is None else round(float(np.searchsorted(background, cos)) / len(background), 4))
        threshold = float(np.quantile(background, RELEVANCE_CUTOFF))
        share_above = float((background >= threshold).mean())
        cutoff = {"relevance": RELEVANCE_CUTOFF, "hits_above": sum(1 for r in out if r is not None and
                                                                   r >= RELEVANCE_CUTOFF),
                  "estimated_customers_above": int(round(share_above * self._customers()))}
        return out, cutoff

    def _terms(self, text: str, query: bool = False) -> set[int]:
        vector = self.sparse.query(text) if query else self.sparse.document(text)
        return set(vector.indices)

    def _hit(self, h: Hit, wanted: set[int], relevance: float | None = None,
             matched: list[str] | None = None) -> SearchHit:
        p = h.payload
        why = (matched or []) + explain(str(p.get("document") or ""), wanted, self._terms)
        return SearchHit(profile_id=p.get("profile_id", ""), score=round(h.score, 6), relevance=relevance,
                         why=why, summary=_summary(p),
                         traits=p.get("traits") or {}, segments=p.get("segments") or [],
                         event_count=int(p.get("event_count") or 0), last_seen=p.get("last_seen"))

    async def _lookup(self, profile_id: str, with_vector: bool = False) -> tuple[str, Hit]:
        if not profile_id or len(profile_id) > 200:
            raise InvalidRequestError.worded("profile_id_length")
        resolved = await self.state.resolve(profile_id)
        hits = await asyncio.to_thread(self.index.retrieve, [resolved], with_vector)
        if not hits:
            raise NotFoundError.worded("profile_not_indexed", profile=profile_id)
        return resolved, hits[0]

    async def profile(self, profile_id: str) -> ProfileCard:
        resolved, hit = await self._lookup(profile_id)
        p = hit.payload
        return ProfileCard(profile_id=resolved, asked_id=profile_id,
                           merged_from=profile_id if resolved != profile_id else None,
                           document=p.get("document") or "", traits=p.get("traits") or {}, data=p.get("data") or {},
                           segments=p.get("segments") or [], event_count=int(p.get("event_count") or 0),
                           counts=p.get("counts") or {}, first_seen=p.get("first_seen"), last_seen=p.get("last_seen"),
                           spend_total=float(p.get("spend_total") or 0), top=p.get("top") or {},
                           ai=p.get("ai") or {})

    def meaning(self, query: str) -> Meaning:
        """Blocking: the trait conditions a question names and, for what is left, its vector and cut-off. The
        words that only ask ("how many ... are there") are dropped first: they name nobody."""
        query = " ".join(query.split())[:1000]
        query = without_asking(query) or query
        vocab = self._vocabulary()
        understood = understand(query, vocab) if not vocab.empty else None
        filters, conditions = (understood.filters, understood.conditions) if understood else ([], [])
        not_held = understood.not_held() if understood else ()
        about = understood.events() if understood else ()
        approximate = understood.approximate() if understood else ()
        text = query
        if understood and (conditions or understood.about):  # "con contrato mensual": the field's own name is no meaning
            named = {w for c in conditions for w in naming_words(c.key)}
            text = " ".join(w for w in understood.semantic.split() if norm(w) not in named)
        if not content_words(text).split():
            # nothing but filler is left: the traits named are the whole question ("clientes con ..."), or it
            # names nobody in particular ("¿cuántos clientes hay?": everyone)
            return Meaning(filters, conditions, "", None, None, None, not_held, about, approximate)
        vector = np.asarray(self.encoder.encode_query(text), dtype=np.float32)
        ref = self._reference_vectors()
        if not len(ref):
            return Meaning(filters, conditions, text, vector, None, None, not_held, about, approximate)
        sims = ref @ vector
        threshold = float(sims.mean() + MEANING_Z * sims.std())
        return Meaning(filters, conditions, text, vector, threshold, float((sims >= threshold).mean()), not_held,
                       about, approximate)

    async def about(self, about: Sequence[EventReading]) -> list[Condition]:
        """Who had an event of each type about one of its values ("rated horror movies"; any, where none is
        given), within its time window if it has one ("in the last month"), from the event log the sync keeps
        (redacted properties), as conditions on profile ids: everyone else, where the reading is denied ("never
        bought shoes", "did not buy anything in the last month")."""
        return [await self._condition(e) for e in about]

    async def _condition(self, e: EventReading) -> Condition:
        """One event reading as a condition on profile ids, by what it bounds: a sum of amounts, the absence of
        a later event, one event's amount, else how many such events."""
        if e.amount:
            return await self._amount_condition(e)
        if e.unfollowed_by:
            return await self._unfollowed_condition(e)
        if e.single:
            return await self._single_condition(e)
        if e.scored:  # "rated a movie 5 stars": such events whose rating meets the bound
            return Condition("", "ids", list(await self.state.event_counts_scored(
                e.etype, e.values, self._rating_path(e.etype), e.scored, e.since, e.before, e.times)))
        return Condition("", "not_ids" if e.denied else "ids", await self.state.profiles_with_event_about(
            e.etype, e.values, since=e.since, before=e.before, times=e.times))

    async def _single_condition(self, e: EventReading) -> Condition:
        """"made a purchase over 100": whose largest such event's amount meets the bound ("under 20": whose
        smallest does), in the window."""
        bound = e.single or {}
        extremes = await self.state.event_extremes_about(e.etype, e.values, self.amount_path(e.etype), e.since,
                                                         e.before, largest=not ({"lt", "lte"} & set(bound)))
        return Condition("", "ids", [p for p, v in extremes.items() if _within(v, bound)])

    async def _unfollowed_condition(self, e: EventReading) -> Condition:
        """"abandoned their cart this week": whose last such event (in the window) no event of `unfollowed_by`
        came after, at any time since (a purchase the next week still closes a cart of this week)."""
        last = await self.event_times(e, latest=True)
        then = await self.event_times(EventReading(str(e.unfollowed_by), [], None), latest=True)
        return Condition("", "ids", [p for p, t in last.items() if p not in then or then[p] < t])

    async def _amount_condition(self, e: EventReading) -> Condition:
        """"spent more than 100 euros last year": the amounts of the type's events in the window, summed per
        profile (the event dictionary's value path); where a bound holds 0 ("less than 50"), those with no such
        event meet it too, so the condition is everyone but those whose sum fails it."""
        sums = await self.event_sums(e)
        bound = e.amount or {}
        if _within(0.0, bound):
            return Condition("", "not_ids", [p for p, v in sums.items() if not _within(v, bound)])
        return Condition("", "ids", [p for p, v in sums.items() if _within(v, bound)])

    async def event_counts(self, reading: EventReading) -> dict[str, int]:
        """How many events of a reading's type, about its values and within its window (and whose rating meets
        its score, "5-star ratings"), each profile has."""
        if reading.scored:
            return await self.state.event_counts_scored(reading.etype, reading.values, self._rating_path(reading.etype),
                                                        reading.scored, reading.since, reading.before)
        return await self.state.event_counts_about(reading.etype, reading.values, reading.since, reading.before)

    async def event_times(self, reading: EventReading, latest: bool = False) -> dict[str, datetime]:
        """When each profile first (`latest`: last) had an event of a reading's type, about its values and within
        its window."""
        return await self.state.event_times_about(reading.etype, reading.values, reading.since, reading.before,
                                                  latest=latest)

    def _rating_path(self, etype: str) -> list[str]:
        """Where an event type's rating is in its properties (the dictionary's, or one learned: ["puntuacion"])."""
        return _property_path(self.rating_of, etype)

    def amount_path(self, etype: str) -> list[str]:
        """Where an event type's amount is in its properties (the event dictionary's value: ["importe"]); []
        where the type has none."""
        return _property_path(self.amount_of, etype)

    async def event_sums(self, reading: EventReading) -> dict[str, float]:
        """What each profile's events of a reading's type, about its values and within its window, add up to at
        the type's amount (`amount_path`; nothing where it has none)."""
        return await self.state.event_sums_about(reading.etype, reading.values, self.amount_path(reading.etype),
                                                 reading.since, reading.before)

    def grouping(self, query: str) -> tuple[str, tuple[str, list[Any]] | None]:
        """Blocking: a question without the field it is broken down by ("how many customers by gender"), and that
        field with its values; the question unchanged when it names no field of the data."""
        rest, phrase = split_grouping(" ".join(query.split())[:1000])
        if phrase is None:
            return query, None
        vocab = self._vocabulary()
        if vocab.empty or understand(phrase, vocab).filters:  # "customers who pay by credit card": a value
            return query, None
        found = grouping_field(phrase, vocab)
        return (rest, found) if found is not None else (query, None)

    def band_order(self, path: str) -> list[str] | None:
        """Blocking: the values of a field of age bands, youngest first ("18-24", "25-34", ... "65+"), where `path`
        is the data's one such field; None otherwise."""
        bands = age_bands(self._vocabulary())
        return [value for value, _, _ in bands[1]] if bands is not None and bands[0] == path else None

    def band_middles(self, path: str) -> list[float] | None:
        """Blocking: the middle age of each band of `path`, in `band_order`'s order (`band_midpoints`); None where
        `path` is not the data's field of age bands."""
        bands = age_bands(self._vocabulary())
        return band_midpoints(bands[1]) if bands is not None and bands[0] == path else None

    def measure(self, query: str) -> tuple[Measure, str] | None:
        """Blocking: the statistic a question asks of a stored number ("the average spend", "¿cuánto gastaron?")
        and the question without those words; None when it asks for none (`app/search/measures.py`)."""
        return read_measure(" ".join(query.split())[:1000], self._vocabulary())

    def versus_average(self, query: str) -> tuple[str, str, str] | None:
        """Blocking: a question that compares a stored number with the average ("spent more than the average",
        "más veces que la media") as a template with `{n}` in the average's place, the number's path and the words
        that said it; None where it compares with none, or the number compared is not one the index holds (a
        count in a window is read from the event log, which keeps no average)."""
        vocab = self._vocabulary()
        found = versus_average(" ".join(query.split())[:1000], vocab) if not vocab.empty else None
        if found is None:
            return None
        template, said = found
        asked = template.format(n=_AVERAGE_MARK)
        read = understand(without_asking(asked) or asked, vocab)
        path = next((c.key for c in read.conditions if c.op == "range" and isinstance(c.value, dict) and
                     any(abs(float(v) - _AVERAGE_MARK) <= 1 for v in c.value.values()
                         if isinstance(v, int | float))), None)
        return (template, path, said) if path is not None else None

    def share_base(self, query: str) -> str | None:
        """Blocking: the group a share is asked of ("what percentage of customers from Spain bought shoes?":
        "customers from spain"), None where none or everyone (`understanding.share_base`)."""
        vocab = self._vocabulary()
        return share_base(" ".join(query.split())[:1000], vocab) if not vocab.empty else None

    def order(self, query: str) -> tuple[Order, str] | None:
        """Blocking: the stored number a question asks customers to be ranked by ("who spent the most", "los más
        antiguos") and the question without those words; None when it asks for none (`app/search/superlatives.py`)."""
        return read_order(" ".join(query.split())[:1000], self._vocabulary())

    def matching(self, meaning: Meaning, conditions: list[Condition], limit: int) -> list[tuple[str, float]]:
        """Blocking: up to `limit` customers within `conditions` whose similarity to the question reaches the
        cut-off, best first (profile id, cosine)."""
        if meaning.vector is None or meaning.threshold is None:
            return []
        hits = self.index.search(dense=meaning.vector, sparse=None, filters=conditions, limit=limit, offset=0,
                                 mode="dense")
        return [(str(h.payload.get("profile_id")), float(h.score)) for h in hits if h.score >= meaning.threshold]

    def customers(self) -> int:
        return self._customers()

    def _reference_vectors(self) -> np.ndarray:
        """A fixed sample of profile vectors: similarity percentiles are read against it."""
        if (kept := self._reference) is not None:
            return kept
        generation = self._generation
        vecs: list[list[float]] = []
        for page in self.index.scroll(batch=min(self.reference_size, 1000), with_vector=True, fields=[]):
            vecs.extend(h.vector for h in page if h.vector is not None)
            if len(vecs) >= self.reference_size:
                break
        reference = np.asarray(vecs[: self.reference_size], dtype=np.float32).reshape(-1, self.index.dim)
        if generation == self._generation:
            self._reference = reference
        return reference

    def _customers(self) -> int:
        if (kept := self._count) is not None:  # an exact count is a pass over the index: kept, not repeated
            return kept
        generation = self._generation
        count = self.index.count()
        if generation == self._generation:
            self._count = count
        return count

    def warm(self) -> None:
        """Build what questions need (vocabulary and its field indexes, the background sample, the count) now,
        after a sync, rather than on the first question."""
        self._vocabulary()
        self._reference_vectors()
        self._customers()

    def invalidate(self, *, forget_phrases: bool = False) -> None:
        """Forget what was computed from the index (after a sync, an erasure). `forget_phrases`: also the stored
        phrase vectors, which may hold an erased person's words until the next build."""
        with self._storing:
            self._generation += 1
            self._reference = None
            self._vocab = None
            self._count = None
            if forget_phrases and self.phrases is not None:
                self.phrases.forget()

    async def similar(self, profile_id: str, limit: int = 10) -> SimilarResponse:
        if not 1 <= limit <= self.max_limit:
            raise InvalidRequestError.worded("limit_range", most=self.max_limit)
        resolved, hit = await self._lookup(profile_id, with_vector=True)
        if hit.vector is None:
            raise NotFoundError.worded("profile_without_vector", profile=profile_id)
        hits = await asyncio.to_thread(self.index.search, dense=hit.vector, sparse=None, limit=limit, mode="dense",
                                       exclude_profile_ids=[resolved])
        ref = await asyncio.to_thread(self._reference_vectors)
        sims = np.sort(ref @ np.asarray(hit.vector, dtype=np.float32)) if len(ref) else np.zeros(0)
        results = []
        for h in hits:
            pct = 100.0 * float(np.searchsorted(sims, h.score, side="left")) / len(sims) if len(sims) else 100.0
            results.append(SimilarHit(profile_id=h.payload.get("profile_id", ""), similarity=round(h.score, 6),
                                      percentile=round(pct, 2), summary=_summary(h.payload)))
        return SimilarResponse(profile_id=resolved, results=results)
