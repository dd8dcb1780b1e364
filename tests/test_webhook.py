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

SECRET = "s3cret-" + "x" * 30  # 32+ characters: a shorter one fails at start-up
PW = "pw-" + "y" * 32


@pytest.fixture
async def setup(encoder, pg_url: str, tmp_path: Path) -> AsyncIterator[tuple]:  # type: ignore[no-untyped-def]
    emu = TracardiEmulator("0.9")
    profiles, events = make_profiles(8, seed=41, events_per_profile=3)
    emu.seed(profiles, events)
    settings = Settings(data_dir=tmp_path, database=DatabaseSettings(url=pg_url),
                        tracardi=TracardiSettings(url="http://tracardi", username="admin@profile.ai", password="admin"),
                        webhook=WebhookSettings(secret=SECRET, username="tracardi", password=PW),
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
    r = await http.post("/v1/webhooks/tracardi", json=body, headers={"X-Profile-AI-Secret": SECRET})
    assert r.status_code == 202 and r.json()["accepted"] == [a] and r.json()["merged"] == 1
    hits = {h.payload["profile_id"]: h.payload for page in container.index.scroll() for h in page}
    assert hits[a]["traits"]["plan"] == "platinum" and b not in hits
    assert await container.state.resolve(b) == a
    card = await http.get(f"/v1/profiles/{b}")
    assert card.json()["profile_id"] == a and card.json()["merged_from"] == b
    basic = "Basic " + base64.b64encode(f"tracardi:{PW}".encode()).decode()
    old_style = await http.post("/v1/webhooks/tracardi", json={"id": a, "ids": [a, b]},  # 0.7-0.8 body
                                headers={"Authorization": basic})
    assert old_style.status_code == 202
    bad = await http.post("/v1/webhooks/tracardi", json={"data": {"no": "id"}}, headers={"X-Profile-AI-Secret": SECRET})
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
        result = await container.usecases.sync_pushed([Push(p["id"])])
        assert result.embedded == 1  # each profile is re-embedded at once ...
    assert calls == []  # ... while the whole-population refresh waits for the burst to end
    await container.usecases.settle()
    assert len(calls) == 1
    await container.usecases.sync_pushed([Push(profiles[0]["id"])])  # a later push schedules one more
    await container.usecases.settle()
    assert len(calls) == 2


def test_a_short_secret_fails_at_start_up() -> None:
    """Issue 32, item 2: a secret of any length was accepted."""
    with pytest.raises(ValueError, match="at least 32 characters"):
        WebhookSettings(secret="s3cret")
    with pytest.raises(ValueError, match="at least 32 characters"):
        WebhookSettings(username="tracardi", password="pw")
    assert WebhookSettings(secret="").secret is None  # empty: the webhook is off, as when unset


async def test_ids_in_the_body_are_never_believed(setup) -> None:  # type: ignore[no-untyped-def]
    """Issue 32, item 2: with the secret, {"id": A, "ids": [A, B]} deleted B's point, features and events and
    aliased B to A while Tracardi still held B as its own profile; after B was erased the same push re-created an
    alias holding B's id in clear, and a second erasure of B reached A."""
    emu, container, app, profiles = setup
    a, b = profiles[2]["id"], profiles[3]["id"]
    lie = {"data": {"id": a, "ids": [a, b]}, "changes": []}
    async with serving(app) as http:
        r = await http.post("/v1/webhooks/tracardi", json=lie, headers={"X-Profile-AI-Secret": SECRET})
        assert r.status_code == 202 and r.json()["merged"] == 0
        assert container.index.retrieve([b]) and await container.state.resolve(b) == b
        card = await http.get(f"/v1/profiles/{b}")
        assert card.json()["profile_id"] == b and "merged_from" not in {k for k, v in card.json().items() if v}
        # B asks to be forgotten; the same lie again re-creates nothing and erasure never reaches A
        await container.erasure.forget(b, actor="test")
        r = await http.post("/v1/webhooks/tracardi", json=lie, headers={"X-Profile-AI-Secret": SECRET})
        assert r.status_code == 202
        aliases = await container.database.pool.fetch("SELECT * FROM profile_ai.aliases")
        assert b not in str([dict(x) for x in aliases])
        assert container.index.retrieve([a]) and not container.index.retrieve([b])
        from app.errors import NotFoundError

        with pytest.raises(NotFoundError):
            await container.erasure.forget(b, actor="test")
        assert container.index.retrieve([a])  # A never asked


async def test_wrong_secrets_are_rate_limited_per_peer(setup) -> None:  # type: ignore[no-untyped-def]
    """Issue 32, item 2: 300 wrong secrets in a row were all 401, never 429."""
    _, _, app, profiles = setup
    body = {"id": profiles[0]["id"]}
    async with serving(app) as http:
        codes = [(await http.post("/v1/webhooks/tracardi", json=body, headers={"X-Profile-AI-Secret": f"guess-{i}"}))
                 .status_code for i in range(12)]
        assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]
        right = await http.post("/v1/webhooks/tracardi", json=body, headers={"X-Profile-AI-Secret": SECRET})
        assert right.status_code == 429 and int(right.headers["retry-after"]) >= 1  # the guesser waits it out


