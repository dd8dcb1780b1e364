"""Search quality on MovieLens 100k: genre-fan queries, ground truth from the ratings (app/demo/evaluation.py)."""

from __future__ import annotations

import numpy as np

from app.demo.evaluation import evaluate, indexed_documents, tfidf_ranker
from app.search.schemas import SearchRequest


def test_semantic_search_beats_keyword_baseline_and_random(movielens_container) -> None:
    c = movielens_container
    ids, docs = indexed_documents(c.index)
    tfidf_rank = tfidf_ranker(ids, docs)

    def ours(mode: str):  # type: ignore[no-untyped-def]
        def rank(q: str, k: int) -> list[str]:
            res = c.run(c.search.search(SearchRequest(query=q, limit=k, mode=mode)))  # type: ignore[arg-type]
            return [r.profile_id for r in res.results]
        return rank

    rows = evaluate({"dense": ours("dense"), "hybrid": ours("hybrid"), "tfidf": tfidf_rank})
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("dense", "hybrid", "tfidf", "random")}
    print(rows, mean)
    assert mean["dense"] >= mean["tfidf"] + 0.15, mean
    assert mean["hybrid"] >= mean["tfidf"] + 0.15, mean
    assert mean["dense"] >= 2.5 * mean["random"], mean
    # not one lucky query: dense wins or ties on most of them
    wins = [r for r in rows if r["dense"] >= r["tfidf"]]  # type: ignore[operator]
    assert len(wins) >= len(rows) * 2 // 3
