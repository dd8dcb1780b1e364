"""Partitioned backfill on the job engine (Procrastinate on the real PostgreSQL): the result is exactly that
of one plain sync, whether the partitions apply their batches themselves or stage them for the index's owner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.config import DatabaseSettings, JobSettings, Settings, SyncSettings
from app.container import Container
from app.jobs.backfill import dump_batch, load_batch
from app.jobs.runner import JobRunner
from app.sync.service import partition_of
from tests.tracardi_emulator.generate import make_profiles


def write_export(d: Path, n: int, seed: int) -> Path:
    profiles, events = make_profiles(n, seed=seed, events_per_profile=4)
    (d / "profiles.ndjson").write_text("".join(json.dumps(p) + "\n" for p in profiles))
    (d / "events.ndjson").write_text("".join(json.dumps(e) + "\n" for e in events))
    return d


async def snapshot(c: Container) -> dict[str, Any]:
    """Everything a sync writes: index rows and hashes, features, the event log, and the vectors."""
    q = c.database.pool.fetch
    ids = sorted(r["profile_id"] for r in await q("SELECT profile_id FROM profile_ai.indexed_profiles"))
    hits = {h.payload["profile_id"]: h for h in c.index.retrieve(ids, with_vector=True)}
    return {
        "indexed": sorted((r["profile_id"], r["content_hash"]) for r in
                          await q("SELECT profile_id, content_hash FROM profile_ai.indexed_profiles")),
        "features": sorted(tuple(r) for r in await q(
            "SELECT profile_id, event_count, counts::text, monetary, purchases, top::text, attributes::text "
            "FROM profile_ai.profile_features")),
        "events": sorted(tuple(r) for r in await q("SELECT profile_id, event_id, type, time, value "
                                                    "FROM profile_ai.events")),
        "payloads": {k: {f: v for f, v in h.payload.items() if f != "synced_at"} for k, h in hits.items()},
        "vectors": {k: np.asarray(h.vector) for k, h in hits.items()},
        # the statistics documents are rendered against ("distinctive" lines), frozen once from a full read
        "population": await c.state.get_meta(f"document_population:{c.sync.builder.layout_key}"),
    }


def same(a: dict[str, Any], b: dict[str, Any]) -> None:
    for key in ("population", "indexed", "features", "events", "payloads"):
        assert a[key] == b[key], key
    assert a["vectors"].keys() == b["vectors"].keys()
    for k in a["vectors"]:  # the same text (hash) encoded in another batch: padding noise only, same direction
        x, y = a["vectors"][k], b["vectors"][k]
        assert float(x @ y / np.linalg.norm(x) / np.linalg.norm(y)) > 0.9995, k


def test_partition_of_is_stable_and_spreads() -> None:
    ids = [f"p-{i}" for i in range(4000)]
    parts = [partition_of(i, 8) for i in ids]
    assert parts == [partition_of(i, 8) for i in ids]  # no per-process salt (unlike hash())
    assert partition_of("abc", 8) == 1  # pinned: workers of one run, on any machine or version, must agree
    counts = np.bincount(parts, minlength=8)
    assert counts.min() > 400 and counts.max() < 600
    assert {partition_of(i, 1) for i in ids} == {0}


def test_staged_batches_survive_the_round_trip_exactly(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from app.sync.service import PreparedBatch
    from app.sync.state import EventRow, IndexedRow, ProfileFeatures
    from embeddings.index import IndexPoint, SparseVector

    t = datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
    batch = PreparedBatch(
        [IndexPoint("a", np.array([0.1, -0.25, 1 / 3], dtype=np.float32), SparseVector([3, 9], [0.5, 1.25]),
                    {"profile_id": "a", "traits": {"plan": "pro"}})],
        ["gone"], {"old": "a"}, [IndexedRow("a", "h1", t, "fp", "export:x")],
        [ProfileFeatures("a", 2, {"buy": 2}, t, None, 1, 0, 2.0, 9.5, 2, None, {"x": 1}, {"traits": {}})],
        {"a": [EventRow("a", "e1", "buy", t, 9.5, {"sku": "x"})]})
    back = load_batch(dump_batch(batch))
    assert np.array_equal(back.points[0].dense, batch.points[0].dense)
    assert back.points[0].sparse == batch.points[0].sparse and back.points[0].payload == batch.points[0].payload
    assert (back.deletes, back.aliases, back.rows, back.features, back.events) == \
        (batch.deletes, batch.aliases, batch.rows, batch.features, batch.events)


async def plain_then_jobs(export: Path, root: Path, encoder: Any, new_database: Any) -> tuple[dict[str, Any], Container]:
    """What one plain sync of `export` writes (its own database), and a container over a fresh database for the
    same export to run the backfill in."""
    def settings(name: str, url: str) -> Settings:
        return Settings(data_dir=root / name, database=DatabaseSettings(url=url),
                        sync=SyncSettings(source=str(export), batch_size=16), jobs=JobSettings(worker_in_serve=False))

    plain = await Container.create(settings("plain", await new_database()), encoder=encoder)
    try:
        await plain.sync.run(plain.source())
        expected = await snapshot(plain)
    finally:
        await plain.aclose()
    return expected, await Container.create(settings("jobs", await new_database()), encoder=encoder)


@pytest.mark.parametrize("owns_index", [True, False])
async def test_backfill_in_partitions_equals_one_sync(owns_index: bool, encoder: Any, new_database: Any,
                                                      tmp_path: Path) -> None:
    # 240 profiles: one read freezes the documents' population statistics (MIN_POPULATION 100), one partition's
    # share of it would not, so partitions must render with what the run's start froze
    export = write_export(tmp_path, 240, seed=5)
    expected, c = await plain_then_jobs(export, tmp_path, encoder, new_database)
    runner = JobRunner(c, owns_index=owns_index)
    owner = JobRunner(c, owns_index=True)  # applies what a non-owner staged (the same process here)
    try:
        job_id = await runner.queue.defer("backfill", {"partitions": 4})
        assert job_id is not None
        await runner.queue.work(["index", "encode", "default"] if owns_index else ["index"], wait=False)
        if not owns_index:  # the start ran on the owner's queue; partitions are encoded by a non-owner
            await runner.queue.work(["encode"], wait=False)
            await owner.queue.work(["index"], wait=False)
        run = (await runner.backfills.runs(1))[0]
        assert run["status"] == "done" and run["partitions_done"] == 4, run
        assert run["result"]["seen"] == 240 and run["result"]["embedded"] == 240
        staged = await c.database.pool.fetchval("SELECT count(*) FROM profile_ai.backfill_staged")
        assert staged == 0
        assert await c.state.watermark(c.source().key) is not None
        assert expected["population"] is not None
        same(await snapshot(c), expected)
        # a second backfill finds everything unchanged and writes nothing new
        await runner.queue.defer("backfill", {"partitions": 3})
        await runner.queue.work(["index", "encode", "default"], wait=False)
        again = (await runner.backfills.runs(1))[0]
        assert again["status"] == "done" and again["result"]["embedded"] == 0 and again["result"]["deleted"] == 0
        runs = await runner.queue.runs()
        assert {r["job"] for r in runs} >= {"backfill", "backfill-partition", "backfill-finish"}
        assert all(r["status"] == "succeeded" for r in runs)
    finally:
        await runner.queue.close()
        await owner.queue.close()
        await c.aclose()


async def test_a_backfill_from_tracardi_ends_like_one_sync(encoder: Any, new_database: Any, tmp_path: Path) -> None:
    """The start reads the head of a real client read (paged /profile/select, events per profile) to freeze the
    documents' statistics, then closes that read half way; partitions render with what it froze."""
    import httpx

    from app.config import ServerSettings, TracardiSettings
    from tests.tracardi_emulator.app import TracardiEmulator

    emu = TracardiEmulator("0.9")
    profiles, events = make_profiles(150, seed=8, events_per_profile=4)
    emu.seed(profiles, events)
    t = TracardiSettings(url="http://tracardi", username="admin@profile.ai", password="admin")
    transport = httpx.ASGITransport(emu.app)

    async def state(partitions: int) -> dict[str, Any]:
        settings = Settings(data_dir=tmp_path / f"p{partitions}", tracardi=t, server=ServerSettings(auth=False),
                            database=DatabaseSettings(url=await new_database()), jobs=JobSettings(worker_in_serve=False))
        c = await Container.create(settings, encoder=encoder)
        c.tracardi_transport = transport
        runner = JobRunner(c, owns_index=True)
        try:
            if partitions:
                await runner.queue.defer("backfill", {"partitions": partitions})
                await runner.queue.work(["index", "encode", "default"], wait=False)
                assert (await runner.backfills.runs(1))[0]["status"] == "done"
            else:
                await c.sync.run(c.source(t.url, transport=transport))
            return await snapshot(c)
        finally:
            await runner.queue.close()
            await c.aclose()

    expected = await state(0)
    assert expected["population"] is not None
    same(await state(3), expected)


