"""HTTP routes to start a sync inside the server and follow it."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.errors import InvalidRequestError
from app.sync.schemas import SyncRequest, SyncStatus

router = APIRouter(prefix="/v1", tags=["sync"])


@router.post("/sync", response_model=SyncStatus, status_code=202, summary="Start a sync (one at a time)")
async def start_sync(body: SyncRequest, request: Request) -> SyncStatus:
    try:
        return request.app.state.sync_runner.start(body.source, body.full)  # type: ignore[no-any-return]
    except (ValueError, OSError) as exc:
        raise InvalidRequestError(str(exc)) from exc


@router.get("/sync", response_model=SyncStatus, summary="Progress and result of the last sync")
async def sync_status(request: Request) -> SyncStatus:
    return request.app.state.sync_runner.status()  # type: ignore[no-any-return]
