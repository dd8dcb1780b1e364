"""HTTP routes of smart segments (thin: parse, call the service, deliver write-back when Tracardi is set)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from app.dependencies import UseCasesDep, container_of
from app.segments.schemas import (
    AudienceSize,
    DescriptionSegmentRequest,
    DiscoverRequest,
    DiscoverResponse,
    LookalikeRequest,
    MemberPage,
    PredictionAudienceRequest,
    PublishRequest,
    PublishResponse,
    Segment,
    SegmentList,
)
from app.segments.service import SegmentService

router = APIRouter(prefix="/v1/segments", tags=["segments"])


def _service(request: Request) -> SegmentService:
    return container_of(request).segments


@router.post("/discover", response_model=DiscoverResponse, summary="Cluster profiles into named segments")
async def discover(body: DiscoverRequest, request: Request) -> DiscoverResponse:
    return await _service(request).discover(body)


@router.get("", response_model=SegmentList, summary="Current segments")
async def list_segments(request: Request, include_retired: bool = False) -> SegmentList:
    return SegmentList(segments=await _service(request).current(include_retired))


@router.post("", response_model=Segment, summary="A segment from a description (refreshed on each sync)")
async def create_description(body: DescriptionSegmentRequest, request: Request) -> Segment:
    return await _service(request).create_description(body)


@router.post("/lookalike", response_model=Segment, summary="The N non-members most similar to a segment")
async def create_lookalike(body: LookalikeRequest, request: Request) -> Segment:
    return await _service(request).create_lookalike(body)


@router.post("/prediction/size", response_model=AudienceSize,
             summary="Size a prediction audience before saving it: members, expected outcomes, share captured")
async def size_audience(body: PredictionAudienceRequest, request: Request) -> AudienceSize:
    return await _service(request).size_audience(body)


@router.post("/prediction", response_model=Segment,
             summary="A prediction audience: a model's tier, top percent, score threshold or share of expected "
                     "outcomes, optionally within a segment or filters (kept current on every rescoring)")
async def create_audience(body: PredictionAudienceRequest, request: Request) -> Segment:
    return await _service(request).create_audience(body)


@router.get("/map", summary="A 2-D map of a sample of profiles, each with its discovered segment")
async def segment_map(request: Request, sample: int = Query(3000, ge=10, le=20000)) -> dict[str, Any]:
    return await _service(request).map(sample)


@router.post("/preview", summary="Size and first members of a description segment, without saving it")
async def preview(body: DescriptionSegmentRequest, request: Request) -> dict[str, Any]:
    return await _service(request).preview_description(body)


@router.get("/{segment_id}/publish-preview", summary="What publishing this segment would write")
async def publish_preview(segment_id: str, request: Request) -> dict[str, Any]:
    return await _service(request).publish_preview(segment_id)


@router.get("/{segment_id}", response_model=Segment, summary="One segment: name, explanation, rules")
async def show(segment_id: str, request: Request) -> Segment:
    return await _service(request).show(segment_id)


@router.get("/{segment_id}/members", response_model=MemberPage, summary="Members, closest to the centre first")
async def members(segment_id: str, request: Request, limit: int = Query(100, ge=1, le=10000),
                  offset: int = Query(0, ge=0)) -> MemberPage:
    return await _service(request).members(segment_id, limit, offset)


@router.post("/{segment_id}/publish", response_model=PublishResponse,
             summary="Publish membership to PostgreSQL traits and Tracardi (traits.ai.segments)")
async def publish(segment_id: str, usecases: UseCasesDep, body: PublishRequest | None = None) -> PublishResponse:
    return await usecases.publish_segment(segment_id, holdout=body.holdout if body else None)
