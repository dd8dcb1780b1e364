"""Segment discovery at scale: the whole library path (behaviour spec, PCA blend, k chosen by silhouette +
bootstrap stability on a sample, final (MiniBatch)KMeans on all rows, naming and rules on a 50k sample).

Data: synthetic 384-d unit vectors from 8 Gaussian groups (centre + noise) with profile records (events,
active days, spend, recency, a plan trait) drawn per group, so the run has real structure to find.
Method: one process, wall time of `discover` (data generation excluded), peak RSS of the process
(ru_maxrss, which includes the input data: 100k x 384 float32 = 147 MB), adjusted Rand index against the
generating groups. Pin to 2 cores as CI has them:
    taskset -c 0,1 env OMP_NUM_THREADS=2 .venv/bin/python bench/segment_discovery.py --profiles 100000

--data-dir DIR times discovery through the service instead (SegmentService.discover on an existing data
directory, such as the one `bench/search_latency.py --data-dir DIR` builds): ids and records from PostgreSQL,
the fit on its fixed sample, everyone else projected from the index's vectors, memberships saved to PostgreSQL;
the service logs its seconds per step. Twice: the second run matches its segments to the first run's. A
directory built before the benchmark wrote PostgreSQL rows for its synthetic profiles gets them first, from the
index payloads (what a sync would have written).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from sklearn.metrics import adjusted_rand_score

from bench.common import peak_rss_mb, write_state
from segmentation import discover


def make(n: int, groups: int = 8, dim: int = 384, seed: int = 0) -> tuple[np.ndarray, list[dict], np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(groups, dim)).astype(np.float32)
    truth = rng.integers(0, groups, n)
    V = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):  # in chunks: no float64 copy of the whole matrix
        t = truth[start:start + 100_000]
        block = centres[t] + rng.normal(scale=1.6, size=(len(t), dim)).astype(np.float32)
        V[start:start + len(t)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    plans = ["basic", "pro", "gold", "trial"]
    records = [{"profile_id": f"p{i:07d}", "traits": {"plan": plans[int(g) % 4]},
                "event_count": int(5 + 10 * g + rng.integers(0, 10)), "active_days": int(1 + g),
                "spend_total": float(20 * g), "last_seen": f"2024-0{1 + int(g) % 9}-15T00:00:00+00:00"}
               for i, g in enumerate(truth)]
    return V, records, truth


STATE_FIELDS = ["profile_id", "content_hash", "traits", "data", "counts", "top", "event_count", "active_days",
                "first_seen", "last_seen", "spend_total", "purchases", "rating_mean", "objected"]


def through_service(data_dir: Path) -> None:
    import asyncio

    from app.config import Settings
    from app.container import Container
    from app.segments.schemas import DiscoverRequest

    logging.basicConfig(level=logging.WARNING, stream=sys.stdout)
    logging.getLogger("app.segments.service").setLevel(logging.INFO)  # its seconds per step

    async def run() -> None:
        c = await Container.create(Settings(data_dir=data_dir))
        try:
            profiles = await asyncio.to_thread(c.index.count)
            if len(await c.segments.repo.population_ids()) < profiles:  # built before the benchmark wrote state
                t = time.perf_counter()
                for page in c.index.scroll(batch=5000, fields=STATE_FIELDS):
                    await write_state(c.database.pool, [h.payload for h in page])
                print(f"state rows written from the index payloads in {time.perf_counter() - t:.0f} s")
            for attempt in (1, 2):
                t = time.perf_counter()
                res = await c.segments.discover(DiscoverRequest())
                print(f"discovery through the service, run {attempt}: {profiles:,} profiles in "
                      f"{time.perf_counter() - t:.1f} s, k={res.k}, {res.kept_ids} segments kept from the previous run, peak RSS {peak_rss_mb():.0f} MB")
            # what the web page asks of segments at this size (each the median of 3 calls; the map uncached)
            biggest = res.segments[0].segment_id
            calls = {"list of segments with sizes": lambda: c.segments.current(),
                     "a segment's first 100 members, with the total": lambda: c.segments.members(biggest, 100),
                     "page 1,000 of its members": lambda: c.segments.members(biggest, 100, 100_000),
                     "the 2-D map (3,000 sampled profiles)": lambda: (c.segments.invalidate(), c.segments.map())[1]}
            for name, call in calls.items():
                times = []
                for _ in range(3):
                    t = time.perf_counter()
                    await call()
                    times.append(time.perf_counter() - t)
                print(f"{name}: {sorted(times)[1] * 1000:.0f} ms")
        finally:
            await c.aclose()

    asyncio.run(run())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profiles", type=int, default=100_000)
    ap.add_argument("--data-dir", type=Path, default=None, help="time discovery through the service on this data")
    args = ap.parse_args()
    if args.data_dir is not None:
        through_service(args.data_dir)
        return
    t = time.perf_counter()
    V, records, truth = make(args.profiles)
    gen = time.perf_counter() - t
    rss_data = peak_rss_mb()
    t = time.perf_counter()
    found = discover(V, records, None, random_state=0)
    secs = time.perf_counter() - t
    km = found.clusterer
    print(f"segment discovery: {args.profiles:,} profiles x 384-d (data made in {gen:.1f}s, RSS {rss_data:.0f} MB)")
    print(f"  discover: {secs:.1f} s wall, peak RSS {peak_rss_mb():.0f} MB")
    print(f"  chosen k={km.n_clusters_} (8 generating groups), stability ARI {km.stability_:.3f}, "
          f"ARI vs truth {adjusted_rand_score(truth, found.labels):.3f}")
    print("  selection: " + ", ".join(f"k={s['k']} sil={s['silhouette']:.3f} stab={s['stability']:.2f}"
                                      for s in km.selection_))


if __name__ == "__main__":
    main()
