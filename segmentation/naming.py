"""Names and descriptions from what distinguishes a segment from everyone else, no LLM needed.

- Attributes: the share of members holding a flag vs the share of all profiles (lift), and a number's
  member mean vs the population in standard deviations.
- Words: weighted log-odds with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008) of each
  document term in the segment vs the rest, so frequent-everywhere words do not win.
The name joins the two or three most distinguishing labels; names are made unique across the segmentation.
"""

from __future__ import annotations

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
# dates say when, not who: month and day names are left out of the distinguishing words
DATE_WORDS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
              "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MIN_SHARE = 0.15


@dataclass
class SegmentDescription:
    name: str
    description: str
    size: int
    share: float
    features: list[dict[str, Any]] = field(default_factory=list)  # top distinguishing, strongest first
    terms: list[dict[str, Any]] = field(default_factory=list)


def _feature_lifts(table: AttributeTable, member: np.ndarray, min_lift: float = MIN_LIFT) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    X = table.X
    for j, a in enumerate(table.attributes):
        col = X[:, j]
        if a.kind == "flag":
            p_all = float(col.mean())
            p_in = float(col[member].mean())
            if p_all <= 0 or p_in < MIN_SHARE:
                continue
            lift = p_in / p_all
            if lift >= min_lift:
                out.append({"attribute": a.name, "label": a.label, "kind": "flag", "share": round(p_in, 3),
                            "population_share": round(p_all, 3), "lift": round(lift, 2),
                            "strength": lift * np.sqrt(p_in)})
        else:
            finite = np.isfinite(col)
            if finite[member].sum() < 3:
                continue
            mu, sd = float(np.nanmean(col)), float(np.nanstd(col))
            m_in = float(np.nanmean(col[member]))
            z = (m_in - mu) / sd if sd > 0 else 0.0
            if abs(z) >= 0.5:
                words = NUMBER_WORDS.get(a.name, (f"high {a.label}", f"low {a.label}"))
                out.append({"attribute": a.name, "label": words[0] if z > 0 else words[1],
                            "kind": "number", "mean": round(m_in, 2), "population_mean": round(mu, 2),
                            "lift": round(m_in / mu, 2) if mu else None, "z": round(z, 2),
                            "strength": 1.0 + abs(z)})
    out.sort(key=lambda f: -f["strength"])
    for f in out:
        f.pop("strength")
    return out


def _contrastive_terms(docs: Sequence[str], labels: np.ndarray, k: int, top: int) -> list[list[dict[str, Any]]]:
    if not docs:
        return [[] for _ in range(k)]
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    vec = CountVectorizer(stop_words=sorted(ENGLISH_STOP_WORDS.union(DATE_WORDS)), token_pattern=r"(?u)\b[^\W\d_][^\W\d_]{2,}\b",
                          min_df=max(2, int(0.005 * len(docs))), binary=True, max_features=20000)
    try:
        D = vec.fit_transform(docs)
    except ValueError:  # no vocabulary at all
        return [[] for _ in range(k)]
    terms = vec.get_feature_names_out()
    total = np.asarray(D.sum(axis=0)).ravel().astype(float)
    a0 = total.sum()
    alpha = total / a0 * 100.0 + 0.01  # informative prior: the corpus frequencies, 100 pseudo-counts
    alpha0 = alpha.sum()
    out = []
    for c in range(k):
        yi = np.asarray(D[labels == c].sum(axis=0)).ravel().astype(float)
        yj = total - yi
        ni, nj = yi.sum(), yj.sum()
        delta = (np.log((yi + alpha) / (ni + alpha0 - yi - alpha))
                 - np.log((yj + alpha) / (nj + alpha0 - yj - alpha)))
        var = 1.0 / (yi + alpha) + 1.0 / (yj + alpha)
        z = delta / np.sqrt(var)
        best = np.argsort(-z)[:top]
        out.append([{"term": str(terms[i]), "z": round(float(z[i]), 2)} for i in best if z[i] > 2.0])
    return out


def _name(features: list[dict[str, Any]], terms: list[dict[str, Any]], taken: set[str]) -> str:
    labels: list[str] = []
    for f in features:
        if f["label"] not in labels:
            labels.append(f["label"])
    labels += [t["term"] for t in terms if t["term"] not in labels]
    if not labels:
        labels = ["general audience"]
    for n in (2, 3, 4):
        name = " · ".join(labels[:n])
        if name not in taken:
            return name
    i = 2
    while f"{' · '.join(labels[:2])} ({i})" in taken:
        i += 1
    return f"{' · '.join(labels[:2])} ({i})"


def _sentence(f: dict[str, Any]) -> str:
    if f["kind"] == "flag":
        return f"{f['label']} ({f['share']:.0%} vs {f['population_share']:.0%}, {f['lift']}x)"
    return f"{f['label']} (mean {f['mean']:g} vs {f['population_mean']:g})"


def describe_segments(labels: np.ndarray, table: AttributeTable, documents: Sequence[str] | None = None,
                      top: int = 8) -> list[SegmentDescription]:
    """One description per label 0..k-1, in label order."""
    k = int(labels.max()) + 1 if labels.size else 0
    n = len(labels)
    term_lists = _contrastive_terms(list(documents or []), labels, k, top)
    taken: set[str] = set()
    out = []
    for c in range(k):
        member = labels == c
        size = int(member.sum())
        feats = _feature_lifts(table, member)[:top]
        terms = term_lists[c]
        # a name wants two labels: weaker (but still over-represented) attributes come before loose words
        naming = feats if len(feats) >= 2 else feats + [f for f in _feature_lifts(table, member, 1.1)
                                                        if f["attribute"] not in {g["attribute"] for g in feats}]
        name = _name(naming, [t for t in terms if t["z"] >= 4.0], taken)
        taken.add(name)
        parts = [f"{size:,} profiles ({size / n:.1%} of all)."]
        if feats:
            parts.append("Compared with everyone, they stand out by: " + "; ".join(_sentence(f) for f in feats[:5])
                         + ".")
        if terms:
            parts.append("Words typical of their histories: " + ", ".join(t["term"] for t in terms[:6]) + ".")
        if not feats and not terms:
            parts.append("Nothing sets them apart from the population: a broad, average group.")
        out.append(SegmentDescription(name, " ".join(parts), size, round(size / n, 4), feats, terms))
    return out
