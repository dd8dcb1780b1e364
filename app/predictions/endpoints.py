"""HTTP routes of behaviour models and predictions (thin: parse, call the service)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from app.dependencies import UseCasesDep, container_of
from app.predictions.schemas import (
    ImportRequest,
    ImportResponse,
    ModelInfo,
    ModelList,
    ProfilePredictions,
    ScoreRequest,
    ScoreResponse,
    TrainRequest,
)
from app.predictions.service import PredictionService

router = APIRouter(prefix="/v1", tags=["predictions"])


def _service(request: Request) -> PredictionService:
    return container_of(request).predictions


@router.post("/models", response_model=ModelInfo, summary="Train a model version for a goal (card included)")
async def train(body: TrainRequest, request: Request) -> ModelInfo:
    return await _service(request).train(body)


@router.get("/models", response_model=ModelList, summary="Every model version with its card")
async def models(request: Request, goal: str | None = None) -> ModelList:
    return ModelList(models=await _service(request).models(goal))


@router.get("/models/{model_id}", response_model=ModelInfo, summary="One model version and its card")
async def model(model_id: str, request: Request) -> ModelInfo:
    return await _service(request).model(model_id)


@router.post("/models/{model_id}/score", response_model=ScoreResponse,
             summary="Score every profile with this model version and write the predictions back")
async def score(model_id: str, body: ScoreRequest, usecases: UseCasesDep) -> ScoreResponse:
    return await usecases.score(body.model_copy(update={"model_id": model_id}))


@router.post("/score", response_model=ScoreResponse,
             summary="Score every profile with a model version, or the goal's active model")
async def score_any(body: ScoreRequest, usecases: UseCasesDep) -> ScoreResponse:
    return await usecases.score(body)


@router.get("/profiles/{profile_id}/predictions", response_model=ProfilePredictions,
            summary="A customer's predictions, per model version")
async def profile_predictions(profile_id: str, request: Request) -> ProfilePredictions:
    return await _service(request).of_profile(profile_id)


@router.post("/predictions/import", response_model=ImportResponse,
             summary="Store predictions of your own model (percentile, tier, lineage, write-back as ours)")
async def import_predictions(body: ImportRequest, request: Request) -> ImportResponse:
    return await _service(request).import_predictions(body)


@router.get("/models/{model_id}/distribution",
            summary="Scores of a model version: histogram, tiers, and the mean per segment")
async def distribution(model_id: str, request: Request) -> dict[str, Any]:
    return await _service(request).distribution(model_id)


@router.get("/models/{model_id}/quality",
            summary="Live quality: each scoring's drift and, once its horizon has passed, what came true (AUC, "
                    "PR-AUC, Brier, calibration, lift; MAE/RMSE) beside the holdout figures")
async def quality(model_id: str, request: Request) -> dict[str, Any]:
    return await _service(request).quality_history(model_id)
