"""Behaviour prediction: train a model version per goal (card stored), score profiles point in time, store
probability/value, percentile, tier and drivers with lineage, and queue the traits for Tracardi.

Training and scoring are separate: `train` keeps the fitted model with its version, `score` reloads it. The
event log comes from profile_ai.events (written by every sync); fitting and scoring run in a thread.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from app.config import PredictionSettings
from app.error_words import WORDINGS, PerWording, sentences
from app.errors import DomainError, InvalidRequestError, NotFoundError, UnavailableError
from app.predictions.quality import QualityService
from app.predictions.repository import ModelExistsError, PredictionRow, PredictionsRepository
from app.predictions.schemas import (
    ImportRequest,
    ImportResponse,
    ModelInfo,
    Prediction,
    ProfilePredictions,
    ScoreRequest,
    ScoreResponse,
    TrainRequest,
)
from app.predictions.snapshots_repository import SnapshotsRepository
from prediction import (
    EventLog,
    Goal,
    InsufficientDataError,
    TrainedModel,
    artifacts,
    percentiles,
    score,
    tier_of,
    train,
)
from prediction.feature_words import label_drivers
from prediction.goals import named_goals
from profiles.dictionary import EventDictionary
from segmentation.attributes import attribute_table

Enqueue = Callable[[list[str]], Awaitable[int]]


class ModelConflictError(DomainError):
    status = 409
    code = "model_exists"


class ModelUnusableError(DomainError):
    """A stored model this server will not load (an old pickle, other library versions): retrain it."""

    status = 409
    code = "model_unusable"


class NotEnoughDataError(DomainError):
    """Too little data to train or score (the library's InsufficientDataError, as an answer)."""

    status = 422
    code = "insufficient_data"


def _goal(text: str) -> Goal:
    try:
        return Goal.parse(text)
    except ValueError:
        raise InvalidRequestError.worded("unknown_goal", goal=text.strip()[:60],
                                         goals=", ".join(named_goals())) from None


def _not_enough(exc: InsufficientDataError) -> NotEnoughDataError:
    """The library's refusal in every wording; its reasons (a list of codes) worded one by one."""
    if not exc.key:
        return NotEnoughDataError.worded("not_enough_data", reason=str(exc))
    params = dict(exc.params)
    if exc.key == "not_enough_to_train":
        params["reasons"] = PerWording({w: "; ".join(sentences(code, n=n, need=need)[w]
                                                     for code, n, need in exc.params["reasons"])
                                        for w in WORDINGS})
    return NotEnoughDataError.worded(exc.key, **params)


def _time(text: str | None, field: str) -> float | None:
    if text is None:
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequestError.worded("time_not_iso", field=field, text=text[:60]) from None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def _slug(goal: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", goal.lower()).strip("-")


def _static(records: list[dict[str, Any]], names: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Traits and describing data as numbers and flags (current values: time-invariant facts such as age or
    plan are the intent; a trait that records the outcome shows up as a leakage warning on the card)."""
    table = attribute_table(records)
    keep = [i for i, a in enumerate(table.attributes) if a.name.startswith(("traits.", "data."))]
    have = {table.attributes[i].name: i for i in keep}
    names = names if names is not None else [table.attributes[i].name for i in keep][:50]
    X = np.full((len(records), len(names)), np.nan)
    for j, n in enumerate(names):
        if n in have:
            X[:, j] = table.X[:, have[n]]
    return X, names


def _info(row: dict[str, Any]) -> ModelInfo:
    return ModelInfo(model_id=row["model_id"], goal=row["goal"], version=row["version"],
                     horizon_days=row["horizon_days"], as_of=row["as_of"].isoformat(), status=row["status"],
                     created_at=row["created_at"].isoformat(), scored=row.get("scored", 0), card=row["card"])


def _prediction(r: dict[str, Any], wording: str) -> Prediction:
    return Prediction(profile_id=r["profile_id"], model_id=r["model_id"], goal=r["goal"],
                      probability=r["probability"], value=r["value"], percentile=r["percentile"], tier=r["tier"],
                      as_of=r["as_of"].isoformat(), drivers=label_drivers(r.get("drivers") or [], wording))


class PredictionService:
    def __init__(self, repo: PredictionsRepository, dictionary: EventDictionary, enqueue: Enqueue,
                 settings: PredictionSettings | None = None, *, snapshots: SnapshotsRepository | None = None,
                 erasures_since: Callable[[str], Awaitable[int]] | None = None) -> None:
        self.repo = repo  # all SQL lives there: this service never sees a pool
        self.dictionary = dictionary
        self.enqueue = enqueue
        self.settings = settings or PredictionSettings()
        self._lock = asyncio.Lock()
        # how many people erased since a model was scored with them (the erasure log)
        self.erasures_since = erasures_since
        # live quality: each scoring kept as a snapshot and checked later (None: not kept, e.g. in a benchmark)
        self.monitor = None if snapshots is None else QualityService(snapshots, repo, self.event_log, self.settings)

    async def quality_history(self, model_id: str) -> dict[str, Any]:
        """Realized quality at each matured snapshot beside the holdout figures (app/predictions/quality.py)."""
        if self.monitor is None:
            raise UnavailableError.worded("quality_not_kept")
        return await self.monitor.history(model_id)

    async def purchase_types(self) -> list[str]:
        """The event types that count as purchases: configured, else those the event dictionary gives a value."""
        if self.settings.purchase_types:
            return list(self.settings.purchase_types)
        types = await self.repo.event_types()
        return sorted(t for t in types if self.dictionary.spec(t).value)

    async def event_log(self, goal: Goal) -> tuple[EventLog, list[dict[str, Any]]]:
        """The event log the goal is computed from, and each profile's attributes (for live quality too)."""
        return await self._log(goal)

    async def _log(self, goal: Goal) -> tuple[EventLog, list[dict[str, Any]]]:
        profiles = await self.repo.profile_attributes()
        ids = [r["profile_id"] for r in profiles]
        cols = await self.repo.event_columns(ids, goal.event_type, goal.key, goal.value)
        log = EventLog(ids, cols.profile, cols.type, cols.types, cols.time, cols.value)
        if goal.key:
            log.matches[goal.name] = cols.hit
        return log, [r["attributes"] or {} for r in profiles]

    async def train(self, req: TrainRequest) -> ModelInfo:
        goal = _goal(req.goal)
        as_of = _time(req.as_of, "as_of")
        horizon = req.horizon_days or self.settings.default_horizon_days
        async with self._lock:
            log, attrs = await self._log(goal)
            if goal.kind == "event" and goal.event_type not in log.types:
                raise InvalidRequestError.worded("no_events_of_type", type=goal.event_type,
                                                 types=", ".join(log.types[:20]))
            purchase = await self.purchase_types()
            if goal.kind in ("purchase", "ltv") and not purchase and not np.isfinite(log.value).any():
                # nothing to learn from, whatever the data: say what to configure, not "only 0 positives"
                raise NotEnoughDataError.worded("no_purchase_types", goal=goal.name, types=", ".join(log.types[:20]))
            activity = req.activity_types or self.settings.activity_types or None
            static, static_names = _static(attrs)
            try:
                model = await asyncio.to_thread(
                    train, log, goal, float(horizon), as_of, purchase_types=purchase, activity_types=activity,
                    static=static, static_names=static_names, random_state=req.random_state,
                    wording=self.dictionary.words.lang)  # the card speaks the deployment's language
            except InsufficientDataError as exc:
                raise _not_enough(exc) from None
            version = await self.repo.next_version(goal.name)
            model_id = f"{_slug(goal.name)}-v{version}"
            card = {**model.card, "model_id": model_id, "version": version, "purchase_types": purchase,
                    "activity_types": activity}
            try:
                await self.repo.register_model(model_id, goal.name, version, int(horizon),
                                               datetime.fromtimestamp(model.as_of, UTC), card)
            except ModelExistsError as exc:  # e.g. an imported goal took this id: never overwrite it
                raise ModelConflictError.worded("model_exists_train", model=exc.model_id, goal=exc.goal) from None
            await self.repo.save_artifact(model_id, await asyncio.to_thread(artifacts.dumps, model))
            return await self.model(model_id)

    async def models(self, goal: str | None = None) -> list[ModelInfo]:
        return [await self._with_erasures(_info(r)) for r in await self.repo.models(goal)]

    async def model(self, model_id: str, *, counted: bool = True) -> ModelInfo:
        """A model's card; `counted=False` leaves `scored` at 0 rather than count its predictions."""
        if counted:
            row = next((r for r in await self.repo.models() if r["model_id"] == model_id), None)
        else:
            row = await self.repo.model(model_id)
        if row is None:
            raise NotFoundError.worded("model_not_found", model=model_id)
        return await self._with_erasures(_info(row))

    async def _with_erasures(self, info: ModelInfo) -> ModelInfo:
        if self.erasures_since is not None:
            info.erased_since = await self.erasures_since(info.model_id)
        return info

    async def score(self, req: ScoreRequest) -> ScoreResponse:
        t0 = time.perf_counter()
        model_id = req.model_id
        if model_id is None:
            if not req.goal:
                raise InvalidRequestError.worded("model_or_goal")
            try:
                goal_name = Goal.parse(req.goal).name
            except ValueError:
                goal_name = req.goal.strip()  # an imported model's goal may be any name
            model_id = await self.repo.active_model(goal_name)
            if model_id is None:
                raise NotFoundError.worded("no_active_model", goal=req.goal)
        blob = await self.repo.artifact(model_id)
        if blob is None:
            await self.model(model_id)  # 404 when there is no such model at all
            raise InvalidRequestError.worded("model_imported", model=model_id)
        try:
            model: TrainedModel = await asyncio.to_thread(artifacts.loads, blob, model_id)
        except artifacts.ArtifactError as exc:
            raise ModelUnusableError.worded("model_unusable", model=model_id, reason=str(exc)) from None
        async with self._lock:
            log, attrs = await self._log(model.goal)
            as_of = _time(req.as_of, "as_of")
            if as_of is None:  # now, unless the data ends earlier (an export): then just after its last event
                as_of = min(time.time(), log.span()[1] + 1.0) if log.time.size else time.time()
            static, _ = _static(attrs, model.static_names)
            s = await asyncio.to_thread(score, model, log, as_of, static)
            when = datetime.fromtimestamp(as_of, UTC)
            reg = model.goal.is_regression
            objected = await self.repo.objectors()  # art. 21: no automated score for them, old ones removed
            rows = [PredictionRow(log.profiles[i], model_id, model.goal.name,
                                  None if reg else round(float(v), 6), round(float(v), 4) if reg else None,
                                  round(float(p), 3), t, when, d)
                    for i, v, p, t, d in zip(s.rows, s.values, s.percentile, s.tier, s.drivers, strict=True)
                    if log.profiles[i] not in objected]
            await self.repo.drop_predictions(sorted(objected))
            await self.repo.upsert_predictions(rows)
            if self.monitor is not None and rows:  # what this scoring predicted, kept to be checked later
                kept = np.array([log.profiles[i] not in objected for i in s.rows], dtype=bool)
                await self.monitor.record(model_id, model.goal.name, model.horizon_days, when,
                                          [r.profile_id for r in rows], np.asarray(s.values)[kept],
                                          [t for t, k in zip(s.tier, kept, strict=True) if k],
                                          {k: np.asarray(v)[kept] for k, v in s.driver_values.items()})
            queued = await self.enqueue([r.profile_id for r in rows]) if rows else 0
            best = await self.repo.top(model_id, req.limit) if req.limit else []
            return ScoreResponse(model_id=model_id, goal=model.goal.name, as_of=when.isoformat(), scored=len(rows),
                                 queued=queued, seconds=round(time.perf_counter() - t0, 2),
                                 predictions=[_prediction(r, self.dictionary.words.lang) for r in best])

    async def of_profile(self, profile_id: str) -> ProfilePredictions:
        rows = await self.repo.of_profile(profile_id)
        return ProfilePredictions(profile_id=profile_id, predictions=[_prediction(r, self.dictionary.words.lang) for r in rows])

    async def import_predictions(self, req: ImportRequest) -> ImportResponse:
        """Register an external model version and store its predictions (percentile and tier computed here,
        so they mean the same as ours); unknown profile ids are reported, not stored."""
        values = [p.probability if p.probability is not None else p.value for p in req.predictions]
        if any(v is None for v in values):
            raise InvalidRequestError.worded("prediction_needs_value")
        kinds = {p.probability is not None for p in req.predictions}
        if len(kinds) > 1:
            raise InvalidRequestError.worded("predictions_mixed")
        is_prob = kinds == {True}
        goal = req.goal.strip()
        as_of = _time(req.as_of, "as_of") or time.time()
        known = await self.repo.known_profiles([p.profile_id for p in req.predictions])
        objected = await self.repo.objectors()  # art. 21: not even an imported score is kept for them
        rows = [(p.profile_id, float(v)) for p, v in zip(req.predictions, values, strict=True)
                if p.profile_id in known and p.profile_id not in objected and v is not None]
        unknown = sorted({p.profile_id for p in req.predictions} - known)
        if not rows:
            raise InvalidRequestError.worded("no_known_profiles")
        version = await self.repo.next_version(goal)
        model_id = f"{_slug(goal)}-v{version}"
        when = datetime.fromtimestamp(as_of, UTC)
        card = {"goal": goal, "external": True, "model_name": req.model_name, "description": req.description,
                "as_of": when.isoformat(), "rows": len(rows), "holdout": req.metrics,
                "quality": "not assessed here: an external model (its own figures are under holdout)",
                "warning": None, "baselines": {}, "drivers": [], "sufficiency": {"verdict": "external"},
                "model_id": model_id, "version": version}
        try:
            await self.repo.register_model(model_id, goal, version, 0, when, card)
        except ModelExistsError as exc:
            raise ModelConflictError.worded("model_exists_import", model=exc.model_id, goal=exc.goal, new=goal) from None
        scores = np.array([v for _, v in rows])
        pct = percentiles(scores)
        await self.repo.upsert_predictions([
            PredictionRow(pid, model_id, goal, v if is_prob else None, None if is_prob else v, round(float(p), 3),
                          tier_of(float(p)), when) for (pid, v), p in zip(rows, pct, strict=True)])
        queued = await self.enqueue([pid for pid, _ in rows])
        return ImportResponse(model_id=model_id, stored=len(rows), unknown_profiles=unknown[:100], queued=queued)

    async def frame(self, goal_text: str, horizon_days: int | None = None, as_of_text: str | None = None,
                    ) -> tuple[list[str], list[str], np.ndarray, np.ndarray, float]:
        """Point-in-time features and labels for your own model: (profile ids, feature names, X, y, as_of).
        Only profiles that exist at as_of; default as_of: the latest one whose horizon is fully observed."""
        from prediction.features import FeatureSpec, labels, population
        from prediction.training import design

        goal = _goal(goal_text)
        horizon = float(horizon_days or self.settings.default_horizon_days)
        log, attrs = await self._log(goal)
        if not log.time.size:
            raise NotEnoughDataError.worded("no_events")
        as_of = _time(as_of_text, "as_of") or log.span()[1] - horizon * 86400.0
        purchase = await self.purchase_types()
        static, static_names = _static(attrs)

        def build() -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
            spec = FeatureSpec.fit(log, as_of, purchase, self.settings.activity_types or None,
                                   goal.name if goal.key else None)
            X = design(log, spec, as_of, static=static, n_static=len(static_names), forecast_horizon_days=None)
            y = labels(log, goal, spec, as_of, horizon)
            pop = population(log, as_of)
            ids = [log.profiles[i] for i in np.flatnonzero(pop)]
            return ids, spec.names() + static_names, X[pop], y[pop]

        ids, names, X, y = await asyncio.to_thread(build)
        return ids, names, X, y, as_of

    async def distribution(self, model_id: str, bins: int = 10) -> dict[str, Any]:
        """Scores of one model version: a histogram, tier counts, and risk per current segment."""
        await self.model(model_id)  # 404 for an unknown model
        rows = await self.repo.scores(model_id)
        values = np.array([r["v"] for r in rows], dtype=float)
        tiers: dict[str, int] = {}
        for r in rows:
            tiers[r["tier"]] = tiers.get(r["tier"], 0) + 1
        hist: list[dict[str, float]] = []
        if values.size:
            counts, edges = np.histogram(values, bins=bins)
            hist = [{"from": round(float(edges[i]), 4), "to": round(float(edges[i + 1]), 4), "count": int(c)}
                    for i, c in enumerate(counts)]
        by_segment = await self.repo.scores_by_segment(model_id)
        return {"model_id": model_id, "scored": int(values.size),
                "mean": round(float(values.mean()), 4) if values.size else None, "histogram": hist, "tiers": tiers,
                "by_segment": [{"segment_id": r["segment_id"], "name": r["name"], "members": r["members"],
                                "mean": round(float(r["mean"]), 4), "top10_share": round(float(r["top10_share"]), 4)}
                               for r in by_segment]}
