"""Field and value matching by meaning: "children" finds `dependents`, "elderly" `senior_citizen`, "auto-pay from
their bank" the value "Bank transfer (automatic)", with the deployment's own encoder and no synonym list.

Once per vocabulary build the encoder embeds each field's humanised name and each categorical value (alone when it
belongs to one field, and with its field's name: "job satisfaction low"). A question's leftover phrases (1-3 words
that do not start or end with a filler word) are embedded in one batch and matched above a calibrated similarity.

Calibration, the same for any encoder: vectors are centred on the mean of the vocabulary and of a fixed set of
filler phrases (sentence encoders put every short phrase in one narrow cone; e5 scores unrelated words 0.85), and a
match must beat both the null line (mean + z sd of what filler phrases score against the whole vocabulary, z the
encoder's `phrase_null_z`: 3.5 for MiniLM, 4.0 for E5's phrases read as queries)
and the best filler phrase's score against that very entry (a "hub" entry that every phrase resembles needs more).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

CONTEXT = "context"  # the kind of entries that say what events are about (build_lexicon)
MAX_CONTEXT = 512
ACROSS_FLOOR, ACROSS_MARGIN = 0.9, 0.03  # a word of another language for what events are about (across_languages)
MAX_ENTRIES = 20_000  # vocabulary entries embedded per build (fields first, then the commonest values)
SHARED = 0.85  # a phrase's second negative-sense flag must score this share of its first
AMBIGUOUS = 0.05
SAME = 0.02  # a part of a phrase that reads its entry this nearly as well is what named it
LONGER = 0.05  # what each further content word of a phrase is worth against a reading of a part of it
DISTINCT = 0.1  # a phrase must be nearer its field than any other field by this much ("hijos" near three: none)  # a value must beat its field's other values by this much to be read
MAX_WORDS = 24  # question words read by meaning
MAX_SPANS = 48  # phrases encoded for one question
TOP = 16  # entries per phrase considered (the nearest); the rest are bounded by the 16th's similarity
CACHE = 4096  # question phrases whose vectors are kept between questions
# phrases that name no customer attribute: the null distribution of a match
NULL_PHRASES = (
    "customers", "people", "clients", "users", "who", "that", "the", "with", "and", "have", "has", "want", "like",
    "good", "new", "time", "thing", "person", "all", "some", "many", "those who", "customers who", "people with",
    "any", "still", "get", "show", "find", "list", "me", "clientes", "personas", "usuarios", "que", "quienes",
    "con", "tienen", "quieren", "bueno", "nuevo", "cosa", "todos", "algunos", "muchos", "gente", "los que",
    "clientes que", "personas con", "todavia", "muestra", "busca", "dame", "lista",
    # everyday verbs say what people do with an attribute, never which one
    "receive", "live", "use", "buy", "pay", "watch", "work", "go", "make", "take", "give", "need", "call",
    "reciben", "viven", "usan", "compran", "pagan", "ven", "trabajan", "van", "hacen", "toman", "dan", "necesitan",
    "llaman", "llevan", "estan", "siguen",
    # and in the forms questions use them ("stopped watching" names no occupation)
    "watching", "watched", "watches", "buying", "bought", "using", "used", "paying", "paid", "living", "working",
    "worked", "going", "making", "taking", "giving", "calling", "viendo", "vieron", "comprando", "compraron",
    "usando", "pagando", "viviendo", "trabajando",
)
_NULL = frozenset(NULL_PHRASES)
FILLER = frozenset({
    "the", "a", "an", "and", "or", "of", "to", "in", "on", "for", "who", "that", "with", "people", "customers",
    "customer", "clients", "client", "users", "user", "are", "is", "were", "was", "their", "they", "them", "those",
    "these", "which", "what", "have", "has", "had", "do", "does", "did", "dont", "don", "t", "doesn", "not", "no",
    "but", "by", "from", "at", "as", "all", "any", "still", "get", "gets", "our", "us", "we", "be", "been", "being",
    "whose", "than", "more", "less", "over", "under", "last", "ago", "show", "find", "list", "me", "some",
    "los", "las", "el", "la", "les", "lo", "un", "una", "unos", "unas", "y", "o", "ni", "de", "del", "al", "en",
    "con", "sin", "por", "para", "que", "quien", "quienes", "clientes", "cliente", "usuarios", "usuario", "son",
    "es", "sus", "su", "pero", "todavia", "aun", "nos", "nosotros", "mas", "menos", "hace", "ultimo", "ultima",
    "se", "muy", "mucho", "personas", "persona", "employees", "employee", "staff", "empleados", "empleado",
    # Spanish auxiliaries name nothing either ("nunca han valorado" had read "nunca han" as "no hombre")
    "ha", "han", "he", "hemos", "hay", "haya", "hayan", "habia", "habian", "fue", "fueron", "sido", "era",
    "eran", "sea", "sean", "tiene", "tienen", "tuvo", "tuvieron", "tenia", "tenian", "nada", "nothing", "anything",
    "algo",
    "without", "except", "excluding", "never", "nor", "nunca", "excepto", "salvo", "tampoco",
    # adding one thing to another names neither ("also" had read as the plan "plus")
    "also", "too", "tambien", "ademas", "additionally", "again",
    # what people feel about the rest of the question ("people who love documentaries") names no field
    "love", "loves", "like", "likes", "enjoy", "enjoys", "fans", "fan", "lovers", "lover", "prefer", "prefers",
    "gusta", "gustan", "encanta", "encantan", "disfrutan", "disfruta", "aficionados", "aficionado", "amantes",
    "prefieren",
    # nor do the nouns for an audience ("science fiction enthusiasts" once read "enthusiasts" as the occupation
    # "espectáculos", at the edge of the null line)
    "enthusiasts", "enthusiast", "watchers", "watcher", "viewers", "viewer", "buyers", "buyer", "shoppers",
    "shopper", "followers", "follower", "admirers", "addicts", "amante", "entusiastas", "entusiasta", "seguidores",
    "seguidor", "apasionados", "apasionado", "espectadores", "compradores", "comprador",
})
NEGATIVE_PREFIX = {"en": "without", "es": "sin"}  # how a flag's negative sense is written, per wording
# every way of saying "not" becomes one word before encoding, so "never travel" meets "Non-Travel" and "sin
# pareja" meets "without partner" on the negation itself, not on the encoder's guess about it
NEGATION_WORDS = frozenset({"not", "no", "non", "never", "without", "nor", "sin", "nunca", "ni", "ningun",
                            "ninguna", "ninguno"})


def canonical(text: str) -> str:
    return " ".join("no" if w in NEGATION_WORDS else w for w in text.split())


class PhraseEncoder(Protocol):
    phrase_null_z: float

    def encode_phrases(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Target:
    """What an entry stands for: a flag or numeric field (`value` None), or one value of a categorical field."""

    kind: str  # "flag" | "number" | "date" | "value" | "context" (what events talk about: never a filter)
    path: str
    value: Any = None


@dataclass(frozen=True)
class Match:
    target: Target
    text: str  # the entry it matched
    start: int  # span in the normalised question
    end: int
    words: str
    similarity: float


class Lexicon:
    """The vocabulary's entries embedded once; questions matched against them by centred cosine."""

    def __init__(self, encoder: PhraseEncoder, entries: list[tuple[str, Target]]) -> None:
        self.encoder = encoder
        self.texts = [t for t, _ in entries[:MAX_ENTRIES]]
        self.targets = [g for _, g in entries[:MAX_ENTRIES]]
        self._key_words: dict[str, set[str]] = {}
        self.field_names: dict[str, set[str]] = {}  # a categorical field's key words (its values' entries' own)
        for text, t in zip(self.texts, self.targets, strict=True):
            if t.kind != "value":
                self._key_words.setdefault(t.path, set()).update(text.split())
        self._allowed: dict[frozenset[str] | None, np.ndarray] = {}
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        vectors = np.asarray(encoder.encode_phrases([canonical(t) for t in self.texts]), dtype=np.float32) \
            if self.texts else np.zeros((0, 1))
        null = np.asarray(encoder.encode_phrases(list(NULL_PHRASES)), dtype=np.float32)
        self.centre = np.vstack([vectors, null]).mean(axis=0) if self.texts else np.zeros(null.shape[1])
        self.vectors = self._centred(vectors) if self.texts else np.zeros((0, null.shape[1]), dtype=np.float32)
        null_sims = self._centred(null) @ self.vectors.T if self.texts else np.zeros((1, 1))
        line = float(null_sims.mean() + encoder.phrase_null_z * null_sims.std())
        # each entry's bar: the null line, or the best filler phrase's score against it if higher
        self.threshold = np.maximum(null_sims.max(axis=0), line) if self.texts else np.zeros(0)
        self.null_line = line
        # what events are about, as plain vectors: a word of another language is matched to them (`across`)
        self.across = False  # set by build_lexicon where the deployment reads more than one language
        self._context_raw = {t: v for t, g, v in zip(self.texts, self.targets, vectors, strict=False)
                             if g.kind == CONTEXT}

    def _centred(self, v: np.ndarray) -> np.ndarray:
        c = v - self.centre
        return (c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-9)).astype(np.float32)

    @property
    def empty(self) -> bool:
        return not self.texts

    def across_languages(self, words: str, phrases: Sequence[str]) -> str | None:
        """The one of `phrases` (what events are about) that `words` name in the deployment's other language
        ("watches" for "relojes" is too close to call; "shoes" -> "zapatos", "horror" -> "terror"): the nearest
        by plain cosine, at least ACROSS_FLOOR and ACROSS_MARGIN ahead of the next; None otherwise, or where the
        deployment reads one language. Measured over 22 Spanish values with multilingual-e5: 16 English words
        named theirs by 0.032-0.112, none wrong; the nearest of words with no such value ("furniture", "cars",
        "phones") led by 0.014 at most."""
        known = [p for p in dict.fromkeys(phrases) if p in self._context_raw]
        if not self.across or len(known) < 2 or not words.strip():
            return None
        vector = np.asarray(self.encoder.encode_phrases([canonical(words)]), dtype=np.float32)[0]
        sims = np.asarray([self._context_raw[p] for p in known]) @ vector
        first, second = np.argsort(-sims)[:2]
        if sims[first] < ACROSS_FLOOR or sims[first] - sims[second] < ACROSS_MARGIN:
            return None
        return known[int(first)]

    def phrases(self, texts: list[str]) -> np.ndarray:
        """Centred vectors of question phrases, cached (the same words recur across questions)."""
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            fresh = self._centred(np.asarray(self.encoder.encode_phrases([canonical(t) for t in missing]),
                                             dtype=np.float32))
            with self._lock:
                for t, v in zip(missing, fresh, strict=True):
                    self._cache[t] = v
                while len(self._cache) > CACHE:
                    self._cache.popitem(last=False)
        with self._lock:
            kept = [self._cache.get(t) for t in texts]
        # a phrase evicted meanwhile by another question's is encoded again
        return np.stack([v if v is not None else self._centred(
            np.asarray(self.encoder.encode_phrases([canonical(t)]), dtype=np.float32))[0] for t, v in zip(texts, kept,
                                                                                                   strict=True)])

    def match(self, q: str, free: list[tuple[int, int, str]], kinds: frozenset[str] | None = None) -> list[Match]:
        """Best non-overlapping matches of the question's free words (start, end, word) against the entries,
        strongest first; each path at most once."""
        if self.empty or not free:
            return []
        # a null phrase names nothing, by definition; a long question is read by meaning from its first words only,
        # so one request never costs more than one batch of MAX_SPANS short phrases
        spans = [s for s in candidate_spans(free[:MAX_WORDS]) if s[2] not in _NULL][:MAX_SPANS]
        if not spans:
            return []
        sims = self.phrases([s[2] for s in spans]) @ self.vectors.T  # (spans, entries)
        rests = {i: _denied(words) for i, (_, _, words) in enumerate(spans) if words.split()[0] in NEGATION_WORDS}
        rests = {i: r for i, r in rests.items() if r}
        rest_sims = dict(zip(rests, self.phrases(list(rests.values())) @ self.vectors.T, strict=True)) \
            if rests else {}
        allowed = self._allowed.get(kinds)
        if allowed is None:  # which entries a pass may read, once per set of kinds (context: every pass)
            allowed = np.array([kinds is None or t.kind in kinds or t.kind == CONTEXT for t in self.targets],
                               dtype=bool)
            self._allowed[kinds] = allowed
        k = min(TOP, sims.shape[1])
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]  # each phrase's nearest entries: all that can win
        found: list[tuple[float, int, int]] = []
        for i in range(len(spans)):
            near = sorted(top[i], key=lambda e: -sims[i, e])
            floor = float(sims[i, near[-1]]) if len(near) == k and k < sims.shape[1] else -1.0  # bound on the rest
            for j in near:
                score = float(sims[i, j])
                if score <= self.threshold[j] or not allowed[j]:
                    continue
                target = self.targets[j]
                if target.kind == CONTEXT:  # claims its words if it reads best (below), names no field
                    found.append((score, i, int(j)))
                    continue
                if target.value is False and words_negated(spans[i][2]) and \
                        (i not in rest_sims or not self._names(rest_sims[i], target.path)):
                    continue  # "sin hijos" is no "sin mujer": what is denied must name the field by itself
                # nearer its own field than any other field (absences aside: "living alone" may deny two)
                # (context competes by its score below, not by this margin: "ingenieros" is engineer even if
                # "sci fi" is near, as long as engineer reads better)
                other = max((float(sims[i, e]) for e in near if self.targets[e].path != target.path
                             and self.targets[e].value is not False and self.targets[e].kind != CONTEXT),
                            default=floor)
                if other > score - DISTINCT:
                    continue
                if target.kind == "value":
                    # a phrase that reads as two values of one field about equally ("auto-pay": by card or by
                    # bank) names neither, unless it says which field ("poor work-life balance")
                    rival = max((float(sims[i, e]) for e in near if self.targets[e].path == target.path
                                 and self.targets[e].value != target.value), default=floor)
                    said = {w for w in spans[i][2].split() if w not in FILLER}
                    if said and said <= self.field_names.get(target.path, set()) and \
                            not words_negated(spans[i][2]):  # "never travel" is the value "Non-Travel"
                        continue  # the field's name alone ("civil status") names none of its values
                    names_field = bool(said & self._key_words.get(target.path, set()))
                    if not names_field and rival > score - AMBIGUOUS:
                        continue
                found.append((score, i, int(j)))
        found = _without_composites(found, spans, self.targets)
        # strongest first, a phrase that reads nearly as well as a part of it before that part: "ciencia ficción"
        # (sci fi, 0.51) is one name, not "ciencia" (scientist, 0.53) and a word left over
        found.sort(key=lambda f: f[0] + LONGER * (_content_words(spans[f[1]][2]) - 1), reverse=True)
        taken: dict[tuple[int, int], float] = {}  # span -> the best negative-sense score read from it
        paths: set[str] = set()
        out: list[Match] = []
        for score, i, j in found:
            start, end, words = spans[i]
            target = self.targets[j]
            if target.path in paths and target.kind != "value":  # a field's second value: listed with the first?
                continue
            if (start, end) in taken:
                # one phrase may deny several flags ("living alone": no partner, no dependents), when it reads as
                # the negative sense of each nearly as well as of the best
                if not (target.value is False and score >= SHARED * taken[(start, end)] > 0):
                    continue
            elif any(not (end <= a or start >= b) for a, b in taken):
                continue
            if target.kind == CONTEXT:
                # the phrase is about what the events are about ("science fiction", "movies"): its words stay
                # with the meaning of the question, and no trait may read them ("science" is no scientist)
                taken[(start, end)] = 0.0
                continue
            paths.add(target.path)
            taken[(start, end)] = score if target.value is False else 0.0
            out.append(Match(target, self.texts[j], start, end, words, round(score, 3)))
        return out

    def _names(self, row: np.ndarray, path: str) -> bool:
        """A phrase's similarities (`row`) read field `path` best of all fields, over its bar and by DISTINCT."""
        best: dict[str, float] = {}
        k = min(TOP, len(row))
        for e in np.argpartition(-row, k - 1)[:k]:  # the nearest entries, as `match` reads them (order unneeded)
            t = self.targets[e]
            if t.kind != CONTEXT and t.value is not False and row[e] > self.threshold[e]:
                best[t.path] = max(best.get(t.path, -1.0), float(row[e]))
        if path not in best:
            return False
        return all(v < best[path] - DISTINCT for p, v in best.items() if p != path)

    def similarity(self, a: str, b_index: list[int]) -> np.ndarray:
        """Centred cosine of phrase `a` to some entries (by index)."""
        return self.phrases([a]) @ self.vectors[b_index].T


