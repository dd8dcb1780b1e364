"""The real client against the emulator, for every Tracardi version shape."""

from __future__ import annotations

import asyncio
import socket
import threading
from datetime import timedelta

import httpx
import pytest
import uvicorn

from app.tracardi.client import ReadReport, TracardiClient
from app.tracardi.errors import (
    TracardiAuthError,
    TracardiForbiddenError,
    TracardiUnavailableError,
)
from tests.conftest import VERSIONS
from tests.tracardi_emulator.app import Clock, TracardiEmulator
from tests.tracardi_emulator.generate import make_profiles

_CACHE: dict[tuple[int, int], tuple[list, list]] = {}


def profiles(n: int, same_second: int = 0) -> list[dict]:
    if (n, same_second) not in _CACHE:
        _CACHE[(n, same_second)] = make_profiles(n, seed=n, same_second=same_second)
    return _CACHE[(n, same_second)][0]


def final_ids(items: list) -> set[str]:
    """What a consumer ends with: live profiles minus everything merged away."""
    live = {p.id for p in items if p.active and not p.merged_with}
    absorbed = {a for p in items for a in p.absorbed_ids} | {p.id for p in items if p.merged_with}
    return live - absorbed


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.volume
async def test_full_read_of_25000_profiles_returns_each_once(version: str, emulator_client) -> None:
    emu = TracardiEmulator(version)
    emu.seed(profiles(25_000))
    client: TracardiClient = emulator_client(emu)
    report = ReadReport()
    ids = [p.id async for p in client.iter_profiles(report)]
    assert len(ids) == 25_000
    assert len(set(ids)) == 25_000
    assert report.errors == []
    # it never asked for a page past the 10,000 window
    assert emu.faults.requests > 3


@pytest.mark.volume
async def test_bulk_import_in_one_second_is_split_by_id_prefix(emulator_client) -> None:
    emu = TracardiEmulator("1.x")
    emu.seed(profiles(12_000, same_second=10_500))
    client: TracardiClient = emulator_client(emu)
    ids = {p.id async for p in client.iter_profiles()}
    assert len(ids) == 12_000


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.volume
async def test_incremental_read_returns_exactly_the_changed(version: str, emulator_client) -> None:
    clock = Clock()
    emu = TracardiEmulator(version, clock=clock)
    docs = profiles(3000)
    for d in docs:  # every profile last saved a day ago
        d = {**d, "metadata": {**d["metadata"], "time": {**d["metadata"]["time"],
             "update": (clock.now() - timedelta(days=1)).isoformat()}}}
        emu.put_profile(d)
    client: TracardiClient = emulator_client(emu)
    watermark = clock.now()
    clock.advance(3600)
    changed = {docs[i]["id"] for i in (5, 500, 2999)}
    for pid in changed:
        emu.touch(pid, {"plan": "enterprise"})
    report = ReadReport()
    got = {p.id async for p in client.iter_updated_since(watermark, report, margin=timedelta(minutes=5))}
    if version in ("0.7", "0.8.0"):  # no update time: a full resync, and it says so
        assert report.full_resync
        assert len(got) == 3000
    else:
        assert not report.full_resync
        assert got == changed


@pytest.mark.parametrize("version", ["0.7", "0.8.2", "1.x"])
async def test_token_expiring_mid_read_recovers(version: str, emulator_client) -> None:
    clock = Clock()
    emu = TracardiEmulator(version, clock=clock)
    emu.seed(profiles(5000))
    client: TracardiClient = emulator_client(emu, page_size=500)
    ids = []
    async for p in client.iter_profiles():
        ids.append(p.id)
        if len(ids) == 1000:
            clock.advance(31 * 60)  # 30 idle minutes: Redis drops the token
    assert len(set(ids)) == 5000
    logins = [c for c in emu.calls if c[1] == "/user/token"]
    assert len(logins) == 2


async def test_logout_elsewhere_kills_the_token_and_client_logs_in_again(emulator_client) -> None:
    emu = TracardiEmulator("1.x")
    emu.seed(profiles(100))
    client: TracardiClient = emulator_client(emu)
    assert await client.count_profiles() == 100
    emu.expire_tokens()
    assert await client.count_profiles() == 100


@pytest.mark.parametrize("version", ["0.8.0", "1.x"])
async def test_burst_of_5xx_and_resets_recovers(version: str, emulator_client) -> None:
    emu = TracardiEmulator(version)
    emu.seed(profiles(3000))
    client: TracardiClient = emulator_client(emu, page_size=500)
    await client.count_profiles()
    emu.faults.status_burst = 3
    emu.faults.reset_burst = 2
    ids = {p.id async for p in client.iter_profiles()}
    assert len(ids) == 3000
    assert emu.faults.fired == 5