async def test_deep_or_non_finite_push_bodies_are_422(setup) -> None:  # type: ignore[no-untyped-def]
    """Issue 32, item 5: the webhook with deep JSON gave 500."""
    _, _, app, profiles = setup
    headers = {"X-Profile-AI-Secret": SECRET, "content-type": "application/json"}
    deep = '{{"id": "{}", "x": {}1{}}}'.format(profiles[0]["id"], "[" * 900, "]" * 900)
    async with serving(app) as http:
        r = await http.post("/v1/webhooks/tracardi", content=deep, headers=headers)
        assert r.status_code == 422 and "deeper" in r.json()["detail"]
        nan = '{{"id": "{}", "score": NaN}}'.format(profiles[0]["id"])
        assert (await http.post("/v1/webhooks/tracardi", content=nan, headers=headers)).status_code == 422


async def test_a_signature_can_be_required(encoder, pg_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import time

    from app.tracardi.webhook import sign

    emu = TracardiEmulator("0.9")
    profiles, events = make_profiles(2, seed=5, events_per_profile=1)
    emu.seed(profiles, events)
    settings = Settings(data_dir=tmp_path, database=DatabaseSettings(url=pg_url),
                        tracardi=TracardiSettings(url="http://tracardi", username="admin@profile.ai", password="admin"),
                        webhook=WebhookSettings(secret=SECRET, require_signature=True), server=ServerSettings(auth=False))
    container = await Container.create(settings, encoder=encoder)
    container.tracardi_transport = httpx.ASGITransport(emu.app)
    try:
        raw = ('{{"id": "{}"}}'.format(profiles[0]["id"])).encode()
        headers = {"X-Profile-AI-Secret": SECRET, "content-type": "application/json"}
        async with serving(create_app(settings, container=container)) as http:
            assert (await http.post("/v1/webhooks/tracardi", content=raw, headers=headers)).status_code == 401
            stale = sign(raw, SECRET, int(time.time()) - 3600)  # a replay an hour later
            assert (await http.post("/v1/webhooks/tracardi", content=raw,
                                    headers={**headers, "X-Profile-AI-Signature": stale})).status_code == 401
            forged = sign(raw + b" ", SECRET)  # signed another body
            assert (await http.post("/v1/webhooks/tracardi", content=raw,
                                    headers={**headers, "X-Profile-AI-Signature": forged})).status_code == 401
            ok = await http.post("/v1/webhooks/tracardi", content=raw,
                                 headers={**headers, "X-Profile-AI-Signature": sign(raw, SECRET)})
            assert ok.status_code == 202 and ok.json()["embedded"] == 1
    finally:
        await container.aclose()