def _without_composites(found: list[tuple[float, int, int]], spans: list[tuple[int, int, str]],
                        targets: list[Target]) -> list[tuple[float, int, int]]:
    """Drops a phrase that is two conditions side by side: a part of it reads its entry as well (within SAME), and
    the rest reads another field. "hombres ingenieros" read as engineer (0.493) only because "ingenieros" does
    (0.492); the longer phrase's bonus then took "hombres" (male, 0.425) with it, and the men were lost.
    Bounded by the phrases read (MAX_SPANS, from MAX_WORDS words): a 1,000-character hostile question reads in
    under 5 ms."""
    best: dict[tuple[int, Target], float] = {}
    paths: dict[int, set[str]] = {}
    for score, i, j in found:
        best[(i, targets[j])] = max(score, best.get((i, targets[j]), -1.0))
        if targets[j].kind != CONTEXT:
            paths.setdefault(i, set()).add(targets[j].path)
    out = []
    for score, i, j in found:
        start, end, words = spans[i]
        composite = False
        if " " in words:
            for k in paths:
                a, b, _ = spans[k]
                if (a, b) == (start, end) or a < start or b > end or \
                        best.get((k, targets[j]), -1.0) < score - SAME:
                    continue
                rest = [(ra, rb) for ra, rb in ((start, a - 1), (b + 1, end)) if rb > ra]
                composite = any(spans[m][0] >= ra and spans[m][1] <= rb and read - {targets[j].path}
                                for m, read in paths.items() for ra, rb in rest)
                if composite:
                    break
        if not composite:
            out.append((score, i, j))
    return out


