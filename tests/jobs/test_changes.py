"""Changes as events for automations, against the emulator: profiles moved between published segments send
exactly one entered and one left event each, a rescore that changes no tier sends none, a changed tier sends
one, and a repeated run sends nothing twice; the same changes are readable at /v1/changes since a cursor."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from app.main import create_app
from app.predictions.schemas import ExternalPrediction, ImportRequest
from tests.emulated import synced_over_emulator
from tests.tracardi_emulator.app import TracardiEmulator
from tests.tracardi_emulator.generate import make_profiles


def change_events(emu: TracardiEmulator) -> Counter[str]:
    return Counter(e["type"] for e in emu.data["production"].events.values() if e["type"].startswith("profile-ai-")
                   and e["type"] != "profile-ai-traits")


async def test_segment_moves_and_tier_changes_become_one_event_each(encoder: Any, pg_url: str, tmp_path: Path) -> None:
    emu = TracardiEmulator("0.9")
    profiles, events = make_profiles(40, seed=21, events_per_profile=3)
    emu.seed(profiles, events)
    async with synced_over_emulator(emu, encoder, pg_url, tmp_path) as c:
        ids = sorted(p["id"] for p in profiles)
        repo = c.segments.repo
        for sid in ("seg-a", "seg-b"):
            await repo.upsert_saved(sid, sid, "", "description", {"query": sid})
        await repo.replace_members("seg-a", 1, [(p, 1.0) for p in ids[:20]])
        await repo.replace_members("seg-b", 1, [(p, 1.0) for p in ids[20:30]])
        await c.usecases.publish_segment("seg-a")
        await c.usecases.publish_segment("seg-b")
        assert change_events(emu) == {"profile-ai-segment-entered": 30}  # a first publication is entering

        moved = ids[:10]
        await repo.replace_members("seg-a", 1, [(p, 1.0) for p in ids[10:20]])
        await repo.replace_members("seg-b", 1, [(p, 1.0) for p in [*ids[20:30], *moved]])
        before = change_events(emu)
        await c.usecases.deliver_writeback()
        moves = change_events(emu) - before
        assert moves == {"profile-ai-segment-entered": 10, "profile-ai-segment-left": 10}
        sent = [e for e in emu.data["production"].events.values() if e["type"] == "profile-ai-segment-left"]
        assert {e["profile"]["id"] for e in sent} == set(moved)
        assert {e["properties"]["segment_id"] for e in sent} == {"seg-a"}
        assert sent[0]["properties"]["before"] == {"member": True} and sent[0]["properties"]["after"] == {"member": False}
        await c.usecases.deliver_writeback()
        assert change_events(emu) == before + moves  # a repeated run sends nothing twice

        def scores(shift: float) -> ImportRequest:
            return ImportRequest(goal="churn", model_name="churn model", predictions=[
                ExternalPrediction(profile_id=p, probability=min(1.0, (i % 20) / 20 + shift)) for i, p in enumerate(ids)])

        await c.predictions.import_predictions(scores(0.0))
        await c.usecases.deliver_writeback()
        assert change_events(emu)["profile-ai-tier-changed"] == 0  # a first score is a baseline, not a change
        tiers = {r["profile_id"]: r["tier"] for r in await c.database.pool.fetch(
            "SELECT profile_id, tier FROM profile_ai.predictions")}
        await c.predictions.import_predictions(scores(0.0))  # a rescore that changes nothing
        await c.usecases.deliver_writeback()
        assert change_events(emu)["profile-ai-tier-changed"] == 0
        await c.predictions.import_predictions(scores(0.5))  # everyone's risk rises
        after = {r["profile_id"]: r["tier"] for r in await c.database.pool.fetch(
            "SELECT profile_id, tier FROM profile_ai.predictions")}
        changed = {p for p in ids if tiers[p] != after[p]}
        assert changed  # the shift moved some tiers (percentiles are relative, so not all)
        await c.usecases.deliver_writeback()
        await c.usecases.deliver_writeback()
        sent = [e for e in emu.data["production"].events.values() if e["type"] == "profile-ai-tier-changed"]
        assert len(sent) == len(changed) and {e["profile"]["id"] for e in sent} == changed
        assert sent[0]["properties"]["goal"] == "churn" and "tier" in sent[0]["properties"]["after"]

        app = create_app(c.settings, container=c)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://localhost") as api:
            page = (await api.get("/v1/changes", params={"limit": 25})).json()
            assert len(page["changes"]) == 25 and page["changes"][0]["kind"] == "segment-entered"
            rest = (await api.get("/v1/changes", params={"since": page["next"], "limit": 1000})).json()
            kinds = Counter(ch["kind"] for ch in page["changes"] + rest["changes"])
            assert kinds == {"segment-entered": 40, "segment-left": 10, "tier-changed": len(changed)}
            assert (await api.get("/v1/changes", params={"since": rest["next"]})).json()["changes"] == []
            assert (await api.get("/v1/changes", params={"since": -1})).status_code == 422
