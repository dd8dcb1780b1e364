"""Stopping with a signal (issue 32, item 8), with real subprocesses: `profile-ai serve` stopped with SIGTERM left
its embedded PostgreSQL running until the next command on that data dir found the stale owner, and a `sync` sent
SIGTERM while encoding was still running 10 s later."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.demo.writer import write_export
from app.store.database import pid_alive
from tests.tracardi_emulator.generate import make_profiles

EXE = str(Path(sys.executable).parent / "profile-ai")
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PROFILE_AI_JOBS__WORKER_IN_SERVE": "false"}


def _postmaster(data: Path) -> int | None:
    pid_file = data / "postgres" / "postmaster.pid"
    try:
        return int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def _wait(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_serve_stops_its_postgres_on_sigterm(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([EXE, "serve", "--port", str(port), "--data-dir", str(data)], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def healthy() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        assert _wait(healthy, 120), "the server did not start"
        postmaster = _postmaster(data)
        assert postmaster is not None and pid_alive(postmaster)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        assert _wait(lambda: not pid_alive(postmaster), 20), "PostgreSQL outlived `serve`"
        assert not (data / "postgres" / "postmaster.pid").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_sync_stops_within_seconds_of_sigterm_and_the_next_run_resumes(tmp_path: Path) -> None:
    profiles, events = make_profiles(1500, seed=31, events_per_profile=6)
    export = write_export(tmp_path / "export", profiles, events)
    data = tmp_path / "data"
    args = [EXE, "sync", "--source", str(export), "--json", "--data-dir", str(data)]
    proc = subprocess.Popen(args, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # signalled once it is encoding: the index exists once the first batch is being written
        assert _wait(lambda: (data / "index").exists() or proc.poll() is not None, 180)
        if proc.poll() is not None:
            pytest.skip("the sync finished before it could be signalled (a much faster machine)")
        time.sleep(1.0)
        postmaster = _postmaster(data)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        stopped_after = time.monotonic() - signalled
        assert proc.returncode != 0
        assert stopped_after < 8, f"still running {stopped_after:.1f} s after SIGTERM"
        assert postmaster is None or _wait(lambda: not pid_alive(postmaster), 20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    again = subprocess.run(args, env=ENV, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    result = json.loads(again.stdout)
    assert result["seen"] == 1500 and result["embedded"] + result["unchanged"] == 1500
    stats = subprocess.run([EXE, "search", "customers", "--limit", "1", "--json", "--data-dir", str(data)], env=ENV,
                           capture_output=True, text=True, timeout=300)
    assert stats.returncode == 0 and json.loads(stats.stdout)["results"]
