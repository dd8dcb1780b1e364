"""What a question asks customers to be ranked by: "the 10 customers who spent the most", "los 5 clientes con más
compras", "our newest customers", "the youngest engineers", "top 10 by monthly charges", "who rated the most
movies", "los que más películas valoraron".

A ranking by a stored fact is exact, where a search by meaning is not: "who spent the most" matched by meaning
finds profiles whose text is about spending, not the biggest spenders. `read_order` finds the words that ask for
an order and names the number they rank by (`Order.field`): one of the payload's aggregates (`spend_total`,
`purchases`, `event_count`, `active_days`, `rating_mean`), when customers were first or last seen (`first_seen`,
`last_seen`), a numeric trait of the data's own (`traits.age`, by its key, its Spanish name or its meaning), or a
count of one event type (`counts.<type>`, named by its verb or noun as the rest of question reading names it).
Everything else in the question is the group to rank within, read as any other question is.

Every pattern is a fixed alternation over a folded copy of the question (same length, so spans are the
question's own), capped at the length questions are capped at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from app.search.understanding import Vocabulary, _age_path, _event_of, age_bands
from profiles.words import SPANISH_FIELD_WORDS, fold, norm, number_forms

MAX_QUESTION = 1000  # characters read, as for any question
MAX_CANDIDATES = 8  # phrases read by meaning a question (each may encode words): a hostile question stops there

# the payload's aggregates and the times kept per profile: what a ranking can name without the data's own fields
SPEND, PURCHASES, EVENTS, ACTIVE_DAYS, RATING = "spend_total", "purchases", "event_count", "active_days", "rating_mean"
ORDER_VALUE = "order_value_mean"  # spend over purchases: derived from two aggregates, never stored
FIRST_SEEN, LAST_SEEN = "first_seen", "last_seen"
AGGREGATES = (SPEND, PURCHASES, EVENTS, ACTIVE_DAYS, RATING)
TIMES = (FIRST_SEEN, LAST_SEEN)


_LABELS = {SPEND: ("total spend", "gasto total"), ORDER_VALUE: ("average order value", "ticket medio"),
           PURCHASES: ("purchases", "compras"), EVENTS: ("events", "eventos"),
           ACTIVE_DAYS: ("active days", "días activos"), RATING: ("average rating", "valoración media"),
           FIRST_SEEN: ("first seen", "primera actividad"), LAST_SEEN: ("last seen", "última actividad")}


def order_label(path: str, wording: str = "en", when: str | None = None) -> str:
    """What a ranking is by, in the deployment's words ("total spend", "número de eventos compra", "first
    purchase-order event")."""
    spanish = wording == "es"
    if path in _LABELS:
        return _LABELS[path][spanish]
    if path.startswith("counts."):
        name = path.removeprefix("counts.")
        if when is not None:
            return (f"{'primer' if when == 'first' else 'último'} evento {name}" if spanish else
                    f"{when} {name} event")
        return f"número de eventos {name}" if spanish else f"number of {name} events"
    return path.rsplit(".", 1)[-1].replace("_", " ")


@dataclass(frozen=True)
class Order:
    field: str  # a stored number: an aggregate, a time, a numeric trait or data path, or counts.<type>
    descending: bool
    said: str  # the words that asked for it, as asked
    # "the first customers to buy shoes" / "who bought most recently": ranked by when each first / last did the
    # event (`event`: its own words, "buy shoes"), not by how many
    when: Literal["first", "last"] | None = None
    event: str = ""

    def as_dict(self) -> dict[str, str]:
        out = {"field": self.field, "order": "descending" if self.descending else "ascending", "from": self.said}
        if self.when:
            out["when"] = self.when
        return out


_B, _E = r"(?<![\w-])", r"(?![\w-])"
_WHO = r"(?:(?:who|that|which|que|quienes|los que|las que|el que|la que) )?"
_HAVE = r"(?:(?:have|has|had|han|hayan|ha|habian) )?"


def _p(*alternatives: str) -> re.Pattern[str]:
    return re.compile(_B + "(?:" + "|".join(alternatives) + ")" + _E)


_SPEND_VERBS = r"(?:spent|spend|spends|spending|paid|pay|pays)"
_SPEND_ES = r"(?:gastad[oa]s?|gastaron|gastan|gasta|gasto|gastado|pagaron|pagan|paga|pagado)"
_BUY_VERBS = r"(?:bought|buy|buys|purchased|purchase|purchases|ordered|order|orders|shopped|shop|shops)"
_BUY_ES = r"(?:compraron|compran|compra|compro|comprado|compradas?|comprados|pidieron|piden|pedido)"
_PER_ORDER = r"(?: (?:de|por) (?:pedido|compra))?"  # "gasto medio por pedido"
_NOT_A_COMPARISON = r"(?! (?:de|que|than|likely|probable|recent|recently|reciente|recientemente)\b)"  # nor a time: "bought most recently"