async def test_the_owner_applies_a_done_partition_while_the_others_still_encode(encoder: Any, new_database: Any,
                                                                                 tmp_path: Path) -> None:
    """A partition that stages its batches queues `backfill-apply`: the owner applies the batches of the done
    partitions at once (before: all of them at the finish, after the last partition), the finish applies the
    rest, and the end is that of one plain sync."""
    export = write_export(tmp_path, 240, seed=7)
    expected, c = await plain_then_jobs(export, tmp_path, encoder, new_database)
    encoder_side, owner = JobRunner(c, owns_index=False), JobRunner(c, owns_index=True)
    try:
        await owner.queue.defer("backfill", {"partitions": 3})
        await owner.queue.work(["index"], wait=False)  # the start: three partition jobs queued
        run_id = (await owner.backfills.runs(1))[0]["run_id"]
        first = await encoder_side.partition({"run_id": run_id, "partition": 0})  # one partition, staged
        assert first["staged_batches"] > 0
        staged = "SELECT count(*) FROM profile_ai.backfill_staged WHERE partition = $1"
        assert await c.database.pool.fetchval(staged, 0) == first["staged_batches"]
        applied = await owner.apply_ready({"run_id": run_id})
        assert applied["applied_batches"] == first["staged_batches"]
        assert await c.database.pool.fetchval(staged, 0) == 0
        indexed = {r["profile_id"] for r in await c.database.pool.fetch(
            "SELECT profile_id FROM profile_ai.indexed_profiles")}
        assert len(indexed) == first["seen"] and all(partition_of(p, 3) == 0 for p in indexed)
        assert await c.state.watermark(c.source().key) is None  # only the finish moves it
        await encoder_side.queue.work(["encode"], wait=False)  # the other two
        await owner.queue.work(["index"], wait=False)  # their apply jobs and the finish
        run = (await owner.backfills.runs(1))[0]
        assert run["status"] == "done" and run["result"]["seen"] == 240
        same(await snapshot(c), expected)
    finally:
        await encoder_side.queue.close()
        await owner.queue.close()
        await c.aclose()