async def test_retries_are_bounded(emulator_client) -> None:
    emu = TracardiEmulator("1.x")
    client: TracardiClient = emulator_client(emu, max_retries=2)
    emu.faults.status_burst = 100
    with pytest.raises(TracardiUnavailableError, match="503"):
        await client.count_profiles()
    assert emu.faults.fired == 3  # one try + two retries


@pytest.mark.volume
async def test_timeouts_are_retried(emulator_client) -> None:
    emu = TracardiEmulator("1.x")
    emu.seed(profiles(10))
    client: TracardiClient = emulator_client(emu, timeout=0.2)
    await client.count_profiles()
    emu.faults.delay_burst, emu.faults.delay_s = 1, 1.0
    # ASGITransport has no socket timeout; a slow response is still read, the real-socket test covers time-outs
    assert await client.count_profiles() == 10


async def test_wrong_password_and_wrong_role(emulator_client) -> None:
    emu = TracardiEmulator("1.x")
    bad: TracardiClient = emulator_client(emu, password="nope")
    with pytest.raises(TracardiAuthError, match="login refused"):
        await bad.count_profiles()
    emu.users["dev@profile.ai"] = {"id": "u-dev", "password": "x", "roles": ["maintainer"]}
    wrong_role: TracardiClient = emulator_client(emu, username="dev@profile.ai", password="x")
    with pytest.raises(TracardiAuthError, match="still 401"):
        await wrong_role.count_profiles()


async def test_management_api_not_exposed_is_a_clear_403(emulator_client) -> None:
    emu = TracardiEmulator("1.x", expose_gui_api=False)
    client: TracardiClient = emulator_client(emu)
    with pytest.raises(TracardiForbiddenError, match="EXPOSE_GUI_API"):
        await client.count_profiles()


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.volume
async def test_merge_during_a_read_ends_with_the_survivor_only(version: str, emulator_client) -> None:
    emu = TracardiEmulator(version)
    docs = profiles(4000)
    emu.seed(docs)
    # one window (< 10,000), newest first: the oldest profiles are read last
    newest = sorted(docs, key=lambda d: d["metadata"]["time"]["insert"])[:3]
    survivor, absorbed = newest[0]["id"], [newest[1]["id"], newest[2]["id"]]
    client: TracardiClient = emulator_client(emu, page_size=500)
    items = []
    async for p in client.iter_profiles():
        items.append(p)
        if len(items) == 100:
            emu.merge(survivor, absorbed)
    final = final_ids(items)
    assert survivor in final
    assert not set(absorbed) & final
    assert len(final) == 4000 - 2


@pytest.mark.parametrize("version", VERSIONS)
async def test_get_profile_resolves_merges(version: str, emulator_client) -> None:
    emu = TracardiEmulator(version)
    docs = profiles(50)
    emu.seed(docs)
    a, b, c = (d["id"] for d in docs[:3])
    emu.merge(b, [c])
    emu.merge(a, [b])  # a chain in 0.7: c -> b -> a
    client: TracardiClient = emulator_client(emu)
    found = await client.get_profile(c)
    assert found.profile is not None and found.profile.id == a
    assert found.merged_into == a
    if version != "0.7":
        assert {b, c} <= set(found.profile.absorbed_ids)
        assert not any(x.startswith("emm-") for x in found.profile.absorbed_ids)
    missing = await client.get_profile("never-existed")
    assert missing.profile is None


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.volume
async def test_event_histories_many_profiles_and_one_with_more_than_10000(version: str, emulator_client) -> None:
    emu = TracardiEmulator(version)
    docs, events = make_profiles(300, seed=7, events_per_profile=20)
    big = docs[0]["id"]
    extra = make_profiles(1, seed=8, events_per_profile=10_050)[1]
    for e in extra:
        e["profile"] = {"id": big}
    emu.seed(docs, events + extra)
    client: TracardiClient = emulator_client(emu, event_batch=100)
    report = ReadReport()
    history = await client.events_of([d["id"] for d in docs], report)
    assert len(history[big]) == 20 + 10_050
    assert all(len(history[d["id"]]) == 20 for d in docs[1:])
    assert all(h == sorted(h, key=lambda e: (e.time, e.id)) for h in history.values())
    assert report.errors == []


async def test_with_events_streams_profiles_with_their_history(emulator_client) -> None:
    emu = TracardiEmulator("1.x")
    docs, events = make_profiles(450, seed=3, events_per_profile=5)
    emu.seed(docs, events)
    client: TracardiClient = emulator_client(emu, event_batch=100, concurrency=3)
    items = [x async for x in client.with_events(client.iter_profiles())]
    assert len(items) == 450
    assert sum(len(x.events) for x in items) == 450 * 5
    assert all(e.profile_id == x.profile.id for x in items for e in x.events)


