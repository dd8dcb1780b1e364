"""Benchmark: what privacy costs a document, per shape of personal value, in English and Spanish.

Method: N profiles of bench/large_export.py (mean 50 events, seed 3), English and the Spanish renaming; each
profile's document is built once (DocumentBuilder, which already masks it), then its text is masked again by
`Redactor.scrub_text` three times and the median run's microseconds a document printed; then each shape alone
(its gates and ASCII views included, as `scrub_text` uses them) over the same texts. A shape whose gate lets
few documents through costs about a microsecond; one that runs its pattern on most of them shows here.
Run: .venv/bin/python bench/redaction_cost.py [--profiles 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.tracardi.export import ExportDirectory  # noqa: E402
from bench.large_export import write_large_export  # noqa: E402
from embeddings.documents import DocumentBuilder  # noqa: E402
from embeddings.redaction import SHAPES, AsciiViews, Redactor  # noqa: E402


def _us(seconds: float, n: int) -> float:
    return 1e6 * seconds / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profiles", type=int, default=2000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for label, spanish in (("en", False), ("es", True)):
            export = Path(tmp) / label
            write_large_export(export, a.profiles, 50.0, seed=3, spanish=spanish)
            builder = DocumentBuilder()
            texts = [builder.build(item).text for item in ExportDirectory(export).iter_profiles_with_events()]
            redactor = Redactor()
            runs = []
            for _ in range(3):
                t = time.perf_counter()
                for text in texts:
                    redactor.scrub_text(text)
                runs.append(time.perf_counter() - t)
            print(f"[{label}] {len(texts):,} documents (mean {sum(map(len, texts)) / len(texts):,.0f} characters): "
                  f"scrub_text {_us(statistics.median(runs), len(texts)):.1f} us a document (median of 3)")
            views = [AsciiViews.of(text) for text in texts]
            for shape in SHAPES:
                t = time.perf_counter()
                hits = sum(1 for text, v in zip(texts, views, strict=True) if shape.spans(text, v))
                print(f"[{label}]   {shape.name:12} {shape.mask:9} {_us(time.perf_counter() - t, len(texts)):6.1f} us "
                      f"a document, found in {hits}")


if __name__ == "__main__":
    main()
