"""API keys on /v1 and /mcp: scopes, revocation, hashed at rest, constant-time checks; body size limit;
CORS off by default; open mode refused off loopback; the CLI's keys commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from app.auth.guard import required_scope
from app.auth.repository import ApiKeyRepository
from app.cli import app as cli_app
from app.config import ServerSettings, Settings
from app.main import create_app


def serve(container: Any, **server: Any):  # type: ignore[no-untyped-def]
    """Run requests against the app (auth on unless told) inside one lifespan, on the container's loop."""
    def run(calls):  # type: ignore[no-untyped-def]
        async def go() -> list[httpx.Response]:
            settings = Settings(data_dir=container.settings.data_dir, server=ServerSettings(**server))
            app = create_app(settings, container=container)
            async with app.router.lifespan_context(app), httpx.AsyncClient(
                    transport=httpx.ASGITransport(app), base_url="http://localhost") as http:
                return [await http.request(m, p, **kw) for m, p, kw in calls]
        return container.run(go())
    return run


def bearer(key: str) -> dict[str, dict[str, str]]:
    return {"headers": {"Authorization": f"Bearer {key}"}}


def test_scopes_are_mapped_from_method_and_path() -> None:
    assert required_scope("POST", "/v1/search", False) == "read"
    assert required_scope("GET", "/v1/segments", False) == "read"
    assert required_scope("POST", "/v1/segments/discover", False) == "write"
    assert required_scope("POST", "/v1/models", False) == "write"
    assert required_scope("GET", "/v1/keys", False) == "admin"
    assert required_scope("POST", "/mcp/", False) == "read" and required_scope("POST", "/mcp/", True) == "write"
    assert required_scope("POST", "/v1/webhooks/tracardi", False) is None  # its own shared secret
    assert required_scope("GET", "/health", False) is None and required_scope("GET", "/metrics", False) is None


def test_keys_scopes_and_revocation(movielens_container: Any) -> None:
    c = movielens_container
    repo: ApiKeyRepository = c.keys
    read, read_rec = c.run(repo.create("read", "agent"))
    write, _ = c.run(repo.create("write", "pipeline"))
    admin, _ = c.run(repo.create("admin", "ops"))
    stored = c.run(c.database.pool.fetchval("SELECT secret_hash FROM profile_ai.api_keys WHERE key_id = $1",
                                            read_rec.key_id))
    assert read.split("_", 2)[2] not in stored and len(stored) == 64  # only a hash is at rest
    search = ("POST", "/v1/search", {"json": {"query": "war movies", "limit": 2}})
    r = serve(c)([
        search,
        ("POST", "/v1/search", {"json": {"query": "war movies"}, **bearer("pai_nope_nope")}),
        ("POST", "/v1/search", {"json": {"query": "war movies", "limit": 2}, **bearer(read)}),
        ("GET", "/v1/segments", bearer(read)),
        ("POST", "/v1/segments/discover", {"json": {}, **bearer(read)}),
        ("POST", "/v1/models", {"json": {"goal": "nonsense"}, **bearer(write)}),
        ("GET", "/v1/keys", bearer(write)),
        ("GET", "/v1/keys", bearer(admin)),
        ("POST", "/mcp/", {"json": {}}),
        ("GET", "/health", {}),
    ])
    assert r[0].status_code == 401 and r[0].headers["www-authenticate"] == "Bearer"
    assert "profile-ai keys create" in r[0].json()["detail"]
    assert r[1].status_code == 401
    assert r[2].status_code == 200 and len(r[2].json()["results"]) == 2
    assert r[3].status_code == 200
    assert r[4].status_code == 403 and "needs 'write'" in r[4].json()["detail"]
    assert r[5].status_code == 422  # through the guard: the service answers (unknown goal)
    assert r[6].status_code == 403
    assert r[7].status_code == 200 and len(r[7].json()["keys"]) >= 3
    assert "key" not in r[7].json()["keys"][0] and "secret_hash" not in json.dumps(r[7].json())
    assert r[8].status_code == 401  # /mcp is guarded too
    assert r[9].status_code == 200
    assert c.run(repo.revoke(read_rec.key_id))
    again = serve(c)([("POST", "/v1/search", {"json": {"query": "war movies"}, **bearer(read)})])
    assert again[0].status_code == 401