# (pattern, field, descending): specific phrases first, in this order; the first that matches is the order
_FIXED: list[tuple[re.Pattern[str], str, bool]] = [
    # when customers were last active: before "most active", which is a count of events
    (_p(r"most recently (?:active|seen|visited|engaged|here|in touch)",
        r"(?:active|seen|visited|engaged|here) (?:the )?most recently",
        r"(?:the )?(?:most recent|latest|newest) (?:activity|visit|visits)",
        r"(?:activ[oa]s|vist[oa]s) (?:mas recientemente|por ultima vez mas tarde)", r"mas recientemente activ[oa]s",
        r"(?:con )?(?:la )?(?:actividad|ultima actividad|ultima visita) mas recientes?"), LAST_SEEN, True),
    (_p(r"least recently (?:active|seen|visited|engaged)",
        r"(?:inactive|away|absent|dormant|quiet|silent) (?:for )?(?:the )?longest",
        r"(?:the )?longest (?:inactive|dormant|without (?:any )?activity)",
        r"(?:llevan?|llevaban?) mas tiempo (?:inactiv[oa]s|sin actividad|sin (?:venir|visitar|entrar|aparecer|volver))",
        r"inactiv[oa]s (?:desde hace )?(?:mas tiempo|hace mas tiempo)",
        r"(?:con )?(?:la )?(?:actividad|ultima actividad|ultima visita) mas antiguas?"), LAST_SEEN, False),
    # what an order is worth on average: "the highest average order value", "el ticket medio más alto", "AOV"
    # ("by" / "por" before it is the ranking's too: "top 3 customers by average order value")
    (_p(r"(?:lowest|smallest) (?:average|mean) (?:order|basket|purchase|ticket|transaction)(?: values?| sizes?)?",
        r"(?:ticket|gasto|pedido|importe) medio" + _PER_ORDER + r" mas bajo",
        r"(?:menor|mas bajo) (?:ticket|gasto|pedido|importe) medio" + _PER_ORDER), ORDER_VALUE, False),
    (_p(r"(?:(?:by|por) (?:the |el |la )?)?(?:(?:highest|largest|biggest|top|best) )?(?:average|mean) "
        r"(?:order|basket|purchase|ticket|transaction)(?: values?| sizes?)?", r"(?:(?:by|por) )?aov",
        r"(?:por (?:el |la )?)?(?:ticket|gasto|pedido|importe|valor) medio" + _PER_ORDER + r"(?: mas alto)?",
        r"(?:mayor|mas alto) (?:ticket|gasto|pedido|importe) medio" + _PER_ORDER), ORDER_VALUE, True),
    # spend
    # (the lowest first: "smallest spenders" before the bare "spenders" of the highest)
    (_p(_SPEND_VERBS + r" (?:the )?least(?: money)?" + _NOT_A_COMPARISON,
        r"(?:smallest|lowest|lightest|least) (?:spenders|spender|gastadores)",
        r"(?:lowest|smallest) (?:total )?(?:spend|spending)", r"(?:the )?least money",
        _WHO + r"menos (?:dinero )?" + _HAVE + _SPEND_ES, _HAVE + _SPEND_ES + r" menos(?: dinero)?" + _NOT_A_COMPARISON),
        SPEND, False),
    (_p(_SPEND_VERBS + r" (?:the )?most(?: money)?" + _NOT_A_COMPARISON,
        r"(?:(?:biggest|top|largest|highest|heaviest|best|big) )?(?:spenders|gastadores)",
        r"(?:the )?most (?:money|valuable)" + _NOT_A_COMPARISON, r"(?:highest|largest|biggest) (?:total )?(?:spend|spending)",
        _WHO + r"mas (?:dinero )?" + _HAVE + _SPEND_ES, _HAVE + _SPEND_ES + r" mas(?: dinero)?" + _NOT_A_COMPARISON,
        r"mayores gastadores", r"mas valios[oa]s"), SPEND, True),
    # purchases (the payload's count of valued events)
    (_p(_BUY_VERBS + r" (?:the )?most(?: often| times| frequently)?" + _NOT_A_COMPARISON + r"(?! \w+ (?:than|likely))",
        r"(?:biggest|top|most frequent|heaviest|best|most loyal) (?:buyers|shoppers|purchasers|compradores)",
        _WHO + r"mas (?:veces )?" + _HAVE + _BUY_ES, _HAVE + _BUY_ES + r" mas(?: veces)?" + _NOT_A_COMPARISON,
        _HAVE + _BUY_ES + r" (?:con (?:mas|mayor) frecuencia|mas a menudo)",
        r"compradores mas (?:frecuentes|habituales|fieles)"), PURCHASES, True),
    (_p(_BUY_VERBS + r" (?:the )?(?:least|fewest times|least often)" + _NOT_A_COMPARISON,
        _WHO + r"menos (?:veces )?" + _HAVE + _BUY_ES, _HAVE + _BUY_ES + r" menos(?: veces)?" + _NOT_A_COMPARISON),
        PURCHASES, False),
    # an average rating: "rated the highest" (where "rated the most" counts ratings)
    # (a "score" is the data's own field where it has one: "the highest score" is read below)
    (_p(r"(?:rate|rates|rated|rating|give|gives|gave) (?:the )?(?:highest|most generously|best)"
        r"(?: (?:average |mean )?ratings?)?",
        r"(?:the )?(?:highest|best|most generous) (?:ratings?|raters?)",
        r"(?:the )?(?:highest|best) (?:average|mean) (?:ratings?|scores?)",
        r"most generous", r"(?:con )?(?:la )?(?:valoracion|nota|puntuacion) media mas alta",
        r"(?:con )?(?:la )?(?:mejor|mayor) (?:valoracion|nota|puntuacion) media",
        r"(?:valoran|puntuan|califican|valoraron|puntuaron|calificaron) mas alto"), RATING, True),
    (_p(r"(?:rate|rates|rated|rating|give|gives|gave) (?:the )?(?:lowest|most harshly|worst)"
        r"(?: (?:average |mean )?ratings?)?",
        r"(?:the )?(?:lowest|worst|harshest) (?:ratings?|raters?|critics)",
        r"(?:the )?(?:lowest|worst) (?:average|mean) (?:ratings?|scores?)", r"harshest",
        r"(?:con )?(?:la )?(?:valoracion|nota|puntuacion) media mas baja",
        r"(?:con )?(?:la )?(?:peor|menor) (?:valoracion|nota|puntuacion) media",
        r"(?:valoran|puntuan|califican|valoraron|puntuaron|calificaron) mas bajo"), RATING, False),
    # events of any kind
    (_p(r"most (?:active|engaged)", r"mas (?:activ[oa]s|comprometid[oa]s)"), EVENTS, True),
    (_p(r"least (?:active|engaged)", r"menos (?:activ[oa]s|comprometid[oa]s)"), EVENTS, False),
    # when customers were first seen: how long they have been customers
    (_p(r"newest", r"(?:the )?most recent (?:customers|clients|users|members|sign ?ups|signups|buyers|shoppers)",
        r"(?:joined|signed up|registered|arrived|became (?:a )?customers?|started) (?:the )?most recently",
        r"mas nuev[oa]s", r"(?:clientes|usuarios|socios|miembros|compradores) mas recientes",
        r"(?:llegaron|se unieron|se registraron|se dieron de alta|empezaron) mas recientemente",
        r"ultim[oa]s en (?:llegar|unirse|registrarse|darse de alta)"), FIRST_SEEN, True),
    (_p(r"earliest(?: customers| clients| users| members| sign ?ups| buyers| shoppers)?",
        r"longest[- ](?:standing|serving|time)", r"(?:been )?(?:customers?|clients?|members?|with us) (?:the )?longest",
        r"(?:joined|signed up|registered|arrived|started) (?:the )?(?:first|earliest)",
        r"(?:our|the) (?:very )?first (?:customers|clients|members|users|buyers)", r"mas antigu[oa]s",
        r"mas veteran[oa]s", r"(?:llevan?|llevaban?) mas tiempo (?:con nosotros|como clientes?|siendo clientes?)",
        r"primer[oa]s en (?:llegar|unirse|registrarse|darse de alta)",
        r"(?:llegaron|se unieron|se registraron|se dieron de alta) (?:antes|primero)"), FIRST_SEEN, False),
]

