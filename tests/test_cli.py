"""The CLI contract: --json on stdout, one-line errors with a non-zero exit, --data-dir everywhere."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from typer.testing import CliRunner

from app.cli import app
from tests.mcp_text import tool_text
from tests.tracardi_emulator.app import TracardiEmulator
from tests.tracardi_emulator.generate import make_profiles

runner = CliRunner()


def cli(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cli-export")
    profiles, events = make_profiles(25, seed=21, events_per_profile=4)
    (d / "profiles.ndjson").write_text("".join(json.dumps(p) + "\n" for p in profiles) + "{not json\n")
    (d / "events.ndjson").write_text("".join(json.dumps(e) + "\n" for e in events))
    return d


def test_sync_search_profile_similar(export: Path, tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    code, out, _ = cli("sync", "--source", str(export), "--json", "--data-dir", data)
    assert code == 0
    res = json.loads(out)
    assert res["embedded"] == 25 and res["error_count"] == 1 and "profiles.ndjson:26" in res["errors"][0]
    code, out, _ = cli("search", "customers who buy watches", "--limit", "3", "--filter", "plan=pro", "--json",
                       "--data-dir", data)
    assert code == 0
    hits = json.loads(out)["results"]
    assert 0 < len(hits) <= 3 and all(h["traits"]["plan"] == "pro" for h in hits)
    pid = hits[0]["profile_id"]
    code, out, _ = cli("profile", pid, "--json", "--data-dir", data)
    assert code == 0 and json.loads(out)["profile_id"] == pid
    code, out, _ = cli("similar", pid, "--limit", "2", "--json", "--data-dir", data)
    assert code == 0 and len(json.loads(out)["results"]) == 2


def test_errors_are_one_line_and_non_zero(tmp_path: Path) -> None:
    code, out, err = cli("search", "x", "--filter", "nonsense", "--data-dir", str(tmp_path))
    assert code == 1 and out == "" and err.strip().count("\n") == 0 and "invalid filter" in err
    code, _, err = cli("source", "stats", "--source", str(tmp_path / "missing"), "--json")
    assert code == 1 and "not an export directory" in err


def test_source_stats_of_export_and_of_tracardi_over_http(export: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = cli("source", "stats", "--source", str(export), "--json")
    assert code == 0 and json.loads(out)["profiles"] == 26 and json.loads(out)["events"] == 100
    emu = TracardiEmulator("0.8.2")
    profiles, events = make_profiles(120, seed=22, events_per_profile=2)
    emu.seed(profiles, events)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(emu.app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        monkeypatch.setenv("PROFILE_AI_TRACARDI__USERNAME", "admin@profile.ai")
        monkeypatch.setenv("PROFILE_AI_TRACARDI__PASSWORD", "admin")
        code, out, err = cli("source", "stats", "--source", f"http://127.0.0.1:{port}", "--json")
        assert code == 0, err
        assert json.loads(out) == {"source": f"http://127.0.0.1:{port}", "profiles": 120, "events": 240,
                                   "version": "0.8.2"}
        code, out, err = cli("tracardi", "setup", "--url", f"http://127.0.0.1:{port}", "--json")
        assert code == 0, err
        assert json.loads(out)["created"] == ["event-source", "event-to-profile"]
        code, out, _ = cli("tracardi", "setup", "--url", f"http://127.0.0.1:{port}", "--json")
        assert json.loads(out)["created"] == [] and len(emu.mappings) == 1
        emu.version, emu.v = "0.7", (0, 7, 4)  # the same server claiming 0.7.4: setup must fail loudly
        emu.version_label = "0.7.4"
        code, out, err = cli("tracardi", "setup", "--url", f"http://127.0.0.1:{port}", "--json")
        assert code == 1 and out == "" and err.count("\n") == 1
        assert "0.7.4 has no event-to-profile mapping" in err and "workflow" in err
    finally:
        server.should_exit = True
        thread.join(5)


def test_mcp_over_stdio(export: Path, tmp_path: Path) -> None:
    import asyncio
    import sys

    from mcp.client.client import Client
    from mcp.client.stdio import StdioServerParameters

    data = str(tmp_path / "mcp-data")
    code, _, err = cli("sync", "--source", str(export), "--data-dir", data)
    assert code == 0, err
    exe = str(Path(sys.executable).parent / "profile-ai")

    async def go() -> None:
        async with Client(StdioServerParameters(command=exe, args=["mcp", "--data-dir", data])) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert {"search_customers", "get_customer", "similar_customers", "list_segments", "segment_members",
                    "customer_predictions", "count_customers", "describe_customers", "top_customers",
                    "rank_customers", "explain_customer", "segment_lift", "size_prediction_audience",
                    "model_quality"} == names
            # read-only: no publish_segment, no create_prediction_audience, no start_sync
            res = await client.call_tool("search_customers", {"query": "customers who buy bags", "limit": 2})
            assert len(json.loads(tool_text(res))["results"]) == 2

    asyncio.run(go())


def test_mcp_over_streamable_http_in_the_server(export: Path, tmp_path: Path) -> None:
    import asyncio

    from mcp.client.client import Client

    from app.config import load_settings
    from app.main import create_app

    data = tmp_path / "http-data"
    code, _, err = cli("sync", "--source", str(export), "--data-dir", str(data))
    assert code == 0, err
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(load_settings(data_dir=data, server={"auth": False})),
                                           host="127.0.0.1", port=port,
                                           log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(600):
            if server.started:
                break
            time.sleep(0.05)

        async def go() -> None:
            async with Client(f"http://127.0.0.1:{port}/mcp/") as client:
                names = {t.name for t in (await client.list_tools()).tools}
                assert {"search_customers", "get_customer", "similar_customers", "list_segments",
                        "customer_predictions"} <= names
                assert "publish_segment" not in names and "start_sync" not in names  # read-only by default
                res = await client.call_tool("search_customers", {"query": "customers who buy shoes", "limit": 2})
                assert len(json.loads(tool_text(res))["results"]) == 2

        asyncio.run(go())

        # the notebook API against the running server
        from app.workspace import Workspace

        with Workspace.open(url=f"http://127.0.0.1:{port}") as ws:
            assert len(ws.search("customers who buy shoes", limit=3)) == 3
            segs = ws.discover(n_clusters=2)
            assert len(segs) == 2 and set(ws.segments()["segment_id"]) == set(segs["segment_id"])
            assert len(ws.segment_members(segs.loc[0, "segment_id"], limit=2)) == 2
            assert ws.count(segment=segs.loc[0, "segment_id"])["count"] == segs.loc[0, "size"]  # the same answers
            assert ws.describe(filters=["plan=pro"], fields=["traits.plan"])["fields"][0]["values"][0]["share"] == 1.0
            ranked = ws.ranked("the 3 customers with the most events")
            assert len(ranked) == 3 and list(ranked["value"]) == sorted(ranked["value"], reverse=True)
            with pytest.raises(RuntimeError, match="local data dir"):
                ws.profiles()
            with pytest.raises(RuntimeError, match="422"):
                ws.train("purchase", horizon_days=30)  # 25 profiles: refused with the reason
    finally:
        server.should_exit = True
        thread.join(10)


def test_segments_commands(export: Path, tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    assert cli("sync", "--source", str(export), "--json", "--data-dir", data)[0] == 0
    code, out, err = cli("segments", "discover", "--k", "2", "--json", "--data-dir", data)
    assert code == 0, err
    found = json.loads(out)
    assert found["k"] == 2 and sum(s["size"] for s in found["segments"]) == 25
    sid = found["segments"][0]["segment_id"]
    code, out, _ = cli("segments", "list", "--json", "--data-dir", data)
    assert code == 0 and len(json.loads(out)["segments"]) == 2
    code, out, _ = cli("segments", "show", sid, "--json", "--data-dir", data)
    assert code == 0 and json.loads(out)["segment_id"] == sid
    code, out, _ = cli("segments", "members", sid, "--limit", "3", "--json", "--data-dir", data)
    assert code == 0 and len(json.loads(out)["members"]) == 3
    code, out, _ = cli("segments", "publish", sid, "--json", "--data-dir", data)
    res = json.loads(out)
    assert code == 0 and res["queued"] == res["members"] and res["delivered"] is None
    code, out, err = cli("segments", "show", "seg-missing", "--data-dir", data)
    assert code == 1 and err.startswith("error: NotFoundError") and len(err.strip().splitlines()) == 1


def test_train_and_score_refuse_clearly(export: Path, tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    assert cli("sync", "--source", str(export), "--json", "--data-dir", data)[0] == 0
    code, _, err = cli("train", "--goal", "purchase", "--horizon-days", "30", "--data-dir", data)
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "NotEnoughDataError" in err and "not enough data to train purchase" in err
    code, _, err = cli("score", "--goal", "churn", "--data-dir", data)
    assert code == 1 and "no active model for goal 'churn'" in err
    code, _, err = cli("score", "--data-dir", data)
    assert code == 1 and "pass --model ID or --goal GOAL" in err


def test_the_data_dir_and_everything_in_it_is_owner_only(export: Path, tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    """Issue 32, item 6: the data dir was 0755 and every index file 0644, so another local user read customer
    documents and an erased person's id from the index's write-ahead log."""
    import os
    import stat

    from app.store.data_dir import secure_data_dir

    old = os.umask(0o022)  # what a login shell has
    try:
        data = tmp_path / "data"
        assert cli("sync", "--source", str(export), "--json", "--data-dir", str(data))[0] == 0
    finally:
        os.umask(old)
    # nothing readable or writable by others (a socket's mode is meaningless: its directory is 0700); a directory
    # may be passed through (0711) only where root's embedded server runs as its own user
    open_to_others = [(str(p.relative_to(data)), oct(stat.S_IMODE(p.lstat().st_mode))) for p in [data, *data.rglob("*")]
                      if not stat.S_ISSOCK(p.lstat().st_mode) and stat.S_IMODE(p.lstat().st_mode) & 0o066]
    assert open_to_others == []
    assert stat.S_IMODE(data.stat().st_mode) == (0o711 if os.geteuid() == 0 else 0o700)
    files = [p for p in data.rglob("*") if p.is_file() and not p.is_symlink()]
    assert files and all(stat.S_IMODE(p.stat().st_mode) & 0o077 == 0 for p in files)
    assert len(list(data.rglob("*"))) > 20  # the index, PostgreSQL and the key were all looked at
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    os.chmod(loose, 0o755)
    with caplog.at_level("WARNING"):
        assert secure_data_dir(loose) is False
    assert "chmod 700" in caplog.text and len([r for r in caplog.records if "open to other users" in r.message]) == 1


def test_business_questions_from_the_command_line(export: Path, tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    assert cli("sync", "--source", str(export), "--json", "--data-dir", data)[0] == 0
    raw = [json.loads(line) for line in (export / "profiles.ndjson").read_text().splitlines()[:-1]]
    code, out, _ = cli("count", "--filter", "plan=pro", "--json", "--data-dir", data)
    assert code == 0 and json.loads(out)["count"] == sum(1 for p in raw if p["traits"]["plan"] == "pro")
    code, out, _ = cli("describe", "--filter", "plan=pro", "--field", "traits.score", "--json", "--data-dir", data)
    described = json.loads(out)
    assert code == 0 and described["fields"][0]["field"] == "traits.score"
    code, _, err = cli("top", "--goal", "churn", "--data-dir", data)
    assert code == 1 and err.strip().startswith("error: ") and "no active model" in err and err.count("\n") == 1
    # the goal read from the question, or asked for
    code, _, err = cli("top", "customers most likely to churn", "--data-dir", data)
    assert code == 1 and "no active model for goal 'churn'" in err
    code, _, err = cli("top", "the nicest customers", "--data-dir", data)
    assert code == 1 and "say what to rank customers by" in err and err.count("\n") == 1
    # or by a stored number, named or read from the question
    scores = {p["id"]: p["traits"]["score"] for p in raw if isinstance(p["traits"].get("score"), int | float)}
    best = [p for p, _ in sorted(scores.items(), key=lambda pv: (-pv[1], pv[0]))[:3]]
    for args in (["--by", "traits.score", "--limit", "3"], ["the 3 customers with the highest score"]):
        code, out, _ = cli("top", *args, "--json", "--data-dir", data)
        assert code == 0 and [r["profile_id"] for r in json.loads(out)["ranked"]] == best, args
    code, out, _ = cli("top", "--by", "score", "--ascending", "--limit", "2", "--data-dir", data)
    assert code == 0 and "lowest first" in out
