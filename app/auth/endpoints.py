"""/v1/keys: API key administration (the guard requires the `admin` scope here)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.auth.repository import ApiKey, ApiKeyRepository, parse_lifetime
from app.auth.schemas import CreatedKey, KeyInfo, KeyList, KeyRequest
from app.dependencies import container_of
from app.errors import NotFoundError

router = APIRouter(prefix="/v1/keys", tags=["keys"])


def info(k: ApiKey) -> KeyInfo:
    return KeyInfo(key_id=k.key_id, name=k.name, scope=k.scope, created_at=k.created_at.isoformat(),
                   last_used_at=k.last_used_at.isoformat() if k.last_used_at else None,
                   revoked_at=k.revoked_at.isoformat() if k.revoked_at else None,
                   expires_at=k.expires_at.isoformat() if k.expires_at else None)


def _repo(request: Request) -> ApiKeyRepository:
    return container_of(request).keys


@router.post("", response_model=CreatedKey, summary="Create an API key (shown once)")
async def create(body: KeyRequest, request: Request) -> CreatedKey:
    lifetime = parse_lifetime(body.expires_in) if body.expires_in else None
    key, record = await _repo(request).create(body.scope, body.name, lifetime)
    return CreatedKey(key=key, **info(record).model_dump())


@router.get("", response_model=KeyList, summary="API keys (never their secrets)")
async def list_keys(request: Request) -> KeyList:
    return KeyList(keys=[info(k) for k in await _repo(request).list()])


@router.delete("/{key_id}", response_model=KeyInfo, summary="Revoke an API key")
async def revoke(key_id: str, request: Request) -> KeyInfo:
    repo = _repo(request)
    if not await repo.revoke(key_id):
        raise NotFoundError.worded("no_live_key", key_id=key_id[:60])
    return info(next(k for k in await repo.list() if k.key_id == key_id))
