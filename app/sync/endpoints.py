"""HTTP routes to start a sync inside the server and follow it."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.auth.guard import peer_of
from app.auth.ratelimit import parse_limit
from app.dependencies import BudgetDep, ContainerDep, SyncRunnerDep
from app.errors import InvalidRequestError, RateLimitedError
from app.sanitize import parse_json_body
from app.sync.schemas import SyncRequest, SyncStatus
from app.tracardi.webhook import WebhookAuthError, parse_push, verify, verify_signature

router = APIRouter(prefix="/v1", tags=["sync"])


@router.post("/sync", response_model=SyncStatus, status_code=202, summary="Start a sync (one at a time)")
async def start_sync(body: SyncRequest, runner: SyncRunnerDep) -> SyncStatus:
    try:
        return await runner.start(body.source, body.full)
    except (ValueError, OSError) as exc:  # no source configured, an export directory that cannot be read
        raise InvalidRequestError.worded("source_unreadable", reason=str(exc)[:200]) from exc


@router.get("/sync", response_model=SyncStatus, summary="Progress and result of the last sync")
async def sync_status(runner: SyncRunnerDep) -> SyncStatus:
    return runner.status()


@router.post("/webhooks/tracardi", status_code=202, summary="Tracardi destination push: re-sync these profiles")
async def tracardi_push(request: Request, c: ContainerDep, failures: BudgetDep) -> dict[str, object]:
    settings = c.settings.webhook
    peer = peer_of(request.scope)
    limit = parse_limit(settings.failures_per_peer)
    wait = await failures.retry_after(limit, "webhook", peer)
    if wait is not None:  # a peer guessing secrets is refused before its guess is compared
        refused = RateLimitedError.worded("webhook_rate_limited", wait=wait)
        refused.retry_after = wait
        raise refused
    headers = {k.lower(): v for k, v in request.headers.items()}
    raw = await request.body()
    try:
        verify(headers, secret=settings.secret, username=settings.username, password=settings.password)
        if settings.require_signature and settings.secret:
            verify_signature(headers, raw, settings.secret)
    except WebhookAuthError:
        await failures.spend(limit, "webhook", peer)
        raise
    body = parse_json_body(raw)
    pushes = parse_push(body)
    result = await c.usecases.sync_pushed(pushes)
    return {"accepted": [p.profile_id for p in pushes], "embedded": result.embedded, "merged": result.merged}
