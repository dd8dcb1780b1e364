"""Every front end publishes through the application layer (app/usecases.py): the same publication over HTTP,
through an agent tool (the MCP server and the LangChain tools are built from one registry) and called directly
records the same changes and delivers to Tracardi at once, not at the next write-back job."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.agents.tools import CustomerTools
from app.errors import UnavailableError
from app.main import create_app
from tests.emulated import synced_over_emulator
from tests.tracardi_emulator.app import TracardiEmulator
from tests.tracardi_emulator.generate import make_profiles


async def test_publishing_is_the_same_use_case_from_every_front_end(encoder: Any, pg_url: str, tmp_path: Path) -> None:
    emu = TracardiEmulator("0.9")
    profiles, events = make_profiles(45, seed=33, events_per_profile=2)
    emu.seed(profiles, events)
    async with synced_over_emulator(emu, encoder, pg_url, tmp_path) as c:
        ids = sorted(p["id"] for p in profiles)
        doors = ["http", "tool", "call"]
        members = {door: ids[i * 15:(i + 1) * 15] for i, door in enumerate(doors)}
        for door in doors:
            await c.segments.repo.upsert_saved(f"seg-{door}", door, "", "description", {"query": door})
            await c.segments.repo.replace_members(f"seg-{door}", 1, [(p, 1.0) for p in members[door]])

        app = create_app(c.settings, container=c)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://localhost") as api:
            r = await api.post("/v1/segments/seg-http/publish", json={"holdout": 0.2})
            assert r.status_code == 200, r.text
            answers = {"http": r.json()}
        answers["tool"] = await c.agent_tools().publish_segment("seg-tool", 0.2)
        answers["call"] = (await c.usecases.publish_segment("seg-call", 0.2)).model_dump()

        stored = emu.dataset().profiles
        entered = Counter(e["properties"]["segment_id"] for e in emu.dataset().events.values()
                          if e["type"] == "profile-ai-segment-entered")
        recorded = Counter(r["segment_id"] for r in await c.database.pool.fetch(
            "SELECT subject AS segment_id FROM profile_ai.changes WHERE kind = 'segment-entered'"))
        for door in doors:
            sid = f"seg-{door}"
            arms = {m.profile_id: m.arm for m in (await c.segments.members(sid, limit=100)).members}
            treated = {p for p, arm in arms.items() if arm != "control"}
            assert set(arms) == set(members[door]) and 0 < len(treated) < 15
            carries = {p for p in members[door] if sid in ((stored[p]["traits"].get("ai") or {}).get("segments") or [])}
            assert carries == treated, door  # delivered at once, treated arm only
            assert entered[sid] == recorded[sid] == len(treated), door  # one change each, recorded and sent
            assert answers[door]["delivered"] and answers[door]["holdout"] == 0.2, door


async def test_tools_without_the_application_layer_refuse_to_publish() -> None:
    tools = CustomerTools(object(), segments=object())  # type: ignore[arg-type]
    with pytest.raises(UnavailableError, match="application layer"):
        await tools.publish_segment("seg-1")


def test_scoring_refreshes_prediction_audiences_from_every_front_end(movielens_container: Any) -> None:
    """Scoring over HTTP and called directly (the CLI, the Workspace and the rescore job call the same use case)
    moves a prediction audience with the new scores at once: its members are the stored predictions above its
    threshold after each scoring, and each scoring (at another date) moved them."""
    from datetime import timedelta

    from app.config import ServerSettings, Settings
    from app.predictions.schemas import ScoreRequest, TrainRequest
    from app.segments.schemas import PredictionAudienceRequest

    c = movielens_container
    pool = c.database.pool
    model_id = c.run(c.predictions.repo.active_model("churn")) or c.run(
        c.predictions.train(TrainRequest(goal="churn", horizon_days=30))).model_id
    c.run(c.usecases.score(ScoreRequest(model_id=model_id, limit=0)))
    threshold = c.run(pool.fetchval("SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY probability) "
                                    "FROM profile_ai.predictions WHERE model_id = $1", model_id))
    seg = c.run(c.segments.create_audience(PredictionAudienceRequest(name="front-end parity", goal="churn",
                                                                     min_score=threshold)))

    def above() -> set[str]:
        return {r[0] for r in c.run(pool.fetch("SELECT profile_id FROM profile_ai.predictions WHERE model_id = $1 "
                                               "AND probability >= $2", model_id, threshold))}

    def members() -> set[str]:
        return {m.profile_id for m in c.run(c.segments.members(seg.segment_id, limit=10_000)).members}

    last = c.run(pool.fetchval("SELECT max(time) FROM profile_ai.events"))
    app = create_app(Settings(data_dir=c.settings.data_dir, server=ServerSettings(auth=False)), container=c)

    async def over_http(as_of: str) -> httpx.Response:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://localhost") as http:
            return await http.post(f"/v1/models/{model_id}/score", json={"as_of": as_of, "limit": 0})

    try:
        before = members()
        assert before == above()
        c.run(c.usecases.score(ScoreRequest(model_id=model_id, as_of=(last - timedelta(days=90)).isoformat(),
                                            limit=0)))
        called = members()
        assert called == above() and called != before
        r = c.run(over_http((last - timedelta(days=45)).isoformat()))
        assert r.status_code == 200, r.text
        served = members()
        assert served == above() and served != called
    finally:
        c.run(c.usecases.score(ScoreRequest(model_id=model_id, limit=0)))  # the session's other tests read today's
        c.run(c.segments.repo.delete(seg.segment_id))
