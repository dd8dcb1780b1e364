"""Stable segment identity across refreshes: match new clusters to the previous version's by membership
overlap (Jaccard on the profiles both versions know), one-to-one (Hungarian). A cluster that overlaps a
previous segment by at least `min_jaccard` inherits its id and name; the others are new segments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment


def match_segments(previous: Mapping[str, set[str]], new: Sequence[set[str]], *,
                   min_jaccard: float = 0.5) -> dict[int, tuple[str, float]]:
    """{new cluster index: (previous segment id, jaccard)} for the matched ones."""
    if not previous or not new:
        return {}
    known = set().union(*previous.values())
    shared = known & set().union(*new)
    prev_ids = sorted(previous)
    J = np.zeros((len(new), len(prev_ids)))
    for i, members in enumerate(new):
        a = members & shared
        for j, pid in enumerate(prev_ids):
            b = previous[pid] & shared
            union = len(a | b)
            J[i, j] = len(a & b) / union if union else 0.0
    rows, cols = linear_sum_assignment(-J)
    return {int(i): (prev_ids[j], round(float(J[i, j]), 3)) for i, j in zip(rows, cols, strict=True)
            if J[i, j] >= min_jaccard}