def test_admin_creates_and_revokes_keys_over_http(movielens_container: Any) -> None:
    c = movielens_container
    admin, _ = c.run(c.keys.create("admin"))
    made, = serve(c)([("POST", "/v1/keys", {"json": {"scope": "read", "name": "bot"}, **bearer(admin)})])
    assert made.status_code == 200 and made.json()["key"].startswith("pai_")
    new_key, kid = made.json()["key"], made.json()["key_id"]
    ok, revoked, gone = serve(c)([
        ("POST", "/v1/search", {"json": {"query": "comedy"}, **bearer(new_key)}),
        ("DELETE", f"/v1/keys/{kid}", bearer(admin)),
        ("POST", "/v1/search", {"json": {"query": "comedy"}, **bearer(new_key)}),
    ])
    assert ok.status_code == 200 and revoked.json()["revoked_at"] and gone.status_code == 401


def test_body_limit_and_no_cors_by_default(movielens_container: Any) -> None:
    c = movielens_container
    big, cors, bulk = serve(c, auth=False, max_request_bytes=1024, max_body_bytes=100_000)([
        ("POST", "/v1/search", {"content": b'{"query": "' + b"x" * 5000 + b'"}',
                                "headers": {"content-type": "application/json"}}),
        ("OPTIONS", "/v1/search", {"headers": {"Origin": "https://evil.example", "Access-Control-Request-Method":
                                               "POST"}}),
        ("POST", "/v1/predictions/import", {"content": b'{"goal": "x", "predictions": [' + b" " * 5000 + b']}',
                                            "headers": {"content-type": "application/json"}}),
    ])
    assert big.status_code == 413 and big.json()["error"] == "payload_too_large"
    assert bulk.status_code != 413  # the bulk route has its own, larger limit (the body itself is then judged)
    assert "access-control-allow-origin" not in cors.headers
    allowed, = serve(c, auth=False, cors_origins=["https://app.example"])([
        ("OPTIONS", "/v1/search", {"headers": {"Origin": "https://app.example", "Access-Control-Request-Method":
                                               "POST"}})])
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"


def test_cli_keys_and_open_mode_only_on_loopback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    data = str(tmp_path / "data")
    r = runner.invoke(cli_app, ["keys", "create", "--scope", "write", "--name", "etl", "--json", "--data-dir", data])
    assert r.exit_code == 0, r.stderr
    made = json.loads(r.stdout)
    assert made["key"].startswith(f"pai_{made['key_id']}_") and made["scope"] == "write"
    listed = json.loads(runner.invoke(cli_app, ["keys", "list", "--json", "--data-dir", data]).stdout)["keys"]
    assert [k["key_id"] for k in listed] == [made["key_id"]] and "key" not in listed[0]
    assert runner.invoke(cli_app, ["keys", "revoke", made["key_id"], "--data-dir", data]).exit_code == 0
    bad = runner.invoke(cli_app, ["keys", "revoke", made["key_id"], "--data-dir", data])
    assert bad.exit_code == 1 and "no live key" in bad.stderr
    assert runner.invoke(cli_app, ["keys", "create", "--scope", "root", "--data-dir", data]).exit_code == 1
    monkeypatch.setenv("PROFILE_AI_SERVER__AUTH", "false")
    refused = runner.invoke(cli_app, ["serve", "--host", "0.0.0.0", "--data-dir", data])
    assert refused.exit_code == 1 and "loopback only" in refused.stderr


def test_a_path_prefix_never_switches_the_key_check_off(movielens_container: Any) -> None:
    """uvicorn --root-path and mounting put the prefix in scope["path"]; the guard decides on the route path."""
    c = movielens_container

    async def go() -> list[httpx.Response]:
        settings = Settings(data_dir=c.settings.data_dir, server=ServerSettings())
        inner = create_app(settings, container=c)
        from fastapi import FastAPI

        outer = FastAPI()
        outer.mount("/prefix", inner)
        async with inner.router.lifespan_context(inner), httpx.AsyncClient(
                transport=httpx.ASGITransport(outer), base_url="http://localhost") as http:
            return [await http.get("/prefix/v1/keys"),
                    await http.post("/prefix/v1/keys", json={"scope": "admin"}),
                    await http.post("/prefix/v1/search", json={"query": "x"}),
                    await http.get("/prefix/health")]

    def count() -> int:
        return int(c.run(c.database.pool.fetchval("SELECT count(*) FROM profile_ai.api_keys")))

    before = count()
    keys_list, minted, search, health = c.run(go())
    assert keys_list.status_code == 401 and minted.status_code == 401 and search.status_code == 401
    assert health.status_code == 200
    assert count() == before  # no key was minted


