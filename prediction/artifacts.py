"""A trained model as stored bytes: never a pickle.

The artifact is a zip with `meta.json` (what the model is: goal, feature spec, medians, card, and the library
versions that made it) and `estimator.skops` (the fitted scikit-learn estimator in skops' format, which
rebuilds objects from an allow-list of types instead of running code). Loading refuses, with a message that
says what to do: a pickle (the old form), an unknown format, other library versions than the ones that
made the model (a fitted estimator is only valid for the scikit-learn minor it was fitted with), and any
type outside the few this trainer produces.
"""

from __future__ import annotations

import io
import sys
import zipfile
from typing import Any

import numpy as np
import orjson
import scipy
import sklearn
import skops
import skops.io as sio

from prediction.features import FeatureSpec
from prediction.goals import Goal
from prediction.stacking import Stack
from prediction.training import TrainedModel

FORMAT = "profile-ai-model/1"
# beyond skops' own default-trusted types, exactly what train() fits: calibrated boosting (classification) and
# boosting (regression)
TRUSTED_TYPES = frozenset({
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
})
MAX_ARTIFACT_BYTES = 256 * 1024 * 1024


class ArtifactError(ValueError):
    """A stored model that cannot be loaded here; the message says why and what to do."""


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def library_versions() -> dict[str, str]:
    return {"python": _minor(sys.version.split()[0]), "scikit-learn": sklearn.__version__,
            "numpy": np.__version__, "scipy": scipy.__version__, "skops": skops.__version__}


def _compatible(made: dict[str, str], here: dict[str, str]) -> list[str]:
    """What differs in a way that matters: scikit-learn and skops by minor, numpy by major."""
    out = []
    for lib, same in (("scikit-learn", _minor), ("skops", _minor), ("numpy", lambda v: v.split(".")[0])):
        if same(str(made.get(lib, "?"))) != same(here[lib]):
            out.append(f"{lib} {made.get(lib, '?')} (here {here[lib]})")
    return out


def dumps(model: TrainedModel) -> bytes:
    meta = {
        "format": FORMAT, "libraries": library_versions(),
        "goal": {"kind": model.goal.kind, "event_type": model.goal.event_type, "key": model.goal.key,
                 "value": model.goal.value},
        "horizon_days": model.horizon_days, "as_of": model.as_of,
        "spec": {"types": model.spec.types, "purchase_types": model.spec.purchase_types,
                 "activity_types": model.spec.activity_types, "condition": model.spec.condition},
        "feature_names": model.feature_names, "static_names": model.static_names,
        "medians": [float(v) for v in model.medians], "drivers": model.drivers, "card": model.card,
        "probabilistic": model.probabilistic, "blend": model.blend,
        "fill": None if model.fill is None else [None if not np.isfinite(v) else float(v) for v in model.fill],
        "stack": model.stack.as_dict() if model.stack is not None else None,  # plain numbers, not an estimator
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("meta.json", orjson.dumps(meta, option=orjson.OPT_SERIALIZE_NUMPY))
        z.writestr("estimator.skops", sio.dumps(model.estimator))
    return buf.getvalue()


def loads(blob: bytes, model_id: str = "model") -> TrainedModel:
    if blob[:1] == b"\x80":
        raise ArtifactError(f"{model_id} is stored as a pickle (made before profile-ai stored models safely) and "
                            "is not loaded: train the goal again")
    if len(blob) > MAX_ARTIFACT_BYTES:
        raise ArtifactError(f"{model_id}: artifact of {len(blob)} bytes is larger than {MAX_ARTIFACT_BYTES}")
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as z:
            meta = orjson.loads(z.read("meta.json"))
            estimator_bytes = z.read("estimator.skops")
    except (zipfile.BadZipFile, KeyError, orjson.JSONDecodeError) as exc:
        raise ArtifactError(f"{model_id}: not a profile-ai model artifact ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ArtifactError(f"{model_id}: unknown artifact format {meta.get('format') if isinstance(meta, dict) else '?'}"
                            f" (this server reads {FORMAT})")
    made = meta.get("libraries") or {}
    if differs := _compatible(made, library_versions()):
        raise ArtifactError(f"{model_id} was made with " + ", ".join(differs) + ": a fitted model is only valid "
                            "with the versions that made it; train the goal again here (or run the versions "
                            "it was made with)")
    try:
        untrusted = set(sio.get_untrusted_types(data=estimator_bytes))
        if extra := untrusted - TRUSTED_TYPES:
            raise ArtifactError(f"{model_id}: the estimator needs types profile-ai does not load: "
                                + ", ".join(sorted(extra)))
        estimator = sio.loads(estimator_bytes, trusted=sorted(untrusted))
    except ArtifactError:
        raise
    except Exception as exc:  # noqa: BLE001 - skops raises many kinds for a damaged file
        raise ArtifactError(f"{model_id}: the estimator could not be read ({type(exc).__name__}: {exc})") from None
    return _model(meta, estimator)


def _model(meta: dict[str, Any], estimator: Any) -> TrainedModel:
    g, s = meta["goal"], meta["spec"]
    return TrainedModel(
        goal=Goal(g["kind"], g.get("event_type"), g.get("key"), g.get("value")),
        horizon_days=float(meta["horizon_days"]), as_of=float(meta["as_of"]),
        spec=FeatureSpec(list(s["types"]), list(s["purchase_types"]), s.get("activity_types"), s.get("condition")),
        estimator=estimator, feature_names=list(meta["feature_names"]), static_names=list(meta["static_names"]),
        medians=np.asarray(meta["medians"], dtype=np.float64), drivers=list(meta["drivers"]),
        card=dict(meta.get("card") or {}), probabilistic=bool(meta["probabilistic"]), blend=float(meta["blend"]),
        fill=None if meta.get("fill") is None else np.asarray([np.nan if v is None else v for v in meta["fill"]],
                                                             dtype=np.float64),
        stack=Stack.from_dict(meta["stack"]) if meta.get("stack") else None,
    )
