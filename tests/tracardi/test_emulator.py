"""The emulator is only useful if it is faithful: its quirks, checked with raw HTTP (tracardi-api.md)."""

from __future__ import annotations

import httpx
import pytest

from tests.tracardi_emulator.app import TracardiEmulator
from tests.tracardi_emulator.generate import make_profiles

FAR = {"absolute": {"year": 2000, "month": 1, "date": 1, "hour": 0, "minute": 0, "second": 0, "meridiem": "AM"}}


async def session(emu: TracardiEmulator) -> tuple[httpx.AsyncClient, dict[str, str]]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(emu.app), base_url="http://localhost")
    r = await http.post("/user/token", data={"username": "admin@profile.ai", "password": "admin"})
    assert r.status_code == 200 and len(r.json()["access_token"]) == 40
    return http, {"Authorization": f"Bearer {r.json()['access_token']}", "X-Context": "production"}


async def test_auth_errors_and_fixed_token() -> None:
    emu = TracardiEmulator("1.x")
    http, h = await session(emu)
    again = await http.post("/user/token", data={"username": "admin@profile.ai", "password": "admin"})
    assert f"Bearer {again.json()['access_token']}" == h["Authorization"]  # same token every login
    assert (await http.get("/profile/count")).json() == {"detail": "Not authenticated"}
    bad = await http.get("/profile/count", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["detail"] == "Invalid authentication credentials"
    wrong = await http.post("/user/token", data={"username": "admin@profile.ai", "password": "x"})
    assert wrong.status_code == 400
    missing = await http.get("/profile/nope", headers=h)
    assert missing.status_code == 404 and missing.text == "null"
    await http.aclose()


@pytest.mark.volume
async def test_silent_10000_window_and_capped_total() -> None:
    emu = TracardiEmulator("1.x")
    emu.seed(make_profiles(10_500, seed=9)[0])
    http, h = await session(emu)
    body = {"minDate": FAR, "maxDate": None, "where": "", "timeZone": None, "start": 0, "limit": 50}
    r = (await http.post("/profile/select/range", json=body, headers=h)).json()
    assert r["total"] == 10_000 and len(r["result"]) == 50  # "at least"
    past = (await http.post("/profile/select/range", json={**body, "start": 9_990, "limit": 20}, headers=h)).json()
    assert past == {"total": 0, "result": [], "buckets": []}  # silently nothing
    count = (await http.get("/profile/count", headers=h)).json()["count"]
    assert count == 10_500
    bad_range = await http.post("/profile/select/range", json={**body, "minDate": None, "maxDate": FAR}, headers=h)
    assert bad_range.status_code == 500
    await http.aclose()


async def test_tql_and_lucene_where() -> None:
    emu = TracardiEmulator("0.8.1")
    docs = make_profiles(200, seed=1)[0]
    emu.seed(docs)
    http, h = await session(emu)
    q = {"where": 'traits.plan = "pro" AND traits.score >= 50', "limit": 1000}
    tql = (await http.post("/profile/select?query_type=tql", json=q, headers=h)).json()
    expected = sum(1 for d in docs if d["traits"]["plan"] == "pro" and d["traits"]["score"] >= 50)
    assert tql["total"] == expected
    lucene_default = await http.post("/profile/select", json=q, headers=h)  # 0.8.1: Lucene unless asked
    assert lucene_default.status_code == 500
    lucene = (await http.post("/profile/select", json={"where": "traits.plan:pro", "limit": 1000}, headers=h)).json()
    assert lucene["total"] == sum(1 for d in docs if d["traits"]["plan"] == "pro")
    await http.aclose()


@pytest.mark.parametrize("version", ["0.8.0", "1.x"])
async def test_merge_deletes_duplicates_appends_ids_and_repoints_events(version: str) -> None:
    emu = TracardiEmulator(version)
    docs, events = make_profiles(3, seed=2, events_per_profile=2)
    emu.seed(docs, events)
    a, b = docs[0]["id"], docs[1]["id"]
    emu.merge(a, [b])
    http, h = await session(emu)
    got = (await http.get(f"/profile/{b}", headers=h)).json()
    assert got["id"] == a and b in got["ids"]
    assert (await http.get("/profile/count", headers=h)).json()["count"] == 2
    ev = (await http.post("/event/select?query_type=tql", json={"where": f'profile.id="{a}"', "limit": 100},
                          headers=h)).json()
    assert ev["total"] == 4
    await http.aclose()


async def test_track_mapping_skips_zero_and_false_and_pushes_to_destination() -> None:
    emu = TracardiEmulator("1.x", enable_profile_destinations=True)
    docs = make_profiles(1, seed=3)[0]
    emu.seed(docs)
    pid = docs[0]["id"]
    http, h = await session(emu)
    bridge = {"id": "778ded05-4ff3-4e08-9a86-72c0195fa95d", "name": "REST API Bridge"}
    await http.post("/event-source", json={"id": "src-1", "type": ["rest"], "name": "ai", "enabled": True,
                                           "bridge": bridge}, headers=h)
    await http.post("/event-to-profile", headers=h, json={
        "id": "m1", "name": "ML traits", "enabled": True, "event_type": {"id": "ml-prediction", "name": "x"},
        "config": {}, "tags": [], "event_to_profile": [
            {"event": {"value": "properties.churn", "ref": True}, "op": 0, "profile": {"value": "traits.churn", "ref": True}},
            {"event": {"value": "properties.ai", "ref": True}, "op": 0, "profile": {"value": "traits.ai", "ref": True}}]})
    await http.post("/resource", json={"id": "r1", "credentials": {"url": "http://hook/receive"}}, headers=h)
    await http.post("/destination", json={"id": "d1", "enabled": True, "resource": {"id": "r1"},
                                          "destination": {"package": "http", "init": {"method": "post"}},
                                          "mapping": {"id": "profile@id", "traits": "profile@traits"}}, headers=h)
    track = {"source": {"id": "src-1"}, "profile": {"id": pid}, "events": [
        {"type": "ml-prediction", "properties": {"churn": 0.0, "ai": {"churn": 0.0, "model": "v1"}}}]}
    staging = await http.post("/track", json=track)  # no X-Context: staging, where this profile does not exist
    assert staging.json()["profile"]["id"] != pid
    r = await http.post("/track", json=track, headers={"X-Context": "production"})
    assert r.status_code == 200 and r.json()["profile"]["id"] == pid
    traits = emu.dataset().profiles[pid]["traits"]
    assert "churn" not in traits  # 0.0 is NOT copied (0.8.1+)
    assert traits["ai"] == {"churn": 0.0, "model": "v1"}  # an object survives
    assert emu.outbox and emu.outbox[-1]["body"]["data"]["id"] == pid
    unknown = await http.post("/track", json={"source": {"id": "src-1"}, "profile": {"id": "ghost"},
                                              "events": [{"type": "x", "properties": {}}]}, headers=h)
    assert unknown.json()["profile"]["id"] != "ghost"  # a new random profile
    bad_source = await http.post("/track", json={"source": {"id": "nope"}, "events": [{"type": "x"}]})
    assert bad_source.status_code == 401
    await http.aclose()
