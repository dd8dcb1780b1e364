"""Tracardi destination pushes re-sync profiles at once; wrong secrets are refused; merges are applied."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from app.config import DatabaseSettings, ServerSettings, Settings, TracardiSettings, WebhookSettings
from app.container import Container
from app.main import create_app
from tests.tracardi_emulator.app import TracardiEmulator
from tests.tracardi_emulator.generate import make_profiles


@pytest.fixture
async def setup(encoder, pg_url: str, tmp_path: Path) -> AsyncIterator[tuple]:  # type: ignore[no-untyped-def]
    emu = TracardiEmulator("0.9")
    profiles, events = make_profiles(8, seed=41, events_per_profile=3)
    emu.seed(profiles, events)
    settings = Settings(data_dir=tmp_path, database=DatabaseSettings(url=pg_url),
                        tracardi=TracardiSettings(url="http://tracardi", username="admin@profile.ai", password="admin"),
                        webhook=WebhookSettings(secret="s3cret", username="tracardi", password="pw"),
                        server=ServerSettings(auth=False))  # the webhook's own secret is what is under test
    container = await Container.create(settings, encoder=encoder)
    container.tracardi_transport = httpx.ASGITransport(emu.app)
    await container.sync.run(container.source("http://tracardi", transport=container.tracardi_transport))
    app = create_app(settings, container=container)
    yield emu, container, app, profiles
    await container.aclose()


@asynccontextmanager
async def serving(app):  # type: ignore[no-untyped-def]
    # entered and left in the test's own task: the MCP session manager's task group requires it
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://localhost") as http:
        yield http


async def test_wrong_or_missing_secret_is_refused(setup) -> None:  # type: ignore[no-untyped-def]
    _, _, app, profiles = setup
    async with serving(app) as http:
        await _refused(http, profiles)


async def _refused(http, profiles) -> None:  # type: ignore[no-untyped-def]
    body = {"data": {"id": profiles[0]["id"], "ids": [profiles[0]["id"]]}, "changes": []}
    assert (await http.post("/v1/webhooks/tracardi", json=body)).status_code == 401
    wrong = await http.post("/v1/webhooks/tracardi", json=body, headers={"X-Profile-AI-Secret": "nope"})
    assert wrong.status_code == 401
    bad_basic = "Basic " + base64.b64encode(b"tracardi:wrong").decode()
    assert (await http.post("/v1/webhooks/tracardi", json=body, headers={"Authorization": bad_basic})).status_code == 401


async def test_push_resyncs_the_profile_and_applies_merges(setup) -> None:  # type: ignore[no-untyped-def]
    emu, container, app, profiles = setup
    async with serving(app) as http:
        await _pushes(emu, container, http, profiles)


async def _pushes(emu, container, http, profiles) -> None:  # type: ignore[no-untyped-def]
    a, b = profiles[0]["id"], profiles[1]["id"]
    emu.touch(a, {"plan": "platinum"})
    emu.merge(a, [b])
    body = {"data": {"id": a, "ids": [a, b]}, "changes": []}  # 0.9+ body
    r = await http.post("/v1/webhooks/tracardi", json=body, headers={"X-Profile-AI-Secret": "s3cret"})
    assert r.status_code == 202 and r.json()["accepted"] == [a] and r.json()["merged"] == 1
    hits = {h.payload["profile_id"]: h.payload for page in container.index.scroll() for h in page}
    assert hits[a]["traits"]["plan"] == "platinum" and b not in hits
    assert await container.state.resolve(b) == a
    card = await http.get(f"/v1/profiles/{b}")
    assert card.json()["profile_id"] == a and card.json()["merged_from"] == b
    basic = "Basic " + base64.b64encode(b"tracardi:pw").decode()
    old_style = await http.post("/v1/webhooks/tracardi", json={"id": a, "ids": [a, b]},  # 0.7-0.8 body
                                headers={"Authorization": basic})
    assert old_style.status_code == 202
    bad = await http.post("/v1/webhooks/tracardi", json={"data": {"no": "id"}}, headers={"X-Profile-AI-Secret": "s3cret"})
    assert bad.status_code == 422


async def test_a_burst_of_pushes_costs_one_segment_refresh(setup) -> None:  # type: ignore[no-untyped-def]
    from app.tracardi.webhook import Push

    emu, container, _, profiles = setup
    container.settings.webhook.refresh_delay_s = 1.0  # a pause this long ends the burst
    calls = []
    real = container.segments.refresh

    async def counted() -> dict[str, int]:
        calls.append(1)
        return await real()

    container.segments.refresh = counted
    for i, p in enumerate(profiles):  # eight pushes, one per changed profile, as Tracardi sends them
        emu.touch(p["id"], {"plan": f"tier-{i}"})
        result = await container.sync_pushed([Push(p["id"])])
        assert result.embedded == 1  # each profile is re-embedded at once ...
    assert calls == []  # ... while the whole-population refresh waits for the burst to end
    await container.settle()
    assert len(calls) == 1
    await container.sync_pushed([Push(profiles[0]["id"])])  # a later push schedules one more
    await container.settle()
    assert len(calls) == 2