def words_negated(phrase: str) -> bool:
    return phrase.split()[0] in NEGATION_WORDS


def _denied(phrase: str) -> str:
    """What a negated phrase denies: its words after the negation and the fillers after it ("sin el soporte")."""
    words = phrase.split()[1:]
    while words and (words[0] in FILLER or words[0] in NEGATION_WORDS):
        words = words[1:]
    return " ".join(words)


def _content_words(phrase: str) -> int:
    return sum(w not in FILLER for w in phrase.split())


def candidate_spans(free: list[tuple[int, int, str]], content: int = 4, longest: int = 6) -> list[tuple[int, int, str]]:
    """Consecutive free words, at most `content` of them not filler and `longest` in all, that neither start nor
    end with a filler word or a number ("auto pay from their bank")."""
    out = []
    for i in range(len(free)):
        for n in range(1, longest + 1):
            part = free[i:i + n]
            if len(part) < n or any(part[k + 1][0] - part[k][1] > 1 for k in range(n - 1)):
                break
            if sum(w not in FILLER for _, _, w in part) > content:
                break
            first, last = part[0][2], part[-1][2]
            if (first in FILLER and first not in NEGATION_WORDS) or last in FILLER or first.isdigit() or \
                    last.isdigit() or len(last) < 2:
                continue
            out.append((part[0][0], part[-1][1], " ".join(w for _, _, w in part)))
    return out


