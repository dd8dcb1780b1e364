"""Right to erasure and profiling transparency with a real PostgreSQL, the real index and the Tracardi emulator:
a forgotten person (and every id merged into them) is gone from every store, stays gone through a full re-sync
and a webhook push, leaves only a keyed-hash tombstone and an append-only log entry; /explain tells a scored,
segmented person what is held and why."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from app.auth.guard import required_scope
from app.config import DatabaseSettings, ServerSettings, Settings, TracardiSettings
from app.container import Container
from app.errors import NotFoundError
from app.main import create_app
from app.predictions.schemas import ExternalPrediction, ImportRequest
from app.search.schemas import SearchRequest
from app.segments.schemas import DiscoverRequest
from app.tracardi.webhook import Push
from tests.tracardi_emulator.app import TracardiEmulator
from tests.tracardi_emulator.generate import make_profiles


@pytest.fixture
async def world(encoder, pg_url: str, tmp_path: Path) -> AsyncIterator[tuple[TracardiEmulator, Container, list]]:  # type: ignore[no-untyped-def]
    emu = TracardiEmulator("0.9")
    profiles, events = make_profiles(24, seed=77, events_per_profile=4)
    emu.seed(profiles, events)
    emu.merge(profiles[0]["id"], [profiles[1]["id"]])  # the person has a second, merged id
    settings = Settings(data_dir=tmp_path, database=DatabaseSettings(url=pg_url), server=ServerSettings(auth=False),
                        tracardi=TracardiSettings(url="http://tracardi", username="admin@profile.ai", password="admin"))
    c = await Container.create(settings, encoder=encoder)
    c.tracardi_transport = httpx.ASGITransport(emu.app)
    await c.sync.run(c.source("http://tracardi", transport=c.tracardi_transport))
    await c.segments.discover(DiscoverRequest(k_min=2, k_max=3))
    ids = [p["id"] for p in profiles[2:]] + [profiles[0]["id"]]
    await c.predictions.import_predictions(ImportRequest(goal="churn", model_name="notebook model", predictions=[
        ExternalPrediction(profile_id=pid, probability=(i % 10) / 10) for i, pid in enumerate(ids)]))
    yield emu, c, profiles
    await c.aclose()


async def _rows(c: Container, ids: list[str]) -> dict[str, int]:
    return await c.erasure.repo.held(ids)


async def test_forget_removes_a_person_everywhere_and_they_stay_gone(world) -> None:  # type: ignore[no-untyped-def]
    emu, c, profiles = world
    person, alias = profiles[0]["id"], profiles[1]["id"]
    assert await c.state.resolve(alias) == person
    before = await _rows(c, [person, alias])
    assert before["events"] > 0 and before["predictions"] == 1 and before["segment_memberships"] >= 1
    assert before["writeback_queue"] >= 1 and before["aliases"] == 1

    def in_segment_files(pid: str) -> bool:
        files = [f for f in (c.settings.data_dir / "index").rglob("segments/**/*") if f.is_file()]
        assert files
        return any(pid.encode() in f.read_bytes() for f in files)

    assert in_segment_files(person)
    await asyncio.to_thread(c.search.warm)  # the vocabulary's phrase vectors are stored for the next process
    assert c.search.phrases is not None and c.search.phrases.path.exists()
    report = await c.erasure.forget(alias, actor="test", reason="art. 17 request")  # asked by the merged id
    # they may hold the person's words (a trait value only they had) until the next build: deleted with them
    assert not c.search.phrases.path.exists()
    assert report["ids_erased"] == 2 and report["removed"]["index_points"] == 1
    assert report["index_files_purge"] == "scheduled"
    # a deleted point is only marked deleted in its segment: its payload stays in the files until the segment is
    # rewritten, which the engine does once a fifth of it is deleted; the purge after an erasure does it now
    assert in_segment_files(person)
    await c.usecases.settle()  # the coalesced purge, run now
    assert not in_segment_files(person) and not in_segment_files(alias)
    assert report["verify"]["total"] == 0 and report["verify"]["tombstoned"]
    assert all(n == 0 for n in (await _rows(c, [person, alias])).values())
    for pid in (person, alias):
        with pytest.raises(NotFoundError):
            await c.search.profile(pid)
        with pytest.raises(NotFoundError):
            await c.transparency().explain(pid)
    hits = await c.search.search(SearchRequest(query="customers", limit=50))
    assert person not in {h.profile_id for h in hits.results}
    assert not (await c.predictions.of_profile(person)).predictions
    for seg in await c.segments.current():
        members = await c.segments.members(seg.segment_id, 1000)
        assert person not in {m.profile_id for m in members.members}

    # the proof holds no personal data, and cannot be rewritten
    log = await c.erasure.repo.log()
    assert log[0]["action"] == "forget" and log[0]["ids"] == 2 and log[0]["removed"]["events"] > 0
    raw = json.dumps(await c.database.pool.fetch("SELECT * FROM profile_ai.erasure_log"), default=str)
    assert person not in raw and alias not in raw
    assert person not in json.dumps(await c.database.pool.fetch("SELECT * FROM profile_ai.tombstones"), default=str)
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await c.database.pool.execute("UPDATE profile_ai.erasure_log SET reason = 'x'")

    # Tracardi still holds the person: a full re-sync and a webhook push do not bring them back
    again = await c.sync.run(c.source("http://tracardi", transport=c.tracardi_transport), full=True)
    assert again.forgotten == 1
    await c.usecases.sync_pushed([Push(person), Push(alias)])
    await c.usecases.settle()
    assert all(n == 0 for n in (await _rows(c, [person, alias])).values())
    assert not c.index.retrieve([person, alias])

    with pytest.raises(NotFoundError, match="already erased"):
        await c.erasure.forget(person, actor="test")
    with pytest.raises(NotFoundError, match="not held"):
        await c.erasure.forget("nobody-at-all", actor="test")
    # lifted only by an explicit decision, then the next sync brings the person back
    assert await c.erasure.unforget(person, actor="test", reason="consent given again") == 2  # and its alias
    await c.sync.run(c.source("http://tracardi", transport=c.tracardi_transport), full=True)
    assert c.index.retrieve([person])


async def test_two_concurrent_forgets_are_safe(world) -> None:  # type: ignore[no-untyped-def]
    _, c, profiles = world
    pid = profiles[5]["id"]
    outcomes = await asyncio.gather(c.erasure.forget(pid, actor="a"), c.erasure.forget(pid, actor="b"),
                                    return_exceptions=True)
    assert sum(isinstance(o, dict) for o in outcomes) == 1
    assert sum(isinstance(o, NotFoundError) for o in outcomes) == 1
    assert (await c.erasure.verify(pid))["total"] == 0


async def test_explain_matches_the_card_segments_and_predictions_and_the_http_routes(world) -> None:  # type: ignore[no-untyped-def]
    _, c, profiles = world
    pid = profiles[3]["id"]
    ex = await c.transparency().explain(pid)
    card = await c.search.profile(pid)
    assert ex["document"] == card.document
    assert {s["segment_id"] for s in ex["segments"]} == {s["segment_id"] for s in await c.segments.of_profile(pid)}
    preds = (await c.predictions.of_profile(pid)).predictions
    assert [(p["model_id"], p["probability"]) for p in ex["predictions"]] == [(p.model_id, p.probability) for p in preds]
    assert any("churn" in line for line in ex["plain"]) and any(s["rule_sql"] for s in ex["segments"])
    assert ex["writeback"] and ex["writeback"][0]["fields"]

    app = create_app(c.settings, container=c)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://localhost") as http:
        assert (await http.get(f"/v1/profiles/{pid}/explain")).json()["profile_id"] == pid
        gone = await http.delete(f"/v1/profiles/{pid}", params={"reason": "request by e-mail"})
        assert gone.status_code == 200 and gone.json()["verify"]["total"] == 0
        assert (await http.get(f"/v1/profiles/{pid}")).status_code == 404
        assert (await http.get(f"/v1/profiles/{pid}/erasure")).json()["total"] == 0
        assert (await http.delete("/v1/profiles/nobody")).status_code == 404
        assert (await http.get("/v1/erasures")).json()["erasures"][0]["actor"] == "open-mode"


def test_erasure_is_the_administrators() -> None:
    assert required_scope("DELETE", "/v1/profiles/p1", False) == "admin"
    assert required_scope("GET", "/v1/erasures", False) == "admin"
    assert required_scope("GET", "/v1/profiles/p1/erasure", False) == "admin"
    assert required_scope("GET", "/v1/profiles/p1/explain", False) == "read"



async def test_event_retention_purges_old_rows_after_a_sync(world) -> None:  # type: ignore[no-untyped-def]
    _, c, _ = world
    pool = c.database.pool
    await pool.execute("UPDATE profile_ai.events SET time = now() - interval '2 days' WHERE event_id IN "
                       "(SELECT event_id FROM profile_ai.events ORDER BY event_id LIMIT 5)")
    old = await pool.fetchval("SELECT count(*) FROM profile_ai.events WHERE time < now() - interval '30 days'")
    assert old > 0
    c.settings.privacy.event_retention_days = 30
    report = await c.usecases.after_sync()
    assert report["events_purged"] == old
    assert await pool.fetchval("SELECT count(*) FROM profile_ai.events") == 5  # only the recent ones are kept


async def test_people_who_objected_to_profiling_are_in_no_segment_and_get_no_score(encoder, pg_url: str,  # type: ignore[no-untyped-def]
                                                                                   tmp_path: Path) -> None:
    profiles, events = make_profiles(30, seed=78, events_per_profile=4)
    objectors = {p["id"] for p in profiles[:3]}
    for p in profiles[:3]:
        p["traits"]["no_profiling"] = True  # art. 21 objection, recorded in Tracardi as a trait
    emu = TracardiEmulator("0.9")
    emu.seed(profiles, events)
    settings = Settings(data_dir=tmp_path, database=DatabaseSettings(url=pg_url), server=ServerSettings(auth=False),
                        tracardi=TracardiSettings(url="http://tracardi", username="admin@profile.ai", password="admin"))
    settings.privacy.objection_field = "traits.no_profiling"
    c = await Container.create(settings, encoder=encoder)
    try:
        await c.sync.run(c.source("http://tracardi", transport=httpx.ASGITransport(emu.app)))
        hits = await c.search.search(SearchRequest(query="customers", limit=30, understand=False))
        assert objectors <= {h.profile_id for h in hits.results}  # still searchable
        await c.segments.discover(DiscoverRequest(k_min=2, k_max=3))
        members = {m.profile_id for s in await c.segments.current()
                   for m in (await c.segments.members(s.segment_id, 1000)).members}
        assert members and not members & objectors
        res = await c.predictions.import_predictions(ImportRequest(goal="churn", model_name="nb", predictions=[
            ExternalPrediction(profile_id=p["id"], probability=0.5) for p in profiles]))
        assert res.stored == 27
        ex = await c.transparency().explain(profiles[0]["id"])
        assert ex["objected"] and any("objected to profiling" in line for line in ex["plain"])
        assert not ex["segments"] and not ex["predictions"]
    finally:
        await c.aclose()


async def test_erasure_clears_tracardi_and_marks_what_was_built_with_the_person(world) -> None:  # type: ignore[no-untyped-def]
    from app.tracardi.setup import EVENT_TYPE, setup_writeback

    emu, c, profiles = world
    pid = profiles[4]["id"]
    t = c.settings.tracardi
    async with httpx.AsyncClient(base_url=t.url, transport=c.tracardi_transport) as http:
        from app.tracardi.client import TracardiClient

        await setup_writeback(TracardiClient.from_settings(http, t))
    assert await c.usecases.deliver_writeback()  # Tracardi holds the person's AI traits
    assert emu.dataset().profiles[pid]["traits"]["ai"]
    model_id = (await c.predictions.of_profile(pid)).predictions[0].model_id
    segment_id = (await c.segments.of_profile(pid))[0]["segment_id"]
    assert (await c.predictions.model(model_id)).erased_since == 0

    report = await c.erasure.forget(pid, actor="test", clear_tracardi=True)
    assert report["tracardi_cleared"] == 1
    assert emu.dataset().profiles[pid]["traits"]["ai"] == {"erased": True}  # none of our traits stay in Tracardi
    assert sum(e["type"] == EVENT_TYPE for e in emu.dataset().events.values()) >= 2
    assert report["removed"]["models"] == [model_id] and segment_id in report["removed"]["segments"]
    assert (await c.predictions.model(model_id)).erased_since == 1  # the card says a scored person is gone
    assert (await c.segments.show(segment_id)).erased_since == 1
