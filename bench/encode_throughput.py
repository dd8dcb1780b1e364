"""Benchmark: our encoder vs plain `SentenceTransformer.encode` on the same profile documents.

Method: the first N MovieLens profile documents (built by DocumentBuilder, ~250 tokens each); plain =
`model.encode(docs, batch_size=32, normalize_embeddings=True)` in fp32; ours = `SentenceEncoder.encode` with its
default precision (bf16 autocast where the CPU has native bf16). Reports docs/s of each, the speed-up, and
the mean / minimum cosine between the two sets of vectors. Also tries int8 dynamic quantisation. Then each
runtime alone and beside a thread running pure Python (as a sync's pipeline does while documents encode): the
compiled BERT (embeddings/bert.py) leaves the GIL for its whole forward pass, eager PyTorch takes it back between
kernels. Sharing 2 cores with one busy thread costs at most 2x; more than that is waiting for the GIL.
Run: .venv/bin/python bench/encode_throughput.py [--docs 300]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer

from app.demo.movielens import build_movielens_export
from app.tracardi.export import ExportDirectory
from embeddings import encoder as encoders
from embeddings.documents import DocumentBuilder
from embeddings.e5_encoder import E5Encoder
from embeddings.encoder import SentenceEncoder, resolve_model_path


def alone_and_beside_python(encode: Callable[[list[str]], object], docs: list[str]) -> tuple[float, float]:
    """docs/s of `encode` alone, then while another thread runs a pure-Python loop."""
    encode(docs[:16])
    t = time.perf_counter()
    encode(docs)
    alone = len(docs) / (time.perf_counter() - t)
    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():
            {str(i): i for i in range(1000)}

    thread = threading.Thread(target=busy)
    thread.start()
    try:
        t = time.perf_counter()
        encode(docs)
        beside = len(docs) / (time.perf_counter() - t)
    finally:
        stop.set()
        thread.join()
    return alone, beside


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=300)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        export = build_movielens_export(Path(tmp) / "ml")
        b = DocumentBuilder()
        docs = [b.build(x).text for x, _ in zip(ExportDirectory(export).iter_profiles_with_events(), range(a.docs),
                                                   strict=False)]
    ours = SentenceEncoder()
    plain = SentenceTransformer(resolve_model_path(None))  # ours keeps only the tokenizer of its own copy
    tokens = np.mean([len(plain.tokenizer(d)["input_ids"]) for d in docs])
    plain.encode(docs[:16], batch_size=32)  # warm-up
    t = time.perf_counter()
    ref = plain.encode(docs, batch_size=32, normalize_embeddings=True)
    t_plain = time.perf_counter() - t
    ours.encode(docs[:16])
    t = time.perf_counter()
    vec = ours.encode(docs)
    t_ours = time.perf_counter() - t
    cos = np.sum(vec * ref, axis=1)
    print(f"{len(docs)} documents, mean {tokens:.0f} tokens, {torch.get_num_threads()} threads")
    print(f"plain SentenceTransformer.encode (fp32): {len(docs) / t_plain:.1f} docs/s")
    print(f"our Encoder ({ours.precision}): {len(docs) / t_ours:.1f} docs/s = {t_plain / t_ours:.2f}x; "
          f"cosine to fp32 mean {cos.mean():.5f} min {cos.min():.5f}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = torch.ao.quantization.quantize_dynamic(plain, {torch.nn.Linear}, dtype=torch.qint8)
        t = time.perf_counter()
        v8 = q.encode(docs, batch_size=32, normalize_embeddings=True)
        t8 = time.perf_counter() - t
    c8 = np.sum(v8 * ref, axis=1)
    print(f"int8 dynamic quantisation (torch): {len(docs) / t8:.1f} docs/s = {t_plain / t8:.2f}x; cosine mean "
          f"{c8.mean():.4f} min {c8.min():.4f} (too lossy: not offered)")
    print("\nalone / beside a busy pure-Python thread (docs/s; the slowdown over 2x is time spent waiting for the GIL):")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(encoders, "_compiled_bert", lambda *args: None)
        eager = SentenceEncoder()
    for name, encode in [("MiniLM, compiled (the default)", ours.encode),
                         ("MiniLM, eager (sentence-transformers' encode)", eager.encode),
                         ("multilingual-e5-small, compiled (the default)", E5Encoder().encode)]:
        alone, beside = alone_and_beside_python(encode, docs)
        print(f"  {name}: {alone:.1f} / {beside:.1f} = {alone / beside:.2f}x slower")


if __name__ == "__main__":
    main()
