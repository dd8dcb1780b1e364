"""What kind of connection a database URL is, because Supabase is reached through poolers.

- `direct`: PostgreSQL itself (the embedded server, Supabase's direct connection on 5432).
- `session`: a pooler that lends one server connection per client session (Supabase's session pooler): behaves
  as direct for everything profile-ai does.
- `transaction`: a pooler that lends a server connection per transaction (Supabase's transaction pooler, port
  6543; pgbouncer `pool_mode = transaction`): no named prepared statements, no session state between
  transactions (SET, session advisory locks, temporary tables outside a transaction), no LISTEN.

profile-ai is pooler-safe by construction: locks are transaction-level or leases in a table, temporary tables
live inside one transaction (ON COMMIT DROP), SET is always SET LOCAL; under `transaction` asyncpg keeps no
statement cache and psycopg (the job engine's driver) prepares nothing, and the job engine polls instead of
listening unless `DATABASE__DIRECT_URL` gives it a session of its own.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

PoolMode = Literal["direct", "session", "transaction"]
TRANSACTION_POOLER_PORT = 6543  # Supabase's transaction pooler (Supavisor)
_POOLER_FLAGS = ("pgbouncer",)  # Prisma's convention, copied by many guides: not a libpq parameter


def pool_mode(url: str, configured: str | None = None) -> PoolMode:
    """The configured mode, else what the URL says for certain (port 6543 or `pgbouncer=true`), else direct."""
    if configured:
        if configured not in ("direct", "session", "transaction"):
            raise ValueError(f"pool mode {configured!r}: direct, session or transaction")
        return configured  # type: ignore[return-value]
    parts = urlsplit(url)
    flags = {k.lower(): v.lower() for k, v in parse_qsl(parts.query)}
    if flags.get("pgbouncer") in ("true", "1", "yes"):
        return "transaction"
    try:
        port = parts.port
    except ValueError:
        port = None
    return "transaction" if port == TRANSACTION_POOLER_PORT else "direct"


def driver_url(url: str) -> str:
    """The URL without flags no driver knows (asyncpg would send `pgbouncer` to the server as a setting)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in _POOLER_FLAGS]
    return urlunsplit(parts._replace(query=urlencode(query)))
