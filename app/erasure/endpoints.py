"""HTTP routes of erasure (admin scope) and profiling transparency (read scope)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from app.dependencies import ContainerDep

router = APIRouter(prefix="/v1", tags=["privacy"])




def _actor(request: Request) -> str:
    key = (request.scope.get("state") or {}).get("api_key_id")
    return f"key:{key}" if key else "open-mode"


@router.delete("/profiles/{profile_id}", summary="Forget a person everywhere (GDPR art. 17; admin scope)")
async def forget(profile_id: str, request: Request, c: ContainerDep,
                 reason: str | None = Query(None, max_length=500),
                 clear_tracardi: bool | None = Query(None, description="also set traits.ai to nothing in Tracardi "
                                                                       "(default: PRIVACY__ERASURE_CLEARS_TRACARDI)")
                 ) -> dict[str, Any]:
    clear = c.settings.privacy.erasure_clears_tracardi if clear_tracardi is None else clear_tracardi
    return await c.usecases.forget(profile_id, actor=_actor(request), reason=reason, clear_tracardi=clear)


@router.get("/profiles/{profile_id}/erasure", summary="What is still held for a person (0 everywhere after forget)")
async def verify(profile_id: str, c: ContainerDep) -> dict[str, Any]:
    return await c.erasure.verify(profile_id)


@router.get("/erasures", summary="The erasure log: when, by which key, how many rows (no personal data)")
async def erasure_log(c: ContainerDep, limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
    return {"erasures": await c.erasure.repo.log(limit)}


@router.get("/profiles/{profile_id}/explain", summary="What the layer holds and infers about a person, and why")
async def explain(profile_id: str, c: ContainerDep) -> dict[str, Any]:
    return await c.transparency().explain(profile_id)
