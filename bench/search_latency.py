"""Benchmark: search at 100,000 indexed profiles through the HTTP API, on this machine's cores.

Method: the 943 MovieLens profiles are synced for real (documents, model, BM25); 100,000 points are then
written to the Qdrant Edge shard as configured (int8 scan with rescoring, optimized every 100,000 points): each is a random blend of two real profiles' vectors plus Gaussian noise
(renormalised), with the first profile's payload and sparse vector. `profile-ai serve` runs in its own
process on loopback; a client sends natural-language queries to POST /v1/search one at a time (latency
includes query encoding, index search and the response), then with 4 in flight (throughput).
recall@10 = overlap of the index's dense top 10 with exact brute-force top 10 over all 100,000 vectors,
for 200 profile-like query vectors (a stored vector plus noise) and the 16 short text queries. Then a steady load: 4 clients back to back for 60 s (--load-seconds), with every
request's latency, the error count and the server's RSS sampled every 5 s (memory must stay flat). The
server requires API keys, as in production: the client sends a read key. Peak RSS = VmHWM from /proc.
Run: .venv/bin/python bench/search_latency.py [--points 100000] [--data-dir DIR]
(--data-dir keeps the built index there and reuses it on the next run.)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import numpy as np

from app.config import Settings
from app.container import Container
from app.demo.movielens import build_movielens_export
from bench.common import free_port, write_state
from embeddings.index import IndexPoint, SparseVector

QUERIES = ["horror movie fans", "people who love documentaries", "science fiction enthusiasts",
           "customers who enjoy romantic movies", "fans of westerns", "people who like musicals",
           "film noir lovers", "war movie fans", "people who love animated films", "crime and gangster movie fans",
           "kids and family movie watchers", "mystery lovers", "young students who like comedies",
           "retired people who rate many dramas", "engineers who love sci-fi", "users who rate harshly"]


LOOP = asyncio.new_event_loop()  # the container's database pool lives on this loop
HEADERS: dict[str, str] = {}  # the read key the server requires, made in build()


def build(data_dir: Path, points: int) -> Container:
    c = LOOP.run_until_complete(Container.create(Settings(data_dir=data_dir)))
    export = build_movielens_export(data_dir / "exports" / "movielens")
    LOOP.run_until_complete(c.sync.run(c.source(str(export))))
    base = [h for page in c.index.scroll(with_vector=True) for h in page]
    rnd = np.random.default_rng(0)
    sparse = {h.payload["profile_id"]: c.sparse.document(h.payload["document"]) for h in base}
    t = time.perf_counter()
    batch: list[IndexPoint] = []
    for i in range(points - len(base)):
        # a blend of two real profiles plus noise: a continuous population "between" real tastes, not
        # near-copies of 943 points (near-duplicate clusters make any top-10 a coin toss)
        b = base[i % len(base)]
        other = base[int(rnd.integers(len(base)))]
        w = float(rnd.uniform(0.0, 1.0))
        v = (w * np.asarray(b.vector, dtype=np.float32) + (1 - w) * np.asarray(other.vector, dtype=np.float32)
             + rnd.normal(0, 0.03, c.encoder.dim).astype(np.float32))
        v /= np.linalg.norm(v)
        pid = f"synthetic-{i}"
        sv: SparseVector = sparse[b.payload["profile_id"]]
        batch.append(IndexPoint(pid, v, sv, {**b.payload, "profile_id": pid}))
        if len(batch) == 2000:
            c.index.upsert(batch)
            LOOP.run_until_complete(write_state(c.database.pool, [p.payload for p in batch]))
            batch = []
    c.index.upsert(batch)
    LOOP.run_until_complete(write_state(c.database.pool, [p.payload for p in batch]))
    c.index.flush()
    c.index.optimize()  # as every sync ends (the index also optimizes every 100,000 points written)
    print(f"indexed {c.index.count()} points in {time.perf_counter() - t:.0f}s; this process's peak memory "
          f"{_status_mb('VmHWM'):.0f} MB (anonymous now {_status_mb('RssAnon'):.0f} MB, file-backed pages of the "
          f"index's memory maps now {_status_mb('RssFile'):.0f} MB)")
    key, _ = LOOP.run_until_complete(c.keys.create("read", "bench"))
    HEADERS["Authorization"] = f"Bearer {key}"
    return c


def build_or_reuse(data_dir: Path, points: int) -> Container:
    """build(), or open what an earlier run with the same --points built in data_dir (a 1M index takes minutes)."""
    built = data_dir / "bench-built"
    if built.is_file() and int(built.read_text()) == points:
        c = LOOP.run_until_complete(Container.create(Settings(data_dir=data_dir)))
        key, _ = LOOP.run_until_complete(c.keys.create("read", "bench"))
        HEADERS["Authorization"] = f"Bearer {key}"
        print(f"reusing the {c.index.count()} points built in {data_dir}")
        return c
    c = build(data_dir, points)
    built.write_text(str(points))
    return c


def all_vectors(c: Container) -> tuple[np.ndarray, list[str]]:
    mat = np.empty((c.index.count(), c.encoder.dim), dtype=np.float32)
    ids: list[str] = []
    for page in c.index.scroll(batch=5000, with_vector=True, fields=["profile_id"]):
        for h in page:
            mat[len(ids)] = h.vector
            ids.append(h.payload["profile_id"])
    return mat, ids


def recall(c: Container, n: int = 200) -> tuple[float, float]:
    """recall@10 of the index as configured against exact brute force: `n` profile-like queries (a stored vector
    plus noise) and the short text queries (encoded by the model)."""
    mat, ids = all_vectors(c)
    rnd = np.random.default_rng(1)
    queries = []
    for qi in rnd.choice(len(mat), n, replace=False):
        noisy = mat[qi] + np.asarray(rnd.normal(0, 0.02, size=mat.shape[1]), dtype=np.float32)
        queries.append(noisy / np.linalg.norm(noisy))

    def overlap(qs: Sequence[np.ndarray]) -> float:
        hits = 0
        for q in qs:
            exact = {ids[i] for i in np.argpartition(-(mat @ q), 10)[:10]}
            hits += len(exact & {h.payload["profile_id"] for h in c.index.search(dense=q, sparse=None, limit=10)})
        return hits / (10 * len(qs))

    return overlap(queries), overlap(list(c.encoder.encode(QUERIES)))


async def latency(url: str, mode: str, n: int) -> list[float]:
    out = []
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=HEADERS) as http:
        for i in range(n):
            t = time.perf_counter()
            r = await http.post("/v1/search", json={"query": QUERIES[i % len(QUERIES)] + f" {i % 7}", "limit": 10,
                                                    "mode": mode})
            out.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text
    return out


async def throughput(url: str, seconds: float = 15, concurrency: int = 4, pid: int | None = None,
                     ) -> dict[str, float]:
    """Steady load: `concurrency` clients back to back for `seconds`; latency of every request, errors, and
    the server's RSS sampled every 5 s (is memory flat?)."""
    done = errors = 0
    lat: list[float] = []
    rss: list[float] = []
    stop = time.perf_counter() + seconds

    async def sample() -> None:
        while pid is not None and time.perf_counter() < stop:
            rss.append(_rss_mb(pid))
            await asyncio.sleep(5)

    async with httpx.AsyncClient(base_url=url, timeout=30, headers=HEADERS) as http:
        async def worker(k: int) -> None:
            nonlocal done, errors
            i = k
            while time.perf_counter() < stop:
                t = time.perf_counter()
                r = await http.post("/v1/search", json={"query": QUERIES[i % len(QUERIES)], "limit": 10})
                lat.append(time.perf_counter() - t)
                done += 1
                errors += r.status_code != 200
                i += concurrency
        await asyncio.gather(sample(), *(worker(k) for k in range(concurrency)))
    ms = np.asarray(lat) * 1000
    return {"done": done, "errors": errors, "rate": done / seconds, "p50": float(np.percentile(ms, 50)),
            "p99": float(np.percentile(ms, 99)), "rss_first": rss[0] if rss else 0.0,
            "rss_last": rss[-1] if rss else 0.0, "rss_max": max(rss) if rss else 0.0}


