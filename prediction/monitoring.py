"""Live model quality: what each scoring predicted, kept compactly, checked against what came true, and drift.

- A snapshot is each scored profile's ordinal (int32, a stable number per profile id kept in PostgreSQL), its
  score (float16) and its tier (uint8), zlib-compressed: about 7 bytes per profile before compression.
- Realized quality, once a snapshot's horizon has passed: AUC, PR-AUC (average precision), Brier score,
  calibration by decile of the score and the lift of the top 10% for probability goals; MAE and RMSE for value
  goals; each with a 95% interval from a bootstrap over profiles.
- Drift: the population stability index, PSI = sum((a - e) ln(a / e)) over ten bins fixed by the reference's
  deciles (the model's first scoring), of the score and of each top driver. Above 0.25 is the usual "shifted".
"""

from __future__ import annotations

import math
import zlib
from typing import Any

import numpy as np

TIERS = ("top 1%", "top 10%", "top 50%", "rest")
BINS = 10
EPS = 1e-4


def encode_snapshot(ordinals: np.ndarray, values: np.ndarray, tiers: list[str]) -> bytes:
    codes = np.array([TIERS.index(t) if t in TIERS else 255 for t in tiers], dtype=np.uint8)
    raw = (np.asarray(ordinals, dtype=np.int32).tobytes() + np.asarray(values, dtype=np.float16).tobytes()
           + codes.tobytes())
    return zlib.compress(np.int64(len(codes)).tobytes() + raw, 6)


def decode_snapshot(blob: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    raw = zlib.decompress(blob)
    n = int(np.frombuffer(raw[:8], dtype=np.int64)[0])
    o = np.frombuffer(raw[8:8 + 4 * n], dtype=np.int32)
    v = np.frombuffer(raw[8 + 4 * n:8 + 6 * n], dtype=np.float16).astype(np.float64)
    t = np.frombuffer(raw[8 + 6 * n:8 + 7 * n], dtype=np.uint8)
    return o, v, t


def reference(values: np.ndarray) -> dict[str, list[float]]:
    """Decile edges of a reference distribution and its share in each bin (what later scorings are held to)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not len(v):
        return {"edges": [], "shares": []}
    edges = np.unique(np.quantile(v, np.linspace(0, 1, BINS + 1)[1:-1]))
    return {"edges": [float(e) for e in edges], "shares": _shares(v, edges)}


def _shares(v: np.ndarray, edges: np.ndarray) -> list[float]:
    counts = np.bincount(np.searchsorted(edges, v, side="right"), minlength=len(edges) + 1)
    return [float(c) / max(len(v), 1) for c in counts]


def psi(ref: dict[str, list[float]], values: np.ndarray) -> float | None:
    """Population stability index of `values` against a reference from `reference()`."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not ref.get("shares") or not len(v):
        return None
    e = np.maximum(np.array(ref["shares"]), EPS)
    a = np.maximum(np.array(_shares(v, np.array(ref["edges"]))), EPS)
    return round(float(((a - e) * np.log(a / e)).sum()), 4)


def _auc(y: np.ndarray, p: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else None


def realized_probability(y: np.ndarray, p: np.ndarray, *, boot: int = 200, seed: int = 0) -> dict[str, Any]:
    """What came true against what was predicted, for a 0/1 outcome."""
    from sklearn.metrics import average_precision_score

    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    out: dict[str, Any] = {"profiles": len(y), "base_rate": round(float(y.mean()), 6) if len(y) else None}
    auc = _auc(y, p)
    out["auc"] = None if auc is None else round(auc, 4)
    out["pr_auc"] = round(float(average_precision_score(y, p)), 4) if 0 < y.sum() < len(y) else None
    out["brier"] = round(float(((p - y) ** 2).mean()), 6) if len(y) else None
    order = np.argsort(-p, kind="stable")
    top = order[: max(1, len(y) // 10)]
    out["lift_top_10"] = round(float(y[top].mean() / y.mean()), 3) if y.mean() > 0 else None
    deciles = np.array_split(np.argsort(p, kind="stable"), BINS) if len(y) >= BINS else []
    out["calibration"] = [{"predicted": round(float(p[d].mean()), 4), "observed": round(float(y[d].mean()), 4),
                           "profiles": len(d)} for d in deciles]
    if auc is not None and boot:
        rng = np.random.default_rng(seed)
        draws = [a for a in (_auc(y[i], p[i]) for i in (rng.integers(0, len(y), len(y)) for _ in range(boot)))
                 if a is not None]
        if draws:
            lo, hi = np.percentile(draws, [2.5, 97.5])
            out["auc_interval"] = [round(float(lo), 4), round(float(hi), 4)]
    return out


def realized_value(y: np.ndarray, v: np.ndarray, *, boot: int = 200, seed: int = 0) -> dict[str, Any]:
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    err = v - y
    out: dict[str, Any] = {"profiles": len(y), "mae": round(float(np.abs(err).mean()), 4) if len(y) else None,
                           "rmse": round(float(math.sqrt((err ** 2).mean())), 4) if len(y) else None}
    if len(y) and boot:
        rng = np.random.default_rng(seed)
        maes = [float(np.abs(err[rng.integers(0, len(y), len(y))]).mean()) for _ in range(boot)]
        lo, hi = np.percentile(maes, [2.5, 97.5])
        out["mae_interval"] = [round(float(lo), 4), round(float(hi), 4)]
    return out
