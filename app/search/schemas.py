"""Request and response models of search, profile cards and lookalikes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field

from app.sanitize import Request
from app.search.filters import count_before_parsing

SearchMode = Literal["dense", "hybrid", "sparse"]


class SearchRequest(Request):
    query: str = Field(..., min_length=1, max_length=1000, description="What you are looking for, in words")
    limit: int = Field(10, ge=1, le=100)
    offset: int = Field(0, ge=0, le=10_000)
    filters: Annotated[dict[str, Any] | list[str] | None, BeforeValidator(count_before_parsing)] = Field(
        None, description='{"traits.plan": "gold", "event_count": {"gte": 10}} or ["traits.plan=gold"]')
    understand: bool = Field(True, description="turn the parts of the question that name traits or their values "
                                               "into filters (see `understood` in the answer); false: meaning only")
    mode: SearchMode | None = Field(
        None, description="default: the deployment language's (hybrid for en and es; dense for multi, where "
                          "keyword matches across languages add noise: bench/multilingual_quality.py)")


class SearchHit(BaseModel):
    profile_id: str
    score: float = Field(description="the fused rank score (RRF in hybrid mode): for ordering, not comparable "
                                     "across queries")
    relevance: float | None = Field(None, description="0-1, the same across queries: the share of all customers "
                                                      "this one matches the question better than (by meaning)")
    why: list[str] = Field(default_factory=list, description="the parts of the profile that best match the query")
    summary: str = ""
    traits: dict[str, Any] = Field(default_factory=dict)
    segments: list[str] = Field(default_factory=list)
    event_count: int = 0
    last_seen: str | None = None


class SearchResponse(BaseModel):
    query: str
    mode: str
    results: list[SearchHit]
    understood: dict[str, Any] | None = Field(None, description='{"filters": [...], "semantic": "...", "read": '
                                              '[{"filter", "from", "how": "words|unit|meaning", "similarity"}], '
                                              '"by_meaning": [...]}: how the question was read, each condition with '
                                              "the words it came from, and the parts no condition came from; "
                                              "filtered matches come first")
    cutoff: dict[str, Any] | None = Field(None, description="where relevance drops: hits and estimated customers "
                                                            "above the suggested relevance")
    understood_matches: int | None = Field(None, description="how many customers meet every condition read from "
                                                             "the question (and the filters), counted exactly; the "
                                                             "hits that do come first, each saying what it matches")


class ProfileCard(BaseModel):
    profile_id: str
    asked_id: str
    merged_from: str | None = None
    document: str
    traits: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Any] = Field(default_factory=dict)
    segments: list[str] = Field(default_factory=list)
    event_count: int = 0
    counts: dict[str, int] = Field(default_factory=dict)
    first_seen: str | None = None
    last_seen: str | None = None
    spend_total: float = 0.0
    top: dict[str, list[str]] = Field(default_factory=dict)
    ai: dict[str, Any] = Field(default_factory=dict)


class SimilarHit(BaseModel):
    profile_id: str
    similarity: float
    percentile: float = Field(..., description="share of all customers less similar than this one, 0-100")
    summary: str = ""


class SimilarResponse(BaseModel):
    profile_id: str
    results: list[SimilarHit]
