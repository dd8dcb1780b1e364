"""Model-card metrics, quality bands in plain words, and the data-sufficiency verdict."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

MIN_ROWS = 50
MIN_CLASS = 10  # fewer positives (or negatives) than this: refuse, the estimate would be noise
THIN_CLASS = 100


class InsufficientDataError(ValueError):
    """Too little data for an honest model; the message says what is missing in English, and `key` / `params`
    name the same sentence for a caller that words it otherwise (app/error_words.py)."""

    def __init__(self, message: str, key: str = "", **params: Any) -> None:
        super().__init__(message)
        self.key = key
        self.params = params


def sufficiency(y: np.ndarray, regression: bool) -> dict[str, Any]:
    n = int(len(y))
    pos = int((y > 0).sum())
    neg = n - pos
    reasons = []
    codes: list[tuple[str, int, int]] = []  # each reason as (key, n, need), for other wordings
    if n < MIN_ROWS:
        reasons.append(f"only {n} profiles in the training snapshot (need {MIN_ROWS})")
        codes.append(("too_few_rows", n, MIN_ROWS))
    if pos < MIN_CLASS:
        reasons.append(f"only {pos} {'profiles with spend' if regression else 'positives'} in the label window "
                       f"(need {MIN_CLASS})")
        codes.append(("too_few_with_spend" if regression else "too_few_positives", pos, MIN_CLASS))
    if not regression and neg < MIN_CLASS:
        reasons.append(f"only {neg} negatives in the label window (need {MIN_CLASS})")
        codes.append(("too_few_negatives", neg, MIN_CLASS))
    if reasons:
        return {"verdict": "insufficient", "reasons": reasons, "codes": codes, "rows": n, "positives": pos}
    thin = []
    if pos < THIN_CLASS or (not regression and neg < THIN_CLASS):
        thin.append(f"{min(pos, neg) if not regression else pos} examples in the rarer class: metrics are "
                    "uncertain (wide confidence intervals)")
    return {"verdict": "thin" if thin else "sufficient", "reasons": thin, "rows": n, "positives": pos}


def lift_at(y: np.ndarray, score: np.ndarray, top: float = 0.1) -> float:
    k = max(1, int(round(top * len(y))))
    base = float(np.mean(y > 0))
    if base == 0:
        return 0.0
    best = np.argsort(-score, kind="stable")[:k]
    return float(np.mean(y[best] > 0) / base)


def classification_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float | None]:
    if len(np.unique(y)) < 2:
        return {"auc": None, "pr_auc": None, "brier": None, "lift_top10": None, "base_rate": float(np.mean(y))}
    probs = np.clip(p, 0, 1)
    return {"auc": round(float(roc_auc_score(y, p)), 4), "pr_auc": round(float(average_precision_score(y, p)), 4),
            "brier": round(float(brier_score_loss(y, probs)), 4), "lift_top10": round(lift_at(y, p), 3),
            "base_rate": round(float(np.mean(y)), 4)}


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float | None]:
    k = max(1, int(round(0.1 * len(y))))
    top = np.argsort(-pred, kind="stable")[:k]
    total = float(y.sum())
    rho = spearmanr(y, pred).statistic if np.std(pred) > 0 and np.std(y) > 0 else np.nan
    return {"mae": round(float(np.mean(np.abs(y - pred))), 4),
            "rmse": round(float(np.sqrt(np.mean((y - pred) ** 2))), 4),
            "spearman": None if np.isnan(rho) else round(float(rho), 4),
            "top10_spend_share": round(float(y[top].sum() / total), 4) if total > 0 else None,
            "total_actual": round(total, 2), "total_predicted": round(float(pred.sum()), 2)}


def quality_band(metrics: dict[str, Any], regression: bool) -> tuple[str, str | None]:
    """(band in plain words, a warning when results look too good to be true)."""
    score = metrics.get("spearman") if regression else metrics.get("auc")
    if score is None:
        return "unknown: the holdout has a single class", None
    cuts = [(0.85, "strong"), (0.75, "good"), (0.65, "fair"), (0.55, "weak")] if not regression else \
        [(0.7, "strong"), (0.5, "good"), (0.3, "fair"), (0.1, "weak")]
    band = next((name for cut, name in cuts if score >= cut), "no better than chance")
    words = {"strong": "ranks customers very well", "good": "ranks customers well",
             "fair": "ranks customers somewhat better than chance", "weak": "only slightly better than chance",
             "no better than chance": "do not use for decisions"}[band]
    warning = None
    if (not regression and score >= 0.97) or (regression and score >= 0.95):
        warning = ("results look too good: check for leakage (a trait or event that records the outcome "
                   "itself, or events timestamped after they happened)")
    return f"{band}: {words}", warning


def curves(y: np.ndarray, score: np.ndarray, bins: int = 10) -> dict[str, list[dict[str, float]]]:
    """Holdout curves for the card: calibration (mean predicted vs observed per score decile) and cumulative
    lift/capture by top share. Plain numbers, so any UI or notebook can plot them."""
    if len(y) == 0:
        return {"calibration": [], "lift": []}
    order = np.argsort(-score, kind="stable")
    calib = []
    for part in np.array_split(order, bins):
        if len(part):
            calib.append({"predicted": round(float(score[part].mean()), 4),
                          "observed": round(float((y[part] if y.dtype.kind == "f" else y[part] > 0).mean()), 4),
                          "count": int(len(part))})
    calib.reverse()  # low to high
    total = float(y.sum()) or 1.0
    base = float(y.mean()) or 1.0
    lift = []
    for q in (0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0):
        k = max(1, int(round(q * len(y))))
        top = order[:k]
        lift.append({"top": q, "lift": round(float(y[top].mean() / base), 3),
                     "capture": round(float(y[top].sum() / total), 4)})
    return {"calibration": calib, "lift": lift}


def paired_gain(y: np.ndarray, model: np.ndarray, baselines: dict[str, np.ndarray], regression: bool,
                resamples: int = 200, max_rows: int = 50_000, seed: int = 0) -> dict[str, Any] | None:
    """How much the model beats the strongest baseline on the same holdout, with a 95% interval from a paired
    bootstrap (both scored on the same resampled customers): AUC gained, or RMSE and MAE saved (positive = the
    model is better). None when there is no baseline or the holdout has a single class."""
    if not baselines or len(y) < 20:
        return None
    rng = np.random.default_rng(seed)
    rows = rng.permutation(len(y))[:max_rows]
    y, model = y[rows], model[rows]
    base = {k: v[rows] for k, v in baselines.items()}
    if regression:
        def errors(pred: np.ndarray, s: np.ndarray) -> np.ndarray:
            d = y[s] - pred[s]
            return np.array([np.sqrt(np.mean(d ** 2)), np.mean(np.abs(d))])
        everyone = np.arange(len(y))
        name = min(base, key=lambda k: float(errors(base[k], everyone)[0]))
        gain = errors(base[name], everyone) - errors(model, everyone)
        draws = np.array([errors(base[name], s) - errors(model, s)
                          for s in (rng.integers(0, len(y), len(y)) for _ in range(resamples))])
        lo, hi = np.percentile(draws, [2.5, 97.5], axis=0)
        return {"baseline": name, "rmse_saved": round(float(gain[0]), 4), "rmse_ci95": [round(float(lo[0]), 4),
                round(float(hi[0]), 4)], "mae_saved": round(float(gain[1]), 4),
                "mae_ci95": [round(float(lo[1]), 4), round(float(hi[1]), 4)], "resamples": resamples,
                "rows": int(len(y))}
    if len(np.unique(y)) < 2:
        return None
    name = max(base, key=lambda k: float(roc_auc_score(y, base[k])))
    auc_gain = float(roc_auc_score(y, model) - roc_auc_score(y, base[name]))
    draws_auc = []
    for _ in range(resamples):
        s = rng.integers(0, len(y), len(y))
        if len(np.unique(y[s])) == 2:
            draws_auc.append(roc_auc_score(y[s], model[s]) - roc_auc_score(y[s], base[name][s]))
    lo_auc, hi_auc = np.percentile(draws_auc, [2.5, 97.5])
    return {"baseline": name, "auc_gain": round(auc_gain, 4), "auc_ci95": [round(float(lo_auc), 4),
            round(float(hi_auc), 4)], "resamples": len(draws_auc), "rows": int(len(y))}
