"""What a "how much" question measures over a group: "the average spend of customers from Spain", "how much did
customers from Mexico spend this year?", "¿cuál es el gasto medio de los clientes de España?", "la edad media de
los clientes", "the average order value of repeat customers".

`read_measure` finds the statistic asked (a mean, a total, a median) and the stored number it is of, read as a
ranking reads it (`superlatives.field_named`: an aggregate, a numeric field of the data's own; spend on a value
or in a window is the purchases' amounts summed from the event log), and returns the question without those
words: the group, read as any question is. A question that asks how many ("how many customers spent more than
100 in total?") measures nothing: it is a count.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from app.search.superlatives import ORDER_VALUE, RATING, SPEND, WINDOW, field_named, folded, what_and_when
from app.search.understanding import AGE_WORDS, Vocabulary, age_bands, field_words

Stat = Literal["mean", "total", "median"]

# "how many", "what share": a count, whatever else it says
# ("how many purchases ... on average" asks a mean of purchases)
_COUNTS = re.compile(r"(?<![\w-])(?:(?:how many|cuant[oa]s)(?! (?:purchases|orders|events|items|compras|pedidos|eventos|"
                     r"articulos)(?![\w-]))|what share|what percentage|que porcentaje|que proporcion|"
                     r"number of (?:customers|clients|people|users)|numero de (?:clientes|personas|usuarios))(?![\w-])")
_NUMBER_OF = re.compile(r"\s+(?:the )?(?:number of|numero de|cantidad de)(?![\w-])")
# the statistic, and where a noun before it is what it is of ("gasto medio", "edad media")
_STATS: list[tuple[Stat, re.Pattern[str]]] = [
    ("median", re.compile(r"(?<![\w-])(?:median|mediana)(?: of| de(?: la| el| los| las)?)?(?![\w-])")),
    ("mean", re.compile(r"(?<![\w-])(?:on average|de media|en promedio|(?:the )?(?:average|mean|avg)(?: of)?|"
                        r"(?:el |la )?(?:media|promedio)(?: de(?: la| el| los| las)?)?|medi[oa]s?|promedio)(?![\w-])")),
    ("total", re.compile(r"(?<![\w-])(?:in total|en total|altogether|(?:the )?(?:total|sum)(?: of)?|"
                         r"(?:el |la )?(?:total|suma)(?: de(?: la| el| los| las)?)?|how much|cuant[oa])(?![\w-])")),
]
# what an order is worth on average, said as one thing: its own number (spend over purchases)
_ORDER_VALUE = re.compile(r"(?<![\w-])(?:order value|basket (?:size|value)|aov|ticket(?: medio)?|valor (?:medio )?"
                          r"(?:del|de los|por) pedidos?|importe (?:medio )?(?:del|por) pedido)(?![\w-])")
# spend said with its verb: "how much did they spend", "¿cuánto gastaron?"
_SPEND_VERB = re.compile(r"(?<![\w-])(?:spend|spent|spends|spending|paid|pay|gastaron|gastan|gasta|gasto|gastado|"
                         r"gastaran|pagaron|pagan|pagado)(?![\w-])")
_WINDOW_WORDS = 7  # the words a window said last may take ("en los últimos 90 días", "in the last 12 months")
_CLAUSE = re.compile(r"(?<![\w-])(?:who|that|which|que|quienes)(?![\w-])")
_OURS = re.compile(r"(?<![\w-])(?:(?:did|do|have|has|will) we (?:make|made|get|got|earn|earned|generate|generated|"
                   r"bring in|have|had|take|took)|we (?:made|earned|generated|got|had|took)|in revenue|in sales|"
                   r"hicimos|tuvimos|generamos|ganamos|facturamos|ingresamos|hemos (?:hecho|facturado|ingresado|"
                   r"ganado|generado|tenido))(?![\w-])")
_NAMED_WITH_STAT = frozenset({RATING})  # numbers whose name holds the statistic: "average rating", "nota media"
_BY_WHOM = re.compile(r"\s*(?:by|among|por|entre)\s+(?=\S)", re.IGNORECASE)
_NOUN_WORDS = 3  # words tried as what a statistic is of, on each side of it


# a comparison with the average ("spent more than the average", "older than average", "above the average age",
# "bought more often than average", "gastaron más que la media", "por encima de la media", "más veces que el
# promedio"): the comparison kept, the average a number put in its place (`versus_average`)
_VERSUS_AVERAGE = re.compile(
    r"(?<![\w-])(?:(?P<cmp>(?:more|less|fewer|higher|lower|greater|bigger|larger|older|younger))(?P<what>(?: \w+){0,2}?)"
    r" than|(?P<side>above|below|over|under)|(?P<mas>mas|menos|mayores|menores)(?P<que>(?: \w+){0,2}?) que|"
    r"(?P<por>por (?:encima|debajo)) (?:de la|de el|del|de)|(?P<sup>(?:superior|inferior)(?:es)?) (?:a la|a el|al|a))"
    r"[ -](?:(?:the|la|el|lo) )?(?:(?:cliente|comprador|usuario)s? )?(?:average|mean|media|medio|promedio)"
    r"(?: (?:customer|client|buyer|shopper|person|user|cliente|comprador|usuario)s?)?"
    r"(?P<of>(?: (?:of|in|de|del|en))? \w+)?(?![\w-])")
_MORE = {"more": "more than", "higher": "more than", "greater": "more than", "bigger": "more than",
         "larger": "more than", "above": "above", "over": "over", "less": "less than", "lower": "less than",
         "fewer": "fewer than", "below": "below", "under": "under", "older": "older than", "younger": "younger than",
         "mas": "mas de", "menos": "menos de", "mayores": "mayores que", "menores": "menores que"}
_OFTEN = {"often": "times", "frequently": "times"}


def versus_average(question: str, vocab: Vocabulary) -> tuple[str, str] | None:
    """A question that compares a number with the average as a template with `{n}` where the average goes
    ("customers who spent more than {n}"; "above the average age" -> "age above {n}"), and the words that said
    it; None where it compares with none. The caller reads which number the comparison is about and puts
    everyone's mean of it in."""
    q = folded(question)
    m = _VERSUS_AVERAGE.search(q)
    if m is None:
        return None
    word = m.group("cmp") or m.group("side") or m.group("mas")
    bound = _MORE[word] if word else m.group("por") + " de" if m.group("por") else m.group("sup") + " a"
    what = (m.group("what") or m.group("que") or "").split()
    what = [_OFTEN.get(w, w) for w in what]
    named = m.group("of")
    if named and field_named(named.split()[-1], vocab, counted=False) is not None:
        # "above the average age": the number's name before the comparison, where the reading looks for it
        said = f"{named.split()[-1]} {bound} {{n}} {' '.join(what)}"
        end = m.end()
    else:
        said = f"{bound} {{n}} {' '.join(what)}"
        end = m.end("of") - len(named) if named else m.end()
    template = question[:m.start()].replace("{", "(").replace("}", ")") + " " + said + " " + \
        question[end:].replace("{", "(").replace("}", ")")
    return " ".join(template.split()), question[m.start():end]