# an age, where the data holds one; "oldest" / "youngest" customers are the longest- and shortest-standing otherwise
# "our best customers", "los mejores clientes", where nothing else says by what: by what they spent, as the
# answer's `ranked_by` says ("the best customers by purchases" is read by its "by")
_BEST_CUSTOMERS = _p(r"(?:best|top) (?:customers|customer|clients|client|buyers)", r"mejores clientes",
                     r"clientes principales", r"principales clientes")
_OLDEST = _p(r"oldest", r"eldest", r"mas mayores", r"de (?:mas|mayor) edad", r"mas viej[oa]s", r"mas ancian[oa]s",
             r"(?:con )?(?:la )?(?:mayor edad|edad mas alta)")
_YOUNGEST = _p(r"youngest", r"mas jovenes", r"de menor edad", r"(?:con )?(?:la )?(?:menor edad|edad mas baja)")

_MORE = r"most|highest|largest|biggest|greatest|top|mas|mayor|mayores|maxim[oa]"
_LESS = r"fewest|least|lowest|smallest|menos|menor|menores|minim[oa]"
_NOUN = r"(?P<noun>[a-z]+(?: [a-z]+){0,2})"
# "with the most page views", "con mayor número de compras", "que tienen más incidencias abiertas"
_WITH = re.compile(_B + r"(?:with|having|has|have|had|con|que tienen|que tengan|que tenian|de) (?:the |el |la |los |las )?"
                   r"(?P<dir>" + _MORE + "|" + _LESS + r")(?! (?:de|than|que|of|likely|probable|to)\b) (?:number of |numero de |cantidad de |amount of |total |"
                   r"count of )?" + _NOUN)