async def test_malformed_records_are_reported_and_the_rest_goes_on(emulator_client) -> None:
    emu = TracardiEmulator("1.x")
    docs = profiles(200)
    emu.seed(docs)
    bad = dict(docs[0])
    bad = {**bad, "id": "bad-one", "traits": "not an object"}
    emu.put_profile(bad)
    client: TracardiClient = emulator_client(emu)
    report = ReadReport()
    ids = {p.id async for p in client.iter_profiles(report)}
    assert len(ids) == 200
    assert len(report.errors) == 1 and "bad-one" in report.errors[0] and "traits" in report.errors[0]


def _nested(depth: int) -> object:
    """A value nesting exactly `depth` levels, lists and objects in turn."""
    value: object = {"leaf": 1}
    for level in range(depth - 1):
        value = [value] if level % 2 else {"k": value}
    return value


async def test_records_nesting_too_deep_are_refused_from_pages_that_are_not_shallow(emulator_client) -> None:
    """A page whose text nests past MAX_DEPTH + 1 has its records walked one by one: the deep ones are refused
    (profiles and events alike), the others read; a page that nests no deeper is read without the walk."""
    emu = TracardiEmulator("1.x")
    docs, events = make_profiles(60, seed=5, events_per_profile=3)
    docs[3] = {**docs[3], "traits": _nested(40)}
    deep, at_limit = [i for i, e in enumerate(events) if e["profile"]["id"] == docs[7]["id"]][:2]
    events[deep] = {**events[deep], "properties": {"p": _nested(32)}}  # the event nests 34 levels: refused
    events[at_limit] = {**events[at_limit], "properties": {"p": _nested(30)}}  # 32: read
    emu.seed(docs, events)
    client: TracardiClient = emulator_client(emu)
    report = ReadReport()
    items = {x.profile.id: x async for x in client.with_events(client.iter_profiles(report), report)}
    assert docs[3]["id"] not in items and len(items) == 59
    assert {e.id for e in items[docs[7]["id"]].events} == {e["id"] for e in events
                                                            if e["profile"]["id"] == docs[7]["id"]} - {events[deep]["id"]}
    assert sum("nests deeper" in e for e in report.errors) == 2


def test_json_depth_reads_the_text_as_the_parsed_value_nests() -> None:
    import orjson
    from hypothesis import given
    from hypothesis import strategies as st

    from app.tracardi.schemas import json_depth

    def depth(value: object) -> int:  # the definition, recursively (hypothesis keeps these small)
        if isinstance(value, dict):
            return 1 + max((depth(v) for v in value.values()), default=0)
        if isinstance(value, list):
            return 1 + max((depth(v) for v in value), default=0)
        return 0

    # strings full of brackets, quotes and backslashes in runs of every length, as keys and as values
    tricky = st.text(alphabet='{[]}"\\a\u00e9\u4e2d', max_size=8)
    json_values = st.recursive(st.none() | st.booleans() | st.integers(-(2**53), 2**53) | tricky,
                               lambda inner: st.lists(inner, max_size=3) | st.dictionaries(tricky, inner, max_size=3),
                               max_leaves=60)

    @given(json_values)
    def check(value: object) -> None:
        assert json_depth(orjson.dumps(value)) == depth(value)

    check()
    assert json_depth(orjson.dumps({"result": [_nested(40)]})) == 42
    # an escaped backslash does not escape the quote after it; an escaped quote does not end its string
    assert json_depth(b'["\\\\", [["\\"]"]]]') == 3


async def test_staging_and_production_contexts_are_separate(emulator_client) -> None:
    emu = TracardiEmulator("1.x")
    emu.seed(profiles(30), context="production")
    prod: TracardiClient = emulator_client(emu, context="production")
    staging: TracardiClient = emulator_client(emu, context="staging")
    assert await prod.count_profiles() == 30
    assert await staging.count_profiles() == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.volume
async def test_over_a_real_socket_with_timeouts() -> None:
    emu = TracardiEmulator("0.9")
    emu.seed(profiles(2500))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(emu.app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            client = TracardiClient(http, username="admin@profile.ai", password="admin", backoff=0.01,
                                    timeout=0.5, page_size=500)
            assert await client.count_profiles() == 2500
            emu.faults.delay_burst, emu.faults.delay_s = 1, 1.5  # one response slower than the time-out
            ids = {p.id async for p in client.iter_profiles()}
            assert len(ids) == 2500
            assert emu.faults.fired == 1
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 5)


@pytest.mark.parametrize("version", VERSIONS)
async def test_lookup_many_resolves_merges_in_bulk(version: str, emulator_client) -> None:
    emu = TracardiEmulator(version)
    docs = profiles(50)
    emu.seed(docs)
    a, b, c = (d["id"] for d in docs[:3])
    emu.merge(a, [b])
    client: TracardiClient = emulator_client(emu)
    found = await client.lookup_many([a, b, c, "ghost"])
    survivor, merged, other = found[a], found[b], found[c]
    assert survivor is not None and survivor.id == a
    assert merged is not None and merged.id == a  # merged: the survivor
    assert other is not None and other.id == c
    assert found["ghost"] is None
