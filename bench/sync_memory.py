"""Benchmark: where a sync's memory goes, and whether it grows with the export.

Two measurements, each step in its own process so its peak RSS (VmHWM) is its own:
1. The encoder: the first N documents of a large export (bench/large_export.py shapes, mean 50 events a
   profile, so documents run to the model's 256 tokens) encoded with batch sizes 8, 16, 32 and 64: docs/s and
   the peak RSS of the process (model loaded first, so the difference is activations and allocator caches).
2. The pipeline: full syncs of growing exports (default 5k, 20k, 100k profiles) into Qdrant Edge and the
   embedded PostgreSQL with the encoder replaced by a stand-in that returns fixed random vectors at once, so
   the figure is the pipeline's own memory (reading, documents, features, event rows, index, state) and its
   growth with the export size; encoding is covered by step 1 and does not depend on the export size.
   `--accelerator-ms M`: the stand-in sleeps M ms a document (an accelerator's time, which leaves the CPU and
   the GIL free), so the figure is a GPU worker's: encoding and the pipeline around it overlapping.
Run: .venv/bin/python bench/sync_memory.py [--docs 512] [--sizes 5000,20000,100000] [--accelerator-ms 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import peak_rss_mb, stand_in_encode  # noqa: E402


def child_encode(export: str, docs: int, batch: int) -> dict[str, float]:
    from app.config import Settings
    from app.container import build_builder, build_encoder
    from app.tracardi.export import ExportDirectory

    settings = Settings()
    settings.embedding.batch_size = batch
    encoder = build_encoder(settings)
    builder = build_builder(settings)
    items = []
    for item in ExportDirectory(export).iter_profiles_with_events():
        items.append(item)
        if len(items) >= docs:
            break
    texts = [builder.build(i).text for i in items]
    del items
    encoder.encode(texts[:8])  # warm-up
    loaded = peak_rss_mb()
    t = time.perf_counter()
    encoder.encode(texts)
    seconds = time.perf_counter() - t
    return {"batch": batch, "docs_per_s": len(texts) / seconds, "peak_mb": peak_rss_mb(), "loaded_mb": loaded,
            "mean_tokens": sum(encoder.tokens(t) for t in texts[:64]) / 64}


def child_sync(export: str, data: str, optimize_every: int = 0, accelerator_ms: float = 0.0) -> dict[str, float]:
    from app.config import Settings
    from app.container import Container

    async def go() -> dict[str, float]:
        c = await Container.create(Settings(data_dir=Path(data)))
        c.sync.encoder.encode = stand_in_encode(c.encoder.dim, accelerator_ms)  # type: ignore[method-assign]
        if optimize_every:
            c.index.optimize_every = optimize_every  # type: ignore[attr-defined]
        base = peak_rss_mb()
        t, cpu = time.perf_counter(), time.process_time()
        r = await c.sync.run(c.source(export))
        out = {"profiles": r.seen, "seconds": time.perf_counter() - t, "cpu_seconds": time.process_time() - cpu,
               "peak_mb": peak_rss_mb(), "base_mb": base}
        await c.aclose()
        return out

    return asyncio.run(go())


def run_child(*args: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=512)
    ap.add_argument("--sizes", default="5000,20000,100000")
    ap.add_argument("--optimize-every", type=int, default=0,
                    help="points between the embedded index's optimizations (default: as shipped)")
    ap.add_argument("--encode", action=argparse.BooleanOptionalAction, default=True, help="step 1")
    ap.add_argument("--accelerator-ms", type=float, default=0.0,
                    help="the stand-in encoder sleeps this long a document (an accelerator's time)")
    ap.add_argument("--child", nargs="*")
    a = ap.parse_args()
    if a.child:
        kind, *rest = a.child
        res = (child_encode(rest[0], int(rest[1]), int(rest[2])) if kind == "encode"
               else child_sync(rest[0], rest[1], int(rest[2]), float(rest[3])))
        print(json.dumps(res))
        return
    from bench.large_export import write_large_export

    with tempfile.TemporaryDirectory() as tmp:
        sizes = [int(s) for s in a.sizes.split(",")]
        export = Path(tmp) / "export-enc"
        write_large_export(export, a.docs, 50.0, seed=3)
        for batch in (8, 16, 32, 64) if a.encode else ():
            r = run_child("encode", str(export), str(a.docs), str(batch))
            print(f"encode {a.docs} docs (~{r['mean_tokens']:.0f} tokens), batch {batch}: {r['docs_per_s']:.1f} docs/s, "
                  f"peak RSS {r['peak_mb']:.0f} MB (model loaded: {r['loaded_mb']:.0f} MB)")
        for n in sizes:
            export = Path(tmp) / f"export-{n}"
            write_large_export(export, n, 50.0, seed=5)
            r = run_child("sync", str(export), str(Path(tmp) / f"data-{n}"), str(a.optimize_every),
                          str(a.accelerator_ms))
            stand_in = f"stand-in sleeping {a.accelerator_ms} ms a document" if a.accelerator_ms else "stand-in"
            print(f"sync pipeline, {n:,} profiles (~{n * 50:,} events), encoder {stand_in}: {r['profiles'] / r['seconds']:.0f} "
                  f"profiles/s ({r['cpu_seconds'] / r['profiles'] * 1000:.2f} ms of this process's CPU a profile, "
                  f"steadier than wall time on a shared host), peak RSS {r['peak_mb']:.0f} MB (after start-up "
                  f"{r['base_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
