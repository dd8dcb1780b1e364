"""HTTP routes of business questions: how many, what sets a group apart, who first by a fact or a model. The same
answers, limits and wording as the agent tools (app/agents/tools.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.dependencies import ContainerDep
from app.insights.budget import fit
from app.insights.schemas import DescribeRequest, GroupRequest, RankRequest, TopRequest

router = APIRouter(prefix="/v1", tags=["insights"])


@router.post("/customers/count", summary="How many customers: exact for filters and segments, estimated by meaning")
async def count(body: GroupRequest, c: ContainerDep) -> dict[str, Any]:
    return fit(await c.insights.count(body.query, body.filters, body.segment, body.tier), "rows", body.max_tokens)


@router.post("/customers/describe", summary="What sets a group of customers apart from everyone")
async def describe(body: DescribeRequest, c: ContainerDep) -> dict[str, Any]:
    out = await c.insights.describe(body.query, body.filters, body.segment, body.fields, tier=body.tier)
    return fit(out, "fields", body.max_tokens)


@router.post("/customers/ranked", summary="Customers ranked by a stored number: spend, purchases, activity, "
                                          "first or last seen, a numeric trait, an event type's count")
async def ranked(body: RankRequest, c: ContainerDep) -> dict[str, Any]:
    out = await c.insights.ranked(body.query, body.filters, body.segment, body.by, body.descending, body.limit,
                                  body.offset, body.tier)
    return fit(out, "ranked", body.max_tokens, offset=body.offset)


@router.post("/predictions/top", summary="Customers ranked by a goal's active model (never those who objected)")
async def top(body: TopRequest, c: ContainerDep) -> dict[str, Any]:
    out = await c.insights.top(body.goal, body.query, body.filters, body.segment, body.limit, body.offset)
    return fit(out, "ranked", body.max_tokens, offset=body.offset)
