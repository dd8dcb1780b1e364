"""Segments as the API and CLI show them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

from app.sanitize import Request
from app.search.filters import count_before_parsing


class DiscoverRequest(Request):
    n_clusters: int | None = Field(None, ge=2, le=50, description="fix k; default: chosen by silhouette + stability")
    k_min: int = Field(3, ge=2, le=50)
    k_max: int = Field(10, ge=2, le=50)
    vector_weight: float = Field(1.0, ge=0, le=100)
    behaviour_weight: float = Field(0.2, ge=0, le=100)
    random_state: int = Field(0, ge=0, le=2**32 - 1)


class Segment(BaseModel):
    segment_id: str
    version: int
    name: str
    description: str
    kind: str  # discovered | description | lookalike
    status: str  # draft | published | retired
    size: int
    share: float | None = None
    stability: float | None = None
    features: list[dict[str, Any]] = []
    terms: list[dict[str, Any]] = []
    exemplars: list[str] = []
    rules: dict[str, Any] = {}
    definition: dict[str, Any] = {}
    erased_since: int = 0  # members erased (GDPR art. 17) since this version: its size and features included them
    created_at: str
    updated_at: str
    published_at: str | None = None


class DiscoverResponse(BaseModel):
    run_version: int
    k: int
    stability: float
    selection: list[dict[str, float]]
    kept_ids: int
    retired: list[str]
    seconds: float
    profiles: int = Field(0, description="profiles assigned to the segments")
    fitted_on: int = Field(0, description="profiles the clustering was fitted on: all of them up to 50,000, "
                                         "beyond that a fixed random sample (everyone is then assigned to "
                                         "the nearest segment)")
    segments: list[Segment]


class SegmentList(BaseModel):
    segments: list[Segment]


class Member(BaseModel):
    profile_id: str
    score: float | None
    arm: str = Field("treated", description="treated, or control when the segment keeps a holdout: the control "
                                            "arm is never written to traits or Tracardi")


class MemberPage(BaseModel):
    segment_id: str
    version: int
    total: int
    members: list[Member]


class DescriptionSegmentRequest(Request):
    name: str = Field(..., min_length=1, max_length=200)
    description: str = Field(..., min_length=3, max_length=1000, description="who the segment is, in words")
    filters: Annotated[dict[str, Any] | list[str] | None, BeforeValidator(count_before_parsing)] = None
    threshold: float | None = Field(None, ge=-1, le=1, description=(
        "minimum cosine similarity to the description; left out (the default), the description is read as a "
        "question is counted: the traits it names become filters, and the rest must be as similar as the "
        "question's own cut-off (any model, any language)"))
    max_members: int = Field(10000, ge=1, le=1_000_000)


class LookalikeRequest(Request):
    seed_segment_id: str
    size: int = Field(100, ge=1, le=100_000)
    name: str | None = None


class PredictionAudienceRequest(Request):
    """Who a model says: exactly one rule among tier, top_percent, min_score and capture; optionally only within a
    segment or trait filters."""

    name: str = Field(..., min_length=1, max_length=200)
    goal: str = Field(..., min_length=1, max_length=120, description="the model's goal (purchase, churn, ltv, event:TYPE, ...)")
    tier: str | None = Field(None, max_length=40, description="a tier of the model (e.g. high)")
    top_percent: float | None = Field(None, gt=0, le=100, description="the highest-scored N% of the pool")
    min_score: float | None = Field(None, description="probability (or value) at least this")
    capture: float | None = Field(None, gt=0, le=1, description="customers in score order until their summed "
                                  "probability reaches this share of the pool's expected outcomes")
    segment_id: str | None = Field(None, max_length=200, description="only members of this segment")
    filters: Annotated[dict[str, Any] | list[str] | None, BeforeValidator(count_before_parsing)] = None

    def rule(self) -> tuple[str, Any]:
        given = [(k, v) for k, v in (("tier", self.tier), ("top_percent", self.top_percent),
                                     ("min_score", self.min_score), ("capture", self.capture)) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of tier, top_percent, min_score, capture")
        return given[0]


class AudienceSize(BaseModel):
    members: int
    pool: int = Field(description="scored customers the rule was applied to (after segment and filters)")
    expected_outcomes: float = Field(description="sum of the members' probabilities (or values)")
    share_of_expected: float = Field(description="the members' expected outcomes over everyone's scored for the goal")
    min_score: float | None = Field(None, description="the lowest score among the members")
    model_id: str


class PublishRequest(Request):
    holdout: float | None = Field(None, ge=0, le=0.5, description="share of members kept out of the campaign as a "
                                  "control group (0-0.5), by a stable hash of (segment, profile); fixed for the "
                                  "segment's life")


class PublishResponse(BaseModel):
    segment_id: str
    version: int
    members: int
    queued: int
    delivered: int | None = None
    holdout: float | None = None
    entered: int = Field(0, description="members whose entry (and arm) was recorded by this publish")
