"""Names and descriptions from what distinguishes a segment from everyone else, no LLM needed.

- Attributes: the share of members holding a flag vs the share of all profiles (lift), and a number's
  member mean vs the population in standard deviations.
- Words: the log-odds of a document holding each word in the segment vs the rest, with an informative prior (as
  in Monroe, Colaresi & Quinn 2008, over documents: a segment of short documents is not named by the words every
  document has), so frequent-everywhere words do not win.
The name joins the two or three most distinguishing labels; names are made unique across the segmentation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer

from segmentation.attributes import AttributeTable

MIN_LIFT = 1.25
NUMBER_WORDS = {  # how people say "above / below average" for the usual aggregates
    "recency_days": ("lapsed", "recently active"), "event_count": ("heavy users", "light users"),
    "active_days": ("frequent visitors", "occasional visitors"), "spend_total": ("high spenders", "low spenders"),
    "purchases": ("frequent buyers", "rare buyers"), "rating_mean": ("generous raters", "harsh raters"),
}
NUMBER_WORDS_ES = {
    "recency_days": ("inactivos", "activos recientemente"), "event_count": ("usuarios intensivos", "usuarios ocasionales"),
    "active_days": ("visitantes frecuentes", "visitantes esporádicos"), "spend_total": ("gasto alto", "gasto bajo"),
    "purchases": ("compradores frecuentes", "compradores esporádicos"),
    "rating_mean": ("valoraciones generosas", "valoraciones severas"),
}
# The sentences of a description, per wording language (segment names are built from data labels and these).
# Spanish "mayor / menor" agree with any noun ("mayor edad", "menor antigüedad"); "alto / bajo" did not ("edad bajo").
PHRASES = {
    "en": {"size": "{size} profiles ({share} of all).", "stand_out": "Compared with everyone, they stand out by: ",
           "words": "Words typical of their histories: ", "average": "Nothing sets them apart from the population: a "
           "broad, average group.", "general": "general audience", "flag": "{label} ({share:.0%} vs {pop:.0%}, {lift}x)",
           "number": "{label} (mean {mean:g} vs {pop:g})", "high": "high {label}", "low": "low {label}",
           "events": "{type} events"},
    "es": {"size": "{size} perfiles ({share} del total).", "stand_out": "Frente a todos, destacan por: ",
           "words": "Palabras típicas de sus historiales: ", "average": "Nada los distingue de la población: un grupo "
           "amplio y medio.", "general": "público general", "flag": "{label} ({share:.0%} frente a {pop:.0%}, {lift}x)",
           "number": "{label} (media {mean:g} frente a {pop:g})", "high": "mayor {label}", "low": "menor {label}",
           "events": "eventos {type}"},
}
# dates say when, not who: month and day names (English and Spanish) are left out of the distinguishing words
DATE_WORDS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
              "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
              "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
              "noviembre", "diciembre", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"]
# Spanish function words (scikit-learn ships English ones only), and our own Spanish scaffolding
SPANISH_STOP_WORDS = frozenset(["a", "al", "algo", "algunas", "algunos", "ante", "antes", "como", "con", "contra", "cual", "cuando", "de", "del", "desde", "donde", "durante", "e", "el", "ella", "ellas", "ellos", "en", "entre", "era", "eran", "es", "esa", "esas", "ese", "eso", "esos", "esta", "estaba", "estas", "este", "esto", "estos", "fue", "fueron", "ha", "han", "hasta", "hay", "la", "las", "le", "les", "lo", "los", "mas", "más", "me", "mi", "mis", "mucho", "muy", "nada", "ni", "no", "nos", "o", "os", "otra", "otras", "otro", "otros", "para", "pero", "poco", "por", "porque", "que", "qué", "quien", "se", "sea", "ser", "si", "sí", "sin", "sobre", "su", "sus", "también", "tan", "te", "tiene", "tienen", "todo", "todos", "tu", "tus", "un", "una", "uno", "unos", "unas", "y", "ya", "actividad", "eventos", "días", "perfil", "favoritos", "frecuentes", "recientemente", "destacado", "valoró", "compró", "vio"])
MIN_SHARE = 0.15
MAX_DOC_SHARE = 0.9  # a word in more of all documents than this is no group's word


@dataclass
class SegmentDescription:
    name: str
    description: str
    size: int
    share: float
    features: list[dict[str, Any]] = field(default_factory=list)  # top distinguishing, strongest first
    terms: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class AttributeStats:
    """One attribute of a group against everyone: a flag's shares, or a number's means (the population's sd)."""
    name: str
    label: str
    kind: str  # "flag" or "number"
    group: float  # share holding the flag, or the group's mean
    everyone: float  # everyone's share, or everyone's mean
    sd: float = 0.0  # everyone's standard deviation (numbers)
    known_in_group: int = 0  # group members with a value (numbers: fewer than 3 say nothing)


def rank_attributes(stats: Sequence[AttributeStats], min_lift: float = MIN_LIFT,
                    wording: str = "en") -> list[dict[str, Any]]:
    """The measure segments are named by, from per-attribute statistics: flags by lift (share in the group
    against everyone's, held by at least MIN_SHARE of the group), numbers by the z-score of the group's mean;
    strongest first. Whoever holds the population (a matrix here, columns in the insights) computes the stats."""
    phrases = PHRASES[wording]
    out: list[tuple[float, dict[str, Any]]] = []
    for a in stats:
        if a.kind == "flag":
            p_all, p_in = a.everyone, a.group
            if p_all <= 0 or p_in < MIN_SHARE:
                continue
            lift = p_in / p_all
            if lift >= min_lift:
                label = phrases["events"].format(type=a.name[6:]) if a.name.startswith("event:") else a.label
                out.append((lift * np.sqrt(p_in), {"attribute": a.name, "label": label, "kind": "flag",
                                                   "share": round(p_in, 3), "population_share": round(p_all, 3),
                                                   "lift": round(lift, 2)}))
        else:
            if a.known_in_group < 3:
                continue
            mu, m_in = a.everyone, a.group
            z = (m_in - mu) / a.sd if a.sd > 0 else 0.0
            if abs(z) >= 0.5:
                known = (NUMBER_WORDS_ES if wording == "es" else NUMBER_WORDS).get(a.name)
                words = known or (phrases["high"].format(label=a.label), phrases["low"].format(label=a.label))
                out.append((1.0 + abs(z), {"attribute": a.name, "label": words[0] if z > 0 else words[1],
                                           "kind": "number", "mean": round(m_in, 2), "population_mean": round(mu, 2),
                                           "lift": round(m_in / mu, 2) if mu else None, "z": round(z, 2)}))
    out.sort(key=lambda pair: -pair[0])
    return [f for _, f in out]


def _feature_lifts(table: AttributeTable, member: np.ndarray, min_lift: float = MIN_LIFT,
                   wording: str = "en") -> list[dict[str, Any]]:
    X = table.X
    stats: list[AttributeStats] = []
    for j, a in enumerate(table.attributes):
        col = X[:, j]
        if a.kind == "flag":
            stats.append(AttributeStats(a.name, a.label, "flag", float(col[member].mean()), float(col.mean())))
        else:
            known = int(np.isfinite(col[member]).sum())
            if known < 3:
                continue
            stats.append(AttributeStats(a.name, a.label, "number", float(np.nanmean(col[member])),
                                        float(np.nanmean(col)), float(np.nanstd(col)), known))
    return rank_attributes(stats, min_lift, wording)


def distinctive_features(table: AttributeTable, member: np.ndarray, *, min_lift: float = MIN_LIFT,
                         wording: str = "en") -> list[dict[str, Any]]:
    """What sets the `member` rows apart from all rows of `table`, strongest first: flags by lift (share in the
    group against everyone's), numbers by z-score of the group's mean. The measure segments are named by."""
    return _feature_lifts(table, member, min_lift, wording)


def _contrastive_terms(docs: Sequence[str], labels: np.ndarray, k: int, top: int) -> list[list[dict[str, Any]]]:
    if not docs:
        return [[] for _ in range(k)]
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    # both languages' function words: data in a Spanish deployment is often mixed
    stop = sorted(ENGLISH_STOP_WORDS.union(DATE_WORDS).union(SPANISH_STOP_WORDS))
    # a word nearly every document has (a field's name on every profile line: "channel", "nivel") names no group;
    # a group of short documents only holds it more densely
    vec = CountVectorizer(stop_words=stop, token_pattern=r"(?u)\b[^\W\d_][^\W\d_]{2,}\b",
                          min_df=max(2, int(0.005 * len(docs))), max_df=MAX_DOC_SHARE if len(docs) >= 20 else 1.0,
                          binary=True, max_features=20000)
    try:
        D = vec.fit_transform(docs)
    except ValueError:  # no vocabulary at all
        return [[] for _ in range(k)]
    terms = vec.get_feature_names_out()
    total = np.asarray(D.sum(axis=0)).ravel().astype(float)  # documents holding each word
    n = float(D.shape[0])
    prior = total / n  # informative prior: each word's share of all documents, as 10 pseudo-documents
    out = []
    for c in range(k):
        member = labels == c
        yi = np.asarray(D[member].sum(axis=0)).ravel().astype(float)  # the group's documents holding it
        yj = total - yi
        ni, nj = float(member.sum()), n - float(member.sum())
        # the log-odds of a document holding the word, in the group against the rest, over documents rather than
        # words: a group of short documents holds every common word more densely, and had been named by them
        a, b = 10.0 * prior + 0.01, 10.0 * (1 - prior) + 0.01
        delta = np.log((yi + a) / (ni - yi + b)) - np.log((yj + a) / (nj - yj + b))
        var = 1.0 / (yi + a) + 1.0 / (ni - yi + b) + 1.0 / (yj + a) + 1.0 / (nj - yj + b)
        z = delta / np.sqrt(var)
        best = np.argsort(-z)[:top]
        out.append([{"term": str(terms[i]), "z": round(float(z[i]), 2)} for i in best if z[i] > 2.0])
    return out


def _name(features: list[dict[str, Any]], terms: list[dict[str, Any]], taken: set[str], general: str) -> str:
    labels: list[str] = []
    for f in features:
        if f["label"] not in labels:
            labels.append(f["label"])
    labels += [t["term"] for t in terms if t["term"] not in labels]
    if not labels:
        labels = [general]
    for n in (2, 3, 4):
        name = " · ".join(labels[:n])
        if name not in taken:
            return name
    i = 2
    while f"{' · '.join(labels[:2])} ({i})" in taken:
        i += 1
    return f"{' · '.join(labels[:2])} ({i})"


def _sentence(f: dict[str, Any], phrases: dict[str, str], wording: str = "en") -> str:
    if f["kind"] == "flag":
        text = phrases["flag"].format(label=f["label"], share=f["share"], pop=f["population_share"], lift=f["lift"])
    else:
        text = phrases["number"].format(label=f["label"], mean=f["mean"], pop=f["population_mean"])
    if wording == "es":  # the figures after the label with a decimal comma: "(media 2,51 frente a 0,58)"
        head, sep, figures = text.rpartition(" (")
        text = head + sep + re.sub(r"(?<=\d)\.(?=\d)", ",", figures)
    return text


def describe_segments(labels: np.ndarray, table: AttributeTable, documents: Sequence[str] | None = None,
                      top: int = 8, wording: str = "en") -> list[SegmentDescription]:
    """One description per label 0..k-1, in label order, worded in `wording` (en | es)."""
    phrases = PHRASES[wording]
    k = int(labels.max()) + 1 if labels.size else 0
    n = len(labels)
    term_lists = _contrastive_terms(list(documents or []), labels, k, top)
    taken: set[str] = set()
    out = []
    for c in range(k):
        member = labels == c
        size = int(member.sum())
        feats = _feature_lifts(table, member, wording=wording)[:top]
        terms = term_lists[c]
        # a name wants two labels: weaker (but still over-represented) attributes come before loose words
        naming = feats if len(feats) >= 2 else feats + [f for f in _feature_lifts(table, member, 1.1, wording)
                                                        if f["attribute"] not in {g["attribute"] for g in feats}]
        name = _name(naming, [t for t in terms if t["z"] >= 4.0], taken, phrases["general"])
        taken.add(name)
        count, pct = f"{size:,}", f"{size / n:.1%}"
        if wording == "es":  # 1.234 perfiles (12,3 %)
            count, pct = count.replace(",", "."), pct.replace(".", ",")
        parts = [phrases["size"].format(size=count, share=pct)]
        if feats:
            parts.append(phrases["stand_out"] + "; ".join(_sentence(f, phrases, wording) for f in feats[:5]) + ".")
        if terms:
            parts.append(phrases["words"] + ", ".join(t["term"] for t in terms[:6]) + ".")
        if not feats and not terms:
            parts.append(phrases["average"])
        out.append(SegmentDescription(name, " ".join(parts), size, round(size / n, 4), feats, terms))
    return out