@dataclass(frozen=True)
class Measure:
    stat: Stat
    field: str  # an aggregate (`spend_total`, `order_value_mean`, ...) or a numeric field of the data's own
    said: str  # the words that asked for it, as asked
    event: str = ""  # spend on a value or in a window, said as the purchases it sums ("bought shoes this year")

    def as_dict(self) -> dict[str, str]:
        return {"stat": self.stat, "field": self.field, "from": self.said}


def read_measure(question: str, vocab: Vocabulary) -> tuple[Measure, str] | None:
    """The statistic a question asks of a stored number and the question without its words, or None."""
    q = folded(question)
    if _COUNTS.search(q) or _VERSUS_AVERAGE.search(q):  # "spent more than the average": a group, not a statistic
        return None
    for stat, pattern in _STATS:
        for m in pattern.finditer(q):
            found = _of_what(q, m.start(), m.end(), vocab)
            if found is None:
                continue
            field, spans = found
            a, b = spans[-1]
            if field == SPEND:  # "spend | on shoes this year": the purchases it sums
                b, event = what_and_when(q, a, b, field, vocab)
                spans[-1] = (a, b)
                # "¿cuánto gastaron | los clientes de México | este año?": a window said last is the spend's too,
                # unless a clause of the group's own comes between ("... que compraron zapatos este año")
                if " " not in event and (window := _last_window(q, b)) is not None and \
                        not _CLAUSE.search(q, b, window):
                    event = what_and_when(q, a, window, field, vocab)[1]  # from `a`: the verb's language
                    spans.append((window, len(q)))
            else:
                event = ""
            rest, said, at = [], [], 0
            for a, b in spans:
                rest.append(question[at:a])
                said.append(question[a:b])
                at = b
            rest.append(question[at:])
            if (by := _BY_WHOM.match(rest[-1])) is not None:  # "movies rated | by women": the group
                rest[-1] = rest[-1][by.end():]
            # "how much revenue did we make": the asker's own words name no one
            left = " ".join(rest)
            for ours in reversed(list(_OURS.finditer(folded(left)))):  # `folded` keeps every character's place
                left = left[:ours.start()] + " " + left[ours.end():]
            return Measure(stat, field, " ".join(" ".join(said).split()), event), " ".join(left.split())
    return None


