"""HTTP routes of search, profile cards and lookalikes (thin: parse, call the service)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from app.dependencies import container_of
from app.search.schemas import ProfileCard, SearchRequest, SearchResponse, SimilarResponse
from app.search.service import SearchService

router = APIRouter(prefix="/v1", tags=["search"])


def _service(request: Request) -> SearchService:
    return container_of(request).search


@router.post("/search", response_model=SearchResponse, summary="Search customers by meaning")
async def search(body: SearchRequest, request: Request) -> SearchResponse:
    return await _service(request).search(body)


@router.get("/profiles/{profile_id}", response_model=ProfileCard, summary="A customer's card")
async def profile(profile_id: str, request: Request) -> ProfileCard:
    return await _service(request).profile(profile_id)


@router.get("/profiles/{profile_id}/similar", response_model=SimilarResponse, summary="Lookalike customers")
async def similar(profile_id: str, request: Request, limit: int = Query(10, ge=1, le=100)) -> SimilarResponse:
    return await _service(request).similar(profile_id, limit)


@router.get("/profiles/{profile_id}/timeline", summary="A customer's newest events, segments and predictions")
async def timeline(profile_id: str, request: Request, limit: int = Query(50, ge=1, le=500)) -> dict[str, Any]:
    c = container_of(request)
    card = await _service(request).profile(profile_id)  # 404 for an unknown id; merged ids resolve
    pid = card.profile_id
    events = await c.state.events_of(pid, limit)
    return {"profile_id": pid,
            "events": events,
            "segments": await c.segments.of_profile(pid),
            "predictions": [p.model_dump() for p in (await c.predictions.of_profile(pid)).predictions]}
