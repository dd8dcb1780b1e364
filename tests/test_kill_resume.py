"""A sync killed with SIGKILL at random points and restarted ends in the same state as a clean run: same
profiles and content hashes, same event log and aggregates, same points in the index. Slow (a process per
run): `pytest -m slow tests/test_kill_resume.py`."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.tracardi_emulator.generate import make_profiles

EXE = str(Path(sys.executable).parent / "profile-ai")


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("kill-export")
    profiles, events = make_profiles(400, seed=9, events_per_profile=6)
    (d / "profiles.ndjson").write_text("".join(json.dumps(p) + "\n" for p in profiles))
    (d / "events.ndjson").write_text("".join(json.dumps(e) + "\n" for e in events))
    return d


def sync(export: Path, data: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([EXE, "sync", "--source", str(export), "--data-dir", str(data), "--json"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1", "PROFILE_AI_SYNC__BATCH_SIZE": "32"})


def state(data: Path) -> dict[str, Any]:
    from app.config import Settings
    from embeddings.edge_index import EdgeIndex

    async def read() -> dict[str, Any]:
        from app.store.database import Database

        db = await Database.connect(None, data)
        try:
            q = db.pool.fetch
            return {
                "indexed": sorted((r["profile_id"], r["content_hash"]) for r in
                                  await q("SELECT profile_id, content_hash FROM profile_ai.indexed_profiles")),
                "events": sorted(tuple(r) for r in await q(
                    "SELECT profile_id, event_id, type, time, value FROM profile_ai.events")),
                "features": sorted(tuple(r) for r in await q(
                    "SELECT profile_id, event_count, counts::text, monetary, purchases, top::text "
                    "FROM profile_ai.profile_features")),
            }
        finally:
            await db.close()

    out = asyncio.run(read())
    index = EdgeIndex(Path(data) / "index" / Settings().qdrant.collection, 384)
    try:
        out["points"] = sorted(h.payload["profile_id"] for b in index.scroll(fields=["profile_id"]) for h in b)
    finally:
        index.close()
    return out


@pytest.fixture(scope="module")
def clean(export: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], float]:
    data = tmp_path_factory.mktemp("clean")
    t = time.perf_counter()
    assert sync(export, data).wait(600) == 0
    return state(data), time.perf_counter() - t


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_sync_killed_at_a_random_point_resumes_to_the_clean_state(seed: int, export: Path, tmp_path: Path,
                                                                   clean: tuple[dict[str, Any], float]) -> None:
    expected, seconds = clean
    rnd = random.Random(seed)
    data = tmp_path / "data"
    kills = 0
    for _ in range(2):  # up to two kills per run, at random moments
        proc = sync(export, data)
        time.sleep(rnd.uniform(0.3, seconds))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            kills += 1
    assert sync(export, data).wait(600) == 0
    got = state(data)
    assert len(got["indexed"]) == 400 and kills >= 1
    assert got == expected
