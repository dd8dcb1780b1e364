"""Reading an export directory: streaming, bounded memory (bucketed join), merges, malformed lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.tracardi.export import ExportDirectory, ExportDirectoryError, ExportReport
from tests.tracardi_emulator.generate import make_profiles
from tests.tracardi_emulator.shapes import render_profile


def write(directory: Path, profiles: list, events: list, extra_lines: tuple[str, ...] = ()) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "profiles.ndjson").write_text("\n".join([json.dumps(p) for p in profiles] + list(extra_lines)) + "\n")
    (directory / "events.ndjson").write_text("\n".join(json.dumps(e) for e in events) + "\n")
    return directory


def test_bucketed_join_equals_in_memory_join(tmp_path: Path) -> None:
    profiles, events = make_profiles(300, seed=2, events_per_profile=7)
    d = write(tmp_path / "x", profiles, events)
    whole = {x.profile.id: [e.id for e in x.events] for x in ExportDirectory(d).iter_profiles_with_events()}
    # a tiny bucket size forces the on-disk partitioning used for large exports
    small = ExportDirectory(d, bucket_bytes=20_000)
    report = ExportReport()
    bucketed = {x.profile.id: [e.id for e in x.events] for x in small.iter_profiles_with_events(report)}
    assert whole == bucketed
    assert len(bucketed) == 300 and report.events == 2100 and report.orphan_events == 0


@pytest.mark.parametrize("bucket_bytes", [32 * 1024 * 1024, 20_000])
def test_a_partition_reads_only_its_profiles_with_the_same_histories(tmp_path: Path, bucket_bytes: int) -> None:
    """A backfill partition's read (`keep`) yields exactly its share of the full read, histories unchanged
    (merged histories included), and builds nothing of the other partitions' records."""
    from app.sync.service import partition_of

    profiles, events = make_profiles(120, seed=5, events_per_profile=5)
    profiles[1] = {**profiles[1], "ids": [profiles[1]["id"], profiles[2]["id"]]}  # 2 merged into 1
    d = write(tmp_path / "p", profiles, events)
    full = {x.profile.id: [e.id for e in x.events]
            for x in ExportDirectory(d, bucket_bytes=bucket_bytes).iter_profiles_with_events()}
    union: dict[str, list[str]] = {}
    built = 0
    for k in range(3):
        report = ExportReport()
        def in_partition(pid: str, k: int = k) -> bool:
            return partition_of(pid, 3) == k
        part = list(ExportDirectory(d, bucket_bytes=bucket_bytes).iter_profiles_with_events(report, keep=in_partition))
        assert all(partition_of(x.profile.id, 3) == k for x in part)
        union.update({x.profile.id: [e.id for e in x.events] for x in part})
        built += report.events
    assert union == full and built == sum(len(v) for v in full.values())


def test_any_version_shapes_and_merges(tmp_path: Path) -> None:
    profiles, events = make_profiles(4, seed=3, events_per_profile=2)
    a, b, c, d = profiles
    old = render_profile({**b, "active": False, "metadata": {**b["metadata"], "merged_with": a["id"]}}, "0.7")
    a2 = {**a, "ids": [a["id"], c["id"]]}  # 0.8+: c was merged into a (c's events still name c here)
    shaped = [render_profile(a2, "0.9"), old, render_profile(d, "0.8.1")]
    report = ExportReport()
    items = list(ExportDirectory(write(tmp_path / "m", shaped, events)).iter_profiles_with_events(report))
    by_id = {x.profile.id: x for x in items}
    assert {e.profile_id for e in by_id[a["id"]].events} == {a["id"]}
    assert len(by_id[a["id"]].events) == 6  # its own + b's (0.7 merged_with) + c's (ids)
    assert by_id[b["id"]].profile.active is False
    assert len(by_id[d["id"]].events) == 2


def test_malformed_lines_are_located_and_skipped(tmp_path: Path) -> None:
    profiles, events = make_profiles(3, seed=4, events_per_profile=1)
    d = write(tmp_path / "bad", profiles, events + [{"id": "e-bad", "type": "x", "profile": {"id": profiles[0]["id"]},
                                                      "metadata": {"time": {"insert": "not a time"}}}],
              extra_lines=("{broken json", json.dumps({"no": "id"})))
    report = ExportReport()
    items = list(ExportDirectory(d).iter_profiles_with_events(report))
    assert len(items) == 3
    joined = "\n".join(report.errors)
    assert "profiles.ndjson:4" in joined and "profiles.ndjson:5" in joined and "events.ndjson:4" in joined
    assert len(report.errors) == 3


def test_not_an_export_directory(tmp_path: Path) -> None:
    with pytest.raises(ExportDirectoryError, match="profiles.ndjson"):
        ExportDirectory(tmp_path)


def test_stats_counts_records(tmp_path: Path) -> None:
    profiles, events = make_profiles(10, seed=5, events_per_profile=3)
    assert ExportDirectory(write(tmp_path / "s", profiles, events)).stats() == {"profiles": 10, "events": 30}


def _nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"n": [value]} if depth % 2 else {"n": value}
    return value


def test_records_nesting_too_deep_are_refused_the_rest_is_read(tmp_path: Path) -> None:
    """Deep nesting is refused whether or not the bracket count lets the reader skip the walk (a record can only
    nest past MAX_DEPTH with more brackets than that; `shallow_text` skips only those that cannot)."""
    profiles, events = make_profiles(6, seed=9, events_per_profile=3)
    events[0] = {**events[0], "properties": _nested(40)}
    profiles[1] = {**profiles[1], "traits": _nested(40)}
    report = ExportReport()
    read = {x.profile.id: len(x.events) for x in ExportDirectory(write(tmp_path / "deep", profiles, events))
            .iter_profiles_with_events(report)}
    assert profiles[1]["id"] not in read and len(read) == 5
    assert sum(read.values()) == sum(1 for e in events[1:] if e["profile"]["id"] != profiles[1]["id"])
    assert sum("nests deeper" in str(e) for e in report.errors) == 2


def test_a_shallow_text_never_hides_deep_nesting() -> None:
    import orjson
    from hypothesis import given
    from hypothesis import strategies as st

    from app.tracardi.schemas import shallow_text
    from profiles.paths import nesting_exceeds

    json_values = st.recursive(st.none() | st.integers(-(2**53), 2**53) | st.text(alphabet="{[]}a\"\\", max_size=6),
                               lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                                           max_size=3), max_leaves=60)

    @given(json_values)
    def check(value: object) -> None:
        if shallow_text(orjson.dumps(value)):
            assert not nesting_exceeds(value)

    check()
    assert not shallow_text(orjson.dumps(_nested(40))) and shallow_text(orjson.dumps(_nested(5)))
