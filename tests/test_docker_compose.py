"""docker-compose.yml cannot run here (no Docker engine): check its structure and what profile-ai reads."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.config import load_settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_service_of_the_stack_is_there_with_pinned_images(compose: dict) -> None:
    services = compose["services"]
    assert {"elasticsearch", "redis", "mysql", "tracardi-api", "tracardi-gui", "qdrant", "postgres",
            "profile-ai"} <= set(services)
    for name, svc in services.items():
        if "image" in svc:
            assert ":" in svc["image"] and not svc["image"].endswith(":latest"), name
    assert services["tracardi-api"]["image"].split(":")[1] == services["tracardi-gui"]["image"].split(":")[1]
    assert "supabase/postgres" in services["postgres"]["image"]


def test_healthchecks_and_dependencies(compose: dict) -> None:
    services = compose["services"]
    for name in ("elasticsearch", "redis", "mysql", "tracardi-api", "qdrant", "postgres", "profile-ai"):
        assert "healthcheck" in services[name], name
    for name, svc in services.items():
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            assert cond["condition"] == "service_healthy" and "healthcheck" in services[dep]
    assert set(services["profile-ai"]["depends_on"]) == {"tracardi-api", "qdrant", "postgres"}


def test_volumes_declared(compose: dict) -> None:
    declared = set(compose["volumes"])
    for svc in compose["services"].values():
        for v in svc.get("volumes", []):
            assert v.split(":")[0] in declared


def test_tracardi_exposes_its_management_api(compose: dict) -> None:
    env = compose["services"]["tracardi-api"]["environment"]
    assert env["EXPOSE_GUI_API"] == "yes"
    assert env["ELASTIC_HOST"].startswith("http://elasticsearch:")
    assert env["REDIS_HOST"].startswith("redis://redis:")


def test_profile_ai_environment_is_what_its_settings_read(compose: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    svc = compose["services"]["profile-ai"]
    env = {k: (v.split(":-", 1)[1].rstrip("}") if isinstance(v, str) and v.startswith("${") else v)
           for k, v in svc["environment"].items()}
    for k in list(__import__("os").environ):
        if k.startswith("PROFILE_AI_") or k in ("QDRANT_URL", "DATABASE_URL"):
            monkeypatch.delenv(k)
    for k, v in env.items():
        monkeypatch.setenv(k, str(v))
    s = load_settings()
    assert str(s.data_dir) == "/data"
    assert s.tracardi.url == "http://tracardi-api:80"
    assert s.tracardi.username == env["PROFILE_AI_TRACARDI__USERNAME"]
    assert s.tracardi.context == "production"
    assert s.qdrant.url == "http://qdrant:6333"
    assert s.database.url is not None and "@postgres:5432/" in s.database.url
    assert set(env) <= {"PROFILE_AI_DATA_DIR", "PROFILE_AI_TRACARDI__URL", "PROFILE_AI_TRACARDI__USERNAME",
                        "PROFILE_AI_TRACARDI__PASSWORD", "PROFILE_AI_TRACARDI__CONTEXT", "QDRANT_URL", "DATABASE_URL",
                        "PROFILE_AI_QDRANT__API_KEY", "PROFILE_AI_PRIVACY__ERASURE_KEY"}
    assert s.qdrant.api_key == env["PROFILE_AI_QDRANT__API_KEY"]
    assert s.privacy.erasure_key == env["PROFILE_AI_PRIVACY__ERASURE_KEY"]
    ports = {p.split(":")[0] for p in svc["ports"]}
    assert "8000" in ports
    # the service names used in URLs exist
    assert {"tracardi-api", "qdrant", "postgres"} <= set(compose["services"])


def test_qdrant_server_and_client_versions_agree(compose: dict) -> None:
    # hybrid search sends Rrf(k=60), which Qdrant has from 1.16; qdrant-client supports its own minor
    import re

    tag = compose["services"]["qdrant"]["image"].split(":v")[1]
    server = tuple(int(x) for x in tag.split(".")[:2])
    assert server >= (1, 16)
    pin = re.search(r'"qdrant-client>=(\d+)\.(\d+),<(\d+)\.(\d+)"', (ROOT / "pyproject.toml").read_text())
    assert pin is not None
    low, high = (int(pin[1]), int(pin[2])), (int(pin[3]), int(pin[4]))
    assert low <= server < high


def test_tracardi_fires_profile_destinations(compose: dict) -> None:
    # LIB tracardi/config.py @0.8.1+: ENABLE_PROFILE_DESTINATIONS defaults to "no"
    assert compose["services"]["tracardi-api"]["environment"]["ENABLE_PROFILE_DESTINATIONS"] == "yes"


def test_only_profile_ai_is_published_on_all_interfaces(compose: dict) -> None:
    """Stores (Elasticsearch, Qdrant, PostgreSQL, Redis, MySQL) are reachable on the compose network only;
    Tracardi's API and GUI on loopback; Qdrant needs a key, which profile-ai is given."""
    services = compose["services"]
    for name in ("elasticsearch", "qdrant", "postgres", "redis", "mysql"):
        assert "ports" not in services[name], name
    for name in ("tracardi-api", "tracardi-gui"):
        assert all(str(p).startswith("127.0.0.1:") for p in services[name]["ports"]), name
    key = services["qdrant"]["environment"]["QDRANT__SERVICE__API_KEY"]
    assert key == services["profile-ai"]["environment"]["PROFILE_AI_QDRANT__API_KEY"]


def test_every_store_has_a_password_from_the_environment(compose: dict) -> None:
    """Elasticsearch security on and Redis with a password, both handed to Tracardi under the names its
    config reads (LIB tracardi/config.py @1.0 / 0.9.0-dev: ElasticConfig ELASTIC_HTTP_AUTH_USERNAME/PASSWORD,
    RedisConfig REDIS_PASSWORD); MySQL, PostgreSQL and Qdrant take theirs from .env as well."""
    s = compose["services"]
    es, tr = s["elasticsearch"]["environment"], s["tracardi-api"]["environment"]
    assert es["xpack.security.enabled"] == "true" and es["ELASTIC_PASSWORD"].startswith("${ELASTIC_PASSWORD")
    assert tr["ELASTIC_HTTP_AUTH_PASSWORD"] == es["ELASTIC_PASSWORD"] and tr["ELASTIC_HTTP_AUTH_USERNAME"] == "elastic"
    assert "--requirepass" in s["redis"]["command"]
    assert tr["REDIS_PASSWORD"] == s["redis"]["command"][-1] == s["redis"]["environment"]["REDISCLI_AUTH"]
    assert s["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD")
    assert s["mysql"]["environment"]["MYSQL_PASSWORD"].startswith("${MYSQL_PASSWORD")


def test_workers_share_the_servers_settings_and_never_create_the_schema(compose: dict) -> None:
    services = compose["services"]
    worker, server = services["worker"], services["profile-ai"]
    assert worker["command"] == ["profile-ai", "worker"]
    assert worker["environment"] == server["environment"]  # one queue, one index, one erasure key
    assert "PROFILE_AI_PRIVACY__ERASURE_KEY" in worker["environment"]
    assert worker["depends_on"] == {"profile-ai": {"condition": "service_healthy"}}
    assert "ports" not in worker  # nothing to reach from outside
