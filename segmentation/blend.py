"""The clustering space: profile vectors (reduced by PCA) beside standardised behaviour, each block scaled so
its total variance equals its weight. Without the scaling 384 vector dimensions would drown 6 behavioural
ones, or the reverse after standardising everything."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data


class ProfileBlender(TransformerMixin, BaseEstimator):
    """X = [vector columns | behaviour columns]; the first `n_vector_columns` columns are the embedding.

    Parameters: n_vector_columns (None: all columns are vector), vector_weight, behaviour_weight,
    n_components (PCA size of the vector block; None keeps it whole), random_state.
    """

    def __init__(self, n_vector_columns: int | None = None, vector_weight: float = 1.0,
                 behaviour_weight: float = 0.2, n_components: int | None = 16,
                 random_state: int | None = None) -> None:
        self.n_vector_columns = n_vector_columns
        self.vector_weight = vector_weight
        self.behaviour_weight = behaviour_weight
        self.n_components = n_components
        self.random_state = random_state

    max_fit_rows = 50_000  # PCA directions and block variances converge long before 1M rows

    def fit(self, X: Any, y: Any = None) -> ProfileBlender:
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        if X.shape[0] > self.max_fit_rows:
            rng = np.random.default_rng(self.random_state)
            X = X[np.sort(rng.choice(X.shape[0], self.max_fit_rows, replace=False))]
        X = X.astype(np.float64)
        nv = X.shape[1] if self.n_vector_columns is None else int(self.n_vector_columns)
        if not 0 <= nv <= X.shape[1]:
            raise ValueError(f"n_vector_columns={nv} outside 0..{X.shape[1]}")
        V, B = X[:, :nv], X[:, nv:]
        self.vector_mean_ = V.mean(axis=0)
        k = min(self.n_components or nv, nv, max(X.shape[0] - 1, 1))
        if nv and k < nv:
            # randomized SVD of the centred block: PCA without sklearn's copy of the whole matrix
            from sklearn.utils.extmath import randomized_svd

            _, _, vt = randomized_svd(V - self.vector_mean_, k, random_state=self.random_state)
            self.components_ = vt
        else:
            self.components_ = np.eye(nv)
        P = (V - self.vector_mean_) @ self.components_.T if nv else np.zeros((X.shape[0], 0))
        total = float(P.var(axis=0).sum()) if nv else 0.0
        self.vector_scale_ = np.sqrt(self.vector_weight / total) if total > 0 else 0.0
        self.behaviour_mean_ = B.mean(axis=0)
        std = B.std(axis=0)
        std[std == 0] = 1.0
        self.behaviour_std_ = std
        self.behaviour_scale_ = np.sqrt(self.behaviour_weight / B.shape[1]) if B.shape[1] else 0.0
        self.n_vector_columns_ = nv
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        out = np.empty((X.shape[0], self.components_.shape[0] + X.shape[1] - self.n_vector_columns_),
                       dtype=X.dtype)  # float32 in, float32 out: the space of 1M profiles stays small
        nv = self.n_vector_columns_
        for start in range(0, X.shape[0], 50_000):  # in chunks: never a float64 copy of all rows
            chunk = X[start:start + 50_000].astype(np.float64)
            P = (chunk[:, :nv] - self.vector_mean_) @ self.components_.T * self.vector_scale_
            Bz = (chunk[:, nv:] - self.behaviour_mean_) / self.behaviour_std_ * self.behaviour_scale_
            out[start:start + len(chunk)] = np.hstack([P, Bz])
        return out

    def to_dict(self) -> dict[str, Any]:
        """Fitted state as plain lists (stored in PostgreSQL, so assignment needs no pickles)."""
        check_is_fitted(self)
        return {"params": self.get_params(), "n_features_in": self.n_features_in_,
                **{k: np.asarray(getattr(self, k)).tolist() for k in
                   ("vector_mean_", "components_", "behaviour_mean_", "behaviour_std_")},
                "vector_scale": float(self.vector_scale_), "behaviour_scale": float(self.behaviour_scale_),
                "n_vector_columns": self.n_vector_columns_}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ProfileBlender:
        b = cls(**d["params"])
        for k in ("vector_mean_", "components_", "behaviour_mean_", "behaviour_std_"):
            setattr(b, k, np.asarray(d[k], dtype=np.float64))
        b.components_ = b.components_.reshape(-1, len(b.vector_mean_))
        b.vector_scale_, b.behaviour_scale_ = d["vector_scale"], d["behaviour_scale"]
        b.n_vector_columns_, b.n_features_in_ = d["n_vector_columns"], d["n_features_in"]
        return b
