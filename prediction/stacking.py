"""Stacking for probability goals: the boosting, logistic regression on recency/frequency/monetary and the
BG/NBD forecast each see the customers differently; a logistic meta-learner weighs them.

The meta-learner is fitted on out-of-fold predictions of the training snapshot (two folds over a sample, so
its cost does not grow with the base), never on the holdout. The linear parts are kept as plain numbers
(`Linear`), so a stored model gains no new estimator types (see artifacts.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

STACK_SAMPLE = 50_000  # training rows the meta-learner's out-of-fold predictions are made on
RFM = ("recency_days", "events", "spend", "tenure_days")
FORECAST = "bgnbd_expected_purchases"


def rfm(X: np.ndarray, names: list[str]) -> np.ndarray:
    """log1p of recency (never = 10,000 days), events, spend and tenure: the classic logistic inputs."""
    R = X[:, [names.index(c) for c in RFM]].copy()
    R[:, 0] = np.nan_to_num(R[:, 0], nan=10_000.0)
    R[:, 3] = np.nan_to_num(R[:, 3])
    return np.log1p(np.maximum(R, 0))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(p / (1 - p)))


@dataclass
class Linear:
    """A standardised logistic regression as numbers: mean, scale, coefficients, intercept."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray) -> Linear:
        mean, scale = X.mean(axis=0), X.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        lr = LogisticRegression(max_iter=1000).fit((X - mean) / scale, y)
        return cls(mean, scale, lr.coef_[0].astype(np.float64), float(lr.intercept_[0]))

    def proba(self, X: np.ndarray) -> np.ndarray:
        z = ((X - self.mean) / self.scale) @ self.coef + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))))

    def as_dict(self) -> dict[str, Any]:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist(), "coef": self.coef.tolist(),
                "intercept": self.intercept}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Linear:
        def arr(k: str) -> np.ndarray:
            return np.asarray(d[k], dtype=np.float64)

        return cls(arr("mean"), arr("scale"), arr("coef"), float(d["intercept"]))


@dataclass
class Stack:
    rfm: Linear  # logistic RFM, refitted with the kept model
    meta: Linear  # over [logit boosting, logit RFM, (log1p BG/NBD forecast)]
    forecast: bool  # whether the BG/NBD forecast column takes part

    def inputs(self, p_boost: np.ndarray, X: np.ndarray, names: list[str]) -> np.ndarray:
        cols = [_logit(p_boost), _logit(self.rfm.proba(rfm(X, names)))]
        if self.forecast:
            cols.append(np.log1p(np.maximum(np.nan_to_num(X[:, names.index(FORECAST)]), 0)))
        return np.column_stack(cols)

    def combine(self, p_boost: np.ndarray, X: np.ndarray, names: list[str]) -> np.ndarray:
        return self.meta.proba(self.inputs(p_boost, X, names))

    def weights(self) -> dict[str, float]:
        parts = ["boosting", "logistic_rfm", "bgnbd"][: len(self.meta.coef)]
        return {k: round(float(c / s), 4) for k, c, s in zip(parts, self.meta.coef, self.meta.scale, strict=True)}

    def as_dict(self) -> dict[str, Any]:
        return {"rfm": self.rfm.as_dict(), "meta": self.meta.as_dict(), "forecast": self.forecast}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Stack:
        return cls(Linear.from_dict(d["rfm"]), Linear.from_dict(d["meta"]), bool(d["forecast"]))


def fit_stack(X: np.ndarray, y: np.ndarray, names: list[str], boosting: Callable[[int], Any],
              random_state: int | None) -> Stack | None:
    """The meta-learner from two-fold out-of-fold predictions on (a sample of) the training snapshot, and the
    logistic RFM on all of it. None when a fold would hold a single class (the boosting alone is kept)."""
    y = np.asarray(y).astype(int)
    rng = np.random.default_rng(random_state)
    idx = rng.permutation(len(y))[:STACK_SAMPLE]
    if len(idx) < 100 or np.bincount(y[idx], minlength=2).min() < 10:
        return None
    forecast = FORECAST in names and bool(np.isfinite(X[:, names.index(FORECAST)]).any())
    oof_boost, oof_rfm = np.zeros(len(idx)), np.zeros(len(idx))
    R = rfm(X[idx], names)
    for a, b in StratifiedKFold(2, shuffle=True, random_state=random_state).split(idx, y[idx]):
        oof_boost[b] = boosting(len(a)).fit(X[idx[a]], y[idx[a]]).predict_proba(X[idx[b]])[:, 1]
        oof_rfm[b] = Linear.fit(R[a], y[idx[a]]).proba(R[b])
    cols = [_logit(oof_boost), _logit(oof_rfm)]
    if forecast:
        cols.append(np.log1p(np.maximum(np.nan_to_num(X[idx, names.index(FORECAST)]), 0)))
    return Stack(Linear.fit(rfm(X, names), y), Linear.fit(np.column_stack(cols), y[idx]), forecast)
