"""Helpers shared by the benchmarks: a loopback emulator process, peak memory, free ports."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def stand_in_encode(dim: int, accelerator_ms: float = 0.0) -> Any:
    """An encoder's `encode` replaced by fixed unit vectors returned at once, so a benchmark measures the pipeline
    around the model; `accelerator_ms`: after sleeping that long a document, as a GPU kernel leaves the CPU and
    the GIL free."""
    import numpy as np

    fixed = np.random.default_rng(0).standard_normal((4096, dim)).astype(np.float32)
    fixed /= np.linalg.norm(fixed, axis=1, keepdims=True)

    def encode(texts: list[str], batch_size: int | None = None) -> Any:
        if accelerator_ms:
            time.sleep(len(texts) * accelerator_ms / 1000)
        return fixed[np.arange(len(texts)) % len(fixed)]

    return encode


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


EMULATOR_PIDS: dict[str, int] = {}  # url -> the emulator's process, for benchmarks that count its CPU apart


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def emulator(profiles: int, events: int, version: str = "1.x") -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "emulator_server.py"), "--profiles", str(profiles),
                             "--events", str(events), "--port", str(port), "--version", version],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # "ready": seeded
        import httpx

        for _ in range(200):
            try:
                httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        EMULATOR_PIDS[f"http://127.0.0.1:{port}"] = proc.pid
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


async def write_state(pool: Any, payloads: list[dict[str, Any]]) -> None:
    """The rows a sync writes for indexed profiles (indexed_profiles, profile_features), here taken from index
    payloads: for benchmarks that build an index directly from vectors (segments read their population from
    these tables). Idempotent."""
    if not payloads:
        return

    def ts(v: Any) -> Any:
        return datetime.fromisoformat(v) if v else None

    rows = [(p["profile_id"], p.get("content_hash") or "", int(p.get("event_count") or 0),
             json.dumps(p.get("counts") or {}), ts(p.get("first_seen")), ts(p.get("last_seen")),
             int(p.get("active_days") or 0), float(p.get("spend_total") or 0.0), int(p.get("purchases") or 0),
             p.get("rating_mean"), json.dumps(p.get("top") or {}),
             json.dumps({"traits": p.get("traits") or {}, "data": p.get("data") or {},
                         **({"objected": True} if p.get("objected") else {})}))
            for p in payloads]
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("CREATE TEMP TABLE _state (profile_id text, content_hash text, event_count int, "
                           "counts text, first_seen timestamptz, last_seen timestamptz, active_days int, "
                           "monetary float8, purchases int, rating_mean float8, top text, attributes text) "
                           "ON COMMIT DROP")
        await conn.copy_records_to_table("_state", records=rows)
        await conn.execute("INSERT INTO profile_ai.indexed_profiles(profile_id, content_hash) SELECT profile_id, "
                           "content_hash FROM _state ON CONFLICT (profile_id) DO NOTHING")
        await conn.execute("INSERT INTO profile_ai.profile_features(profile_id, event_count, counts, first_seen, "
                           "last_seen, active_days, monetary, purchases, rating_mean, top, attributes) SELECT "
                           "profile_id, event_count, counts::jsonb, first_seen, last_seen, active_days, monetary, "
                           "purchases, rating_mean, top::jsonb, attributes::jsonb FROM _state "
                           "ON CONFLICT (profile_id) DO NOTHING")