# "con el salario más alto", "con los cargos mensuales más bajos"
_HIGHEST_AFTER = re.compile(_B + r"(?:with|con|de) (?:the |el |la |los |las |sus? )?" + _NOUN +
                            r" (?P<dir>mas alt[oa]s?|mas baj[oa]s?|mas grandes?|mas pequen[oa]s?)" + _E)
# "top 10 customers by spend", "ordenados por edad"; only with a word that asks for a ranking
_DIRECTIONS = (r"descending|ascending|desc|asc|descendente|ascendente|de mayor a menor|de menor a mayor|high to low|"
               r"low to high|highest first|lowest first")
_BY = re.compile(_B + r"(?:ranked |sorted |ordered |ordenad[oa]s |clasificad[oa]s )?(?:by|por) (?:the |el |la |los |las )?"
                 r"(?:number of |numero de |cantidad de |count of |amount of |total )?"
                 r"(?P<noun>(?!(?:" + _DIRECTIONS + r")\b)[a-z]+(?: (?!(?:" + _DIRECTIONS + r")\b)[a-z]+){0,2})"
                 r"(?: (?P<dir>" + _DIRECTIONS + r"))?" + _E)
_ASKS_RANKING = _p(r"top", r"ranked", r"ranking", r"sorted", r"ordered", r"ordenad[oa]s", r"clasificad[oa]s",
                   r"best", r"mejores", r"primer[oa]s", r"first", r"rank", r"sort", r"order", r"ordena")
_ASCENDING = ("ascending", "asc", "ascendente", "de menor a mayor", "low to high", "lowest first")
# "who rated the most movies", "opened the most emails"; "los que más películas valoraron"
_CLAUSE_WORDS = ("and", "but", "who", "that", "which", "in", "from", "this", "last", "since", "among", "for", "with",
                 "ever", "during", "over", "before", "after")
_OBJECT_WORD = r"(?!(?:" + "|".join(_CLAUSE_WORDS) + r")\b)[a-z]+"
_VERB_MOST = re.compile(_B + r"(?P<verb>[a-z]+) (?:the )?(?P<dir>most|least|fewest)(?! likely| at risk| probabl| recent)"
                        r"(?: (?:often|times|frequently))?(?: \d{1,2}(?:[.,]5)?[- ]?stars?)?"  # "the most 5-star ratings"
                        r"(?: (?P<noun>" + _OBJECT_WORD + r"(?: " + _OBJECT_WORD + r")?))?" + _E)
# a score said after a rating count ("rated the most dramas | 5 stars", "más valoraciones | de 5 estrellas")
_SCORE_AFTER = re.compile(r"\s+(?:(?:with|con|de|of)\s+)?(?:(?:more than|less than|below|above|at least|mas de|menos de|"
                          r"al menos)\s+)?\d{1,2}(?:[.,]5)?\s*-?\s*(?:stars?|estrellas?)\b")

# "¿quién compró más zapatos este año?": the verb before "más" and its object, as "bought the most shoes"
_ES_CLAUSE = ("y", "pero", "que", "quien", "quienes", "en", "de", "del", "desde", "este", "esta", "el", "la", "los",
              "las", "durante", "antes", "despues", "con", "entre", "veces", "vez", "recientemente", "tarde", "pronto")
_VERB_MAS = re.compile(_B + r"(?P<verb>[a-z]+) (?P<dir>mas|menos) (?P<noun>(?!(?:" + "|".join(_ES_CLAUSE) +
                       r")\b)[a-z]+)" + _E)


def _deed(name: str) -> str:
    """An event's words after "the first to" / "who": a verb and up to four more, none that starts a clause."""
    return r"(?P<" + name + ">" + _OBJECT_WORD + r"(?: " + _OBJECT_WORD + r"){0,4})"


# when customers first / last did something: "the first customers to buy shoes", "who bought most recently",
# "los primeros en comprar zapatos", "¿quién compró por última vez?"
_PEOPLE_NOUNS = ("customers", "clients", "people", "users", "buyers", "shoppers", "clientes", "usuarios", "personas")
_PEOPLE = r"(?:(?:\d{1,4}|few) )?(?:" + "|".join(f"{w} " for w in (*_PEOPLE_NOUNS, "ones")) + ")?"
# a group said between "which" and the verb, skipped to reach it ("which customers from Spain | bought first"): it
# stays the group's
_SKIP = r"(?P<skip>(?:[a-z]+ ){0,6}?)"
_FIRST_TO = re.compile(_B + r"(?:(?:the |los |las )?(?:very )?(?:first|earliest|primer[oa]s) " + _PEOPLE +
                       r"(?:to|en|que|in) " + _deed("event") + r"|(?:who|that|which|quien|quienes|que) " + _SKIP +
                       _deed("deed") + r" (?:the )?(?:first|primero|antes que nadie))(?=$|[\s,.?!])")