def _last_window(q: str, b: int) -> int | None:
    """Where a window said last in q[b:] starts ("... de México | este año?"), or None. Only the last few words
    are tried, each once, so a long question (or a long run of spaces) costs no more than the words it has."""
    end = b + len(q[b:].rstrip(" \t\n?.!"))
    for w in list(re.finditer(r"\S+", q[b:end]))[-_WINDOW_WORDS:]:  # the longest window first
        start = b + w.start()
        while start > b and q[start - 1].isspace():  # WINDOW starts with the spaces before its first word
            start -= 1
        if start < b + w.start() and WINDOW.fullmatch(q, start, end):
            return start
    return None


def _of_what(q: str, start: int, end: int, vocab: Vocabulary) -> tuple[str, list[tuple[int, int]]] | None:
    """The number a statistic said at q[start:end] is of, and the spans of the words that said both: an order's
    value near it, the noun after it ("the average | spend"), the noun before it ("el gasto | medio"), or spend
    said by its verb ("how much | did customers from Spain | spend")."""
    near = _ORDER_VALUE.search(q, max(0, start - 30), min(len(q), end + 40))
    if near is not None:
        return ORDER_VALUE, [(min(start, near.start()), max(end, near.end()))]
    if (number := _NUMBER_OF.match(q, end)) is not None:  # "the average | number of | purchases"
        end = number.end()
    after = [end + w.end() for w in list(re.finditer(r"\S+", q[end:]))[:_NOUN_WORDS]]
    # the statistic's own word may be part of the number's name ("the average | rating": `rating_mean`, not how
    # many ratings)
    for stop in after:
        if (own := field_named(q[start:stop], vocab, counted=False)) in _NAMED_WITH_STAT:
            return str(own), [(start, stop)]
    found = _fewest(lambda n: q[end:after[n - 1]], len(after), vocab)
    if found is not None:
        return found[0], [(start, after[found[1] - 1])]
    before = [w.start() for w in list(re.finditer(r"\S+", q[:start]))[-_NOUN_WORDS:]][::-1]  # nearest first
    found = _fewest(lambda n: q[before[n - 1]:start], len(before), vocab, after=False)
    if found is not None:
        return found[0], [(before[found[1] - 1], end)]
    verb = _SPEND_VERB.search(q, end)
    if verb is not None and len(q[end:verb.start()].split()) <= 4:
        return SPEND, [(start, end), verb.span()]
    # "la edad media" where the data holds age bands, not ages: the band field (its answer says it estimates)
    bands = age_bands(vocab)
    if bands is not None:
        named = field_words(bands[0]) | AGE_WORDS
        by_name = [w for w in re.finditer(r"\S+", q) if w.group() in named and
                (0 <= start - w.end() <= 12 or 0 <= w.start() - end <= 12)]
        if by_name:
            return bands[0], [(min(start, by_name[0].start()), max(end, by_name[0].end()))]
    return None


def _fewest(words: Callable[[int], str], most: int, vocab: Vocabulary, after: bool = True) -> tuple[str, int] | None:
    """The number the most words (`words(n)`, n up to `most`; `after`: said after the statistic, else before it)
    name, and the fewest words that still name it: "age of women" is `age` from one word, so "women" stays the
    group's; a word of the field's own name is kept ("monthly | charges")."""
    for n in range(most, 0, -1):
        field = field_named(words(n), vocab, counted=False)
        if field is not None:
            # a word of the field's own name stays ("monthly | charges"); one more word of another sort goes, and
            # what the rest names is the field ("purchases | by customers": `purchases`)
            while n > 1 and words(n).split()[-1 if after else 0] not in field_words(field) and \
                    (fewer := field_named(words(n - 1), vocab, counted=False)) is not None:
                field, n = fewer, n - 1
            return field, n
    return None
