"""A marketer's campaign, end to end on real PostgreSQL and the real model: a segment published with a holdout
(the control arm never reaches traits or Tracardi's write-back, arms never reshuffle), outcomes planted with a
known effect (bench/campaign.py) and synced as an export, and the measured lift read back (issue 30)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.config import DatabaseSettings, Settings
from app.container import Container
from app.demo.writer import write_export
from app.errors import InvalidRequestError, NotFoundError
from app.segments.holdout import bucket
from app.segments.schemas import DescriptionSegmentRequest
from bench.campaign import outcomes, population

N = 600
START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=45)
NAME = "Everyone in the campaign"


@pytest.fixture
async def campaign(tmp_path: Path, pg_url: str, encoder: Any) -> Any:
    people = population(N, seed=3, start=START)
    c = await Container.create(Settings(data_dir=tmp_path / "data", database=DatabaseSettings(url=pg_url)),
                               encoder=encoder)
    try:
        await c.sync.run(c.source(str(write_export(tmp_path / "e0", people, []))))
        seg = await c.segments.create_description(DescriptionSegmentRequest(
            name=NAME, description="customers on any plan", threshold=-1, max_members=N))
        yield c, people, seg.segment_id
    finally:
        await c.aclose()


async def test_the_control_arm_is_stable_recorded_and_never_written(campaign: Any) -> None:
    c, people, sid = campaign
    with pytest.raises(InvalidRequestError, match="between 0 and 0.5"):
        await c.usecases.publish_segment(sid, holdout=0.6)
    assert await c.segments.repo.holdout(sid) is None  # nothing half-saved
    first = await c.usecases.publish_segment(sid, holdout=0.25)
    assert first.holdout == 0.25 and first.entered == N
    page = await c.segments.members(sid, limit=N)
    arms = {m.profile_id: m.arm for m in page.members}
    control = {p for p, a in arms.items() if a == "control"}
    assert 0.18 * N < len(control) < 0.32 * N
    assert control == {p for p in arms if bucket(sid, p) < 0.25}  # the Python bucket is PostgreSQL's
    traits = await c.predictions.repo.current_traits(sorted(arms))
    assert all(sid not in traits[p]["segments"] for p in control)  # the control arm never hears of it
    assert all(sid in traits[p]["segments"] for p in set(arms) - control)
    queued = {i.profile_id: i.payload for i in await c.writeback_queue.pending("tracardi", limit=10 * N)}
    assert set(queued) == set(arms)  # every member's traits are queued for Tracardi, and the control arm's
    assert all(sid not in queued[p]["segments"] for p in control)  # carry no trace of the segment
    assert all(sid in queued[p]["segments"] for p in set(arms) - control)
    entered = await c.database.pool.fetch("SELECT profile_id FROM profile_ai.changes WHERE kind = 'segment-entered' "
                                          "AND subject = $1", sid)  # the change feed Tracardi gets, too
    assert {r["profile_id"] for r in entered} == set(arms) - control
    # a re-publish and a refresh never reshuffle; another share is refused
    again = await c.usecases.publish_segment(sid, holdout=0.25)
    assert again.entered == 0
    await c.segments.refresh()
    assert {m.profile_id: m.arm for m in (await c.segments.members(sid, limit=N)).members} == arms
    with pytest.raises(InvalidRequestError, match="keeps its holdout of 25%"):
        await c.usecases.publish_segment(sid, holdout=0.1)


async def test_lift_of_a_planted_effect_and_what_it_refuses(campaign: Any, tmp_path: Path) -> None:
    c, people, sid = campaign
    with pytest.raises(InvalidRequestError, match="has no holdout"):
        await c.lift.lift(sid)
    with pytest.raises(NotFoundError):
        await c.lift.lift("no-such-segment")
    await c.usecases.publish_segment(sid, holdout=0.3)
    async with c.database.pool.acquire() as conn:  # the campaign started 45 days ago
        await conn.execute("UPDATE profile_ai.segment_exposures SET entered_at = $2 WHERE segment_id = $1",
                           sid, START)
    events, arms = outcomes([p["id"] for p in people], sid, 0.3, start=START, days=30, base=0.15, effect=0.25)
    await c.sync.run(c.source(str(write_export(tmp_path / "e1", people, events))))
    report = await c.lift.lift(sid, "purchase", days=30)
    truth = {a: [p for p in arms if arms[p] == a] for a in ("treated", "control")}
    assert report.arms["treated"].members == len(truth["treated"])
    assert report.arms["control"].members == len(truth["control"])
    lo, hi = report.lift["absolute"]["interval"]
    assert lo <= 0.25 <= hi and lo > 0  # the planted effect, detected
    assert report.enough_data and report.verdict.startswith("the treated arm did")
    assert report.lift["probability_treated_better"] > 0.99
    assert report.cuped is not None and report.cuped["interval"][0] <= 0.25 <= report.cuped["interval"][1]
    spend = await c.lift.lift(sid, "spend", days=30)
    assert spend.arms["treated"].spend_per_member > spend.arms["control"].spend_per_member
    same = await c.lift.lift(sid, f"event:{events[0]['type']}", days=30)
    assert same.arms["treated"].converters == report.arms["treated"].converters
    with pytest.raises(InvalidRequestError, match="names no event type"):
        await c.lift.lift(sid, "event:newsletter-opened")
    with pytest.raises(InvalidRequestError, match="unknown outcome"):
        await c.lift.lift(sid, "revenue")
    early = await c.lift.lift(sid, "purchase", days=30, as_of=START + timedelta(days=10))
    assert early.arms["treated"].members == 0 and early.waiting == N and not early.enough_data
    assert early.verdict.startswith("not enough data yet")
    too_early = await c.lift.uplift(sid, "purchase", days=30, as_of=START + timedelta(days=10))
    assert too_early["members"] == 0 and too_early["note"].startswith("not enough data yet")  # no 500 on none


async def test_who_changed_comes_back_as_rules_and_a_spend_outcome_is_refused(campaign: Any, tmp_path: Path) -> None:
    c, people, sid = campaign
    await c.usecases.publish_segment(sid, holdout=0.3)
    async with c.database.pool.acquire() as conn:
        await conn.execute("UPDATE profile_ai.segment_exposures SET entered_at = $2 WHERE segment_id = $1",
                           sid, START)
    plan = {p["id"]: p["traits"]["plan"] for p in people}
    events, _ = outcomes(list(plan), sid, 0.3, start=START, days=30, base=0.05,
                         effect=lambda pid: 0.6 if plan[pid] == "pro" else 0.0)  # only "pro" customers respond
    await c.sync.run(c.source(str(write_export(tmp_path / "e2", people, events))))
    found = await c.lift.uplift(sid, "purchase", days=30)
    assert found["members"] == N and found["heterogeneous"], found["note"]
    assert "traits.plan is pro" in found["rules"][0]["rule"]
    assert found["target_next"] and "traits.plan=pro" in found["target_next"][0]["filters"]
    with pytest.raises(InvalidRequestError, match="conversion outcome"):
        await c.lift.uplift(sid, "spend")
    tool = await c.agent_tools().segment_lift(sid, "purchase", 30, who_changed=True)  # the agent's question
    assert tool["enough_data"] and "traits.plan is pro" in tool["who_changed"]["rules"][0]["rule"]


async def test_the_control_arm_never_reaches_tracardis_profiles(encoder: Any, pg_url: str, tmp_path: Path) -> None:
    """Through the emulator: after publishing with a holdout and delivering, Tracardi's treated profiles carry the
    segment in traits.ai.segments, and no control profile carries it or received a segment-entered event."""
    from tests.emulated import synced_over_emulator
    from tests.tracardi_emulator.app import TracardiEmulator
    from tests.tracardi_emulator.generate import make_profiles

    emu = TracardiEmulator("0.9")
    profiles, events = make_profiles(80, seed=5, events_per_profile=2)
    emu.seed(profiles, events)
    async with synced_over_emulator(emu, encoder, pg_url, tmp_path) as c:
        seg = await c.segments.create_description(DescriptionSegmentRequest(
            name="all of them", description="customers", threshold=-1, max_members=1000))
        published = await c.usecases.publish_segment(seg.segment_id, holdout=0.4)
        assert published.delivered == 80
        arms = {m.profile_id: m.arm for m in (await c.segments.members(seg.segment_id, limit=1000)).members}
        control = {p for p, a in arms.items() if a == "control"}
        assert 15 < len(control) < 50
        stored = emu.dataset().profiles
        carries = {p for p in arms if seg.segment_id in ((stored[p]["traits"].get("ai") or {}).get("segments") or [])}
        assert carries == set(arms) - control and not carries & control
        told = {e["profile"]["id"] for e in emu.dataset().events.values() if e["type"] == "profile-ai-segment-entered"}
        assert told == set(arms) - control


async def test_the_http_routes_refuse_bad_input_in_one_line(campaign: Any) -> None:
    import httpx

    from app.config import ServerSettings
    from app.main import create_app

    c, _, sid = campaign
    app = create_app(Settings(data_dir=c.settings.data_dir, server=ServerSettings(auth=False)), container=c)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                                                   base_url="http://localhost") as http:
        r = await http.get(f"/v1/segments/{sid}/lift")
        assert r.status_code == 422 and "has no holdout" in r.json()["detail"]
        r = await http.post(f"/v1/segments/{sid}/publish", json={"holdout": 0.7})
        assert r.status_code == 422 and await c.segments.repo.holdout(sid) is None  # refused, nothing saved
        r = await http.post(f"/v1/segments/{sid}/publish", json={"holdout": 0.2})
        assert r.status_code == 200 and r.json()["holdout"] == 0.2
        r = await http.get(f"/v1/segments/{sid}/lift", params={"as_of": "2030-01-01T00:00:00", "days": 30})
        assert r.status_code == 200 and r.json()["arms"]["treated"]["members"] > 0  # a time without a zone is UTC
        r = await http.get(f"/v1/segments/{sid}/uplift", params={"outcome": "event:nope"})
        assert r.status_code == 422 and "names no event type" in r.json()["detail"]
        r = await http.post("/v1/segments/prediction/size", json={"name": "x", "goal": "churn", "top_percent": 500})
        assert r.status_code == 422
        r = await http.post("/v1/segments/prediction/size", json={"name": "x", "goal": "churn", "top_percent": 5})
        assert r.status_code == 422 and "no scores" in r.json()["detail"]
