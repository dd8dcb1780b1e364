"""The index payload of a profile: the filterable facts, never contact details or identifiers."""

from __future__ import annotations

from typing import Any

from embeddings.documents import ProfileDocument
from profiles.model import Profile


def _iso(dt: Any) -> str | None:
    return dt.isoformat() if dt is not None else None


def profile_payload(profile: Profile, doc: ProfileDocument, *, source: str, objected: bool = False) -> dict[str, Any]:
    """Built from the document's redacted traits and data (cleaned once, when the document was built)."""
    s = doc.summary
    return {
        "profile_id": profile.id,
        "traits": doc.traits,
        "data": doc.data,
        "segments": sorted(profile.segments),
        "event_count": s.event_count,
        "event_types": sorted(s.counts_by_type),
        "counts": dict(sorted(s.counts_by_type.items())),
        "active_days": s.active_days,
        "first_seen": _iso(s.first_event_at or profile.created_at or profile.inserted_at),
        "last_seen": _iso(s.last_event_at or profile.last_visit_at or profile.changed_at),
        "spend_total": round(s.spend_total, 2),
        "purchases": s.spend_count,
        "rating_mean": round(s.rating_mean, 3) if s.rating_mean is not None else None,
        "top": s.top_values(),
        "content_hash": doc.content_hash,
        "document": doc.text,
        "source": source,
        "source_version": profile.shape,
        "updated_at": _iso(profile.changed_at),
        "objected": objected,  # objected to profiling: left out of segments and predictions
    }
