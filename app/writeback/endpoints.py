"""Changes for automations, readable since a cursor: who entered or left a published segment, whose tier
changed (the same changes are sent to Tracardi as events with the write-back)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from app.dependencies import ContainerDep

router = APIRouter(prefix="/v1", tags=["write-back"])


@router.get("/changes", summary="Segment entered/left and tier changes since a cursor (the last id you read)")
async def changes(c: ContainerDep, since: int = Query(0, ge=0, le=2**62),
                  limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
    await c.changes.record()  # what changed since the last delivery is readable at once
    rows = await c.changes.since(since, limit)
    return {"changes": rows, "next": rows[-1]["id"] if rows else since}
