"""The OpenAPI schema fuzzed with schemathesis against a real server (uvicorn on loopback, a synced data dir):
no input may cause a 5xx, and every answer must match the schema it documents."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance
from typer.testing import CliRunner

from app.cli import app as cli_app
from app.config import load_settings
from app.main import create_app
from tests.tracardi_emulator.generate import make_profiles


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("fuzz")
    export = root / "export"
    export.mkdir()
    profiles, events = make_profiles(30, seed=5, events_per_profile=5)
    (export / "profiles.ndjson").write_text("".join(json.dumps(p) + "\n" for p in profiles))
    (export / "events.ndjson").write_text("".join(json.dumps(e) + "\n" for e in events))
    data = root / "data"
    r = CliRunner().invoke(cli_app, ["sync", "--source", str(export), "--data-dir", str(data)])
    assert r.exit_code == 0, r.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(load_settings(data_dir=data, server={"auth": False}))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(1200):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(15)


@pytest.fixture(scope="module")
def api_schema(server_url: str) -> Any:
    return schemathesis.openapi.from_url(f"{server_url}/openapi.json")


def test_no_input_causes_a_server_error_or_an_undocumented_body(api_schema: Any) -> None:
    failures: list[str] = []
    operations = [r.ok() for r in api_schema.get_all_operations()]
    assert len(operations) >= 20
    def fuzzer(strategy: Any) -> Any:  # one hypothesis test per operation, bound to its strategy
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(data=st.data())
        def fuzz(data: st.DataObject) -> None:
            case = data.draw(strategy)
            case.call_and_validate(checks=[not_a_server_error, response_schema_conformance,
                                           content_type_conformance], timeout=60)
        return fuzz

    for op in operations:
        fuzz = fuzzer(op.as_strategy())
        try:
            fuzz()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report them all
            failures.append(f"{op.method.upper()} {op.path}: {str(exc)[:400]}")
    assert not failures, "\n\n".join(failures)


def test_the_schema_covers_every_route(api_schema: Any) -> None:
    paths = set(api_schema.raw_schema["paths"])
    assert {"/v1/search", "/v1/segments/discover", "/v1/models", "/v1/keys", "/v1/predictions/import"} <= paths
