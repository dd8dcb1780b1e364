"""The sync pipeline with real parts: real model, real Qdrant Edge, emulator over HTTP semantics."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.store.database import Database
from app.sync.repository import PostgresSyncState
from app.sync.service import SyncService
from app.sync.sources import ExportSource, Known, Only, TracardiSource
from app.tracardi.client import TracardiClient
from embeddings.documents import DocumentBuilder
from embeddings.edge_index import EdgeIndex
from embeddings.sparse import Bm25Encoder
from profiles.model import ProfileWithEvents
from tests.tracardi_emulator.app import TracardiEmulator
from tests.tracardi_emulator.generate import make_profiles


async def make_service(encoder, root: Path, db_url: str, batch_size: int = 16,  # type: ignore[no-untyped-def]
                       population_sample: int = 2000) -> SyncService:
    db = await Database.connect(db_url, root)
    _open.append(db)
    return SyncService(DocumentBuilder(), encoder, Bm25Encoder(), EdgeIndex(root / "index", encoder.dim),
                       PostgresSyncState(db.pool), batch_size=batch_size, population_sample=population_sample)


_open: list[Database] = []


@pytest.fixture(autouse=True)
async def _close_pools():  # type: ignore[no-untyped-def]
    yield
    while _open:
        await _open.pop().close()


def index_state(svc: SyncService) -> dict[str, str]:
    """profile id -> content hash, read from the index itself (not the state)."""
    return {h.payload["profile_id"]: h.payload["content_hash"]
            for page in svc.index.scroll(fields=["profile_id", "content_hash"]) for h in page}


def write_export(d: Path, profiles: list, events: list) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "profiles.ndjson").write_text("".join(json.dumps(p) + "\n" for p in profiles))
    (d / "events.ndjson").write_text("".join(json.dumps(e) + "\n" for e in events))
    return d


async def test_export_sync_is_idempotent_and_skips_unchanged(encoder, tmp_path: Path, pg_url: str) -> None:
    profiles, events = make_profiles(40, seed=11, events_per_profile=6)
    export = write_export(tmp_path / "exp", profiles, events)
    svc = await make_service(encoder, tmp_path, pg_url)
    first = await svc.run(ExportSource(export))
    assert (first.seen, first.embedded, first.unchanged) == (40, 40, 0)
    assert svc.index.count() == 40
    again = await svc.run(ExportSource(export))
    assert (again.embedded, again.unchanged) == (0, 40)
    profiles[3]["traits"]["plan"] = "enterprise-plus"
    write_export(export, profiles, events)
    third = await svc.run(ExportSource(export))
    assert third.embedded == 1
    payload = svc.index.retrieve([profiles[3]["id"]])[0].payload
    assert payload["traits"]["plan"] == "enterprise-plus"
    # deleted from the snapshot -> removed from the index
    write_export(export, profiles[:-2], [e for e in events if e["profile"]["id"] not in {p["id"] for p in profiles[-2:]}])
    fourth = await svc.run(ExportSource(export))
    assert fourth.deleted == 2 and svc.index.count() == 38


async def test_no_pii_in_any_payload(encoder, tmp_path: Path, pg_url: str) -> None:
    profiles, events = make_profiles(20, seed=12, events_per_profile=3)
    svc = await make_service(encoder, tmp_path, pg_url)
    await svc.run(ExportSource(write_export(tmp_path / "exp", profiles, events)))
    blob = json.dumps([h.payload for page in svc.index.scroll() for h in page])
    for p in profiles:
        assert p["data"]["contact"]["email"]["main"] not in blob
        assert p["data"]["pii"]["firstname"] not in blob
    assert "600 100 200" not in blob and "Main St" not in blob and "Springfield" not in blob
    assert "emm-" not in blob


class Crashing:
    """A source that dies after `after` profiles, the way a network or a process does."""

    def __init__(self, inner: ExportSource, after: int) -> None:
        self.inner, self.after, self.key = inner, after, inner.key

    async def stream(self, since: datetime | None, known: Known | None = None, events_since: datetime | None = None,
                     only: Only | None = None) -> AsyncIterator[ProfileWithEvents]:
        n = 0
        async for item in self.inner.stream(since, known, events_since, only):
            if n == self.after:
                raise ConnectionResetError("source died half way")
            n += 1
            yield item

    @property
    def complete(self) -> bool:
        return False

    @property
    def errors(self) -> list[str]:
        return self.inner.errors

    async def stats(self) -> dict[str, int | str]:
        return await self.inner.stats()

    async def total(self) -> int | None:
        return await self.inner.total()


async def test_resume_after_a_crash_equals_a_clean_sync(encoder, tmp_path: Path, new_database) -> None:
    profiles, events = make_profiles(60, seed=13, events_per_profile=4)
    export = write_export(tmp_path / "exp", profiles, events)
    # population statistics from the first 10 profiles (frozen before the crash), so that batches are written
    crashed = await make_service(encoder, tmp_path / "crashed", await new_database(), population_sample=10)
    with pytest.raises(ConnectionResetError):
        await crashed.run(Crashing(ExportSource(export), after=37))
    assert await crashed.state.watermark(ExportSource(export).key) is None  # not advanced
    partial = crashed.index.count()
    assert 0 < partial < 60
    resumed = await crashed.run(ExportSource(export))
    assert resumed.unchanged == partial and resumed.embedded == 60 - partial
    clean = await make_service(encoder, tmp_path / "clean", await new_database(), population_sample=10)
    await clean.run(ExportSource(export))
    assert index_state(crashed) == index_state(clean)
    assert {r.profile_id: r.content_hash for r in await crashed.state.rows()} == index_state(clean)

    async def features(svc: SyncService) -> list[dict]:
        return [{k: v for k, v in r.items() if k != "computed_at"} for r in await svc.state.feature_rows()]  # type: ignore[attr-defined]

    assert await features(crashed) == await features(clean) and len(await features(clean)) == 60


@pytest.mark.parametrize("full", [True, False])
async def test_resync_reads_only_grown_histories_and_misses_no_new_event(full: bool, encoder, tmp_path: Path,
                                                                        pg_url: str) -> None:
    # Update time does not move for an event inside an existing session (LIB 0.9 tracking/tracker.py):
    # a re-sync finds the new event through the event log's insert time, not the profile's update time.
    emu = TracardiEmulator("1.x")
    profiles, events = make_profiles(30, seed=15, events_per_profile=3)
    emu.seed(profiles, events)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(emu.app), base_url="http://localhost") as http:
        source = TracardiSource(TracardiClient(http, username="admin@profile.ai", password="admin"), "http://t")
        svc = await make_service(encoder, tmp_path, pg_url)
        await svc.run(source, full=True)
        emu.calls.clear()
        again = await svc.run(source, full=full)
        assert (again.unchanged, again.embedded) == ((30, 0) if full else (0, 0))
        # one read of the event log since the watermark, and no history read profile by profile
        assert [c[1] for c in emu.calls if c[1].startswith("/event/")] == ["/event/select/range"]
        pid = profiles[0]["id"]
        session = events[0]["session"]["id"]
        emu.sessions.add(session)  # the customer's session is already open
        update_before = emu.dataset().profiles[pid]["metadata"]["time"]["update"]
        emu.track_event(pid, "product-view", {"category": "watches"}, session_id=session)
        assert emu.dataset().profiles[pid]["metadata"]["time"]["update"] == update_before
        third = await svc.run(source, full=full)
        assert (third.unchanged, third.embedded) == ((29, 1) if full else (0, 1))
        assert "watches" in svc.index.retrieve([pid])[0].payload["document"]


@pytest.mark.parametrize("version", ["0.7", "0.8.2", "1.x"])
async def test_incremental_sync_with_merges_updates_and_deletes(version: str, encoder, tmp_path: Path,
                                                                  new_database) -> None:
    emu = TracardiEmulator(version)
    profiles, events = make_profiles(50, seed=14, events_per_profile=3)
    emu.seed(profiles, events)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(emu.app), base_url="http://localhost") as http:
        client = TracardiClient(http, username="admin@profile.ai", password="admin", backoff=0.001)
        source = TracardiSource(client, "http://t")
        svc = await make_service(encoder, tmp_path / "live", await new_database())
        first = await svc.run(source)
        assert first.embedded == 50 and svc.index.count() == 50
        a, b, c, gone, changed = (p["id"] for p in profiles[:5])
        emu.merge(a, [b, c])
        emu.touch(changed, {"plan": "vip"})
        emu.delete_profile(gone)
        second = await svc.run(source)
        ids = set(index_state(svc))
        assert a in ids and b not in ids and c not in ids
        assert svc.index.retrieve([changed])[0].payload["traits"]["plan"] == "vip"
        # an id that was merged answers with the survivor
        assert await svc.state.resolve(b) == a
        features = {r["profile_id"]: r for r in await svc.state.feature_rows()}  # type: ignore[attr-defined]
        assert b not in features and c not in features and features[a]["event_count"] == 9
        if version in ("0.7",):
            assert second.mode == "incremental"  # a full re-read under the hood: no update time
        # deletions are invisible to an incremental read on 0.8+; a full sync removes them
        await svc.run(source, full=True)
        assert gone not in set(index_state(svc))
        clean = await make_service(encoder, tmp_path / "clean", await new_database())
        await clean.run(source, full=True)
        assert index_state(svc) == index_state(clean)


async def test_no_read_deletes_more_than_it_was_asked_to(encoder, tmp_path: Path, pg_url: str) -> None:
    """A subset export, an empty export, a read with malformed records and another source's complete read
    delete nothing they should not (issue 14: one sync deleted everything)."""
    profiles, events = make_profiles(30, seed=16, events_per_profile=1)
    export = write_export(tmp_path / "exp", profiles, events)
    svc = await make_service(encoder, tmp_path, pg_url)
    await svc.run(ExportSource(export))
    # another directory holding one profile: a different source, which delivered none of the 30
    other = await svc.run(ExportSource(write_export(tmp_path / "one", profiles[:1], events[:1])))
    assert other.deleted == 0 and svc.index.count() == 30
    # the same directory cut to one profile: 29 of 30 (97%) is past the 10% limit
    write_export(export, profiles[:1], events[:1])
    cut = await svc.run(ExportSource(export))
    assert cut.deleted == 0 and "97%" in (cut.deletion_refused or "") and svc.index.count() == 30
    # emptied: never a reason to delete
    write_export(export, [], [])
    empty = await svc.run(ExportSource(export))
    assert empty.deleted == 0 and "no profiles at all" in (empty.deletion_refused or "")
    # one malformed record and one profile really gone: the read proves nothing, nothing deleted
    (export / "profiles.ndjson").write_text("".join(json.dumps(p) + "\n" for p in profiles[:-1]) + "{not json\n")
    broken = await svc.run(ExportSource(export))
    assert broken.deleted == 0 and "malformed" in (broken.deletion_refused or "") and svc.index.count() == 30
    # a clean read of 29: within the limit, the one gone profile is removed
    write_export(export, profiles[:-1], events)
    clean = await svc.run(ExportSource(export))
    assert clean.deleted == 1 and clean.deletion_refused is None and svc.index.count() == 29
    # the operator's explicit word deletes past the limit
    write_export(export, profiles[:2], events[:2])
    assert (await svc.run(ExportSource(export))).deleted == 0
    assert (await svc.run(ExportSource(export), allow_mass_delete=True)).deleted == 27


async def test_population_statistics_are_frozen_at_the_first_read_and_shared(encoder, tmp_path: Path,
                                                                           new_database) -> None:
    """The first sync freezes the documents' population statistics (from its first profiles) in the state;
    later syncs, other processes and concurrent partitions use the stored ones, so a profile's text only
    changes when its own history does."""
    from profiles.population import FacetPopulation

    profiles, events = make_profiles(120, seed=21, events_per_profile=6)
    db_url = await new_database()
    # a first read of a handful of profiles (a fresh deployment) freezes nothing: "usual" needs a population
    tiny = write_export(tmp_path / "tiny", profiles[:5], [e for e in events if e["profile"]["id"] in
                                                          {p["id"] for p in profiles[:5]}])
    first = await make_service(encoder, tmp_path / "a", db_url)
    await first.run(ExportSource(tiny))
    key = f"document_population:{first.builder.layout_key}"
    assert await first.state.get_meta(key) is None and first.builder.population is None

    export = write_export(tmp_path / "exp", profiles, events)
    await first.run(ExportSource(export))
    stored = await first.state.get_meta(key)
    assert stored is not None and first.builder.population is not None
    frozen = FacetPopulation.from_json(stored)
    assert frozen.profiles == 120 and frozen.shares["category"]  # every generated profile has categories
    assert first.builder.population.version == frozen.version

    # new profiles with other habits do not move the statistics: the old texts stay as they were
    more, more_events = make_profiles(60, seed=22, events_per_profile=6)
    for e in more_events:
        e["properties"]["category"] = "garden"
    export2 = write_export(tmp_path / "exp2", profiles + more, events + more_events)
    first.index.close()
    second = await make_service(encoder, tmp_path / "a", db_url)  # another process: loads what is stored
    again = await second.run(ExportSource(export2))
    assert await second.state.get_meta(key) == stored and second.builder.population == frozen
    assert again.embedded == 60  # only the new profiles

    # two readers racing to freeze: the first writer wins, both use its statistics
    assert await second.state.claim_meta("race", "one") == "one"  # type: ignore[attr-defined]
    assert await second.state.claim_meta("race", "two") == "one"  # type: ignore[attr-defined]


async def test_who_had_an_event_about_a_value_is_read_from_the_event_log(pg_url: str, tmp_path: Path) -> None:
    """"rated horror movies": an event of the type holding the value anywhere in its properties, as a value or
    in a list, nested or not; another type, another value or a value inside a longer string is not it."""
    from datetime import UTC, datetime

    from app.sync.state import EventRow

    db = await Database.connect(pg_url, tmp_path)
    _open.append(db)
    state = PostgresSyncState(db.pool)
    at = datetime(2024, 5, 1, tzinfo=UTC)
    props: dict[str, dict[str, Any]] = {"a": {"genre": "Horror"}, "b": {"genres": ["Drama", "Horror"]}, "c": {"movie": {"genre": "Horror"}},
             "d": {"genre": "Horror comedy"}, "e": {"genre": "Comedy"}}
    events = {who: [EventRow(who, f"{who}-1", "content-rated", at, None, p)] for who, p in props.items()}
    events["f"] = [EventRow("f", "f-1", "page-view", at, None, {"genre": "Horror"})]
    await state.commit_batch([], [], {}, events=events)
    assert sorted(await state.profiles_with_event_about("content-rated", ["Horror"])) == ["a", "b", "c"]
    assert sorted(await state.profiles_with_event_about("content-rated", ["Comedy", "Drama"])) == ["b", "e"]
    assert await state.profiles_with_event_about("purchase-order", ["Horror"]) == []
    # no values: any event of the type; a window: the events' own times (since a day, before a day)
    later = [EventRow("a", "a-2", "content-rated", datetime(2024, 6, 15, tzinfo=UTC), None, {"genre": "Drama"})]
    await state.commit_batch([], [], {}, events={"a": events["a"] + later})
    assert sorted(await state.profiles_with_event_about("content-rated", [])) == ["a", "b", "c", "d", "e"]
    assert await state.profiles_with_event_about("content-rated", [], since="2024-06-01") == ["a"]
    assert await state.profiles_with_event_about("content-rated", ["Horror"], since="2024-06-01") == []
    assert sorted(await state.profiles_with_event_about("content-rated", ["Horror"], before="2024-05-02")) == \
        ["a", "b", "c"]
    # a value is data, never SQL or a path: quotes and jsonpath syntax find nothing and break nothing
    assert await state.profiles_with_event_about("content-rated", ['") || true || ("', "$.**", "'; drop"]) == []


async def test_spend_on_a_value_sums_amounts_as_people_write_them(pg_url: str, tmp_path: Path) -> None:
    """"who spent the most on shoes" sums each purchase's amount from the event log: a number, or a string as a
    Spanish form sends it ("49,90 €", "1.234,50") or an English one ("1,234.50"), read as the sync's own
    `as_number` reads it; text that is no number adds nothing."""
    from datetime import UTC, datetime

    from app.sync.state import EventRow
    from profiles.paths import as_number

    db = await Database.connect(pg_url, tmp_path)
    _open.append(db)
    state = PostgresSyncState(db.pool)
    at = datetime(2024, 5, 1, tzinfo=UTC)
    amounts: dict[str, list[Any]] = {"a": [10, "49,90"], "b": ["49,90 €", "1.234,50"], "c": ["1,234.50", "0.5"],
                                     "d": ["n/a", "1e5"], "e": ["1.234.567", "-3,5"]}
    events = {who: [EventRow(who, f"{who}-{k}", "purchase-order", at, None, {"category": "shoes", "value": v})
                    for k, v in enumerate(vs)] for who, vs in amounts.items()}
    await state.commit_batch([], [], {}, events=events)
    sums = await state.event_sums_about("purchase-order", ["shoes"], ["value"])
    assert sums == pytest.approx({"a": 59.9, "b": 1284.4, "c": 1235.0, "d": 0.0, "e": 1234563.5})
    for who, vs in amounts.items():  # the sync's reading of each amount adds up to the same
        assert sums[who] == pytest.approx(sum(n for v in vs if (n := as_number(v)) is not None))
    # "made a purchase over 100": each profile's largest (or smallest) one, read the same way; none without one
    largest = await state.event_extremes_about("purchase-order", ["shoes"], ["value"])
    assert largest == pytest.approx({"a": 49.9, "b": 1234.5, "c": 1234.5, "e": 1234567.0})
    smallest = await state.event_extremes_about("purchase-order", [], ["value"], largest=False)
    assert smallest == pytest.approx({"a": 10.0, "b": 49.9, "c": 0.5, "e": -3.5})
