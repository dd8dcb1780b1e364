"""A small vector-index interface with two backends: Qdrant Edge (embedded) and Qdrant server.

One point per active profile: id = uuid5 of the Tracardi profile id, a dense vector of the profile
document, a sparse BM25 vector for keyword/hybrid search, and a payload of filterable facts.
Both backends get the same sparse vectors (computed here with Qdrant's own BM25 tokenizer and IDF done
by the engine), so dense, sparse and hybrid (RRF) results agree across backends.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

POINT_NAMESPACE = uuid.UUID("4b0b4f0e-6d0c-5c5e-9a3f-8f1d2f4b7a21")
DENSE = "dense"
SPARSE = "bm25"

SearchMode = Literal["dense", "sparse", "hybrid"]


def point_id(profile_id: str) -> str:
    return str(uuid.uuid5(POINT_NAMESPACE, profile_id))


@dataclass(frozen=True)
class SparseVector:
    indices: list[int]
    values: list[float]


@dataclass
class IndexPoint:
    profile_id: str
    dense: Sequence[float] | np.ndarray
    sparse: SparseVector
    payload: dict[str, Any]

    @property
    def id(self) -> str:
        return point_id(self.profile_id)


@dataclass(frozen=True)
class Condition:
    """One filter condition on a payload path: eq (value or list of alternatives), ne (the field is set and is
    none of them: "not on a monthly contract" leaves out those whose contract is unknown), a range, exists, or
    ids (the point is one of these profile ids: a segment's members, a meaning query's matches; key unused), or
    not_ids (none of them: "never bought shoes" is everyone but the event log's buyers of shoes)."""

    key: str
    op: Literal["eq", "ne", "range", "exists", "ids", "not_ids"]
    value: Any = None  # eq/ne: scalar or list (any of); range: dict with gte/gt/lte/lt


def absent_is_zero(condition: Condition) -> bool:
    """A range over an event type's count (`counts.<type>`) that 0 meets: a profile without that key has 0 such
    events, so it matches too ("rated fewer than 5 movies", "never rated": `counts.content-rated<1`)."""
    if condition.op != "range" or not condition.key.startswith("counts.") or not isinstance(condition.value, dict):
        return False
    tests = {"gte": lambda b: b <= 0, "gt": lambda b: b < 0, "lte": lambda b: b >= 0, "lt": lambda b: b > 0}
    bounds = condition.value.items()
    return bool(bounds) and all(isinstance(b, int | float) and not isinstance(b, bool) and op in tests and tests[op](b)
                                for op, b in bounds)


def eq_alternatives(condition: Condition) -> list[Any]:
    """The values an equality accepts: "30" also matches the number 30, "true" the boolean (filters arrive as
    text from the CLI and URLs, payloads keep JSON types)."""
    values = condition.value if isinstance(condition.value, list) else [condition.value]
    alts: list[Any] = []
    for value in values:
        alts.append(value)
        if isinstance(value, str):
            low = value.strip().lower()
            if low in ("true", "false"):
                alts.append(low == "true")
            elif low.lstrip("-").isdigit():
                alts.append(int(low))
    return alts


@dataclass(frozen=True)
class Hit:
    point_id: str
    score: float
    payload: dict[str, Any] = field(default_factory=dict)
    vector: list[float] | None = None


# Payload fields that get an index in the engine (filters on them stay fast at 1M points).
PAYLOAD_INDEXES: dict[str, str] = {
    "profile_id": "keyword",
    "segments": "keyword",
    "event_types": "keyword",
    "event_count": "integer",
    "spend_total": "float",
    "first_seen": "datetime",
    "last_seen": "datetime",
    "content_hash": "keyword",
}


class VectorIndex(Protocol):
    dim: int

    def upsert(self, points: Sequence[IndexPoint]) -> None: ...

    def delete(self, profile_ids: Sequence[str]) -> None: ...

    def search(self, *, dense: Sequence[float] | np.ndarray | None, sparse: SparseVector | None,
               filters: Sequence[Condition] = (), limit: int = 10, offset: int = 0,
               mode: SearchMode = "dense", exclude_profile_ids: Sequence[str] = ()) -> list[Hit]: ...

    def retrieve(self, profile_ids: Sequence[str], with_vector: bool = False,
                 fields: Sequence[str] | None = None) -> list[Hit]: ...

    def vectors(self, profile_ids: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """The dense vectors of those of `profile_ids` the index holds, as float32 rows, with the ids in row order.
        No payload is read: bulk readers (discovery, lookalikes, the map) take their records from PostgreSQL."""
        ...

    def vector_pages(self, batch: int = 20_000) -> Iterator[tuple[list[str], np.ndarray]]:
        """Every stored vector, a page at a time in storage order, named by point id (`point_id(profile_id)`):
        a sequential read, several times cheaper per point than `vectors` by id when most points are wanted."""
        ...

    def count(self, filters: Sequence[Condition] = ()) -> int: ...

    def ensure_field_indexes(self, fields: dict[str, str]) -> list[str]:
        """Payload indexes (kind: keyword, integer, float, bool) for these paths, where missing; returns the
        paths indexed now. A filter on an indexed field is planned from the index: a selective one is a plain
        scan of its few points instead of a graph walk that rejects almost every candidate."""
        ...

    def scroll(self, batch: int = 1000, with_vector: bool = False, filters: Sequence[Condition] = (),
               fields: Sequence[str] | None = None) -> Iterator[list[Hit]]: ...

    def optimize(self) -> None:
        """Index what was written since the last call, where the engine leaves that to its caller (Qdrant Edge);
        a Qdrant server optimizes by itself."""
        ...

    def purge_deleted(self) -> bool:
        """Drop deleted points from the files now (after an erasure), where the engine leaves that to its caller
        (Qdrant Edge); False where this process cannot (a Qdrant server vacuums by its own thresholds)."""
        ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


def matching_ids(index: VectorIndex, filters: Sequence[Condition], batch: int = 5000,
                 limit: int | None = None) -> list[str]:
    """Blocking: the profile ids of the points the filters select, read from the index's payloads (the first
    `limit` of them, when given: the pages after it are not read)."""
    out: list[str] = []
    for page in index.scroll(batch=batch if limit is None else max(1, min(batch, limit)), filters=filters,
                             fields=["profile_id"]):
        out.extend(str(h.payload.get("profile_id")) for h in page)
        if limit is not None and len(out) >= limit:
            return out[:limit]
    return out


class IndexNotOwnedError(RuntimeError):
    pass


class NotOwnedIndex:
    """The index of a worker that does not own the embedded shard: anything but encoding asks for the owner."""

    dim = 0

    def _refuse(self, *_: Any, **__: Any) -> Any:
        raise IndexNotOwnedError("this worker does not own the embedded index: index jobs run in `profile-ai serve` "
                                 "or `profile-ai worker --owner` (or configure a Qdrant server)")

    upsert = delete = search = retrieve = vectors = vector_pages = scroll = flush = optimize = purge_deleted = \
        ensure_field_indexes = _refuse

    def count(self, filters: Any = ()) -> int:
        return int(self._refuse())

    def close(self) -> None:
        return None
