"""Business questions as the HTTP API takes them (the agent tools take the same arguments)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from app.insights.budget import DEFAULT_MAX_TOKENS, MAX_MAX_TOKENS
from app.sanitize import Request
from app.search.filters import count_before_parsing

FiltersField = Annotated[dict[str, Any] | list[str] | None, BeforeValidator(count_before_parsing)]


class GroupRequest(Request):
    query: str | None = Field(None, max_length=1000, description="who, in words: trait words become filters, the "
                                                                "rest is matched by meaning against a cut-off")
    filters: FiltersField = Field(None, description='{"traits.plan": "gold"} or ["traits.plan=gold"]')
    segment: str | None = Field(None, max_length=200, description="only this segment's members")
    tier: str | None = Field(None, max_length=200, description="only a prediction tier: GOAL:TIER, e.g. "
                                                               "'churn:top 10%' (the goal's active model)")
    max_tokens: int = Field(DEFAULT_MAX_TOKENS, ge=50, le=MAX_MAX_TOKENS,
                            description="answer size limit: ceil(characters of the compact JSON answer / 4)")


class DescribeRequest(GroupRequest):
    fields: list[Annotated[str, Field(max_length=200)]] | None = Field(None, max_length=20)


class TopRequest(GroupRequest):
    goal: str = Field(..., min_length=1, max_length=200, description="purchase | churn | ltv | event:TYPE")
    limit: int = Field(10, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=100_000)


class RankRequest(GroupRequest):
    query: str | None = Field(None, max_length=1000, description="who, and what to rank them by: 'the 10 customers "
                                                                "who spent the most', 'los clientes más antiguos'")
    by: str | None = Field(None, min_length=1, max_length=200,
                           description="the number to rank by where the question does not say it: spend_total, "
                                       "purchases, event_count, active_days, rating_mean, first_seen, last_seen, "
                                       "a numeric trait, counts.TYPE")
    descending: bool | None = Field(None, description="highest first (default), or as the question says")
    limit: int = Field(10, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=100_000)
