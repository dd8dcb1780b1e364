"""Segments end to end on real parts: MovieLens profiles synced with the real model into Qdrant Edge and a
real PostgreSQL; discovery, stable ids, assignment of new profiles, description and lookalike segments,
publishing through the write-back queue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.errors import InvalidRequestError, NotFoundError
from app.segments.schemas import DescriptionSegmentRequest, DiscoverRequest, LookalikeRequest
from app.segments.service import ASSIGN_CHUNK, DISCOVERY_SAMPLE
from tests.conftest import LoopRunner, create_database


def subset(export: Path, n: int, out: Path) -> Path:
    """The first n profiles of an export directory and their events."""
    out.mkdir(parents=True, exist_ok=True)
    lines = (export / "profiles.ndjson").read_text().splitlines()[:n]
    ids = {json.loads(ln)["id"] for ln in lines}
    (out / "profiles.ndjson").write_text("\n".join(lines) + "\n")
    with (export / "events.ndjson").open() as src, (out / "events.ndjson").open("w") as dst:
        for ln in src:
            if json.loads(ln)["profile"]["id"] in ids:
                dst.write(ln)
    return out


@pytest.fixture(scope="module")
def seg(encoder, movielens_export: Path, tmp_path_factory: pytest.TempPathFactory,  # type: ignore[no-untyped-def]
        pg_server: str) -> Iterator[Any]:
    """A container over the first 160 MovieLens users (its own index and database: tests here may write)."""
    from app.config import DatabaseSettings, Settings
    from app.container import Container

    root = tmp_path_factory.mktemp("segments")
    runner = LoopRunner()
    settings = Settings(data_dir=root / "data", database=DatabaseSettings(url=create_database(pg_server)))
    c = runner.run(Container.create(settings, encoder=encoder))
    c.run = runner.run
    c.exports = {n: subset(movielens_export, n, root / f"export-{n}") for n in (160, 190)}
    assert runner.run(c.sync.run(c.source(str(c.exports[160])))).embedded == 160
    yield c
    runner.run(c.aclose())
    runner.close()


def test_discover_names_explains_and_stores_segments(seg: Any) -> None:
    res = seg.run(seg.segments.discover(DiscoverRequest(k_min=3, k_max=5, random_state=0)))
    assert 3 <= res.k <= 5 and len(res.segments) == res.k
    assert sum(s.size for s in res.segments) == 160
    assert len({s.name for s in res.segments}) == res.k
    for s in res.segments:
        assert s.status == "draft" and s.kind == "discovered"
        assert s.description.startswith(f"{s.size:,} profiles")
        assert s.exemplars and len(s.exemplars) <= 5
        assert 0 <= s.rules["sql"]["precision"] <= 1 and s.rules["sql"]["sql"]
        assert s.stability is not None
    # the SQL rule runs on the real tables and its measured precision matches what PostgreSQL selects
    best = max(res.segments, key=lambda s: s.rules["sql"]["precision"] * s.rules["sql"]["recall"])
    members = {m.profile_id for m in seg.run(seg.segments.members(best.segment_id, limit=1000)).members}
    rows = seg.run(seg.database.pool.fetch(
        f"SELECT profile_id FROM profile_ai.profile_features f WHERE {best.rules['sql']['sql']}"))
    selected = {r["profile_id"] for r in rows}
    assert selected, best.rules["sql"]["sql"]
    assert len(selected & members) / len(selected) == pytest.approx(best.rules["sql"]["precision"], abs=0.02)
    assert len(selected & members) / len(members) == pytest.approx(best.rules["sql"]["recall"], abs=0.02)


def test_rerun_keeps_ids_and_names_and_versions(seg: Any) -> None:
    first = seg.run(seg.segments.current())
    again = seg.run(seg.segments.discover(DiscoverRequest(k_min=3, k_max=5, random_state=0)))
    assert again.kept_ids == len(first)
    assert {s.segment_id for s in again.segments} == {s.segment_id for s in first}
    assert {s.name for s in again.segments} == {s.name for s in first}
    assert all(s.version == again.run_version > first[0].version for s in again.segments)
    # the old version and its members are kept
    n = seg.run(seg.database.pool.fetchval("SELECT count(DISTINCT version) FROM profile_ai.segment_definitions"))
    assert n >= 2


def test_publish_is_idempotent_and_feeds_the_traits_view(seg: Any) -> None:
    s = seg.run(seg.segments.current())[0]
    pub = seg.run(seg.segments.publish(s.segment_id))
    assert pub.members == s.size and pub.queued == s.size
    assert seg.run(seg.segments.publish(s.segment_id)).queued == 0  # nothing changed: nothing re-queued
    some = seg.run(seg.segments.members(s.segment_id, limit=3)).members
    traits = seg.run(seg.predictions_repo.current_traits([m.profile_id for m in some]))
    assert all(s.segment_id in t["segments"] for t in traits.values())
    queued = seg.run(seg.database.pool.fetch(
        "SELECT payload FROM profile_ai.writeback_queue WHERE status = 'pending' LIMIT 5"))
    assert all(s.segment_id in r["payload"]["segments"] for r in queued)
    assert seg.run(seg.segments.show(s.segment_id)).status == "published"


def test_new_profiles_are_assigned_without_reclustering(seg: Any) -> None:
    runs = seg.run(seg.database.pool.fetchval("SELECT count(*) FROM profile_ai.segmentations"))
    result = seg.run(seg.sync.run(seg.source(str(seg.exports[190]))))
    assert result.embedded == 30
    report = seg.run(seg.usecases.after_sync())
    assert report["assigned"] == 30
    assert seg.run(seg.database.pool.fetchval("SELECT count(*) FROM profile_ai.segmentations")) == runs
    total = sum(s.size for s in seg.run(seg.segments.current()) if s.kind == "discovered")
    assert total == 190
    assert seg.run(seg.usecases.after_sync())["assigned"] == 0  # idempotent


def test_description_segment_refreshes_and_lookalikes_rank_non_members(seg: Any) -> None:
    req = DescriptionSegmentRequest(name="Sci-fi fans", description="science fiction and space adventure fans",
                                    threshold=0.3)
    s = seg.run(seg.segments.create_description(req))
    assert s.kind == "description" and s.size > 0
    before = s.size
    seg.run(seg.database.pool.execute(
        "DELETE FROM profile_ai.segment_memberships WHERE segment_id = $1", s.segment_id))
    assert seg.run(seg.segments.show(s.segment_id)).size == 0
    assert seg.run(seg.usecases.after_sync())["description_segments"] == 1
    assert seg.run(seg.segments.show(s.segment_id)).size == before
    # a higher bar selects a subset
    tight = seg.run(seg.segments.create_description(req.model_copy(update={"threshold": 0.45})))
    assert tight.segment_id == s.segment_id and tight.size < before

    look = seg.run(seg.segments.create_lookalike(LookalikeRequest(seed_segment_id=s.segment_id, size=10)))
    assert look.kind == "lookalike" and look.size == 10
    seeds = {m.profile_id for m in seg.run(seg.segments.members(s.segment_id, limit=1000)).members}
    found = seg.run(seg.segments.members(look.segment_id, limit=100)).members
    assert not seeds & {m.profile_id for m in found}
    scores = [m.score for m in found]
    assert scores == sorted(scores, reverse=True)
    assert look.definition["min_percentile"] > 90
    # found through the index (not by reading every vector): the same as ranking every vector in memory
    every = [h for b in seg.index.scroll(with_vector=True, fields=["profile_id"]) for h in b]
    centre = np.mean([h.vector for h in every if h.payload["profile_id"] in seeds], axis=0)
    centre /= np.linalg.norm(centre)
    true = {h.payload["profile_id"]: float(np.dot(h.vector, centre)) for h in every
            if h.payload["profile_id"] not in seeds}
    exact = sorted(((sim, pid) for pid, sim in true.items()), reverse=True)[:10]
    # each place holds a profile whose true similarity is that place's (two within float error may swap)
    assert np.allclose([true[m.profile_id] for m in found], [sim for sim, _ in exact], atol=1e-5)
    assert np.allclose(scores, [sim for sim, _ in exact], atol=1e-4)
    share_below = np.mean([sim < exact[-1][0] - 1e-6 for sim in true.values()])
    assert abs(look.definition["min_percentile"] - 100 * share_below) < 0.5  # every non-member is in the sample


def test_a_description_is_read_as_count_reads_a_question(seg: Any) -> None:
    """(After the test above, which counts the description segments.) Without a threshold, a description segment
    holds whom `count` counts for the same words (one reading,
    calibrated for the model: a raw cosine bar of 0.45 had held nobody with MiniLM and everybody with e5), and the
    traits it names are filters."""
    words = "science fiction and space adventure fans"
    s = seg.run(seg.segments.create_description(DescriptionSegmentRequest(name="sf by meaning", description=words)))
    counted = seg.run(seg.insights.count(query=words))
    assert s.definition["threshold"] is None and 0 < s.size == counted["count"] < seg.search.customers()
    older = seg.run(seg.segments.create_description(DescriptionSegmentRequest(
        name="sf over 30", description=words + " older than 30")))
    ages = {h.payload["profile_id"]: h.payload["traits"]["age"] for b in seg.index.scroll(fields=["profile_id", "traits"])
            for h in b}
    members = seg.run(seg.segments.members(older.segment_id, limit=1000)).members
    assert members and all(ages[m.profile_id] > 30 for m in members)
    preview = seg.run(seg.segments.preview_description(DescriptionSegmentRequest(name="x", description=words)))
    assert preview["size"] == s.size and preview["sample"][0]["summary"]


def test_bad_requests_are_clear(seg: Any) -> None:
    with pytest.raises(NotFoundError):
        seg.run(seg.segments.show("seg-nope"))
    with pytest.raises(InvalidRequestError, match="k_min"):
        seg.run(seg.segments.discover(DiscoverRequest(k_min=6, k_max=4)))
    with pytest.raises(InvalidRequestError):
        seg.run(seg.segments.create_description(DescriptionSegmentRequest(
            name="x", description="anyone", filters=["no-operator-here"])))


def test_discovery_past_its_sample_fits_a_sample_and_assigns_everyone_in_chunks(seg: Any) -> None:
    """The bounded path (fit on a sample, assign in chunks) on small data: chunked assignment gives exactly the
    fitted labels, and a sampled discovery still puts every profile in one segment."""
    ids = seg.run(seg.segments.repo.population_ids())
    full = seg.run(seg.segments.discover(DiscoverRequest(k_min=3, k_max=4, random_state=1)))
    assert full.profiles == full.fitted_on == len(ids)
    model_dict = seg.run(seg.segments.repo.latest_segmentation())["model"]
    from segmentation import SegmentModel

    seg.segments.assign_chunk = 7  # many small chunks
    model = SegmentModel.from_dict(model_dict)
    got_ids, space = seg.run(seg.segments._project_all(model.spec, model.blender, ids))
    labels, _ = model.nearest(space)
    by_label = {s.definition["label"]: s.segment_id for s in full.segments}
    stored = {}
    for s in full.segments:
        for m in seg.run(seg.segments.members(s.segment_id, limit=1000)).members:
            stored[m.profile_id] = s.segment_id
    assert {pid: by_label[int(lab)] for pid, lab in zip(got_ids, labels, strict=True)} == stored

    seg.segments.discovery_sample = 60
    try:
        part = seg.run(seg.segments.discover(DiscoverRequest(k_min=3, k_max=4, random_state=1)))
    finally:
        seg.segments.discovery_sample, seg.segments.assign_chunk = DISCOVERY_SAMPLE, ASSIGN_CHUNK
    assert part.fitted_on == 60 and part.profiles == len(ids)
    members = [m.profile_id for s in part.segments
               for m in seg.run(seg.segments.members(s.segment_id, limit=1000)).members]
    assert sorted(members) == sorted(ids)  # everyone, once
    assert sum(s.size for s in part.segments) == len(ids)
    assert abs(sum(s.share or 0 for s in part.segments) - 1.0) < 1e-3  # shares of everyone, not of the sample


def test_the_map_labels_each_sampled_profile_with_its_segment(seg: Any) -> None:
    res = seg.run(seg.segments.discover(DiscoverRequest(k_min=3, k_max=4, random_state=2)))
    stored = {m.profile_id: s.segment_id for s in res.segments
              for m in seg.run(seg.segments.members(s.segment_id, limit=1000)).members}
    answer = seg.run(seg.segments.map(sample=40, random_state=3))
    assert len(answer["points"]) == 40 and {s["segment_id"] for s in answer["segments"]} == set(stored.values())
    assert all(p["segment_id"] == stored[p["profile_id"]] for p in answer["points"])


def test_refresh_keeps_the_members_of_two_versions_of_each_discovered_segment(seg: Any) -> None:
    """Each discovery writes everyone again under a new version: without pruning, a million profiles add a
    million rows a run, for good. The refresh keeps the current and the previous version (leavers)."""
    for _ in range(2):
        seg.run(seg.segments.discover(DiscoverRequest(k_min=3, k_max=5, random_state=0)))
    count = ("SELECT m.segment_id, count(DISTINCT m.version) FROM profile_ai.segment_memberships m JOIN "
             "profile_ai.segment_definitions d USING (segment_id, version) WHERE d.kind = 'discovered' GROUP BY 1")
    assert max(n for _, n in seg.run(seg.database.pool.fetch(count))) >= 3
    current = {s.segment_id: s for s in seg.run(seg.segments.current()) if s.kind == "discovered"}
    before = {sid: seg.run(seg.segments.members(sid, limit=1000)).members for sid in current}
    pruned = seg.run(seg.segments.refresh())["pruned_memberships"]
    assert pruned > 0
    assert max(n for _, n in seg.run(seg.database.pool.fetch(count))) == 2
    assert {sid: seg.run(seg.segments.members(sid, limit=1000)).members for sid in current} == before
    assert seg.run(seg.segments.refresh())["pruned_memberships"] == 0  # idempotent
