"""Live model quality: each scoring is kept as a compact snapshot, checked for drift against the model's first
scoring, and, once its horizon has passed, against what came true in the event log. A goal whose live quality
falls out of its band, or whose population drifted, is retrained through the job engine (`on_degraded`), once
per cause; the new model's card says which model it replaced and why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from app.config import PredictionSettings
from app.errors import InvalidRequestError, NotFoundError
from app.predictions.repository import PredictionsRepository
from app.predictions.snapshots_repository import SnapshotsRepository
from prediction import artifacts
from prediction.features import labels
from prediction.monitoring import (
    decode_snapshot,
    encode_snapshot,
    psi,
    realized_probability,
    realized_value,
    reference,
)

log = logging.getLogger(__name__)
DAY = 86400.0
Degraded = Callable[[str, str, str], Awaitable[Any]]  # (goal, model id, reason)


class QualityService:
    def __init__(self, snapshots: SnapshotsRepository, repo: PredictionsRepository,
                 event_log: Callable[[Any], Awaitable[Any]], settings: PredictionSettings | None = None) -> None:
        self.snapshots = snapshots
        self.repo = repo
        self.event_log = event_log  # goal -> (EventLog, attributes): the predictions service's reader
        self.settings = settings or PredictionSettings()
        self.on_degraded: Degraded | None = None

    async def record(self, model_id: str, goal: str, horizon_days: float, when: datetime, profile_ids: list[str],
                     values: np.ndarray, tiers: list[str], driver_values: dict[str, np.ndarray]) -> dict[str, Any]:
        """Keep what this scoring predicted and its drift from the model's first scoring; act on drift."""
        ordinals = await self.snapshots.ordinals(profile_ids)
        blob = await asyncio.to_thread(encode_snapshot, ordinals, values, tiers)
        ref = await self.snapshots.reference(model_id)
        if ref is None:  # the first scoring is the reference every later one is held to
            ref = {"score": reference(values), "drivers": {k: reference(v) for k, v in driver_values.items()}}
            drift: dict[str, Any] = {"reference": ref, "psi": {"score": 0.0}}
        else:
            scores = {"score": psi(ref["score"], values)}
            scores.update({f"driver:{k}": psi(ref["drivers"][k], v) for k, v in driver_values.items()
                           if k in ref.get("drivers", {})})
            drift = {"psi": {k: v for k, v in scores.items() if v is not None}}
        await self.snapshots.save(model_id, goal, when, int(round(horizon_days)), len(profile_ids), blob, drift)
        worst = max(drift["psi"].items(), key=lambda kv: kv[1], default=(None, 0.0))
        if worst[1] > self.settings.drift_threshold:
            await self._degraded(goal, model_id, f"drift: PSI of {worst[0]} is {worst[1]:.2f} "
                                                 f"(above {self.settings.drift_threshold:g})")
        return drift

    async def _degraded(self, goal: str, model_id: str, reason: str) -> None:
        log.warning("model %s (%s) needs retraining: %s", model_id, goal, reason)
        if self.on_degraded is not None:
            await self.on_degraded(goal, model_id, reason)

    async def history(self, model_id: str) -> dict[str, Any]:
        """Realized quality at each matured snapshot (computed once, then kept) beside the holdout figures."""
        model = next((r for r in await self.repo.models() if r["model_id"] == model_id), None)
        if model is None:
            raise NotFoundError.worded("model_not_found", model=model_id)
        snaps = await self.snapshots.of_model(model_id)
        if not snaps:
            raise InvalidRequestError.worded("never_scored", model=model_id)
        pending = [s for s in snaps if s["realized"] is None]
        computed: dict[int, dict[str, Any]] = {}
        if pending:
            computed = await self._realize(model_id, model, pending)
        holdout = (model["card"] or {}).get("holdout") or {}
        out = []
        for s in snaps:
            realized = s["realized"] if s["realized"] is not None else computed.get(s["snapshot_id"])
            matures = s["as_of"].timestamp() + s["horizon_days"] * DAY
            out.append({"snapshot_id": s["snapshot_id"], "as_of": s["as_of"].isoformat(), "profiles": s["profiles"],
                        "bytes": s["bytes"], "drift": s["drift"].get("psi", {}),
                        "realized": realized,
                        "matures_at": None if realized else datetime.fromtimestamp(matures, UTC).isoformat()})
        return {"model_id": model_id, "goal": model["goal"], "horizon_days": model["horizon_days"],
                "holdout": holdout, "snapshots": out, "replaces": (model["card"] or {}).get("replaces")}

    async def _realize(self, model_id: str, model: Any, pending: list[Any]) -> dict[int, dict[str, Any]]:
        blob = await self.repo.artifact(model_id)
        if blob is None:
            return {}  # an imported model: what it predicted is checked where it runs
        trained = await asyncio.to_thread(artifacts.loads, blob, model_id)
        event_log, _ = await self.event_log(trained.goal)
        if not event_log.time.size:
            return {}
        clock = float(event_log.time.max())  # the data's own clock: an export ends when its last event does
        index = {p: i for i, p in enumerate(event_log.profiles)}
        holdout = (model["card"] or {}).get("holdout") or {}
        done: dict[int, dict[str, Any]] = {}
        for s in pending:
            as_of = s["as_of"].timestamp()
            if as_of + s["horizon_days"] * DAY > clock:
                continue  # not matured: its outcome window has not ended in the data yet
            ordinals, values, _ = decode_snapshot(await self.snapshots.scores(s["snapshot_id"]))
            ids = await self.snapshots.profiles_of(ordinals.tolist())
            keep = [k for k, o in enumerate(ordinals.tolist()) if ids.get(o) in index]  # erased people drop out
            rows = np.array([index[ids[int(ordinals[k])]] for k in keep], dtype=int)

            def compute(rows: np.ndarray = rows, keep: list[int] = keep, values: np.ndarray = values,
                        as_of: float = as_of, horizon: float = s["horizon_days"]) -> dict[str, Any]:
                y = labels(event_log, trained.goal, trained.spec, as_of, horizon)[rows]
                p = values[keep]
                if trained.goal.is_regression:
                    return realized_value(y, p)
                return realized_probability((y > 0).astype(float), p)

            realized = await asyncio.to_thread(compute)
            realized["computed_at"] = datetime.now(UTC).isoformat()
            await self.snapshots.set_realized(s["snapshot_id"], realized)
            done[s["snapshot_id"]] = realized
            await self._judge(trained.goal.name, model_id, holdout, realized)
        return done

    async def _judge(self, goal: str, model_id: str, holdout: dict[str, Any], realized: dict[str, Any]) -> None:
        """The policy: no outcome at all where training saw some (renamed upstream, tracking broken), or a
        realized AUC below the holdout's by more than the band, retrains the goal."""
        base = holdout.get("base_rate") or holdout.get("positive_rate")
        if realized.get("base_rate") == 0 and (base is None or base > 0):
            await self._degraded(goal, model_id, "no outcome came true in the window: the outcome event may have "
                                                 "been renamed upstream or its tracking broken")
        elif realized.get("auc") is not None and holdout.get("auc") is not None and \
                realized["auc"] < holdout["auc"] - self.settings.auc_band:
            await self._degraded(goal, model_id, f"realized AUC {realized['auc']:.2f} against "
                                                 f"{holdout['auc']:.2f} on the holdout")

    async def prune(self) -> int:
        """Delete snapshots older than the retention; a retention shorter than a horizon is refused."""
        longest = max((int(r["horizon_days"]) for r in await self.repo.models() if r["status"] == "active"),
                      default=0)
        if self.settings.snapshot_retention_days < longest:
            raise InvalidRequestError.worded("retention_too_short", days=self.settings.snapshot_retention_days,
                                             longest=longest)
        return await self.snapshots.prune(self.settings.snapshot_retention_days)
