"""HTTP route of measured lift (thin: parse, call the service)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request

from app.activation.schemas import OUTCOME_HELP, LiftReport
from app.dependencies import container_of

router = APIRouter(prefix="/v1/segments", tags=["segments"])


@router.get("/{segment_id}/lift", response_model=LiftReport,
            summary="Measured lift of a published segment against its control group")
async def lift(segment_id: str, request: Request,
               outcome: str = Query("purchase", max_length=206, description=OUTCOME_HELP),
               days: int = Query(30, ge=1, le=730, description="the outcome counts within this many days of entry"),
               as_of: datetime | None = Query(None, description="count members whose window ended by then "
                                                                "(default: now)")) -> LiftReport:
    return await container_of(request).lift.lift(segment_id, outcome, days, as_of)


@router.get("/{segment_id}/uplift", summary="Who changed because of the campaign: readable rules with their "
                                            "uplift measured on held-out members")
async def uplift(segment_id: str, request: Request,
                 outcome: str = Query("purchase", max_length=206, description="purchase or event:TYPE"),
                 days: int = Query(30, ge=1, le=730),
                 as_of: datetime | None = Query(None)) -> dict[str, Any]:
    return await container_of(request).lift.uplift(segment_id, outcome, days, as_of)
