"""Supabase as deployed, with real parts: Debian's pgbouncer 1.18 in transaction mode (what Supabase's
transaction pooler on port 6543 does: a server connection lent per transaction) in front of the session's
embedded PostgreSQL, and Supabase's roles (a non-superuser owner, `anon`, `authenticated`, `service_role` with
BYPASSRLS, `authenticator` that PostgREST logs in as). `make pgbouncer` (run by .ci/run) installs the package."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.supabase.pgbouncer import Pooler, create_roles, start_pgbouncer


@pytest.fixture(scope="session")
def pooler(pg_server: str) -> Iterator[Pooler]:
    asyncio.run(create_roles(pg_server))
    try:
        bouncer = start_pgbouncer(pg_server)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield bouncer
    bouncer.stop()
