"""Plain-SQL migrations applied in order at start-up, recorded, safe under concurrent starts."""

from __future__ import annotations

import hashlib
import logging
import re
from importlib import resources
from typing import Any

import asyncpg

log = logging.getLogger(__name__)

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

    Each file's transaction first takes a transaction-level advisory lock, then looks again at what is applied,
    so concurrent starts apply each file once. Nothing holds across transactions, so this runs the same through
    a transaction pooler as on a direct connection. A changed file that was already applied is an error
    (migrations are append-only)."""
    applied_now: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
        await conn.execute("CREATE SCHEMA IF NOT EXISTS profile_ai")
        await conn.execute("""CREATE TABLE IF NOT EXISTS profile_ai.schema_migrations (
            version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now())""")
        await conn.execute("ALTER TABLE profile_ai.schema_migrations ENABLE ROW LEVEL SECURITY")
    for version, name, sql in migration_files():
        checksum = hashlib.sha256(sql.encode()).hexdigest()
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
            done = await conn.fetchval("SELECT checksum FROM profile_ai.schema_migrations WHERE version = $1", version)
            if done is not None:
                if done != checksum:
                    raise RuntimeError(f"migration {name} changed after it was applied: add a new file instead")
                continue
            await conn.execute(sql)
            await conn.execute("INSERT INTO profile_ai.schema_migrations(version, name, checksum) "
                               "VALUES ($1, $2, $3)", version, name, checksum)
        applied_now.append(name)
    return applied_now


async def pending_migrations(conn: asyncpg.Connection) -> list[str]:
    """The migrations this database has not applied (all of them where it has no profile-ai schema)."""
    exists = await conn.fetchval("SELECT to_regclass('profile_ai.schema_migrations') IS NOT NULL")
    done = {r["version"] for r in await conn.fetch("SELECT version FROM profile_ai.schema_migrations")} if exists else set()
    return [name for version, name, _ in migration_files() if version not in done]


# The tables behind the read API's views (security_invoker: a reader needs rights on these too; RLS on them
# decides which rows it sees).
READ_API_TABLES = ("predictions", "models", "segment_memberships", "segment_definitions", "changes",
                   "segment_holdouts", "segment_exposures")
READ_API_ROLES = {  # Supabase's roles: who may read, never `anon`
    "service_role": "reads every row (Supabase gives it BYPASSRLS)",
    "authenticated": "reads only where the operator's JWT claim policy allows (opt-in)",
}


async def _role_exists(conn: asyncpg.Connection, role: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role))


def _claim_name(claim: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", claim):
        raise ValueError(f"read API claim {claim[:70]!r}: letters, digits and _ only")
    return claim


async def apply_read_api(conn: asyncpg.Connection, authenticated_claim: str | None = None) -> dict[str, Any]:
    """The read API for other apps (read_api.sql), then what Supabase's roles may do with it: `service_role`
    reads the views; `anon` gets nothing, ever; `authenticated` only when the operator names a JWT claim
    (`DATABASE__READ_API_CLAIM`): rows are then visible to a user whose `request.jwt.claims` holds that claim
    as true, through RLS policies, and to nobody else. Where `supabase_realtime` exists, the change feed is
    published to it. Idempotent; a transaction per step, so it runs through a transaction pooler."""
    done: dict[str, Any] = {"roles": [], "realtime": None}
    sql = resources.files("app.store").joinpath("read_api.sql").read_text(encoding="utf-8")
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
        await conn.execute(sql)
        tables = ", ".join(f"profile_ai.{t}" for t in READ_API_TABLES)
        for role in ("anon", "authenticated"):
            if await _role_exists(conn, role):
                await conn.execute(f"REVOKE ALL ON SCHEMA profile_ai, profile_ai_api FROM {role}")
                await conn.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA profile_ai, profile_ai_api FROM {role}")
        readers = ["service_role"] + (["authenticated"] if authenticated_claim else [])
        for role in readers:
            if not await _role_exists(conn, role):
                continue
            await conn.execute(f"GRANT USAGE ON SCHEMA profile_ai, profile_ai_api TO {role}")
            await conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA profile_ai_api TO {role}")
            await conn.execute(f"GRANT SELECT ON {tables} TO {role}")
            done["roles"].append(role)
        for table in READ_API_TABLES:
            await conn.execute(f"DROP POLICY IF EXISTS profile_ai_read_api ON profile_ai.{table}")
            if authenticated_claim and await _role_exists(conn, "authenticated"):
                claim = _claim_name(authenticated_claim)
                await conn.execute(
                    f"CREATE POLICY profile_ai_read_api ON profile_ai.{table} FOR SELECT TO authenticated USING "
                    f"(coalesce((nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> '{claim}')"
                    f"::boolean, false))")
    async with conn.transaction():
        has_publication = await conn.fetchval("SELECT 1 FROM pg_publication WHERE pubname = 'supabase_realtime'")
        if has_publication:
            listed = await conn.fetchval("SELECT 1 FROM pg_publication_tables WHERE pubname = 'supabase_realtime' "
                                         "AND schemaname = 'profile_ai' AND tablename = 'changes'")
            if not listed:
                try:
                    async with conn.transaction():  # a savepoint: not owning the publication is not fatal
                        await conn.execute("ALTER PUBLICATION supabase_realtime ADD TABLE profile_ai.changes")
                except asyncpg.InsufficientPrivilegeError as exc:
                    log.warning("supabase_realtime: profile_ai.changes not published (%s); as the publication's "
                                "owner run: ALTER PUBLICATION supabase_realtime ADD TABLE profile_ai.changes", exc)
                    done["realtime"] = "not owner"
                    return done
            done["realtime"] = "published"
    return done
