"""Start Debian's pgbouncer in transaction mode in front of an embedded PostgreSQL, and make Supabase-shaped
databases there: used by tests/supabase and bench/pooler_overhead.py."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
OWNER = "supa_owner"  # Supabase's `postgres`: not a superuser
ROLES_SQL = f"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN CREATE ROLE anon NOLOGIN NOINHERIT; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated NOLOGIN NOINHERIT; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
    CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticator') THEN
    CREATE ROLE authenticator LOGIN NOINHERIT; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{OWNER}') THEN
    CREATE ROLE {OWNER} LOGIN NOSUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS; END IF;
END $$;
GRANT anon, authenticated, service_role TO authenticator;
"""


@dataclass
class Pooler:
    port: int
    host: str  # the server's socket directory
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def socket_dir(server_uri: str) -> str:
    return parse_qs(urlsplit(server_uri).query)["host"][0]


async def create_roles(server_uri: str) -> None:
    conn = await asyncpg.connect(server_uri)
    try:
        await conn.execute(ROLES_SQL)
    finally:
        await conn.close()


def start_pgbouncer(server_uri: str) -> Pooler:
    """pgbouncer in transaction mode on a loopback port, beside the server's data directory."""
    if not Path(PGBOUNCER).exists():
        raise RuntimeError("pgbouncer is not installed: run `make pgbouncer` (Debian's package; .ci/run does)")
    host = socket_dir(server_uri)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = Path(host).parent / f"pgbouncer-{port}"
    conf.mkdir(exist_ok=True)
    (conf / "userlist.txt").write_text("".join(f'"{r}" ""\n' for r in ("postgres", OWNER, "authenticator")))
    (conf / "pgbouncer.ini").write_text(f"""[databases]
* = host={host} port=5432
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {conf / "userlist.txt"}
pool_mode = transaction
server_reset_query = DISCARD ALL
max_client_conn = 500
default_pool_size = 20
ignore_startup_parameters = extra_float_digits
""")
    os.chmod(conf, 0o755)
    for f in conf.iterdir():
        os.chmod(f, 0o644)
    args = [PGBOUNCER, str(conf / "pgbouncer.ini")]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root: it runs as the server's user and reads its socket
        args[1:1] = ["-u", pwd.getpwuid(Path(host).stat().st_uid).pw_name]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return Pooler(port, host, proc)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
    raise RuntimeError(f"pgbouncer did not start: {err}")


async def supabase_database(server_uri: str, pooler: Pooler, *, realtime: bool = False) -> dict[str, str]:
    """A new database owned by the non-superuser owner: its pooled URL (pgbouncer, transaction mode), its direct
    URL (the socket, as Supabase's direct connection) and the URL `authenticator` (PostgREST) logs in with."""
    name = f"s_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_uri)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" OWNER {OWNER}')
    finally:
        await admin.close()
    direct = f"postgresql://{OWNER}@/{name}?host={pooler.host}"
    if realtime:  # Supabase creates this publication; a plain PostgreSQL has none
        conn = await asyncpg.connect(direct)
        try:
            await conn.execute("CREATE PUBLICATION supabase_realtime")
        finally:
            await conn.close()
    return {"pooled": f"postgresql://{OWNER}@127.0.0.1:{pooler.port}/{name}", "direct": direct,
            "authenticator": f"postgresql://authenticator@/{name}?host={pooler.host}", "name": name}
