"""Which arm a segment member is in: stable for the segment's life, the same in Python and in SQL
(`profile_ai.holdout_bucket`, migration 012)."""

from __future__ import annotations

import hashlib

MAX_SHARE = 0.5


def bucket(segment_id: str, profile_id: str) -> float:
    """A member's place in [0, 1): the first 32 bits of md5("segment:profile")."""
    digest = hashlib.md5(f"{segment_id}:{profile_id}".encode(), usedforsecurity=False).hexdigest()
    return int(digest[:8], 16) / 4294967296.0


def arm(segment_id: str, profile_id: str, share: float | None) -> str:
    return "control" if share and bucket(segment_id, profile_id) < share else "treated"
