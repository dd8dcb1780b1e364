"""The demo path through a transaction pooler ends where it ends directly (issue 29), and Supabase's roles read
what they should. Before this work the first `sync` through pgbouncer succeeded and discovery, training, a second
sync and scoring failed with DuplicatePreparedStatementError."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from app.config import DatabaseSettings, JobSettings, Settings, TracardiSettings
from app.container import Container
from app.jobs.queue import JobsNeedSessionError
from app.jobs.runner import JobRunner
from app.predictions.schemas import ScoreRequest, TrainRequest
from app.segments.schemas import DiscoverRequest
from app.store.connection import driver_url, pool_mode
from app.tracardi.client import TracardiClient
from app.tracardi.setup import setup_writeback
from tests.supabase.pgbouncer import Pooler, supabase_database
from tests.tracardi_emulator.app import TracardiEmulator
from tests.tracardi_emulator.generate import START, make_profiles


@pytest.mark.parametrize(("url", "configured", "mode"), [
    ("postgresql://u@aws-0-eu-west-3.pooler.supabase.com:6543/postgres", None, "transaction"),
    ("postgresql://u@db.abc.supabase.co:5432/postgres", None, "direct"),
    ("postgresql://u@host:5432/db?pgbouncer=true", None, "transaction"),
    ("postgresql://u@host:6543/db", "session", "session"),
    ("postgresql://u@/db?host=/run/pg", None, "direct"),
])
def test_the_connection_kind_comes_from_the_setting_or_the_url(url: str, configured: str | None, mode: str) -> None:
    assert pool_mode(url, configured) == mode
    assert "pgbouncer" not in driver_url(url)


def _tracardi() -> TracardiEmulator:
    emu = TracardiEmulator("0.9")
    profiles, events = make_profiles(150, seed=29, events_per_profile=6)
    rnd = random.Random(4)
    for e in events:  # activity over the year: people active on both sides of a model's as-of
        when = (START + timedelta(days=rnd.uniform(0, 365))).isoformat()
        e["metadata"]["time"] = {"insert": when, "create": when}
    emu.seed(profiles, events)
    return emu


async def demo_path(encoder: Any, database: DatabaseSettings, root: Path) -> dict[str, Any]:
    """What `make demo` does and a marketer then does, against one database: the results that must not depend on
    how the database is reached."""
    emu = _tracardi()
    settings = Settings(data_dir=root, database=database, tracardi=TracardiSettings(
        url="http://tracardi", username="admin@profile.ai", password="admin"), jobs=JobSettings(worker_in_serve=False))
    c = await Container.create(settings, encoder=encoder)
    c.tracardi_transport = httpx.ASGITransport(emu.app)
    try:
        async with httpx.AsyncClient(transport=c.tracardi_transport, base_url="http://tracardi") as http:
            await setup_writeback(TracardiClient(http, username="admin@profile.ai", password="admin"))
        first, second = await asyncio.gather(c.usecases.sync_and_refresh(c.source()), c.usecases.sync_and_refresh(c.source()))
        pid = next(iter(emu.dataset().profiles))
        emu.touch(pid, {"plan": "platinum"})
        incremental = await c.usecases.sync_and_refresh(c.source())
        found = await c.segments.discover(DiscoverRequest(k_min=2, k_max=3, random_state=0))
        published = await c.usecases.publish_segment(found.segments[0].segment_id)
        model = await c.predictions.train(TrainRequest(goal="churn", horizon_days=60, random_state=0))
        scored = await c.usecases.score(ScoreRequest(model_id=model.model_id, limit=5))
        forgotten = await c.erasure.forget(pid, actor="test")
        hashes = {h.payload["profile_id"]: h.payload["content_hash"] for page in c.index.scroll() for h in page}
        traits = {k: v["traits"].get("ai") for k, v in emu.dataset().profiles.items()}
        return {"syncs": sorted((first["embedded"], second["embedded"])), "incremental": incremental["embedded"],
                "hashes": hashes, "sizes": sorted(s.size for s in found.segments),
                "published": published.delivered, "card": model.card.get("metrics"),
                "scored": scored.scored, "top": [(p.profile_id, p.probability) for p in scored.predictions],
                "forgotten": forgotten["verify"]["total"], "tracardi_traits": traits, "mode": c.database.mode,
                "jobs_session": c.database.session_url is not None}
    finally:
        await c.aclose()


@pytest.fixture(scope="module")
def paths(encoder: Any, pg_server: str, pooler: Pooler,
          tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    async def both() -> dict[str, Any]:
        pooled = await supabase_database(pg_server, pooler)
        direct = await supabase_database(pg_server, pooler)
        # through pgbouncer alone, its URL flagged the way Supabase's guides write it: no direct URL at all
        through = await demo_path(encoder, DatabaseSettings(url=pooled["pooled"] + "?pgbouncer=true"),
                                  tmp_path_factory.mktemp("pooled"))
        plain = await demo_path(encoder, DatabaseSettings(url=direct["direct"]), tmp_path_factory.mktemp("direct"))
        return {"pooled": through, "direct": plain, "urls": pooled}

    return asyncio.run(both())  # its own loop: the module's tests each run on theirs


async def test_the_demo_path_through_a_transaction_pooler_ends_as_it_does_directly(paths: dict[str, Any]) -> None:
    through, plain = paths["pooled"], paths["direct"]
    assert through["mode"] == "transaction" and plain["mode"] == "direct"
    assert through["syncs"] == [0, 150]  # two syncs at once: serialised, the second finds nothing to do
    for key in ("syncs", "incremental", "hashes", "sizes", "published", "card", "scored", "top", "forgotten",
                "tracardi_traits"):
        assert through[key] == plain[key], key
    assert through["published"] and through["scored"] == 150 and through["forgotten"] == 0  # then one erased


async def test_the_job_engine_asks_for_a_session_behind_a_transaction_pooler(encoder: Any, paths: dict[str, Any],
                                                                             tmp_path: Path) -> None:
    """Procrastinate names its tables through the session's search_path and listens for wake-ups: behind a
    transaction pooler alone it says which setting to add instead of half-running."""
    urls = paths["urls"]
    settings = Settings(data_dir=tmp_path, database=DatabaseSettings(url=urls["pooled"], pool_mode="transaction"),
                        jobs=JobSettings(worker_in_serve=False))
    c = await Container.create(settings, encoder=encoder)
    try:
        with pytest.raises(JobsNeedSessionError, match="PROFILE_AI_DATABASE__DIRECT_URL"):
            await JobRunner(c, owns_index=True).queue.open()
    finally:
        await c.aclose()


async def test_a_worker_and_a_schedule_with_a_direct_url_beside_the_pooler(encoder: Any, pg_server: str,
                                                                           pooler: Pooler,
                                                                           tmp_path: Path) -> None:
    from datetime import UTC, datetime

    urls = await supabase_database(pg_server, pooler)
    settings = Settings(data_dir=tmp_path, jobs=JobSettings(worker_in_serve=False),
                        database=DatabaseSettings(url=urls["pooled"], pool_mode="transaction", direct_url=urls["direct"]))
    c = await Container.create(settings, encoder=encoder)
    try:
        jobs = JobRunner(c, owns_index=True)
        await jobs.queue.schedules.put("often", "writeback", "* * * * *", now=datetime(2026, 1, 1, tzinfo=UTC))
        fired = await jobs.queue.schedules.fire_due(lambda job, a: jobs.queue.defer(job, a))
        assert fired == ["often"]
        await asyncio.wait_for(jobs.queue.work(jobs.queues, wait=False), 60)
        runs = await jobs.queue.runs(job="writeback")
        assert runs and runs[0]["status"] == "succeeded"
    finally:
        await jobs.queue.close()
        await c.aclose()


async def _as(url: str, role: str, sql: str, claims: str = "{}") -> Any:
    """Read the way PostgREST does: log in as `authenticator`, then SET LOCAL ROLE and the JWT claims."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL ROLE {role}")
            await conn.execute("SELECT set_config('request.jwt.claims', $1, true)", claims)
            return await conn.fetchval(sql)
    finally:
        await conn.close()


