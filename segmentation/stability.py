"""Bootstrap stability: fit on two resamples, compare their labels on the shared profiles.

Adjusted Rand index for the whole partition; for each cluster of a reference fit, the mean best-match Jaccard
over resamples (Hennig 2007: a cluster below ~0.6 is not a real structure, above ~0.75 is stable).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.metrics import adjusted_rand_score

Fit = Callable[[np.ndarray, int], Callable[[np.ndarray], np.ndarray]]  # (X, seed) -> predict


def partition_stability(X: np.ndarray, fit: Fit, n_pairs: int, rng: np.random.Generator,
                        fraction: float = 0.8) -> float:
    """Mean ARI between fits on two random subsamples, measured on the profiles both contain."""
    n = X.shape[0]
    scores = []
    for _ in range(n_pairs):
        a = rng.choice(n, int(fraction * n), replace=False)
        b = rng.choice(n, int(fraction * n), replace=False)
        shared = np.intersect1d(a, b)
        pa = fit(X[a], int(rng.integers(2**31)))
        pb = fit(X[b], int(rng.integers(2**31)))
        scores.append(adjusted_rand_score(pa(X[shared]), pb(X[shared])))
    return float(np.mean(scores)) if scores else 1.0


def cluster_stability(X: np.ndarray, labels: np.ndarray, fit: Fit, n_resamples: int,
                      rng: np.random.Generator, fraction: float = 0.8) -> np.ndarray:
    """Per reference cluster: mean over resamples of the best Jaccard with any cluster of the resample fit."""
    k = int(labels.max()) + 1 if labels.size else 0
    scores = np.zeros((n_resamples, k))
    n = X.shape[0]
    for r in range(n_resamples):
        sub = rng.choice(n, int(fraction * n), replace=False)
        pred = fit(X[sub], int(rng.integers(2**31)))(X[sub])
        ref = labels[sub]
        for c in range(k):
            in_c = ref == c
            if not in_c.any():
                continue
            best = 0.0
            for d in np.unique(pred):
                in_d = pred == d
                best = max(best, (in_c & in_d).sum() / (in_c | in_d).sum())
            scores[r, c] = best
    return scores.mean(axis=0) if n_resamples else np.ones(k)