def build_lexicon(encoder: PhraseEncoder, fields: list[tuple[str, str, str]],
                  values: list[tuple[str, str, Any, str, bool]], wordings: Sequence[str] = ("en",),
                  context: Sequence[str] = ()) -> Lexicon:
    """`fields`: (humanised key, path, kind "flag"|"number"); `values`: (phrase, path, value, key phrase, unique
    to its field). A flag also gets its negative sense ("without partner", "sin pareja"), so a phrase that means
    the absence ("living alone") reads as the flag's other value. `context`: phrases of what the events are
    about (event types, facet names and values: "rated movie", "genres", "sci fi"); a question's phrase that reads
    as one of them best stays with the question's meaning and cannot become a trait's value ("science fiction
    enthusiasts" are no scientists, "people who watch movies" no entertainment workers). Fields first, then
    context (at most MAX_CONTEXT): a cap never drops one."""
    entries: list[tuple[str, Target]] = []
    for key, path, kind in fields:
        entries.append((key, Target(kind, path)))
        if " " in key and len(key.split()) == 2:  # `OverTime` read as "over time" is also "overtime"
            entries.append((key.replace(" ", ""), Target(kind, path)))
        if kind == "flag":
            entries.extend((f"{NEGATIVE_PREFIX[w]} {key}", Target(kind, path, False)) for w in wordings
                           if w in NEGATIVE_PREFIX)
    entries.extend((phrase, Target(CONTEXT, f"{CONTEXT}:{phrase}")) for phrase in list(context)[:MAX_CONTEXT])
    for phrase, path, value, key, unique in values:
        target = Target("value", path, value)
        if unique:
            entries.append((phrase, target))
        if key and key not in phrase:
            entries.append((f"{key} {phrase}", target))
    lexicon = Lexicon(encoder, entries)
    lexicon.across = len(set(wordings)) > 1
    for _, path, _, key, _ in values:  # a categorical field's own name: "civil status" names no value of it
        if key:
            lexicon.field_names.setdefault(path, set()).update(key.split())
    return lexicon
