"""Benchmark: a partitioned backfill with 1 and 2 worker processes (1 encoding thread each), and the job
engine's overhead per job.

Method: the MovieLens 100k export (943 profiles, 100k events). For each worker count, a fresh data dir with its
own embedded PostgreSQL and Qdrant Edge shard; this process owns the index and serves the `index` queue (the
backfill's start and finish); `profile-ai worker --queues encode` processes encode the partitions and stage
the vectors in PostgreSQL. Wall time from deferring the backfill to its finish; the ratio 2 workers / 1 worker
is the scale-out. Overhead: N `writeback` jobs (no Tracardi configured, so each only records changes) run
through the engine against N direct calls of the same use case, per job.
`--profiles N --stand-in`: instead of MovieLens, N profiles of ~50 events (bench/large_export.py), and the
workers' encoder replaced by a stand-in returning fixed vectors at once (`--accelerator-ms M`: after sleeping M ms
a document, as a GPU leaves the CPU), so the figure is the pipeline's own scale-out over processes.
Run: .venv/bin/python bench/jobs_backfill.py [--partitions 8] [--jobs 50] [--profiles 5000 --stand-in]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.config import JobSettings, Settings, SyncSettings
from app.container import Container
from app.demo.movielens import build_movielens_export
from app.jobs.runner import JobRunner

EXE = str(Path(sys.executable).parent / "profile-ai")


def start_worker(env: dict[str, str], stand_in: float | None = None) -> subprocess.Popen[bytes]:
    cmd = [EXE, "worker", "--queues", "encode"] if stand_in is None else \
        [sys.executable, __file__, "--stand-in-worker", str(stand_in)]
    return subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stand_in_worker(accelerator_ms: float) -> None:
    """`profile-ai worker --queues encode` with the model's `encode` replaced by fixed vectors (the same model id,
    so fingerprints and the vector-space key are the owner's)."""
    import app.container as container
    from app.cli import main as cli
    from bench.common import stand_in_encode

    real = container.build_encoder

    def build(settings: Settings):  # type: ignore[no-untyped-def]
        encoder = real(settings)
        encoder.encode = stand_in_encode(encoder.dim, accelerator_ms)
        return encoder

    container.build_encoder = build  # type: ignore[assignment]
    sys.argv = ["profile-ai", "worker", "--queues", "encode"]
    cli()


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        p.wait(30)


async def backfill(export: Path, data: Path, workers: int, partitions: int,
                   stand_in: float | None = None) -> tuple[float, int]:
    settings = Settings(data_dir=data, sync=SyncSettings(source=str(export)), jobs=JobSettings(worker_in_serve=False))
    c = await Container.create(settings)
    owner = JobRunner(c, owns_index=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PROFILE_AI_DATABASE__URL": c.database.url,
           "PROFILE_AI_SYNC__SOURCE": str(export), "PROFILE_AI_DATA_DIR": str(data),
           "PROFILE_AI_EMBEDDING__THREADS": "1", "OMP_NUM_THREADS": "1"}
    procs = [start_worker(env, stand_in) for _ in range(workers)]
    try:
        await asyncio.sleep(8)  # let the workers load the model before the clock starts
        t = time.perf_counter()
        await owner.queue.defer("backfill", {"partitions": partitions})
        serving = asyncio.create_task(owner.queue.work(["index"]))
        while True:
            runs = await owner.backfills.runs(1)
            if runs and runs[0]["status"] in ("done", "failed"):
                break
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("a worker exited: run `profile-ai worker` by hand to see why")
            await asyncio.sleep(0.25)
        wall = time.perf_counter() - t
        serving.cancel()
        return wall, int(runs[0]["result"]["embedded"])
    finally:
        await asyncio.to_thread(stop_workers, procs)
        await owner.queue.close()
        await c.aclose()


async def overhead(data: Path, n: int) -> tuple[float, float]:
    c = await Container.create(Settings(data_dir=data, jobs=JobSettings(worker_in_serve=False)))
    runner = JobRunner(c, owns_index=True)
    try:
        t = time.perf_counter()
        for _ in range(n):
            await c.usecases.deliver_writeback()
        direct = (time.perf_counter() - t) / n
        await runner.queue.open()
        t = time.perf_counter()
        for _ in range(n):
            await runner.queue.defer("writeback", unique=False)
        await runner.queue.work(["default"], wait=False)
        engine = (time.perf_counter() - t) / n
        return direct, engine
    finally:
        await runner.queue.close()
        await c.aclose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=50)
    ap.add_argument("--profiles", type=int, default=0, help="a large export of this many profiles, not MovieLens")
    ap.add_argument("--stand-in", action="store_true", help="the workers' encoder returns fixed vectors")
    ap.add_argument("--accelerator-ms", type=float, default=0.0)
    ap.add_argument("--stand-in-worker", type=float, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.stand_in_worker is not None:
        stand_in_worker(a.stand_in_worker)
        return
    stand_in = a.accelerator_ms if a.stand_in else None
    with tempfile.TemporaryDirectory() as tmp:
        if a.profiles:
            from bench.large_export import write_large_export

            export = Path(tmp) / "large"
            write_large_export(export, a.profiles, 50.0, seed=5)
        else:
            export = build_movielens_export(Path(tmp) / "movielens")
        walls = {}
        for workers in (1, 2):
            wall, embedded = asyncio.run(backfill(export, Path(tmp) / f"data{workers}", workers, a.partitions,
                                                  stand_in))
            walls[workers] = wall
            print(f"backfill, {workers} worker process(es) x 1 thread, {a.partitions} partitions: {embedded} profiles "
                  f"in {wall:.1f}s = {embedded / wall:.1f} profiles/s")
        print(f"scale-out: 2 workers / 1 worker throughput = {walls[1] / walls[2]:.2f}x (on {os.cpu_count()} cores)")
        direct, engine = asyncio.run(overhead(Path(tmp) / "overhead", a.jobs))
        print(f"engine overhead: a use case called directly {direct * 1000:.1f} ms, through the job engine "
              f"{engine * 1000:.1f} ms per job (defer + fetch + run + record): +{(engine - direct) * 1000:.1f} ms/job")


if __name__ == "__main__":
    main()
