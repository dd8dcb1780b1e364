"""One discovery run end to end, on plain arrays and records: blend, cluster, describe, export rules.

`SegmentModel` is what assignment needs later (behaviour spec, blender, centres) as plain numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from segmentation.attributes import AttributeTable, attribute_table
from segmentation.behaviour import BehaviourSpec
from segmentation.blend import ProfileBlender
from segmentation.clustering import AutoKMeans
from segmentation.naming import SegmentDescription, describe_segments
from segmentation.rules import extract_rule


@dataclass
class SegmentModel:
    spec: BehaviourSpec
    blender: ProfileBlender
    centers: np.ndarray  # (k, blended dims)

    def assign(self, vectors: np.ndarray, records: Sequence[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """(label, distance to its centre) per profile."""
        return self.assign_raw(vectors, self.spec.raw(records))

    def assign_raw(self, vectors: np.ndarray, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`assign` on the behaviour columns as `spec.raw` (or PostgreSQL, through `spec.raw_sql`) measures them."""
        return self.nearest(project(self.spec, self.blender, vectors, raw))

    def nearest(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(label, distance) of points already in the clustering space (`project`)."""
        # float64 on the ~20 blended columns (cheap): near-ties fall on the side KMeans put them
        Z = np.asarray(Z, dtype=np.float64)
        C = np.asarray(self.centers, dtype=np.float64)
        # |z - c|^2 = |z|^2 - 2 z.c + |c|^2: one matrix product instead of an (n, k, dims) array
        d = (Z * Z).sum(axis=1)[:, None] - 2.0 * (Z @ C.T) + (C * C).sum(axis=1)[None, :]
        labels = d.argmin(axis=1)
        return labels, np.sqrt(np.maximum(d[np.arange(len(labels)), labels], 0.0))

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec.to_dict(), "blender": self.blender.to_dict(), "centers": self.centers.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SegmentModel:
        return cls(BehaviourSpec.from_dict(d["spec"]), ProfileBlender.from_dict(d["blender"]),
                   np.asarray(d["centers"], dtype=np.float64))


def project(spec: BehaviourSpec, blender: ProfileBlender, vectors: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Profiles into the clustering space: vectors beside their behaviour columns (`spec.raw`), blended."""
    return blender.transform(np.hstack([np.asarray(vectors, dtype=np.float32), spec.finish(raw)]))


def fit_space(vectors: np.ndarray, records: Sequence[dict[str, Any]], *, vector_weight: float = 1.0,
              behaviour_weight: float = 0.2, n_components: int | None = 16, random_state: int | None = 0,
              ) -> tuple[BehaviourSpec, ProfileBlender]:
    """The clustering space alone (behaviour spec and blender): known before k-means runs, so a caller can
    project the profiles outside a fitted sample meanwhile."""
    spec, blender, _ = _fit_space(vectors, records, vector_weight, behaviour_weight, n_components, random_state)
    return spec, blender


def _fit_space(vectors: np.ndarray, records: Sequence[dict[str, Any]], vector_weight: float,
               behaviour_weight: float, n_components: int | None, random_state: int | None,
               ) -> tuple[BehaviourSpec, ProfileBlender, np.ndarray]:
    """`fit_space`, also returning the rows it was fitted on (vectors beside behaviour), so `discover` builds
    them once."""
    numeric_traits = [a.name for a in attribute_table(records[:5000]).attributes
                      if a.kind == "number" and a.name.startswith(("traits.", "data."))]
    spec = BehaviourSpec.fit(records, numeric_traits)
    X = np.hstack([vectors.astype(np.float32), spec.matrix(records)])
    blender = ProfileBlender(n_vector_columns=vectors.shape[1], vector_weight=vector_weight,
                             behaviour_weight=behaviour_weight, n_components=n_components,
                             random_state=random_state).fit(X)
    return spec, blender, X


@dataclass
class Discovery:
    model: SegmentModel
    labels: np.ndarray
    distances: np.ndarray
    clusterer: AutoKMeans
    descriptions: list[SegmentDescription]
    exemplars: list[list[int]]  # row indices closest to each centre
    rules: list[dict[str, Any]] = field(default_factory=list)  # per segment: {"sql": {...}, "tql": {...}}
    table: AttributeTable | None = None


def discover(vectors: np.ndarray, records: Sequence[dict[str, Any]], documents: Sequence[str] | None = None, *,
             n_clusters: int | None = None, k_min: int = 3, k_max: int = 10, vector_weight: float = 1.0,
             behaviour_weight: float = 0.2, n_components: int | None = 16, rule_sample: int = 50000,
             random_state: int | None = 0, wording: str = "en",
             space: tuple[BehaviourSpec, ProfileBlender] | None = None) -> Discovery:
    """`space`: the result of `fit_space` on the same rows, when the caller fitted it first."""
    if len(records) != vectors.shape[0]:
        raise ValueError(f"{vectors.shape[0]} vectors but {len(records)} records")
    if vectors.shape[0] < 10:
        raise ValueError(f"{vectors.shape[0]} profiles: too few to find segments (need at least 10)")
    if space is None:
        spec, blender, X = _fit_space(vectors, records, vector_weight, behaviour_weight, n_components, random_state)
        Z = blender.transform(X)
        del X
    else:
        spec, blender = space
        Z = project(spec, blender, vectors, spec.raw(records))
    km = AutoKMeans(n_clusters=n_clusters, k_min=k_min, k_max=k_max, random_state=random_state).fit(Z)
    model = SegmentModel(spec, blender, km.cluster_centers_)
    labels = km.labels_
    dist = np.sqrt(((Z - km.cluster_centers_[labels].astype(np.float32)) ** 2).sum(axis=1))
    # naming and rules on a sample at scale: shares and lifts converge long before 1M rows
    rng = np.random.default_rng(random_state)
    n = len(records)
    rows = np.sort(rng.choice(n, rule_sample, replace=False)) if n > rule_sample else np.arange(n)
    sub = [records[i] for i in rows]
    table = attribute_table(sub)
    docs = [documents[i] for i in rows] if documents is not None else None
    descriptions = describe_segments(labels[rows], table, docs, wording=wording)
    exemplars = []
    rules = []
    for c in range(km.n_clusters_):
        members = np.flatnonzero(labels == c)
        exemplars.append(members[np.argsort(dist[members])[:5]].tolist())
        m = labels[rows] == c
        sql = extract_rule(table, m, random_state=random_state)
        tql = extract_rule(table, m, tql_only=True, random_state=random_state)
        share = float(m.mean())
        tql_rule = tql.as_dict(tql=True)
        if tql.recall < 0.25 or tql.precision < min(0.9, 1.5 * share):  # not worth exporting: say so instead
            tql_rule = {**tql_rule, "tql": None, "note": "the traits and data Tracardi holds do not separate this "
                        f"segment (best rule: precision {tql.precision:.2f}, recall {tql.recall:.2f}); publish "
                        "membership as traits.ai.segments and select on that instead"}
        rules.append({"sql": sql.as_dict(tql=False), "tql": tql_rule})
    return Discovery(model, labels, dist, km, descriptions, exemplars, rules, table)
