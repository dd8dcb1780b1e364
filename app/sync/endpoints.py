"""HTTP routes to start a sync inside the server and follow it."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.dependencies import container_of
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


@router.post("/webhooks/tracardi", status_code=202, summary="Tracardi destination push: re-sync these profiles")
async def tracardi_push(request: Request) -> dict[str, object]:
    from app.tracardi.webhook import parse_push, verify

    settings = container_of(request).settings.webhook
    verify({k.lower(): v for k, v in request.headers.items()}, secret=settings.secret,
           username=settings.username, password=settings.password)
    try:
        body = await request.json()
    except ValueError as exc:
        raise InvalidRequestError("push body is not JSON") from exc
    pushes = parse_push(body)
    result = await container_of(request).sync_pushed(pushes)
    return {"accepted": [p.profile_id for p in pushes], "embedded": result.embedded, "merged": result.merged}
