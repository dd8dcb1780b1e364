"""Models, model cards and predictions as the API and CLI show them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.sanitize import Request


class TrainRequest(Request):
    goal: str = Field(..., description="purchase | churn | ltv | event:TYPE | event:TYPE[key=value]")
    horizon_days: int | None = Field(None, ge=1, le=3650)
    as_of: str | None = Field(None, description="ISO time of the evaluation snapshot; default: the latest one "
                                                "whose horizon is fully observed")
    activity_types: list[str] | None = Field(None, description="churn: event types that count as activity")
    random_state: int = Field(0, ge=0, le=2**32 - 1)


class ModelInfo(BaseModel):
    model_id: str
    goal: str
    version: int
    horizon_days: int
    as_of: str
    status: str
    created_at: str
    scored: int = 0
    card: dict[str, Any]
    erased_since: int = Field(0, description="people in this model's scores erased (GDPR art. 17) since it was "
                                             "trained: their data may have shaped it; retrain to leave them out")


class ModelList(BaseModel):
    models: list[ModelInfo]


class ScoreRequest(Request):
    model_id: str | None = None
    goal: str | None = None
    as_of: str | None = Field(None, description="ISO time; default: now, or the last event when the data ends "
                                                "earlier (an export)")
    limit: int = Field(100, ge=0, le=1_000_000, description="how many of the best-scored to return")


class Prediction(BaseModel):
    profile_id: str
    model_id: str
    goal: str
    probability: float | None = None
    value: float | None = None
    percentile: float
    tier: str
    as_of: str
    drivers: list[dict[str, Any]] = []


class ScoreResponse(BaseModel):
    model_id: str
    goal: str
    as_of: str
    scored: int
    queued: int
    delivered: int | None = None
    seconds: float
    predictions: list[Prediction]


class ProfilePredictions(BaseModel):
    profile_id: str
    predictions: list[Prediction]


class ExternalPrediction(Request):
    profile_id: str
    probability: float | None = Field(None, ge=0, le=1)
    value: float | None = None


class ImportRequest(Request):
    """Predictions made elsewhere (a data scientist's own model): stored with percentile, tier and lineage
    like ours, and written back the same way."""

    goal: str = Field(..., description="purchase | churn | ltv | event:TYPE[...] or any name of your own")
    model_name: str = Field(..., min_length=1, max_length=200, description="what produced them")
    description: str = ""
    as_of: str | None = None
    metrics: dict[str, Any] = Field(default_factory=dict, description="your own holdout figures, shown on the card")
    predictions: list[ExternalPrediction] = Field(..., min_length=1, max_length=1_000_000)


class ImportResponse(BaseModel):
    model_id: str
    stored: int
    unknown_profiles: list[str]
    queued: int
