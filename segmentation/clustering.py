"""AutoKMeans: k-means that chooses k itself, by silhouette among the k whose bootstrap stability is high.

Model selection runs on a sample (`selection_sample` profiles), so choosing k costs the same at 10,000 or
1,000,000 profiles; the final fit uses MiniBatchKMeans above `batch_threshold` rows. Clusters are numbered by
size, largest first, so labels are readable and deterministic for a fixed `random_state`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import pairwise_distances_argmin_min, silhouette_score
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from segmentation.stability import cluster_stability, partition_stability


class AutoKMeans(ClusterMixin, TransformerMixin, BaseEstimator):
    """Parameters: n_clusters (None: choose in [k_min, k_max]), min_stability (ARI a k must reach to be
    chosen), selection_sample, n_bootstrap (subsample pairs per k), n_init, batch_threshold, random_state.

    Learned: n_clusters_, cluster_centers_, labels_, inertia_, selection_ (per k: silhouette, stability),
    stability_ (ARI at the chosen k), cluster_stability_ (per-cluster Jaccard).
    """

    def __init__(self, n_clusters: int | None = None, k_min: int = 3, k_max: int = 10, min_stability: float = 0.8,
                 selection_sample: int = 8000, n_bootstrap: int = 5, n_init: int = 10,
                 batch_threshold: int = 60000, random_state: int | None = None) -> None:
        self.n_clusters = n_clusters
        self.k_min = k_min
        self.k_max = k_max
        self.min_stability = min_stability
        self.selection_sample = selection_sample
        self.n_bootstrap = n_bootstrap
        self.n_init = n_init
        self.batch_threshold = batch_threshold
        self.random_state = random_state

    def _kmeans(self, k: int, n_rows: int, seed: int) -> KMeans | MiniBatchKMeans:
        if n_rows > self.batch_threshold:
            return MiniBatchKMeans(k, batch_size=4096, n_init=self.n_init, random_state=seed)
        return KMeans(k, n_init=self.n_init, random_state=seed)

    def _fitter(self, k: int) -> Callable[[np.ndarray, int], Callable[[np.ndarray], np.ndarray]]:
        def fit(X: np.ndarray, seed: int) -> Callable[[np.ndarray], np.ndarray]:
            return self._kmeans(k, X.shape[0], seed).fit(X).predict
        return fit

    def fit(self, X: Any, y: Any = None) -> AutoKMeans:
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        rng = np.random.default_rng(check_random_state(self.random_state).randint(2**31))
        n = X.shape[0]
        sample = X if n <= self.selection_sample else X[rng.choice(n, self.selection_sample, replace=False)]
        if self.n_clusters is not None:
            if not 1 <= self.n_clusters <= n:
                raise ValueError(f"n_clusters={self.n_clusters} must be in 1..{n}")
            candidates = [int(self.n_clusters)]
        else:
            hi = min(self.k_max, len(np.unique(sample, axis=0)) - 1, n - 1)
            candidates = list(range(max(2, self.k_min), hi + 1)) or [max(1, min(2, n))]
        self.selection_: list[dict[str, float]] = []
        for k in candidates:
            if k < 2:
                self.selection_.append({"k": k, "silhouette": float("nan"), "stability": float("nan")})
                continue
            labels = self._kmeans(k, sample.shape[0], int(rng.integers(2**31))).fit_predict(sample)
            sil = float(silhouette_score(sample, labels, sample_size=min(4000, sample.shape[0]),
                                         random_state=int(rng.integers(2**31))))
            stab = partition_stability(sample, self._fitter(k), self.n_bootstrap, rng)
            self.selection_.append({"k": k, "silhouette": sil, "stability": stab})
        stable = [s for s in self.selection_ if s["stability"] >= self.min_stability]
        if len(candidates) == 1:
            best = candidates[0]
        elif stable:  # among stable partitions, the best separated one
            best = int(max(stable, key=lambda s: (s["silhouette"], -s["k"]))["k"])
        else:  # nothing reaches the bar: the most stable
            best = int(max(self.selection_, key=lambda s: (s["stability"], s["silhouette"]))["k"])
        km = self._kmeans(best, n, int(rng.integers(2**31))).fit(X)
        labels = km.predict(X)
        order = np.argsort(-np.bincount(labels, minlength=best), kind="stable")  # largest cluster first
        remap = np.empty(best, dtype=int)
        remap[order] = np.arange(best)
        self.cluster_centers_ = km.cluster_centers_[order]
        self.labels_ = remap[labels]
        self.n_clusters_ = best
        self.inertia_ = float(km.inertia_)
        chosen = next(s for s in self.selection_ if s["k"] == best)
        self.stability_ = chosen["stability"]
        self.cluster_stability_ = (cluster_stability(sample, self.predict(sample), self._fitter(best),
                                                     self.n_bootstrap, rng) if best > 1 else np.ones(best))
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return pairwise_distances_argmin_min(X, self.cluster_centers_.astype(X.dtype))[0]

    def transform(self, X: Any) -> np.ndarray:
        """Distance to every centre."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        from sklearn.metrics import euclidean_distances

        return euclidean_distances(X, self.cluster_centers_.astype(X.dtype))
