"""Benchmark: how long a search question waits for its query vector while a sync encodes documents.

Method: the deployment's encoder (`--model`, default MiniLM; `e5` for the multilingual one) encodes --docs
MovieLens documents in one call from a background thread, as a sync does a batch; meanwhile the main thread
encodes a short question every 100 ms. Latency = time.perf_counter around encode_query; p50 / p99 / max over
the questions asked while the bulk call ran, beside the same questions with the encoder idle.
Run: .venv/bin/python bench/query_during_sync.py [--model e5] [--docs 256]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from app.config import Settings
from app.container import build_builder
from app.demo.movielens import build_movielens_export
from app.tracardi.export import ExportDirectory
from embeddings.encoder import load_encoder

QUESTIONS = ["horror movie fans", "people who love documentaries", "aficionados al cine de terror",
             "retired people who rate many dramas", "clientes que ven comedias"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="minilm", choices=["minilm", "e5"])
    ap.add_argument("--docs", type=int, default=256)
    a = ap.parse_args()
    language = "multi" if a.model == "e5" else "en"
    with tempfile.TemporaryDirectory() as tmp:
        export = build_movielens_export(Path(tmp) / "movielens")
        builder = build_builder(Settings(language=language))
        texts = [builder.build(item).text for _, item in zip(range(a.docs), ExportDirectory(export)
                                                                 .iter_profiles_with_events(), strict=False)]
    encoder = load_encoder(Settings(language=language).lang.model)
    encoder.encode(texts[:16])
    idle = []
    for i in range(20):
        t = time.perf_counter()
        encoder.encode_query(QUESTIONS[i % len(QUESTIONS)])
        idle.append((time.perf_counter() - t) * 1000)
    busy: list[float] = []
    bulk = threading.Thread(target=encoder.encode, args=(texts,))
    started = time.perf_counter()
    bulk.start()
    i = 0
    time.sleep(0.05)
    while bulk.is_alive():  # every question asked while the bulk call runs counts, however long it waits
        t = time.perf_counter()
        encoder.encode_query(QUESTIONS[i % len(QUESTIONS)])
        busy.append((time.perf_counter() - t) * 1000)
        i += 1
        time.sleep(0.1)
    bulk.join()
    took = time.perf_counter() - started

    def show(xs: list[float]) -> str:
        return f"p50 {np.percentile(xs, 50):.0f} / p99 {np.percentile(xs, 99):.0f} / max {max(xs):.0f} ms"

    print(f"{encoder.model_id}: bulk encode of {len(texts)} documents took {took:.1f} s")
    print(f"  question while idle ({len(idle)}): {show(idle)}")
    print(f"  question during the bulk encode ({len(busy)}): {show(busy) if busy else 'none asked'}")


if __name__ == "__main__":
    main()
