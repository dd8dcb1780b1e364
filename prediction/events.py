"""The event log as columns (numpy); the goals a model predicts are in `goals.py`.

Times are seconds since the epoch (float64). Everything point-in-time filters on them: features see events
with time < as_of, labels see events with as_of < time <= as_of + horizon.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

DAY = 86400.0


@dataclass
class EventLog:
    """Columns of every event; `profiles` names the row of each profile index."""

    profiles: list[str]
    profile: np.ndarray  # int32 index into profiles
    type: np.ndarray  # int32 index into types
    types: list[str]
    time: np.ndarray  # float64 epoch seconds
    value: np.ndarray  # float64 money amount, NaN when none
    matches: dict[str, np.ndarray] = field(default_factory=dict)  # goal name -> bool per event (conditions)

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[str, str, float, float | None]], profiles: Sequence[str] | None = None,
                  ) -> EventLog:
        """rows: (profile_id, type, epoch seconds, value)."""
        ids = list(profiles) if profiles is not None else sorted({r[0] for r in rows})
        pidx = {p: i for i, p in enumerate(ids)}
        types = sorted({r[1] for r in rows})
        tidx = {t: i for i, t in enumerate(types)}
        keep = [r for r in rows if r[0] in pidx]
        return cls(ids, np.array([pidx[r[0]] for r in keep], dtype=np.int32),
                   np.array([tidx[r[1]] for r in keep], dtype=np.int32), types,
                   np.array([r[2] for r in keep], dtype=np.float64),
                   np.array([np.nan if r[3] is None else r[3] for r in keep], dtype=np.float64))

    @property
    def n_profiles(self) -> int:
        return len(self.profiles)

    def type_mask(self, names: Sequence[str]) -> np.ndarray:
        wanted = [i for i, t in enumerate(self.types) if t in set(names)]
        return np.isin(self.type, wanted)

    def span(self) -> tuple[float, float]:
        return (float(self.time.min()), float(self.time.max())) if self.time.size else (0.0, 0.0)