def _rss_mb(pid: int) -> float:
    return _status_mb("VmRSS", pid)


def _status_mb(field: str, pid: int | str = "self") -> float:
    line = next(ln for ln in Path(f"/proc/{pid}/status").read_text().splitlines() if ln.startswith(field))
    return int(line.split()[1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--load-seconds", type=float, default=60.0)
    ap.add_argument("--data-dir", type=Path, default=None, help="build into (or reuse) this directory")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() if a.data_dir is None else contextlib.nullcontext(str(a.data_dir)) as tmp:
        data = Path(tmp)
        c = build_or_reuse(data, a.points)
        started = time.perf_counter()
        profile_like, short_text = recall(c)
        print(f"recall measured in {time.perf_counter() - started:.0f}s", flush=True)
        LOOP.run_until_complete(c.aclose())
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--data-dir", str(data), "--port", str(port)],
                                cwd=str(Path(__file__).resolve().parents[1]), env={**os.environ, "HF_HUB_OFFLINE": "1"})
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    if httpx.get(url + "/ready", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            asyncio.run(latency(url, "dense", 20))  # warm-up
            for mode in ("dense", "hybrid"):
                lat = np.asarray(asyncio.run(latency(url, mode, 300))) * 1000
                print(f"{mode}: p50 {np.percentile(lat, 50):.1f} ms, p99 {np.percentile(lat, 99):.1f} ms "
                      f"(300 sequential queries, query encoding included); slowest "
                      + ", ".join(f"#{i} {lat[i]:.0f} ms" for i in np.argsort(-lat)[:5]))
            t = asyncio.run(throughput(url, a.load_seconds, 4, proc.pid))
            print(f"steady load, 4 in flight for {a.load_seconds:.0f} s: {t['rate']:.0f} searches/s "
                  f"({t['done']:.0f} requests), {t['errors']:.0f} errors, p50 {t['p50']:.1f} ms, p99 {t['p99']:.1f} ms; "
                  f"server RSS {t['rss_first']:.0f} MB at the start, {t['rss_last']:.0f} MB at the end, "
                  f"max {t['rss_max']:.0f} MB (sampled every 5 s)")
            hwm = next(line for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                       if line.startswith("VmHWM"))
            print(f"server peak RSS: {int(hwm.split()[1]) / 1024:.0f} MB with {a.points} profiles")
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"recall@10 of the index as configured vs exact search: {profile_like:.3f} for 200 profile-like "
          f"queries, {short_text:.3f} for the {len(QUERIES)} short text queries")


if __name__ == "__main__":
    main()
