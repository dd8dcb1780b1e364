"""The population segments are made of, read from PostgreSQL (profile_features) at any size: the records the
library clusters, and the behaviour columns that assignment at scale has PostgreSQL compute. The chunked SQL
path must measure every profile exactly as the in-memory path over the same records does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from segmentation import SegmentModel, discover
from segmentation.behaviour import BehaviourSpec

ODD = "it's {a,b}"  # a trait key with a quote, a brace and a comma: data, never SQL


def features(i: int) -> tuple[Any, ...]:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    traits: dict[str, Any] = {"age": 20 + i % 40, ODD: float(i % 7), "plan": "pro" if i % 3 else "free"}
    if i % 5 == 0:
        traits["age"] = "unknown"  # a string where others hold numbers: unknown, filled with the median
    if i % 11 == 0:
        traits[ODD] = True  # a boolean is not a number either
    attributes: dict[str, Any] = {"traits": traits, "data": {"devices": {"count": i % 4}}}
    if i == 7:
        attributes["objected"] = True  # art. 21: in no segment
    return (f"p{i:03d}", i * 3 + 1, {"page-view": i}, None if i % 9 == 0 else t0 + timedelta(days=i, hours=i),
            1 + i % 13, float(i * 2.5), i % 4, None if i % 6 == 0 else 1 + (i % 5) * 0.7,
            {"genres": ["Drama"] if i % 2 else ["Horror"]}, attributes)


async def test_records_and_sql_behaviour_match_the_in_memory_path(pg_url: str, tmp_path: Path) -> None:
    from app.segments.repository import SegmentRepository
    from app.store.database import Database

    rows = [features(i) for i in range(60)]
    db = await Database.connect(pg_url, tmp_path)
    try:
        await db.pool.executemany(
            "INSERT INTO profile_ai.profile_features(profile_id, event_count, counts, last_seen, active_days, "
            "monetary, purchases, rating_mean, top, attributes) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)", rows)
        # p059 has features but is not indexed (a sync that died between the two writes): not in the population
        await db.pool.executemany("INSERT INTO profile_ai.indexed_profiles(profile_id, content_hash) VALUES ($1, 'h')",
                                  [(r[0],) for r in rows[:59]])
        repo = SegmentRepository(db.pool)

        ids = await repo.population_ids()
        assert ids == sorted(r[0] for r in rows[:59] if r[0] != "p007")
        records = await repo.records([*ids, "p007", "p059", "nobody"])
        assert sorted(records) == ids  # the objector, the unindexed and the unknown are left out
        r1 = records["p001"]
        assert r1["spend_total"] == 2.5 and r1["traits"]["plan"] == "pro" and r1["counts"] == {"page-view": 1}
        assert r1["last_seen"] == "2024-01-02T01:00:00+00:00" and records["p009"]["last_seen"] is None

        ordered = [records[p] for p in ids]
        spec = BehaviourSpec.fit(ordered, ["traits.age", f"traits.{ODD}", "data.devices.count"])
        assert {"recency_days", "rating_mean", "traits.age", f"traits.{ODD}", "data.devices.count"} <= set(spec.keys)
        got, raw = await repo.behaviour(list(reversed(ids)), spec.raw_sql())
        in_sql = raw[[got.index(p) for p in ids]]
        in_memory = spec.raw(ordered)
        np.testing.assert_array_equal(np.isnan(in_sql), np.isnan(in_memory))  # unknown in the same places
        np.testing.assert_allclose(np.nan_to_num(in_sql), np.nan_to_num(in_memory), rtol=1e-9, atol=1e-6)
        got, raw = await repo.behaviour(["p003", "p007", "nobody", "p001"], [])  # a spec with no columns
        assert got == ["p003", "p001"] and raw.shape == (2, 0)
        got, raw = await repo.behaviour([], spec.raw_sql())
        assert got == [] and raw.shape == (0, len(spec.keys))

        # the map's and lookalikes' samples, drawn in SQL: exactly the sample drawn from every id
        from app.segments.repository import sample_positions

        for n, seed, exclude in ((10, 0, ()), (10, 3, ("p002", "p010", "nobody")), (57, 1, ()), (100, 0, ("p001",))):
            kept = [i for i in ids if i not in exclude]
            expected = kept if len(kept) <= n else [kept[j] for j in sample_positions(len(kept), n, seed)]
            assert await repo.population_sample(n, seed, exclude) == expected

        # and so the same segment for everyone, whichever path assignment takes
        rng = np.random.default_rng(0)
        vectors = rng.normal(size=(len(ids), 8)).astype(np.float32)
        found = discover(vectors, ordered, n_clusters=3, random_state=0)
        labels, dist = found.model.assign(vectors, ordered)
        stored = SegmentModel.from_dict(found.model.to_dict())  # as refresh and discovery read it back
        got, raw = await repo.behaviour(ids, stored.spec.raw_sql())
        labels_sql, dist_sql = stored.assign_raw(vectors, raw[[got.index(p) for p in ids]])
        np.testing.assert_array_equal(labels_sql, labels)
        np.testing.assert_array_equal(labels, found.labels)  # assignment agrees with the fit
        np.testing.assert_allclose(dist_sql, dist, rtol=1e-5, atol=1e-5)
    finally:
        await db.close()


def test_a_stored_anchor_is_reprinted_not_pasted() -> None:
    """The recency anchor comes back from a stored model: it reaches SQL only as a re-printed parsed time."""
    spec = BehaviourSpec(["recency_days"], [False], [1.0], "2024-01-01T00:00:00+00:00")
    assert "TIMESTAMPTZ '2024-01-01T00:00:00+00:00'" in spec.raw_sql()[0]
    spec.anchor = "2024-01-01'); DROP TABLE x; --"
    try:
        spec.raw_sql()
    except ValueError:
        pass
    else:
        raise AssertionError("a malformed anchor must be refused")
    assert "NULL" in BehaviourSpec(["recency_days"], [False], [1.0], None).raw_sql()[0]


async def test_overlaps_counted_in_sql_match_like_sets(pg_url: str, tmp_path: Path) -> None:
    """The staged discovery is matched to the previous segments from counts PostgreSQL takes; they must give
    what `match_segments` gives on the same sets, including a previous segment nobody is in any more and a
    profile held by two previous segments."""
    import numpy as np

    from app.segments.repository import SegmentRepository
    from app.store.database import Database
    from segmentation import match_overlaps, match_segments

    previous = {"seg-a": {f"p{i}" for i in range(0, 40)}, "seg-b": {f"p{i}" for i in range(35, 70)},
                "seg-gone": {"x1", "x2"}}
    new_ids = [f"p{i}" for i in range(10, 90)]
    labels = np.array([0 if i < 45 else 1 for i in range(10, 90)])
    db = await Database.connect(pg_url, tmp_path)
    try:
        for sid, members in previous.items():
            await db.pool.execute("INSERT INTO profile_ai.segment_definitions(segment_id, version, name, description, "
                                  "definition, kind) VALUES ($1, 1, $1, '', '{}', 'discovered')", sid)
            await db.pool.executemany("INSERT INTO profile_ai.segment_memberships(segment_id, version, profile_id) "
                                      "VALUES ($1, 1, $2)", [(sid, p) for p in members])
        repo = SegmentRepository(db.pool)
        async with repo.discovery_run() as writer:
            await writer.stage(new_ids, labels, np.zeros(len(new_ids)))
            overlap, new_shared, previous_shared = await writer.overlaps()
        got = match_overlaps(overlap, [new_shared.get(c, 0) for c in range(2)], previous_shared, min_jaccard=0.3)
        sets = [{p for p, lab in zip(new_ids, labels, strict=True) if lab == c} for c in range(2)]
        assert got == match_segments(previous, sets, min_jaccard=0.3)
        assert got[0][0] == "seg-a" and got[1][0] == "seg-b"
        assert previous_shared["seg-gone"] == 0 and new_shared == {0: 35, 1: 25}
    finally:
        await db.close()
