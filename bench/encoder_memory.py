"""Benchmark: an encoder's resident memory over many batches of different shapes, as a long-running server and a
sync meet them.

Method: the deployment's encoder (`--model`, default MiniLM; `e5` for the multilingual one) encodes --batches
batches of random row counts (1-16) and random lengths (1-119 words), seeded; the process's RSS (VmRSS) is printed
every 100 batches. oneDNN keeps a kernel for every matrix shape it meets (up to 1,024), so an encoder that meets a
new shape at every batch grows until that cache is full; batches padded to a multiple of bert.LENGTH_STEP tokens
meet few shapes.
Run: .venv/bin/python bench/encoder_memory.py [--model e5] [--batches 600]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from embeddings.encoder import load_encoder
from embeddings.language import E5_MODEL


def rss_mb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024
    return 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=("minilm", "e5"), default="minilm")
    ap.add_argument("--batches", type=int, default=600)
    a = ap.parse_args()
    encoder = load_encoder(E5_MODEL if a.model == "e5" else None)
    rng = np.random.default_rng(0)
    marks, seconds = [], 0.0
    for i in range(a.batches):
        words, rows = int(rng.integers(1, 120)), int(rng.integers(1, 17))
        t = time.perf_counter()
        encoder.encode([" ".join(["palabra"] * words)] * rows)
        seconds += time.perf_counter() - t
        if i % 100 == 0:
            marks.append(f"{i}: {rss_mb()} MB")
    print(f"{encoder.model_id}, {a.batches} batches of random shapes in {seconds:.1f} s; RSS after batch "
          + ", ".join(marks) + f"; at the end {rss_mb()} MB")


if __name__ == "__main__":
    main()