_LAST_TO = re.compile(_B + r"(?:(?:the |los |las )?(?:very )?(?:last|latest|most recent|ultim[oa]s) " + _PEOPLE +
                      r"(?:to|en|que|in) " + _deed("event") + r"|(?:who|that|which|quien|quienes|que) " + _SKIP +
                      _deed("deed") + r" (?:the )?(?:most recently|mas recientemente|last(?! (?:month|week|year|quarter|day|\d))|"
                      r"por ultima vez))(?=$|[\s,.?!])")
_WHEN: tuple[tuple[re.Pattern[str], Literal["first", "last"]], ...] = ((_FIRST_TO, "first"), (_LAST_TO, "last"))
# the longest since customers last did something: "who has not bought for the longest time", "the longest without
# buying", "¿quién lleva más tiempo sin comprar?": by when each last did it, earliest first
_LONGEST_SINCE = re.compile(
    _B + r"(?:(?:(?:has|have|had) )?not (?P<deed>[a-z]+(?: [a-z]+)?) (?:for|in) (?:the )?longest(?: time| while)?|"
    r"(?:the )?longest (?:time |while )?(?:without|since) (?:(?:a|their|his|her|the) (?:last )?)?(?P<noun>[a-z]+)|"
    r"(?:llevan?|llevaban?) mas tiempo sin (?P<sin>[a-z]+)|hace mas tiempo que no (?P<que>[a-z]+))(?=$|[\s,.?!])")
_GROUP_WORDS = 3  # words after the group's noun tried as its verb ("clientes | de México | compraron")
# the noun that ends a group said between "which" and its verb ("which pro customers opened ...")
_GROUP_NOUN = re.compile(r"(?<![\w-])(?:" + "|".join((*_PEOPLE_NOUNS, "members", "women", "men", "clientas", "socios",
                                                       "mujeres", "hombres")) + r")(?![\w-])")
_NOT_VERBS = frozenset({"with", "having", "has", "have", "had", "is", "are", "was", "were", "be", "by", "of", "at",
                        "con", "the", "and", "or", "who", "that", "which"})
_MOST_VERB = re.compile(_B + r"(?:que|quienes|los que|las que) (?P<dir>mas|menos) (?:veces )?(?!de |que |probable)(?P<rest>[a-z]+(?: [a-z]+){0,2})"
                        + _E)

# a noun of one of the aggregates, in either language
_AGGREGATE_NOUNS = {
    SPEND: {"spend", "spending", "money", "revenue", "sales", "spent", "gasto", "gastos", "dinero", "importe",
            "facturacion", "ventas", "total spent", "amount spent", "total spend", "valor"},
    PURCHASES: {"purchases", "purchase", "orders", "order", "compras", "compra", "pedidos", "transactions",
                "transacciones", "purchase count"},
    EVENTS: {"events", "event", "actions", "activity", "eventos", "actividad", "interactions", "interacciones",
             "acciones"},
    ACTIVE_DAYS: {"active days", "days active", "dias activos", "dias de actividad", "dias con actividad"},
    RATING: {"average rating", "mean rating", "rating average", "valoracion media", "nota media", "puntuacion media",
             "average score", "valoracion promedio", "nota promedio"},
}
_FILLER = frozenset({"the", "a", "an", "of", "el", "la", "los", "las", "de", "del", "customers", "clients",
                     "clientes", "people", "users", "usuarios", "who", "que", "this", "these"})
_ORDER_STOP = frozenset({"and", "y", "but", "pero", "who", "that", "which", "que", "in", "en", "from", "desde",
                         "this", "last", "since", "este", "esta", "ultimo", "ultimos", "ultimas", "among", "entre",
                         "for", "para", "por", "with", "con", "ever", "nunca", "customers", "clientes", "recent",
                         "recently", "reciente", "recientes", "recientemente", "likely", "probable", "probables",
                         "chance", "probabilidad", "risk", "riesgo"})
_NOT_A_NOUN = _ORDER_STOP | {"than", "de", "of", "to", "a", "at", "por"}


def folded(question: str) -> str:
    """Lower-case, accents dropped, same length as `question` (spans found in it are the question's)."""
    out = []
    for ch in question[:MAX_QUESTION]:
        f = fold(ch)
        out.append(f if len(f) == 1 else ch)
    return "".join(out).lower()


