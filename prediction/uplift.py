"""Who changed because of the campaign: a two-model (treated / control) uplift estimate with cross-fitting, judged
by its Qini coefficient on held-out folds, and reported as a few readable rules measured on data they were not
found on.

- Cross-fitting: the members are split in K folds; for each fold, one classifier is fitted on the other folds'
  treated members and one on their control members, and the fold's uplift is the difference of their
  predictions. Every member's estimate comes from models that never saw it.
- Qini: members sorted by estimated uplift; the curve is, at each depth, the treated conversions minus the
  control conversions scaled to the treated count; the coefficient is the mean gap between the curve and random
  targeting, divided by the number of members (conversions per member, 0 for a ranking no better than chance).
  The 95th percentile of the same coefficient over shuffled estimates is the bar for "heterogeneity is real".
- Rules: a shallow regression tree on the estimated uplift, fitted on half of the members; each leaf's uplift
  (treated rate minus control rate, normal 95% interval) is measured on the other half.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from profiles.paths import flatten_addressable

Z95 = 1.959964
MAX_LEVELS = 20  # a text field with more distinct values is no rule material (names, ids, free text)
MAX_COLUMNS = 80


@dataclass
class UpliftResult:
    qini: float
    qini_null_95: float
    heterogeneous: bool
    rules: list[dict[str, Any]]
    members: int
    note: str


def design_matrix(attributes: list[dict[str, Any]]) -> tuple[np.ndarray, list[str]]:
    """Members' traits and describing data (`{"traits": ..., "data": ...}`) as columns: numbers as they are
    (missing: the median), flags as 0/1, text fields of at most MAX_LEVELS values one column per value
    ("traits.plan=pro")."""
    rows: list[dict[str, Any]] = []
    for a in attributes:
        flat: dict[str, Any] = {}
        for root in ("traits", "data"):
            leaves, _ = flatten_addressable((a or {}).get(root) or {}, root)
            flat.update((p, v) for p, v in leaves if isinstance(v, bool | int | float | str))
        rows.append(flat)
    numeric: dict[str, list[float]] = {}
    levels: dict[str, set[str]] = {}
    for r in rows:
        for k, v in r.items():
            if isinstance(v, bool) or isinstance(v, int | float) and math.isfinite(v):
                numeric.setdefault(k, [])
            elif isinstance(v, str):
                levels.setdefault(k, set()).add(v)
    names = sorted(k for k in numeric if k not in levels)
    names += [f"{k}={v}" for k in sorted(levels) if len(levels[k]) <= MAX_LEVELS for v in sorted(levels[k])]
    names = names[:MAX_COLUMNS]
    x = np.full((len(rows), len(names)), np.nan)
    for j, name in enumerate(names):
        key, _, value = name.partition("=")
        for i, r in enumerate(rows):
            v = r.get(key)
            if value:
                x[i, j] = 1.0 if v == value else 0.0
            elif isinstance(v, bool | int | float):
                x[i, j] = float(v)
    for j in range(len(names)):  # a missing number is the field's median (the tree needs no NaN)
        col = x[:, j]
        col[np.isnan(col)] = np.nanmedian(col) if np.isfinite(col).any() else 0.0
    return x, names


def cross_fitted_uplift(x: np.ndarray, treated: np.ndarray, y: np.ndarray, *, folds: int = 5,
                        seed: int = 0) -> np.ndarray:
    """Out-of-fold two-model uplift: P(y | x, treated) - P(y | x, control)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(seed)
    fold = rng.integers(0, folds, len(y))
    tau = np.zeros(len(y))
    for k in range(folds):
        train, test = fold != k, fold == k
        preds = []
        for arm in (True, False):
            sel = train & (treated == arm)
            if sel.sum() < 20 or len(set(y[sel])) < 2:
                preds.append(np.full(test.sum(), y[sel].mean() if sel.any() else 0.0))
                continue
            model = HistGradientBoostingClassifier(max_depth=3, max_iter=100, learning_rate=0.1,
                                                   min_samples_leaf=40, random_state=seed)
            model.fit(x[sel], y[sel])
            preds.append(model.predict_proba(x[test])[:, 1])
        tau[test] = preds[0] - preds[1]
    return tau


