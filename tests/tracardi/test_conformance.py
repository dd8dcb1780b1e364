"""Conformance with real Tracardi, version by version: the emulator is strict where Tracardi's source is, and
the client copes. Each test names the file and ref it follows (LIB = github Tracardi/tracardi, API =
github Tracardi/tracardi-api), so the next engineer can re-read it with `git show REF:PATH`."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from app.tracardi.client import MAX_TQL_TERMS, ReadReport, TracardiClient, session_id_for
from app.tracardi.errors import TracardiAuthError, TracardiUnavailableError
from app.tracardi.setup import EVENT_TYPE, MAPPING_ID, setup_writeback
from app.tracardi.versions import TracardiCapabilityError, TracardiVersionError
from app.tracardi.webhook import parse_push
from tests.conftest import VERSIONS
from tests.tracardi_emulator.app import TracardiEmulator
from tests.tracardi_emulator.generate import make_profiles

FAR = {"absolute": {"year": 2000, "month": 1, "date": 1, "hour": 0, "minute": 0, "second": 0, "meridiem": "AM"}}
BRIDGE = {"id": "778ded05-4ff3-4e08-9a86-72c0195fa95d", "name": "REST API Bridge"}


async def raw_session(emu: TracardiEmulator) -> tuple[httpx.AsyncClient, dict[str, str]]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(emu.app), base_url="http://localhost")
    r = await http.post("/user/token", data={"username": "admin@profile.ai", "password": "admin"})
    return http, {"Authorization": f"Bearer {r.json()['access_token']}", "X-Context": "production"}


# ---------------------------------------------------------------------------------------------- setup
# LIB tracardi/domain/event_source.py @0.7.4: `type: str`, bridge defaulted; @0.8.0+: `type: List[str]`,
# `bridge: NamedEntity` required. LIB tracardi/service/setup/data/defaults.py @0.8.0: the REST bridge's id.
@pytest.mark.parametrize("version", VERSIONS)
async def test_event_source_body_is_what_each_version_requires(version: str) -> None:
    emu = TracardiEmulator(version)
    http, h = await raw_session(emu)
    no_bridge = await http.post("/event-source", headers=h, json={"id": "a", "type": ["rest"], "name": "x"})
    as_string = await http.post("/event-source", headers=h, json={"id": "b", "type": "rest", "name": "x",
                                                                  "bridge": BRIDGE})
    if version == "0.7":
        assert no_bridge.status_code == 422 and no_bridge.json()["detail"][0]["loc"] == ["body", "type"]
        assert as_string.status_code == 200
    else:
        assert no_bridge.status_code == 422 and no_bridge.json()["detail"][0]["loc"] == ["body", "bridge"]
        assert as_string.status_code == 200  # 0.8.0+ wraps a string type into a list
    await http.aclose()


# API app/api/event_to_profile.py exists from 0.8.0 (not at 0.7.4); LIB tracardi/domain/profile_traits.py @0.8.0
# (traits are private/public only); LIB tracardi/domain/event_to_profile.py @0.8.0 (event_type str) / @0.8.1.
@pytest.mark.parametrize("version", VERSIONS)
async def test_setup_creates_what_the_version_can_hold_and_fails_loudly_where_it_cannot(
        version: str, emulator_client) -> None:  # type: ignore[no-untyped-def]
    emu = TracardiEmulator(version)
    client: TracardiClient = emulator_client(emu)
    if version == "0.7":
        with pytest.raises(TracardiCapabilityError, match=r"0\.7\.4 has no event-to-profile mapping"):
            await setup_writeback(client)
        assert isinstance(emu.sources["profile-ai"]["type"], str) and not emu.mappings
        http, h = await raw_session(emu)
        assert (await http.get(f"/event-to-profile/{MAPPING_ID}", headers=h)).json() == {"detail": "Not Found"}
        await http.aclose()
        return
    result = await setup_writeback(client)
    assert result.created == ["event-source", "event-to-profile"]
    assert emu.sources["profile-ai"]["bridge"] == BRIDGE
    mapping = emu.mappings[MAPPING_ID]
    if version == "0.8.0":
        assert result.trait_path == "traits.public.ai" and mapping["event_type"] == EVENT_TYPE
    else:
        assert result.trait_path == "traits.ai" and mapping["event_type"]["id"] == EVENT_TYPE
    assert (await setup_writeback(client)).created == []


@pytest.mark.parametrize("version", ["0.8.0", "0.8.2"])
async def test_write_back_lands_in_the_profile_with_one_stable_session(version: str, emulator_client) -> None:  # type: ignore[no-untyped-def]
    # LIB tracardi/domain/profile_traits.py @0.8.0 drops `traits.ai`; @0.8.2 service/tracking/session_loading.py
    # makes a throwaway session per call without a session id.
    emu = TracardiEmulator(version)
    docs, events = make_profiles(2, seed=5, events_per_profile=2)
    emu.seed(docs, events)
    pid = docs[0]["id"]
    client: TracardiClient = emulator_client(emu)
    await setup_writeback(client)
    for churn in (0.25, 0.5):
        await client.track("profile-ai", pid, [{"type": EVENT_TYPE, "properties": {"ai": {"churn": churn}}}])
    assert emu.dataset().profiles[pid]["traits"]["ai"] == {"churn": 0.5}
    own = [e for e in emu.dataset().events.values() if e["type"] == EVENT_TYPE]
    assert {e["session"]["id"] for e in own} == {session_id_for(pid)}
    # profile-ai's own events and trait never come back as the customer's history or data
    history = await client.events_of([pid])
    assert len(history[pid]) == 2 and all(e.type != EVENT_TYPE for e in history[pid])
    looked = await client.lookup_many([pid])
    assert "ai" not in looked[pid].traits  # type: ignore[union-attr]


async def test_a_mapping_to_traits_ai_is_dropped_on_0_8_0() -> None:
    # LIB tracardi/domain/profile_traits.py @0.8.0: ProfileTraits(private, public), nothing else survives
    emu = TracardiEmulator("0.8.0")
    docs, _ = make_profiles(1, seed=6)
    emu.seed(docs)
    http, h = await raw_session(emu)
    await http.post("/event-source", headers=h, json={"id": "s", "type": ["rest"], "bridge": BRIDGE})
    await http.post("/event-to-profile", headers=h, json={
        "id": "m", "event_type": "x", "enabled": True, "event_to_profile": [
            {"event": {"value": "properties.ai", "ref": True}, "op": 0, "profile": {"value": "traits.ai", "ref": True}}]})
    await http.post("/track", json={"source": {"id": "s"}, "profile": {"id": docs[0]["id"]},
                                    "events": [{"type": "x", "properties": {"ai": {"v": 1}}}]})
    assert "ai" not in emu.dataset().profiles[docs[0]["id"]]["traits"]
    await http.aclose()


# ---------------------------------------------------------------------------------------------- TQL
# LIB tracardi/process_engine/tql/domain/elastic_condition.py: `wildcard` query only from 0.8.2.
# LIB tracardi/process_engine/tql/transformer/filter_transformer.py + tql/utils/value_compressions.py @0.8.1:
# and_expr uses append_or_value, so `A AND B AND C` is a KeyError (500) and `(A OR B) AND C` a conjunction.
@pytest.mark.parametrize("version", ["0.7", "0.8.1", "0.8.2", "0.9"])
async def test_wildcards_and_nested_ands_follow_the_version(version: str) -> None:
    emu = TracardiEmulator(version)
    docs, _ = make_profiles(20, seed=7)
    emu.seed(docs)
    http, h = await raw_session(emu)
    first = docs[0]["id"]

    async def select(where: str) -> httpx.Response:
        return await http.post("/profile/select?query_type=tql", headers=h, json={"where": where, "limit": 100})

    wild = (await select(f'id = "{first[:6]}*"')).json()
    three = await select('traits.plan = "pro" AND traits.score >= 0 AND active = TRUE')
    mixed = await select(f'(id = "{docs[0]["id"]}" OR id = "{docs[1]["id"]}") AND active = TRUE')
    if version in ("0.7", "0.8.1"):
        assert wild["total"] == 0  # the literal string, which no id equals
        assert three.status_code == 500
        assert mixed.json()["total"] == 0  # read as id = A AND id = B AND active
    else:
        assert first in {d["id"] for d in wild["result"]}
        assert three.status_code == 200
        assert mixed.json()["total"] == 2
    await http.aclose()


@pytest.mark.parametrize("version", ["0.7", "0.8.1", "1.x"])
@pytest.mark.volume
async def test_one_second_past_10000_is_read_whole_without_wildcards(version: str, emulator_client) -> None:  # type: ignore[no-untyped-def]
    emu = TracardiEmulator(version)
    docs, _ = make_profiles(10_600, seed=8, same_second=10_300)
    for doc in docs[:10_300]:  # a bulk import: one second of insert and (1.x orders by it) update time
        doc["metadata"]["time"]["update"] = doc["metadata"]["time"]["insert"]
    emu.seed(docs)
    client: TracardiClient = emulator_client(emu)
    ids = {p.id async for p in client.iter_profiles()}
    assert len(ids) == 10_600
    assert 0 < emu.max_terms <= 2 and client.largest_query <= 2


async def test_a_where_clause_tracardi_would_parse_for_minutes_is_refused_as_a_timeout(emulator_client) -> None:  # type: ignore[no-untyped-def]
    # the Earley parser (LIB tracardi/process_engine/tql/parser.py) runs in the API worker: 5 s at 200 terms
    emu = TracardiEmulator("0.9")
    http, h = await raw_session(emu)
    where = " OR ".join(f'id = "p{i}"' for i in range(61))
    with pytest.raises(httpx.ReadTimeout):
        await http.post("/profile/select", headers=h, json={"where": where, "limit": 10})
    await http.aclose()


@pytest.mark.parametrize("version", ["0.8.1", "1.x"])
async def test_bulk_reads_never_send_more_than_50_terms(version: str, emulator_client) -> None:  # type: ignore[no-untyped-def]
    emu = TracardiEmulator(version)
    docs, events = make_profiles(400, seed=9, events_per_profile=2)
    emu.seed(docs, events)
    client: TracardiClient = emulator_client(emu)
    found = await client.lookup_many([d["id"] for d in docs])
    assert all(found[d["id"]] is not None for d in docs)
    history = await client.events_of([d["id"] for d in docs])
    assert sum(len(v) for v in history.values()) == 800
    assert emu.max_terms == MAX_TQL_TERMS and client.largest_query == MAX_TQL_TERMS


async def test_ids_tql_cannot_quote_are_resolved_one_by_one(emulator_client) -> None:  # type: ignore[no-untyped-def]
    # LIB tql/transformer/filter_transformer.py OP_STRING strips quotes and never unescapes
    emu = TracardiEmulator("0.9")
    docs, _ = make_profiles(1, seed=10)
    docs[0] = {**docs[0], "id": 'we"ird', "ids": ['we"ird']}
    emu.seed(docs)
    client: TracardiClient = emulator_client(emu)
    found = await client.lookup_many(['we"ird'])
    assert found['we"ird'] is not None and found['we"ird'].id == 'we"ird'
    report = ReadReport()
    assert (await client.events_of(['we"ird'], report))['we"ird'] == [] and "quote" in report.errors[0]


# ---------------------------------------------------------------------------------------------- update time
# LIB 0.8.1 tracardi/service/tracker_persister.py, 0.8.2 tracardi/service/tracking/track_data_computation.py,
# 0.9 tracardi/service/tracking/tracker.py: the profile is saved (update time moves) only when it changed.
@pytest.mark.parametrize("version", ["0.8.1", "0.8.2", "0.9", "1.x"])
async def test_update_time_moves_only_when_the_profile_changes(version: str) -> None:
    emu = TracardiEmulator(version)
    docs, _ = make_profiles(1, seed=11)
    emu.seed(docs)
    pid = docs[0]["id"]

    def updated() -> str:
        return str(emu.dataset().profiles[pid]["metadata"]["time"]["update"])

    before = updated()
    emu.clock.advance(60)
    emu.track_event(pid, "page-view", session_id="visit-1")  # a new session: a visit saves the profile
    after_visit = updated()
    assert after_visit != before
    emu.clock.advance(60)
    emu.track_event(pid, "page-view", session_id="visit-1")  # same session: the profile is not saved
    assert updated() == after_visit


@pytest.mark.parametrize("version", ["0.8.1", "0.9", "1.x"])
async def test_incremental_read_finds_new_events_in_an_existing_session(version: str, emulator_client) -> None:  # type: ignore[no-untyped-def]
    from app.sync.sources import TracardiSource

    emu = TracardiEmulator(version)
    docs, events = make_profiles(30, seed=12, events_per_profile=2)
    emu.seed(docs, events)
    pid = docs[3]["id"]
    emu.track_event(pid, "page-view", session_id="s-open")  # the session exists before the watermark
    client: TracardiClient = emulator_client(emu)
    source = TracardiSource(client, "http://tracardi")
    watermark = datetime.now(UTC)
    emu.clock.advance(3600)
    before = emu.dataset().profiles[pid]["metadata"]["time"]["update"]
    new_id = emu.track_event(pid, "purchase-order", {"value": 10.0}, session_id="s-open")
    assert emu.dataset().profiles[pid]["metadata"]["time"]["update"] == before

    async def everything_known(batch):  # type: ignore[no-untyped-def]
        return {p.id for p in batch}

    items = [i async for i in source.stream(watermark, everything_known, events_since=watermark)]
    got = {i.profile.id: i for i in items}
    assert pid in got and not got[pid].unchanged
    assert new_id in {e.id for e in got[pid].events}


# ---------------------------------------------------------------------------------------------- auth & errors
async def test_a_wrong_password_on_0_8_1_is_a_500_and_reported_as_credentials_at_once(emulator_client) -> None:  # type: ignore[no-untyped-def]
    # API app/api/user_endpoint.py @0.8.1: the try/except around auth.login is commented out
    emu = TracardiEmulator("0.8.1")
    client: TracardiClient = emulator_client(emu, password="wrong")
    with pytest.raises(TracardiAuthError, match="wrong username or password"):
        await client.count_profiles()
    assert [c for c in emu.calls if c[1] == "/user/token"] == [("POST", "/user/token")]  # not retried


async def test_unknown_version_html_and_5xx_login_are_one_clear_line(emulator_client) -> None:  # type: ignore[no-untyped-def]
    emu = TracardiEmulator("0.9")
    emu.version_label = "7.3.1"
    with pytest.raises(TracardiVersionError, match="not supported"):
        await emulator_client(emu).version()
    emu.version_label = {"oops": 1}
    with pytest.raises(TracardiVersionError, match="not a version"):
        await emulator_client(emu).version()

    async def html(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<!DOCTYPE html><html>Tracardi GUI</html>")

    async with httpx.AsyncClient(transport=httpx.MockTransport(html), base_url="http://gui") as http:
        with pytest.raises(TracardiVersionError, match="HTML page.*port 8686"):
            await TracardiClient(http, username="u", password="p").version()
    emu.version_label = "0.9.0"
    emu.faults.status_burst, emu.faults.path_prefix = 50, "/user/token"
    with pytest.raises(TracardiUnavailableError, match="login"):
        await emulator_client(emu, max_retries=2).count_profiles()


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.volume
async def test_event_counts_past_10000_are_exact(version: str, emulator_client) -> None:  # type: ignore[no-untyped-def]
    emu = TracardiEmulator(version)
    docs, events = make_profiles(1300, seed=13, events_per_profile=9)
    emu.seed(docs, events)
    client: TracardiClient = emulator_client(emu)
    assert await client.count_events() == 11_700


# ---------------------------------------------------------------------------------------------- destinations
# LIB tracardi/config.py @0.8.1: ENABLE_PROFILE_DESTINATIONS defaults to no; the HTTP connector's model
# default method is GET. 0.9 wraps the body as {data, changes}.
async def test_destinations_fire_only_when_enabled_and_with_the_configured_method() -> None:
    for enabled in (False, True):
        emu = TracardiEmulator("0.9", enable_profile_destinations=enabled)
        docs, _ = make_profiles(1, seed=14)
        emu.seed(docs)
        http, h = await raw_session(emu)
        await http.post("/event-source", headers=h, json={"id": "s", "type": ["rest"], "bridge": BRIDGE})
        await http.post("/event-to-profile", headers=h, json={
            "id": "m", "event_type": {"id": "x", "name": "x"}, "enabled": True, "event_to_profile": [
                {"event": {"value": "properties.v", "ref": True}, "op": 0, "profile": {"value": "traits.v", "ref": True}}]})
        await http.post("/resource", headers=h, json={"id": "r", "credentials": {"url": "http://hook/"}})
        await http.post("/destination", headers=h, json={"id": "d", "enabled": True, "resource": {"id": "r"},
                                                         "mapping": {"id": "profile@id"}})
        await http.post("/track", json={"source": {"id": "s"}, "profile": {"id": docs[0]["id"]},
                                        "events": [{"type": "x", "properties": {"v": 3}}]})
        if not enabled:
            assert emu.outbox == []
        else:
            assert emu.outbox[-1]["method"] == "GET" and set(emu.outbox[-1]["body"]) == {"data", "changes"}
        await http.aclose()


def test_a_push_is_unwrapped_only_when_it_holds_both_data_and_changes() -> None:
    assert parse_push({"data": {"id": "a"}, "changes": []})[0].profile_id == "a"
    # 0.7-0.8 send the mapped object itself, which may map profile@data under `data`
    assert parse_push({"id": "b", "data": {"id": "not-this"}})[0].profile_id == "b"


@pytest.mark.volume
async def test_event_counts_lose_nothing_at_the_seconds_where_windows_are_cut(emulator_client) -> None:  # type: ignore[no-untyped-def]
    # 12,000 events within one hour, stamped with microseconds: whichever second a window is cut at holds some
    from datetime import timedelta

    emu = TracardiEmulator("0.9")
    start = datetime(2024, 3, 1, tzinfo=UTC)
    emu.seed([], [{"id": f"e{i}", "type": "page-view", "profile": {"id": "p"}, "properties": {},
                   "metadata": {"time": {"insert": (start + timedelta(seconds=i * 0.3)).isoformat()}}}
                  for i in range(12_000)])
    assert await emulator_client(emu).count_events() == 12_000