async def test_other_apps_read_predicted_traits_as_service_role_never_as_anon(paths: dict[str, Any]) -> None:
    from app.store.migrations import apply_read_api

    urls = paths["urls"]
    count = "SELECT count(*) FROM profile_ai_api.predicted_traits"
    assert await _as(urls["authenticator"], "service_role", count) == 149
    members = await _as(urls["authenticator"], "service_role", "SELECT count(*) FROM profile_ai_api.segment_members")
    assert members > 0
    # the campaign's arms are readable too (the view calls profile_ai.holdout_bucket under the reader's rights)
    assert await _as(urls["authenticator"], "service_role", "SELECT count(*) FROM profile_ai_api.segment_arms") >= 0
    for role in ("anon", "authenticated"):  # no opt-in: nothing at all
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await _as(urls["authenticator"], role, count)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):  # the tables themselves are not an API
        await _as(urls["authenticator"], "service_role", "SELECT count(*) FROM profile_ai.events")
    # the operator opts `authenticated` in with a JWT claim: rows only for a user whose token carries it
    owner = await asyncpg.connect(urls["direct"])
    try:
        await apply_read_api(owner, "profile_ai_reader")
        assert await _as(urls["authenticator"], "authenticated", count, '{"role": "authenticated"}') == 0
        assert await _as(urls["authenticator"], "authenticated", count,
                         '{"role": "authenticated", "profile_ai_reader": true}') == 149
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await _as(urls["authenticator"], "anon", count, '{"profile_ai_reader": true}')  # anon never
        await apply_read_api(owner, None)  # and back: the opt-in is withdrawn on the next start
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await _as(urls["authenticator"], "authenticated", count, '{"profile_ai_reader": true}')
    finally:
        await owner.close()


async def test_changes_are_published_to_supabase_realtime_where_it_exists(encoder: Any, pg_server: str,
                                                                          pooler: Pooler,
                                                                          paths: dict[str, Any], tmp_path: Path) -> None:
    query = ("SELECT count(*) FROM pg_publication_tables WHERE pubname = 'supabase_realtime' "
             "AND schemaname = 'profile_ai' AND tablename = 'changes'")
    with_realtime = await supabase_database(pg_server, pooler, realtime=True)
    c = await Container.create(Settings(data_dir=tmp_path, database=DatabaseSettings(url=with_realtime["pooled"],
                                                                                     pool_mode="transaction")),
                               encoder=encoder)
    await c.aclose()
    conn = await asyncpg.connect(with_realtime["direct"])
    try:
        assert await conn.fetchval(query) == 1
    finally:
        await conn.close()
    plain = await asyncpg.connect(paths["urls"]["direct"])  # no publication there: none made, nothing failed
    try:
        assert await plain.fetchval("SELECT count(*) FROM pg_publication") == 0
    finally:
        await plain.close()
