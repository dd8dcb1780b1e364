"""API keys for the HTTP API and /mcp."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from app.cli.common import (
    DataDirOpt,
    JsonOpt,
    _emit,
    _run,
    _setup_logging,
    _with_api_keys,
    keys_app,
    out,
)


@keys_app.command("create")
def keys_create(scope: Annotated[str, typer.Option("--scope", help="read | write | admin")],
                name: Annotated[str, typer.Option("--name", help="who or what uses it")] = "",
                expires_in: Annotated[str | None, typer.Option("--expires-in", help="lifetime: 30m, 12h, 90d, 8w "
                                                                "(default: until revoked)")] = None,
                as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Create an API key; it is printed this once (only a hash is stored)."""
    _setup_logging()

    async def go(keys: Any) -> dict[str, Any]:
        from app.auth.endpoints import info
        from app.auth.repository import parse_lifetime

        key, record = await keys.create(scope, name, parse_lifetime(expires_in) if expires_in else None)
        return {"key": key, **info(record).model_dump()}

    res = _run(lambda: _with_api_keys(data_dir, go))
    _emit(as_json, res, lambda: out.print(f"{res['key']}\n(key {res['key_id']}, scope {res['scope']}: shown once, "
                                          "store it now)", markup=False))


@keys_app.command("list")
def keys_list(as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """API keys (ids, scopes, last use; never the secrets)."""
    _setup_logging()

    async def go(keys: Any) -> dict[str, Any]:
        from app.auth.endpoints import info

        return {"keys": [info(k).model_dump() for k in await keys.list()]}

    res = _run(lambda: _with_api_keys(data_dir, go))

    def render() -> None:
        table = Table("key id", "name", "scope", "created", "last used", "expires", "revoked")
        for k in res["keys"]:
            table.add_row(k["key_id"], k["name"], k["scope"], k["created_at"][:19], (k["last_used_at"] or "")[:19],
                          (k["expires_at"] or "")[:19], (k["revoked_at"] or "")[:19])
        out.print(table)
    _emit(as_json, res, render)


@keys_app.command("revoke")
def keys_revoke(key_id: str, as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """Revoke an API key (effective on the next request)."""
    _setup_logging()

    async def go(keys: Any) -> dict[str, Any]:
        if not await keys.revoke(key_id):
            raise ValueError(f"no live key {key_id!r}")
        return {"key_id": key_id, "revoked": True}

    res = _run(lambda: _with_api_keys(data_dir, go))
    _emit(as_json, res, lambda: out.print(f"revoked {key_id}"))
