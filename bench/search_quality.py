"""Search quality on MovieLens 100k: precision@10 of dense, hybrid and sparse search vs a TF-IDF keyword
baseline over the same documents, and random. Method: app/demo/evaluation.py (ground truth from ratings).

Run: .venv/bin/python bench/search_quality.py [--data-dir DIR]   (syncs the demo export first if needed)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from app.config import load_settings
from app.container import Container
from app.demo.evaluation import evaluate, indexed_documents, tfidf_ranker
from app.demo.movielens import build_movielens_export
from app.search.schemas import SearchRequest


async def main(data_dir: Path) -> None:
    settings = load_settings(data_dir=data_dir)
    export = data_dir / "exports" / "movielens"
    if not (export / "profiles.ndjson").is_file():
        build_movielens_export(export)
    c = await Container.create(settings)
    await c.sync.run(c.source(str(export)))
    ids, docs = indexed_documents(c.index)
    tfidf_rank = tfidf_ranker(ids, docs)

    loop_results: dict[tuple[str, str], list[str]] = {}
    for mode in ("dense", "hybrid", "sparse"):
        for q in __import__("app.demo.evaluation", fromlist=["GENRE_QUERIES"]).GENRE_QUERIES:
            r = await c.search.search(SearchRequest(query=q, limit=10, mode=mode))  # type: ignore[arg-type]
            loop_results[(mode, q)] = [h.profile_id for h in r.results]

    rankers = {m: (lambda q, k, m=m: loop_results[(m, q)][:k]) for m in ("dense", "hybrid", "sparse")}
    rankers["tfidf"] = tfidf_rank
    rows = evaluate(rankers)
    cols = ["query", "genre", "relevant", "random", "dense", "hybrid", "sparse", "tfidf"]
    print("precision@10 on MovieLens 100k (943 users); relevant = liked-genre share >= 1.5x population, >= 3 liked")
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    means = {c: round(float(np.mean([r[c] for r in rows])), 3) for c in cols[3:]}
    print("| mean | | | " + " | ".join(str(means[c]) for c in cols[3:]) + " |")
    await c.aclose()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, default=Path(".profile-ai"))
    asyncio.run(main(ap.parse_args().data_dir))