def qini(tau: np.ndarray, treated: np.ndarray, y: np.ndarray) -> float:
    """Area between the Qini curve and random targeting, per member (0 for a ranking no better than chance)."""
    order = np.argsort(-tau, kind="stable")
    t, yy = treated[order], y[order]
    nt, nc = np.cumsum(t), np.cumsum(~t)
    yt, yc = np.cumsum(yy * t), np.cumsum(yy * ~t)
    curve = yt - yc * np.divide(nt, nc, out=np.zeros(len(nt)), where=nc > 0)
    line = curve[-1] * np.arange(1, len(y) + 1) / len(y)
    return float((curve - line).mean() / len(y))


def uplift_rules(x: np.ndarray, names: list[str], treated: np.ndarray, y: np.ndarray, *, seed: int = 0,
                 depth: int = 2, permutations: int = 50) -> UpliftResult:
    from sklearn.tree import DecisionTreeRegressor

    n = len(y)
    tau = cross_fitted_uplift(x, treated, y, seed=seed)
    q = qini(tau, treated, y)
    rng = np.random.default_rng(seed + 1)
    null = [qini(rng.permutation(tau), treated, y) for _ in range(permutations)]
    q95 = float(np.quantile(null, 0.95))
    half = rng.random(n) < 0.5
    tree = DecisionTreeRegressor(max_depth=depth, min_samples_leaf=max(50, n // 20), random_state=seed)
    tree.fit(x[half], tau[half])
    leaves = tree.apply(x[~half])
    rules: list[dict[str, Any]] = []
    for leaf in np.unique(leaves):
        sel = leaves == leaf
        t, c = sel & treated[~half], sel & ~treated[~half]
        yt, yc = y[~half][t], y[~half][c]
        if len(yt) < 10 or len(yc) < 10:
            continue
        pt, pc = yt.mean(), yc.mean()
        se = math.sqrt(pt * (1 - pt) / len(yt) + pc * (1 - pc) / len(yc))
        text, filters = _path(tree, leaf, names)
        rules.append({"rule": text, "filters": filters, "members": int(sel.sum()),
                      "uplift": round(float(pt - pc), 4),
                      "interval": [round(float(pt - pc - Z95 * se), 4), round(float(pt - pc + Z95 * se), 4)]})
    rules.sort(key=lambda r: -float(r["uplift"]))
    heterogeneous = q > q95 and len(rules) > 1
    note = ("the campaign changed some members more than others: target the first rules next" if heterogeneous else
            "no detectable heterogeneity: the ranking of who changed is no better than chance on held-out folds")
    return UpliftResult(round(q, 6), round(q95, 6), heterogeneous, rules, n, note)


def _path(tree: Any, leaf: int, names: list[str]) -> tuple[str, list[str]]:
    """The conditions from the root to a leaf, in words, one per field ("plan is pro and 8.5 < tenure <= 24.5"),
    and as filters (`plan=pro`, `tenure>8.5`, `tenure<=24.5`) that build the audience to target next."""
    t = tree.tree_
    parent: dict[int, tuple[int, bool]] = {}
    for node in range(t.node_count):
        if t.children_left[node] != -1:
            parent[t.children_left[node]] = (node, True)
            parent[t.children_right[node]] = (node, False)
    bounds: dict[str, list[float]] = {}  # numeric field -> [above, at most]
    is_: dict[str, str] = {}
    is_not: dict[str, list[str]] = {}
    node = leaf
    while node in parent:
        up, left = parent[node]
        name, thr = names[t.feature[up]], float(t.threshold[up])
        if "=" in name:  # a one-hot column: "plan=pro" <= 0.5 means the plan is not pro
            key, value = name.split("=", 1)
            if left:
                is_not.setdefault(key, []).append(value)
            else:
                is_[key] = value
        else:
            lo, hi = bounds.setdefault(name, [-math.inf, math.inf])
            bounds[name] = [lo, min(hi, thr)] if left else [max(lo, thr), hi]
        node = up
    parts = [f"{k} is {v}" for k, v in is_.items()]
    filters = [f"{k}={v}" for k, v in is_.items()]
    for k, vs in is_not.items():
        if k not in is_:
            parts.append(f"{k} is not {' or '.join(sorted(vs))}")
            filters += [f"{k}!={v}" for v in sorted(vs)]
    for name, (lo, hi) in bounds.items():
        if lo > -math.inf and hi < math.inf:
            parts.append(f"{lo:g} < {name} <= {hi:g}")
        else:
            parts.append(f"{name} > {lo:g}" if lo > -math.inf else f"{name} <= {hi:g}")
        filters += ([f"{name}>{lo:g}"] if lo > -math.inf else []) + ([f"{name}<={hi:g}"] if hi < math.inf else [])
    return " and ".join(parts) or "everyone", filters