def test_deny_by_default_outside_the_open_list() -> None:
    assert required_scope("GET", "/anything/else", False) == "read"
    assert required_scope("GET", "/v1/webhooks/other", False) == "read"  # only the Tracardi webhook is open
    assert required_scope("GET", "/", False) is None and required_scope("GET", "/static/app.js", False) is None


def test_open_mode_answers_loopback_peers_with_loopback_host_names_only(movielens_container: Any) -> None:
    c = movielens_container

    async def go() -> list[int]:
        settings = Settings(data_dir=c.settings.data_dir, server=ServerSettings(auth=False))
        app = create_app(settings, container=c)
        out = []
        async with app.router.lifespan_context(app):
            for client, host in ((("127.0.0.1", 5), "localhost:8000"), (("127.0.0.1", 5), "evil.example"),
                                 (("192.0.2.7", 5), "localhost"), (("::1", 5), "[::1]:8000")):
                async with httpx.AsyncClient(transport=httpx.ASGITransport(app, client=client),
                                             base_url=f"http://{host}") as http:
                    out.append((await http.post("/v1/search", json={"query": "war", "limit": 1})).status_code)
        return out

    assert c.run(go()) == [200, 421, 403, 200]


def test_per_key_rate_limits_answer_429_with_retry_after(movielens_container: Any) -> None:
    c = movielens_container
    a, _ = c.run(c.keys.create("write", "busy"))
    b, _ = c.run(c.keys.create("write", "quiet"))
    search = ("POST", "/v1/search", {"json": {"query": "war movies", "limit": 1}})
    write: tuple[str, str, dict[str, Any]] = ("DELETE", "/v1/segments/seg-none/publish", {})
    answers = serve(c, rate_limit="3/minute", rate_limit_writes="1/minute")([
        *[(m, p, {**kw, **bearer(a)}) for m, p, kw in (search, search, search, search)],
        (search[0], search[1], {**search[2], **bearer(b)}),  # another key has its own budget
        (write[0], write[1], bearer(b)), (write[0], write[1], bearer(b)),
        ("GET", "/health", {}),  # open paths are never limited
    ])
    codes = [r.status_code for r in answers]
    assert codes[:4] == [200, 200, 200, 429] and codes[4] == 200
    assert codes[5] != 429 and codes[6] == 429 and codes[7] == 200
    limited = answers[3]
    assert limited.json()["error"] == "rate_limited" and 1 <= int(limited.headers["retry-after"]) <= 60


def test_an_unreadable_rate_limit_fails_at_start_up() -> None:
    with pytest.raises(ValueError, match="not readable"):
        ServerSettings(rate_limit="lots")


async def test_keys_can_expire_and_bad_lifetimes_are_refused(pg_url: str, tmp_path: Path) -> None:
    """Issue 32, item 7: keys never expired."""
    from app.auth.repository import ApiKeyRepository, parse_lifetime
    from app.errors import InvalidRequestError
    from app.store.database import Database

    for bad in ("", "forever", "0d", "99999d", "12", "5y"):
        with pytest.raises(InvalidRequestError) as refused:
            parse_lifetime(bad)
        assert refused.value.sentence("es").startswith(("la caducidad", "caducidad"))
    assert parse_lifetime("90d").days == 90 and parse_lifetime("12h").seconds == 12 * 3600
    db = await Database.connect(pg_url, tmp_path)
    try:
        repo = ApiKeyRepository(db.pool)
        key, record = await repo.create("read", "temp", parse_lifetime("1h"))
        assert record.expires_at is not None and await repo.verify(key) is not None
        await db.pool.execute("UPDATE profile_ai.api_keys SET expires_at = now() - interval '1 second' "
                              "WHERE key_id = $1", record.key_id)
        assert await repo.verify(key) is None  # expired: refused like a revoked key
        lasting, _ = await repo.create("read", "lasting")
        assert await repo.verify(lasting) is not None
        assert (await repo.list())[-1].last_used_at is not None  # last use is recorded
    finally:
        await db.close()
