"""Train, evaluate and score a behaviour model, point in time.

Snapshots: the model is evaluated at `as_of` (features before it, labels in (as_of, as_of + horizon]) after
being fitted on an earlier snapshot `t_train` whose label window ends at as_of, so the holdout is strictly
later than everything the evaluated model saw. When the history before as_of - horizon is too short (a
young customer base, as in CDNOW), t_train moves to the middle of the history and its label window is
shortened: the card says so. The model that is kept for scoring is refitted on the as_of snapshot.

Profile vectors are deliberately not features: they summarise the whole history, the label window
included, so a model trained on a past as_of would learn from the future.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import roc_auc_score

from prediction.bgnbd import BetaGeoFitter, GammaGammaFitter, summarise
from prediction.card_words import localise_card, note
from prediction.evaluation import (
    InsufficientDataError,
    classification_metrics,
    curves,
    paired_gain,
    quality_band,
    regression_metrics,
    sufficiency,
)
from prediction.events import DAY, EventLog
from prediction.feature_words import label_drivers
from prediction.features import FeatureSpec, features, labels, population
from prediction.goals import Goal
from prediction.stacking import Linear, Stack, fit_stack, rfm

TIERS = ((99.0, "top 1%"), (90.0, "top 10%"), (50.0, "top 50%"))


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def tier_of(percentile: float) -> str:
    return next((name for cut, name in TIERS if percentile > cut), "rest")


def percentiles(scores: np.ndarray) -> np.ndarray:
    """Percent of scored profiles at or below each score (ties share the higher rank); 100 = the best."""
    if scores.size == 0:
        return scores
    order = np.sort(scores)
    return 100.0 * np.searchsorted(order, scores, side="right") / scores.size


def _estimator(regression: bool, n: int, random_state: int | None) -> Any:
    # small data: shallower trees, bigger leaves, more shrinkage (what the big CDPs refuse to model, we regularise)
    small = n < 5000
    opts: dict[str, Any] = {"max_iter": 150 if small else 250, "learning_rate": 0.05, "random_state": random_state,
                            "max_depth": 3 if small else None, "min_samples_leaf": 30 if small else 20,
                            "l2_regularization": 1.0 if small else 0.0}
    if regression:
        return HistGradientBoostingRegressor(loss="poisson", **opts)
    gbm = HistGradientBoostingClassifier(**opts)
    # calibrated probabilities: isotonic needs data, Platt scaling is safer on small samples. ensemble=False: the
    # calibration map is learned from 3-fold out-of-fold predictions, then one model fitted on everything scores
    # (the default averages the 3 fold models: 3x the scoring cost for no measured gain in ranking)
    return CalibratedClassifierCV(gbm, method="isotonic" if n >= 2000 else "sigmoid", cv=3, ensemble=False)


FIT_SAMPLE = 400_000  # rows a boosting model is fitted on at most; its fitting time grows with rows


def fit_rows(n: int, random_state: int | None) -> np.ndarray | None:
    """A fixed random sample of FIT_SAMPLE row indexes when there are more rows (None: fit on all)."""
    if n <= FIT_SAMPLE:
        return None
    return np.sort(np.random.default_rng(random_state).choice(n, FIT_SAMPLE, replace=False))


def _fit(regression: bool, X: np.ndarray, y: np.ndarray, random_state: int | None) -> Any:
    rows = fit_rows(len(y), random_state)
    if rows is not None:
        X, y = X[rows], y[rows]
    return _estimator(regression, len(y), random_state).fit(X, y)


MIN_PRESENT = 30  # a column needs this many profiles with a value (or 5%) to keep "missing" as missing


def sparse_fill(X: np.ndarray) -> np.ndarray:
    """Per column, the value written where a feature is missing, for columns too sparse to leave missing: an
    event type done by a handful of profiles leaves its columns all-missing inside some calibration folds,
    which gradient boosting cannot fit. "Never" becomes a value just below the column's range (a tree still
    tells it apart); NaN means the column keeps its missing values."""
    n = len(X)
    fill = np.full(X.shape[1], np.nan)
    present = np.isfinite(X).sum(axis=0)
    for j in np.flatnonzero(present < max(MIN_PRESENT, 0.05 * n)):
        col = X[:, j][np.isfinite(X[:, j])]
        fill[j] = float(col.min()) - 1.0 if col.size else 0.0
    return fill


def apply_fill(X: np.ndarray, fill: np.ndarray | None) -> np.ndarray:
    if fill is None:
        return X
    for j in np.flatnonzero(np.isfinite(fill)):
        X[~np.isfinite(X[:, j]), j] = fill[j]
    return X


def probabilistic_features(log: EventLog, buy: np.ndarray, as_of: float, horizon_days: float) -> np.ndarray:
    """BG/NBD expected purchases and BG/NBD x Gamma-Gamma expected spend over the horizon, fitted on the
    purchases before as_of only: the marketing-science forecast as two features the boosting can refine."""
    out = np.full((log.n_profiles, 2), np.nan)
    s = summarise(log, buy, as_of)
    c = s.customer
    if c.sum() < 50 or (s.x[c] > 0).sum() < 10:
        return out
    try:
        bg = BetaGeoFitter().fit(s.x[c], s.t_x[c], s.T[c])
        exp = bg.expected_purchases(horizon_days / 7.0, s.x[c], s.t_x[c], s.T[c])
        gg = GammaGammaFitter().fit(s.x[c], s.m[c])
        out[c, 0] = exp
        out[c, 1] = exp * gg.expected_value(s.x[c], s.m[c])
    except (ValueError, FloatingPointError, ZeroDivisionError):
        pass  # a fit that does not converge leaves the features missing, never the model broken
    return out


def _choose_blend(X: np.ndarray, y: np.ndarray, forecast: int, random_state: int | None) -> float:
    """Weight of boosting vs the BG/NBD x Gamma-Gamma forecast for spend, by RMSE on half of the training
    snapshot's customers with the boosting fitted on the other half: the holdout is never looked at."""
    rng = np.random.default_rng(random_state)
    idx = rng.permutation(len(y))
    a, b = idx[: len(idx) // 2], idx[len(idx) // 2:]
    boosted = np.maximum(_estimator(True, len(a), random_state).fit(X[a], y[a]).predict(X[b]), 0.0)
    base = np.nan_to_num(X[b, forecast])
    errors = {w: float(np.sqrt(np.mean((y[b] - (w * boosted + (1 - w) * base)) ** 2)))
              for w in (0.0, 0.25, 0.5, 0.75, 1.0)}
    return min(errors, key=lambda w: (errors[w], -w))


def _horizon_ratio(log: EventLog, buy: np.ndarray, t: float, short_days: float, long_days: float) -> float:
    s = summarise(log, buy, t)
    c = s.customer
    if c.sum() >= 50 and (s.x[c] > 0).sum() >= 10:
        bg = BetaGeoFitter().fit(s.x[c], s.t_x[c], s.T[c])
        short = bg.expected_purchases(short_days / 7.0, s.x[c], s.t_x[c], s.T[c]).sum()
        long = bg.expected_purchases(long_days / 7.0, s.x[c], s.t_x[c], s.T[c]).sum()
        if short > 0 and np.isfinite(long / short):
            return float(long / short)
    return long_days / short_days


def design(log: EventLog, spec: FeatureSpec, as_of: float, *, static: np.ndarray | None, n_static: int,
           forecast_horizon_days: float | None) -> np.ndarray:
    """A model's columns at as_of, in one order for training, scoring and exports: point-in-time features,
    the BG/NBD forecasts over the horizon (when the model uses them), then traits (NaN when not given)."""
    X = features(log, spec, as_of)
    if forecast_horizon_days is not None:
        buy = log.type_mask(spec.purchase_types) | np.isfinite(log.value)
        X = np.hstack([X, probabilistic_features(log, buy, as_of, forecast_horizon_days)])
    if n_static:
        X = np.hstack([X, static if static is not None else np.full((log.n_profiles, n_static), np.nan)])
    return X


@dataclass
class TrainedModel:
    goal: Goal
    horizon_days: float
    as_of: float
    spec: FeatureSpec
    estimator: Any
    feature_names: list[str]
    static_names: list[str]
    medians: np.ndarray
    drivers: list[str]
    card: dict[str, Any] = field(default_factory=dict)
    probabilistic: bool = False
    blend: float = 1.0  # ltv: weight of the boosting vs the BG/NBD x Gamma-Gamma forecast column
    fill: np.ndarray | None = None  # sparse columns' stand-in for "missing" (sparse_fill), NaN = left missing
    stack: Stack | None = None  # probability goals: boosting, logistic RFM and BG/NBD weighed (stacking.py)

    def matrix(self, log: EventLog, as_of: float, static: np.ndarray | None) -> np.ndarray:
        X = design(log, self.spec, as_of, static=static, n_static=len(self.static_names),
                   forecast_horizon_days=self.horizon_days if self.probabilistic else None)
        return apply_fill(X, self.fill)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return predict_with(self.estimator, X, self.feature_names, self.goal.is_regression, self.blend, self.stack)


def predict_with(estimator: Any, X: np.ndarray, names: list[str], regression: bool, blend: float = 1.0,
                 stack: Stack | None = None) -> np.ndarray:
    """What a model predicts: spend (boosting, blended with the BG/NBD x Gamma-Gamma forecast column when
    `blend` < 1) or a probability (calibrated boosting, through the stack when there is one). The same for the
    model evaluated on the holdout and the one kept for scoring."""
    if regression:
        boosted = np.maximum(estimator.predict(X), 0.0)
        if blend >= 1.0:
            return np.asarray(boosted)
        forecast = np.nan_to_num(X[:, names.index("bgnbd_expected_spend")])
        return np.asarray(blend * boosted + (1.0 - blend) * forecast)
    p = np.asarray(estimator.predict_proba(X)[:, 1])
    return stack.combine(p, X, names) if stack is not None else p


def train(log: EventLog, goal: Goal, horizon_days: float, as_of: float | None = None, *,
          purchase_types: Sequence[str] = (), activity_types: Sequence[str] | None = None,
          static: np.ndarray | None = None, static_names: Sequence[str] = (),
          random_state: int | None = 0, wording: str = "en") -> TrainedModel:
    if log.time.size == 0:
        raise InsufficientDataError("no events: sync a source before training", "no_events")
    start, end = log.span()
    h = horizon_days * DAY
    if as_of is None:
        as_of = end - h  # the latest snapshot whose label window is fully observed
    if as_of + h > end + DAY:
        raise InsufficientDataError(
            f"the label window ({_iso(as_of)} + {horizon_days:g} days) ends after the last event "
            f"({_iso(end)}): choose an earlier --as-of or a shorter --horizon-days", "label_window_after_end",
            as_of=_iso(as_of), days=f"{horizon_days:g}", end=_iso(end))
    if as_of <= start:
        raise InsufficientDataError(f"as_of {_iso(as_of)} is before the first event ({_iso(start)})",
                                    "as_of_before_start", as_of=_iso(as_of), start=_iso(start))
    t_train, train_h = as_of - h, h
    notes: list[dict[str, Any]] = []
    if population(log, t_train).sum() < 0.5 * population(log, as_of).sum():
        t_train = start + (as_of - start) / 2  # young base: a shorter label window, more customers
        train_h = as_of - t_train
        notes.append(note("snapshot_moved", when=_iso(t_train), days=f"{train_h / DAY:.0f}",
                          horizon=f"{horizon_days:g}"))
    regression = goal.is_regression
    spec = FeatureSpec.fit(log, as_of, purchase_types, activity_types, goal.name if goal.key else None)
    buy = log.type_mask(purchase_types) | np.isfinite(log.value)
    use_prob = goal.kind_of.forecast and bool(buy.any())
    names = spec.names() + (["bgnbd_expected_purchases", "bgnbd_expected_spend"] if use_prob else []) \
        + list(static_names)

    def snapshot(t: float, window: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pop = population(log, t)
        # the forecasts are always over the target horizon, also for a shortened training window
        X = design(log, spec, t, static=static, n_static=len(static_names),
                   forecast_horizon_days=horizon_days if use_prob else None)
        y = labels(log, goal, spec, t, window / DAY)
        X = X[pop]
        X[:, np.isnan(X).all(axis=0)] = 0.0  # an all-missing column breaks HistGradientBoosting; constant is inert
        return X, y[pop], np.flatnonzero(pop)

    X_tr, y_tr, _ = snapshot(t_train, train_h)
    fill = sparse_fill(X_tr)
    X_tr = apply_fill(X_tr, fill)
    if (sparse := int(np.isfinite(fill).sum())):
        notes.append(note("sparse_features", count=sparse, minimum=MIN_PRESENT))
    if regression and train_h < h:
        # a shortened window sees less spend: scale it to the horizon along the decay BG/NBD expects for the
        # whole base (a constant rate would overshoot: customers drop out as time passes)
        y_tr = y_tr * _horizon_ratio(log, buy, t_train, train_h / DAY, horizon_days)
    X_ev, y_ev, ev_rows = snapshot(as_of, h)
    X_ev = apply_fill(X_ev, fill)
    suff = sufficiency(y_tr, regression)
    if suff["verdict"] == "insufficient":
        raise InsufficientDataError("not enough data to train " + goal.name + ": " + "; ".join(suff["reasons"]),
                                    "not_enough_to_train", goal=goal.name, reasons=suff["codes"])
    model = _fit(regression, X_tr, y_tr, random_state)
    if fit_rows(max(len(y_tr), len(y_ev)), random_state) is not None:
        notes.append(note("fit_sample", sample=FIT_SAMPLE, train=len(y_tr), holdout=len(y_ev)))
    stack = None if regression else fit_stack(X_tr, y_tr, names, lambda n: _estimator(False, n, random_state),
                                              random_state)
    if stack is not None:
        notes.append(note("stacked_probability_forecast" if stack.forecast else "stacked_probability"))
    blend = 1.0
    if regression and use_prob:  # spend: let validation decide how much to trust boosting vs the forecast
        blend = _choose_blend(X_tr, y_tr, names.index("bgnbd_expected_spend"), random_state)
        notes.append(note("spend_blend", boosting=blend, forecast=1 - blend))

    def evaluated(X: np.ndarray) -> np.ndarray:  # the model as evaluated on the holdout (and for its drivers)
        return predict_with(model, X, names, regression, blend, stack)

    pred_ev = evaluated(X_ev)
    metrics = regression_metrics(y_ev, pred_ev) if regression else classification_metrics(y_ev, pred_ev)
    band, warning = quality_band(metrics, regression)

    baselines, baseline_preds = _baselines(log, goal, names, buy, as_of, h, (X_tr, y_tr), (X_ev, y_ev, ev_rows))

    importances = _drivers(evaluated, X_ev, y_ev, names, regression, random_state)

    # the kept model: refitted on the latest fully observed snapshot (the stack keeps its weights)
    final = _fit(regression, X_ev, y_ev, random_state)
    final_stack = Stack(Linear.fit(rfm(X_ev, names), y_ev), stack.meta, stack.forecast) if stack is not None else None
    card = {
        "goal": goal.name, "horizon_days": horizon_days, "as_of": _iso(as_of),
        "data_window": {"from": _iso(start), "to": _iso(end)},  # the events the model saw (retention shows here)
        "training_snapshot": {"as_of": _iso(t_train), "label_window_days": round(train_h / DAY, 1)},
        "rows": int(len(y_ev)), "positives": int((y_ev > 0).sum()),
        "training_rows": int(len(y_tr)), "training_positives": int((y_tr > 0).sum()),
        "sufficiency": suff, "holdout": metrics, "curves": curves(y_ev.astype(float), pred_ev),
        "baselines": baselines, "quality": band, "warning": warning,
        "vs_best_baseline": paired_gain(y_ev, pred_ev, baseline_preds, regression, seed=random_state or 0),
        "drivers": label_drivers(importances, wording), "features": len(names), "note_codes": notes,
        "estimator": ("HistGradientBoostingRegressor(poisson)" if regression
                      else "HistGradientBoostingClassifier + CalibratedClassifierCV"
                      + (" stacked with logistic RFM" + (" and BG/NBD" if stack.forecast else "")
                         if stack is not None else "")),
        "stack_weights": stack.weights() if stack is not None else None,
        "excluded": "profile vectors (they summarise the whole history, label window included)",
    }
    drivers = [d["feature"] for d in importances[:8]] or names[:8]
    medians = np.nanmedian(np.where(np.isfinite(X_ev), X_ev, np.nan), axis=0)
    card["blend"] = blend if regression and use_prob else None
    card = localise_card(card, wording)
    return TrainedModel(goal, horizon_days, as_of, spec, final, names, list(static_names),
                        np.nan_to_num(medians), drivers, card, use_prob, blend, fill, final_stack)


def _baselines(log: EventLog, goal: Goal, names: list[str], buy: np.ndarray, as_of: float, h: float,
               train: tuple[np.ndarray, np.ndarray], holdout: tuple[np.ndarray, np.ndarray, np.ndarray],
               ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The honest comparisons, on the same holdout: a recency/frequency rule, logistic regression on RFM, and
    BG/NBD (+ Gamma-Gamma for value) where the goal's row asks for them (historical spend rate for value)."""
    X_tr, y_tr = train
    X_ev, y_ev, ev_rows = holdout
    regression = goal.is_regression
    preds: dict[str, np.ndarray] = {}
    if regression:
        preds["historical_rate"] = np.nan_to_num(
            X_ev[:, names.index("spend")] / np.maximum(np.nan_to_num(X_ev[:, names.index("tenure_days")]), 1.0)
            * (h / DAY))
    else:
        rule = -np.nan_to_num(X_ev[:, names.index("recency_days")], nan=1e9) + 1e-3 * X_ev[:, names.index("events")]
        preds["recency_frequency_rule"] = goal.kind_of.rule_sign * rule
        if len(np.unique(y_tr)) == 2:
            preds["logistic_rfm"] = Linear.fit(rfm(X_tr, names), y_tr).proba(rfm(X_ev, names))
    baselines: dict[str, Any] = {k: regression_metrics(y_ev, v) if regression else classification_metrics(y_ev, v)
                                 for k, v in preds.items()}
    if goal.kind_of.bgnbd_baseline and buy.any():
        s = summarise(log, buy, as_of)
        c = s.customer[ev_rows]
        if c.sum() >= 50:
            bg = BetaGeoFitter().fit(s.x[s.customer], s.t_x[s.customer], s.T[s.customer])
            exp = np.zeros(len(ev_rows))
            xi, txi, Ti = s.x[ev_rows], s.t_x[ev_rows], s.T[ev_rows]
            exp[c] = bg.expected_purchases(h / DAY / 7.0, xi[c], txi[c], Ti[c])
            params = {"r": round(bg.r_, 4), "alpha": round(bg.alpha_, 4), "a": round(bg.a_, 4), "b": round(bg.b_, 4)}
            if regression:
                gg = GammaGammaFitter().fit(s.x[s.customer], s.m[s.customer])
                value = exp * gg.expected_value(xi, s.m[ev_rows])
                preds["bgnbd_gamma_gamma"] = value
                baselines["bgnbd_gamma_gamma"] = {**regression_metrics(y_ev, value), "params": {
                    **params, "p": round(gg.p_, 4), "q": round(gg.q_, 4), "v": round(gg.v_, 4)}}
            else:
                preds["bgnbd"] = exp
                baselines["bgnbd"] = {**classification_metrics(y_ev, exp), "params": params}
    return baselines, preds


def _drivers(predict: Callable[[np.ndarray], np.ndarray], X_ev: np.ndarray, y_ev: np.ndarray, names: list[str],
             regression: bool, random_state: int | None, repeats: int = 3) -> list[dict[str, Any]]:
    """Global drivers: permutation importance of the model as evaluated (stack or blend included) on a sample
    of the holdout: how much AUC (or mean absolute error) is lost when one column is shuffled."""
    rng = np.random.default_rng(random_state)
    sample = rng.choice(len(y_ev), min(3000, len(y_ev)), replace=False)
    X, y = X_ev[sample], y_ev[sample]
    if len(np.unique(y)) < 2:
        return []

    def quality(pred: np.ndarray) -> float:
        return -float(np.mean(np.abs(y - pred))) if regression else float(roc_auc_score(y, pred))

    reference = quality(predict(X))
    drops = np.zeros(len(names))
    for j in range(len(names)):
        for _ in range(repeats):
            Xp = X.copy()
            Xp[:, j] = X[rng.permutation(len(X)), j]
            drops[j] += (reference - quality(predict(Xp))) / repeats
    order = np.argsort(-drops, kind="stable")
    drops = np.round(drops, 4)  # a loss that rounds to nothing is no driver
    return [{"feature": names[i], "importance": float(drops[i])} for i in order[:10] if drops[i] > 0]


@dataclass
class Scores:
    rows: np.ndarray  # profile indices in the log
    values: np.ndarray  # probability, or spend for ltv
    percentile: np.ndarray
    tier: list[str]
    drivers: list[list[dict[str, Any]]]
    driver_values: dict[str, np.ndarray] = field(default_factory=dict)  # each top driver's column, for drift


def score(model: TrainedModel, log: EventLog, as_of: float, static: np.ndarray | None = None,
          n_drivers: int = 3) -> Scores:
    """Scores for every profile that exists at as_of, with percentile, tier and its top drivers (how much the
    prediction moves when that feature is set to the population's median)."""
    pop = population(log, as_of)
    X = model.matrix(log, as_of, static)[pop]
    values = model.predict(X) if len(X) else np.zeros(0)
    pct = percentiles(values)
    deltas = []
    for name in model.drivers:
        j = model.feature_names.index(name)
        median = model.medians[j]
        # only rows whose value differs from the median can move: light users sit at the median of most counts,
        # so at 1M profiles most rows skip the prediction pass
        moved = ~((X[:, j] == median) | (np.isnan(X[:, j]) & np.isnan(median)))
        delta = np.zeros(len(values))
        if moved.any():
            Xm = X[moved]
            Xm[:, j] = median
            delta[moved] = values[moved] - model.predict(Xm)
        deltas.append(delta)
    D = np.column_stack(deltas) if deltas else np.zeros((len(values), 0))
    # each profile's strongest drivers, ranked for everyone at once (one argsort, no per-row name lookups)
    best = np.argsort(-np.abs(D), axis=1, kind="stable")[:, :n_drivers] if D.shape[1] else np.zeros((len(values), 0), int)
    cols = np.array([model.feature_names.index(name) for name in model.drivers], dtype=int)
    picked = np.take_along_axis(D, best, axis=1)
    nonzero = (np.abs(picked) > 0).tolist()
    effect = np.round(picked, 4).tolist()
    shown = np.round(X[np.arange(len(values))[:, None], cols[best]], 3) if D.shape[1] else np.zeros_like(D)
    finite = np.isfinite(shown).tolist()
    shown_list = shown.tolist()
    names = model.drivers
    drivers = [[{"feature": names[j], "value": shown_list[i][r] if finite[i][r] else None, "effect": effect[i][r]}
                for r, j in enumerate(best[i].tolist()) if nonzero[i][r]]
               for i in range(len(values))]
    columns = {name: X[:, model.feature_names.index(name)] for name in model.drivers[:5]}
    return Scores(np.flatnonzero(pop), values, pct, [tier_of(p) for p in pct], drivers, columns)
