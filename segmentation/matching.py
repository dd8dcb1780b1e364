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
    shared = set().union(*previous.values()) & set().union(*new)
    overlap = {(sid, i): len(members & old) for sid, old in previous.items() for i, members in enumerate(new)}
    return match_overlaps(overlap, [len(m & shared) for m in new],
                          {sid: len(old & shared) for sid, old in previous.items()}, min_jaccard=min_jaccard)


def match_overlaps(overlap: Mapping[tuple[str, int], int], new_shared: Sequence[int],
                   previous_shared: Mapping[str, int], *, min_jaccard: float = 0.5) -> dict[int, tuple[str, float]]:
    """`match_segments` from counts, for callers that count in the database: `overlap[(previous id, new index)]`
    members in both, `new_shared[i]` members of new cluster i that some previous segment held, and
    `previous_shared[id]` members of a previous segment that some new cluster holds."""
    if not previous_shared or not new_shared:
        return {}
    prev_ids = sorted(previous_shared)
    J = np.zeros((len(new_shared), len(prev_ids)))
    for i, a in enumerate(new_shared):
        for j, pid in enumerate(prev_ids):
            both = overlap.get((pid, i), 0)
            union = a + previous_shared[pid] - both
            J[i, j] = both / union if union else 0.0
    rows, cols = linear_sum_assignment(-J)
    return {int(i): (prev_ids[j], round(float(J[i, j]), 3)) for i, j in zip(rows, cols, strict=True)
            if J[i, j] >= min_jaccard}