def _noun_phrase(text: str) -> str:
    """The words of a noun up to the first that starts another clause ("page views | this year")."""
    words: list[str] = []
    for w in text.split():
        if w in _ORDER_STOP:
            break
        words.append(w)
    return " ".join(words)


def _aggregate(words: str) -> str | None:
    for path, nouns in _AGGREGATE_NOUNS.items():
        if words in nouns:
            return path
    return None


def _numeric_path(words: str, vocab: Vocabulary) -> str | None:
    """A numeric field of the data's own named by the words: its key ("monthly charges"), a Spanish name of it
    ("edad"), or its meaning above the lexicon's bar."""
    said = set(words.split())
    translated = said | {SPANISH_FIELD_WORDS[w] for w in said if w in SPANISH_FIELD_WORDS}
    named = [(len(k), p) for k, p in vocab.numbers.items() if k and set(k.split()) <= translated]
    if named:
        return max(named)[1]
    lex = vocab.lexicon
    if lex is None or lex.empty or not vocab.numbers:
        return None
    index = [j for j, t in enumerate(lex.targets) if t.kind == "number"]
    if not index:
        return None
    sims = lex.similarity(words, index)[0]
    best = int(np.argmax(sims))
    return lex.targets[index[best]].path if sims[best] > lex.threshold[index[best]] else None


def _event_count_path(words: str, vocab: Vocabulary) -> str | None:
    """A count of one event type named by the words: the type's own phrase ("page views", "compras") in either
    number, else by meaning or stem as a verb is read ("tickets", "valoraron")."""
    said = norm(words).split()
    if not said or said[0] in _NOT_A_NOUN or all(w in _FILLER for w in said):
        return None
    by_word: dict[str, set[str]] = {}
    for phrase, path in vocab.event_counts.items():
        named = phrase.split()
        if len(named) == len(said) and all(p == w or p in number_forms(w) for p, w in zip(named, said, strict=True)):
            return path
        for w in named:
            by_word.setdefault(w, set()).add(path)
    # a noun of one type's own name ("abrir una | incidencia": `incidencia-abierta`, not `email-abierto`, which
    # shares the verb); a word two types share names neither
    owned = {next(iter(by_word[f])) for w in said if w not in _FILLER for f in {w, *number_forms(w)}
             if len(by_word.get(f, ())) == 1}
    if len(owned) == 1:
        return owned.pop()
    return _event_of(" ".join(said), vocab) if vocab.event_counts else None


def field_named(noun: str, vocab: Vocabulary, *, counted: bool) -> str | None:
    """The number a noun phrase names, trying its longest start first: an aggregate, an event type's count
    ("most page views": `counts.page-view`; `counted`: the words follow "most" / "más", a quantity), a numeric
    field of the data's own."""
    words = [w for w in _noun_phrase(noun).split() if w not in _FILLER]
    for n in range(min(3, len(words)), 0, -1):
        phrase = " ".join(words[:n])
        found = _aggregate(phrase) or (_event_count_path(phrase, vocab) if counted else None) or \
            _numeric_path(phrase, vocab)
        if found is not None:
            return found
    return None


