"""Plain-SQL migrations applied in order at start-up, recorded, safe under concurrent starts."""

from __future__ import annotations

import hashlib
import re
from importlib import resources

import asyncpg

LOCK_KEY = 0x70726F66  # pg_advisory_lock key: "prof"
_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def migration_files() -> list[tuple[int, str, str]]:
    folder = resources.files("app.store").joinpath("migrations")
    out = []
    for entry in folder.iterdir():
        m = _NAME.match(entry.name)
        if m:
            out.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(out)


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply what is missing, each file in its own transaction; returns the names applied now.

    An advisory lock serialises concurrent starts; a changed file that was already applied is an error
    (migrations are append-only)."""
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    try:
        await conn.execute("CREATE SCHEMA IF NOT EXISTS profile_ai")
        await conn.execute("""CREATE TABLE IF NOT EXISTS profile_ai.schema_migrations (
            version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now())""")
        await conn.execute("ALTER TABLE profile_ai.schema_migrations ENABLE ROW LEVEL SECURITY")
        done = {r["version"]: r["checksum"] for r in await conn.fetch(
            "SELECT version, checksum FROM profile_ai.schema_migrations")}
        for version, name, sql in migration_files():
            checksum = hashlib.sha256(sql.encode()).hexdigest()
            if version in done:
                if done[version] != checksum:
                    raise RuntimeError(f"migration {name} changed after it was applied: add a new file instead")
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO profile_ai.schema_migrations(version, name, checksum) "
                                   "VALUES ($1, $2, $3)", version, name, checksum)
            applied_now.append(name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
    return applied_now


async def pending_migrations(conn: asyncpg.Connection) -> list[str]:
    """The migrations this database has not applied (all of them where it has no profile-ai schema)."""
    exists = await conn.fetchval("SELECT to_regclass('profile_ai.schema_migrations') IS NOT NULL")
    done = {r["version"] for r in await conn.fetch("SELECT version FROM profile_ai.schema_migrations")} if exists else set()
    return [name for version, name, _ in migration_files() if version not in done]
