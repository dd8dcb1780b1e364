"""Search-quality evaluation on MovieLens 100k: genre-fan queries with ground truth from the ratings.

A user is relevant to "GENRE fans" when the genre is over-represented among the movies they liked
(rated >= 4): its share there is at least `min_lift` times its share among all liked ratings, over at least
`min_liked` liked movies of that genre. Precision@k of a ranking is the share of relevant users in its top k.
Shared by the test suite (assertions) and bench/search_quality.py (the per-query table).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

from app.demo.movielens import load_movielens
from embeddings.index import VectorIndex

GENRE_QUERIES: dict[str, str] = {
    "horror movie fans": "Horror",
    "people who love documentaries": "Documentary",
    "science fiction enthusiasts": "Sci-Fi",
    "customers who enjoy romantic movies": "Romance",
    "fans of westerns": "Western",
    "people who like musicals": "Musical",
    "film noir lovers": "Film-Noir",
    "war movie fans": "War",
    "people who love animated films": "Animation",
    "crime and gangster movie fans": "Crime",
    "kids and family movie watchers": "Children's",
    "mystery lovers": "Mystery",
}


def relevant_users(min_lift: float = 1.5, min_liked: int = 3) -> dict[str, set[str]]:
    """genre -> profile ids of the users who over-index on it among their liked movies."""
    _, events = load_movielens()
    liked: dict[str, Counter[str]] = defaultdict(Counter)
    liked_total: Counter[str] = Counter()
    population: Counter[str] = Counter()
    for e in events:
        props = e["properties"]
        if props["rating"] < 4:
            continue
        pid = e["profile"]["id"]
        liked_total[pid] += 1
        for g in props["genres"]:
            liked[pid][g] += 1
            population[g] += 1
    pop_total = sum(liked_total.values())
    out: dict[str, set[str]] = defaultdict(set)
    for pid, genres in liked.items():
        for g, n in genres.items():
            if n >= min_liked and (n / liked_total[pid]) >= min_lift * (population[g] / pop_total):
                out[g].add(pid)
    return out


def indexed_documents(index: VectorIndex) -> tuple[list[str], list[str]]:
    """(profile ids, document texts) of every indexed profile: what the keyword baseline ranks."""
    ids, docs = [], []
    for page in index.scroll(fields=["profile_id", "document"]):
        for h in page:
            ids.append(h.payload["profile_id"])
            docs.append(h.payload["document"])
    return ids, docs


def tfidf_ranker(ids: Sequence[str], docs: Sequence[str], *, english: bool = True,
                 strip_accents: str | None = None) -> Callable[[str, int], list[str]]:
    """The keyword baseline: TF-IDF (sublinear tf; English stop words unless `english=False`) cosine over the same
    documents."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    tfidf = TfidfVectorizer(sublinear_tf=True, stop_words="english" if english else None,
                            strip_accents=strip_accents)
    matrix = tfidf.fit_transform(docs)

    def rank(query: str, k: int) -> list[str]:
        scores = (matrix @ tfidf.transform([query]).T).toarray().ravel()
        return [ids[i] for i in np.argsort(-scores, kind="stable")[:k]]

    return rank


def precision_at_k(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float:
    top = list(ranked)[:k]
    return sum(1 for r in top if r in relevant) / k if top else 0.0


def evaluate(rankers: dict[str, Callable[[str, int], list[str]]], k: int = 10,
             queries: dict[str, str] | None = None) -> list[dict[str, object]]:
    """One row per query: the genre, its base rate, and precision@k of each ranker."""
    truth = relevant_users()
    n_users = 943
    rows = []
    for query, genre in (queries or GENRE_QUERIES).items():
        rel = truth.get(genre, set())
        row: dict[str, object] = {"query": query, "genre": genre, "relevant": len(rel),
                                  "random": round(len(rel) / n_users, 3)}
        for name, rank in rankers.items():
            row[name] = round(precision_at_k(rank(query, k), rel, k), 3)
        rows.append(row)
    return rows