def read_order(question: str, vocab: Vocabulary) -> tuple[Order, str] | None:
    """The order a question asks for and the question without the words that asked it, or None."""
    q = folded(question)

    def extent(span: tuple[int, int], path: str) -> tuple[int, int, str]:
        """Where an order's words start and end around what matched, and for spend, the purchases it sums."""
        a, b = span
        if (lead := _LEAD.search(q, 0, a)) is not None:  # "customers | with the highest average rating"
            a = lead.start()
        while (aux := _AUXILIARY.search(q, 0, a)) is not None:  # "customers who | have been | inactive the longest"
            a = aux.start()
        if path.startswith("counts."):  # "added the most items | to the cart": the event's own words
            b = _through_complement(q, b)
        b, event = what_and_when(q, a, b, path, vocab)
        return a, b, event

    def without(a: int, b: int) -> str:
        return " ".join(_BEST.sub(" ", question[:a] + " " + question[b:MAX_QUESTION]).split())

    def found(span: tuple[int, int], path: str, descending: bool) -> tuple[Order, str]:
        a, b, event = extent(span, path)
        return Order(path, descending, question[a:b], event=event), without(a, b)

    budget = [MAX_CANDIDATES]

    def named(noun: str, counted: bool) -> str | None:
        if budget[0] <= 0:
            return None
        budget[0] -= 1
        return field_named(noun, vocab, counted=counted)

    def event(*phrases: str) -> str | None:
        if budget[0] <= 0:
            return None
        budget[0] -= 1
        return next((p for p in (_event_count_path(w, vocab) for w in phrases) if p is not None), None)

    for pattern, when in _WHEN:
        for asked in pattern.finditer(q):
            deed, start = asked.group("event") or asked.group("deed") or "", asked.start()
            path = None
            if asked.group("event"):  # "the first customers to | buy shoes"
                path = event(deed, deed.split()[0]) if deed.split()[0] not in _NOT_VERBS else None
            else:
                # "who | bought shoes first"; "which pro customers | opened a ticket first", "qué clientes de México
                # | compraron zapatos primero": a group said before the verb stays the group's, and the verb is
                # one of the next few words
                people = _GROUP_NOUN.search(deed)
                after = people.end() if people is not None and people.end() < len(deed) else 0
                for verb in list(re.finditer(r"\S+", deed[after:]))[:_GROUP_WORDS]:
                    rest = deed[after + verb.start():]
                    if verb.group() not in _NOT_VERBS and (path := event(rest, verb.group())) is not None:
                        deed = rest
                        if after or verb.start() or asked.group("skip"):
                            start = asked.start("deed") + after + verb.start()
                        break
            if path is None:
                continue
            # an event's words run on over its complement and window: "the last to add something to the | cart",
            # "the first to buy shoes | this year"
            a, b, _ = extent((start, asked.end()), path)
            deed += q[asked.end():b]
            return Order(path, when == "last", question[a:b], when, " ".join(deed.split())), without(a, b)

    for asked in _LONGEST_SINCE.finditer(q):
        deed = next(g for g in asked.groups() if g)
        if (path := event(deed, deed.split()[0])) is not None:  # "sin venir" names no event: last seen, below
            return Order(path, False, question[asked.start():asked.end()], "last", deed), \
                without(*asked.span())
    age = _age_path(vocab)
    for pattern, descending in ((_OLDEST, True), (_YOUNGEST, False)):
        if (m := pattern.search(q)) is not None:
            if age is not None:
                return found(m.span(), age, descending)
            if (bands := age_bands(vocab)) is not None:  # "los más jóvenes" where the data holds age bands
                return found(m.span(), bands[0], descending)
            if m.group(0) in ("oldest", "youngest"):  # "our oldest customers": the longest-standing
                return found(m.span(), FIRST_SEEN, not descending)
    fallback: tuple[Order, str] | None = None
    for pattern, fixed, descending in _FIXED:
        if (m := pattern.search(q)) is not None:
            if fixed == PURCHASES and _object_follows(q, m.end()):
                # "bought the most shoes": purchases about shoes, read below as an event's count where the verb
                # names one; else all purchases, and "shoes" is the group's
                fallback = fallback or found(m.span(), fixed, descending)
                continue
            return found(m.span(), fixed, descending)
    for m in _WITH.finditer(q):
        path = named(m.group("noun"), m.group("dir") in ("most", "fewest", "mas", "menos"))
        if path is not None:
            return found(_trimmed(m), path, not re.fullmatch(_LESS, m.group("dir")))
    for m in _HIGHEST_AFTER.finditer(q):
        path = named(m.group("noun"), False)
        if path is not None:
            return found(m.span(), path, not m.group("dir").startswith(("mas baj", "mas pequen")))
    for m in _VERB_MOST.finditer(q):
        said = " ".join(w for w in (m.group("verb"), m.group("noun") or "") if w)
        if m.group("verb") in _FILLER or m.group("verb") in _NOT_VERBS:
            continue
        path = event(said, m.group("verb"))
        if path is not None:
            return found(m.span(), path, m.group("dir") == "most")
    for m in _VERB_MAS.finditer(q):
        if m.group("verb") in _FILLER or m.group("verb") in _NOT_VERBS:
            continue
        path = event(f"{m.group('verb')} {m.group('noun')}", m.group("verb"))
        if path is not None:
            return found(m.span(), path, m.group("dir") == "mas")
    for m in _MOST_VERB.finditer(q):
        path = event(m.group("rest"), m.group("rest").split()[-1])
        if path is not None:
            return found(m.span(), path, m.group("dir") == "mas")
    if _ASKS_RANKING.search(q):
        for m in _BY.finditer(q):
            path = named(m.group("noun"), True)
            if path is not None:
                return found(_trimmed(m), path, m.group("dir") not in _ASCENDING)
    if fallback is None and (m := _BEST_CUSTOMERS.search(q)) is not None:
        return found(m.span(), SPEND, True)
    return fallback


_SPENT_ON = re.compile(r"\s+(?:on|for|en)\s+(?P<what>" + _OBJECT_WORD + r"(?: " + _OBJECT_WORD + r"){0,2})(?![\w-])")
_SPANISH_SPEND = re.compile(r"gast|pag|mayor|mas")


def what_and_when(q: str, a: int, b: int, path: str, vocab: Vocabulary) -> tuple[int, str]:
    """Where the words of a number said at q[a:b] end once what spend was on and the window that follows are
    read with it, and for spend, the purchases it sums said as an event ("bought shoes this year"; "" where
    neither is said). `q` folded (`folded`)."""
    event = ""
    if path == SPEND and (spent := _SPENT_ON.match(q, b)) is not None and \
            (n := _about_a_value(spent.group("what"), vocab)):
        # "spent the most | on shoes": what the purchases were about, summed from the event log ("en España"
        # names no such value: it stays the group's); only the value's words ("en relojes | el último año")
        words = list(re.finditer(r"\S+", spent.group("what")))[:n]
        b, event = spent.start("what") + words[-1].end(), " ".join(w.group() for w in words)
    if vocab.rating_type is not None and path == f"counts.{vocab.rating_type}" and \
            (score := _SCORE_AFTER.match(q, b)) is not None:
        b = score.end()  # "rated the most dramas | 5 stars": read with the event, as its score
    # "bought the most | this year": counted in it (and spend summed in it)
    if (path.startswith("counts.") or path in (PURCHASES, SPEND)) and (window := WINDOW.match(q, b)) is not None:
        b = window.end()
        if path == SPEND:
            event += window.group(0)
    if event:  # spend, read as the purchases it sums: "bought shoes this year"
        event = ("compraron " if _SPANISH_SPEND.search(q, a, b) else "bought ") + " ".join(event.split())
    return b, event


def _about_a_value(words: str, vocab: Vocabulary) -> int:
    """How many of the words, from the first, say a value events are about ("shoes", "equipo de montaña"), in
    either number; 0 where they start with none."""
    said = norm(words).split()
    for n in range(len(said), 0, -1):
        head, last = said[:n - 1], said[n - 1]
        if any(" ".join([*head, form]) in vocab.about_values for form in {last, *number_forms(last)}):
            return n
    return 0


_LEAD = re.compile(r"(?<![\w-])(?:with|having|con|que tienen|que tengan) (?:the |el |la |los |las )?$")
# "the 5 best customers by spend", "los mejores clientes por gasto": the ranking says who is best
_BEST = re.compile(r"(?<![\w-])(?:best|top|mejores|principales)(?![\w-])(?!\s+\d)", re.IGNORECASE)  # "top 4": how many
_AUXILIARY = re.compile(r"(?<![\w-])(?:have|has|had|been|are|is|were|was|han|ha|hayan|sido|estado|son|fueron|llevan)"
                        r" $")
_COMPLEMENT = re.compile(r"\s+([a-z]+)")
MAX_COMPLEMENT = 4


_UNIT = r"(?:days?|weeks?|months?|years?|quarters?|dias?|semanas?|meses|mes|anos?|trimestres?)"
WINDOW = re.compile(r"\s+(?:(?:this|last|past) (?:year|month|week|quarter)|in the (?:last|past) (?:\d{1,4} )?" + _UNIT +
                     r"|(?:este|esta) (?:ano|mes|semana|trimestre)|(?:el|la) (?:ano|mes|semana|trimestre) pasad[oa]"
                     r"|(?:en )?(?:el|los|las|la) (?:ultimo|ultimos|ultimas|ultima) (?:\d{1,4} )?" + _UNIT +
                     r")(?![\w-])")


def _object_follows(q: str, end: int) -> bool:
    """Whether a verb's object follows a ranking ("bought the most | shoes"), not the end or another clause."""
    m = _COMPLEMENT.match(q, end)
    return m is not None and m.group(1) not in _ORDER_STOP and m.group(1) not in _NOT_A_NOUN and \
        m.group(1) not in ("often", "times", "frequently", "veces", "money", "dinero", "items", "things", "stuff")


# the words of a ranking in an event's reading: "rated | the most | horror movies" is read as "rated horror movies"
_RANKING_WORDS = re.compile(r"(?<![\w-])(?:(?:the )?(?:most|least|fewest)(?: (?:often|times|frequently))?|"
                            r"(?:que|quienes|los que|las que) (?:mas|menos)(?: veces)?|mas|menos)(?![\w-])")


def as_event(said: str) -> str:
    """An event count's words without the ranking ("opened the most tickets" -> "opened tickets"), to be read as
    any question's events are (what they were about, a window)."""
    return " ".join(_RANKING_WORDS.sub(" ", folded(said)).split())


def _through_complement(q: str, end: int) -> int:
    """Where an event's words end after a ranking's: over the next few words up to one that starts another clause
    ("the most items | to the cart | this year")."""
    for _ in range(MAX_COMPLEMENT):
        m = _COMPLEMENT.match(q, end)
        if m is None or m.group(1) in _ORDER_STOP or m.group(1) in ("de", "del", "of"):
            break
        end = m.end()
    return end


def _trimmed(m: re.Match[str]) -> tuple[int, int]:
    """The match's span cut after its noun's own words ("most page views | this year"), so the rest stays the
    group's."""
    noun = m.group("noun")
    kept = _noun_phrase(noun)
    return (m.start(), m.start("noun") + len(kept)) if kept and kept != noun else m.span()
