"""The embedded default: a Qdrant Edge shard on disk (HNSW, payload indexes, filters, BM25 with IDF)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as qe

from embeddings.index import (
    DENSE,
    PAYLOAD_INDEXES,
    SPARSE,
    Condition,
    Hit,
    IndexPoint,
    SearchMode,
    SparseVector,
    eq_alternatives,
    point_id,
)


class IndexInUseError(RuntimeError):
    """An embedded shard is single-process: another process holds its write-ahead log."""


_SCHEMA = {
    "keyword": qe.PayloadSchemaType.Keyword,
    "integer": qe.PayloadSchemaType.Integer,
    "float": qe.PayloadSchemaType.Float,
    "datetime": qe.PayloadSchemaType.Datetime,
    "bool": qe.PayloadSchemaType.Bool,
}


def edge_filter(conditions: Sequence[Condition], exclude: Sequence[str] = ()) -> qe.Filter | None:
    must: list[Any] = []
    for c in conditions:
        if c.op == "eq":
            alts = eq_alternatives(c)
            strings = [a for a in alts if isinstance(a, str)]
            others = [a for a in alts if not isinstance(a, str)]
            should: list[Any] = []
            if strings:
                should.append(qe.FieldCondition(key=c.key, match=qe.MatchAny(strings)) if len(strings) > 1
                              else qe.FieldCondition(key=c.key, match=qe.MatchValue(strings[0])))
            should.extend(qe.FieldCondition(key=c.key, match=qe.MatchValue(o)) for o in others)
            must.append(should[0] if len(should) == 1 else qe.Filter(should=should))
        elif c.op == "ne":
            must.append(qe.Filter(must_not=[qe.IsEmptyCondition(c.key), *(
                qe.FieldCondition(key=c.key, match=qe.MatchValue(a)) for a in eq_alternatives(c))]))
        elif c.op == "range":
            bounds = dict(c.value)
            if any(isinstance(v, str) for v in bounds.values()):
                must.append(qe.FieldCondition(key=c.key, range=qe.RangeDateTime(**bounds)))
            else:
                must.append(qe.FieldCondition(key=c.key, range=qe.RangeFloat(**bounds)))
        elif c.op == "exists":
            must.append(qe.Filter(must_not=[qe.IsEmptyCondition(c.key)]))
    must_not: list[Any] | None = [qe.HasIdCondition({point_id(p) for p in exclude})] if exclude else None
    if not must and not must_not:
        return None
    return qe.Filter(must=must or None, must_not=must_not)


def _hit(p: Any) -> Hit:
    vec = None
    if p.vector is not None and isinstance(p.vector, dict) and DENSE in p.vector:
        vec = list(p.vector[DENSE])
    return Hit(str(p.id), float(getattr(p, "score", 0.0) or 0.0), dict(p.payload or {}), vec)


class EdgeIndex:
    def __init__(self, path: Path | str, dim: int, *, hnsw_m: int = 32, hnsw_ef_construct: int = 256,
                 hnsw_ef: int = 1024, exact_max_points: int = 300_000) -> None:
        self.path = Path(path)
        self.dim = dim
        self._lock = threading.RLock()
        # Profile vectors of one business sit close together (cosines of 0.8-0.95): a denser graph and a wider
        # search than Qdrant's defaults (m=16, ef_construct=100) keep recall@10 high (bench/search_latency.py).
        # Up to `exact_max_points` an exact scan has perfect recall and is affordable on 2 cores (index p99
        # 22.7 ms at 300,000 x 384); above it the HNSW graph answers. Measured at 300,000 (ef 256 / 1024 /
        # 2048): recall@10 0.911 / 0.943 / 0.953 for profile-like queries, 0.713 / 0.794 / 0.819 for short text,
        # index p99 6 / 12 / 17 ms: the graph is the weaker answer wherever a scan still fits.
        self._params = qe.SearchParams(hnsw_ef=hnsw_ef)
        self._exact = qe.SearchParams(exact=True)
        self.exact_max_points = exact_max_points
        self._points: int | None = None
        config = qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine)},
            hnsw_config=qe.HnswIndexConfig(m=hnsw_m, ef_construct=hnsw_ef_construct, full_scan_threshold=10_000),
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        )
        try:
            if self.path.exists() and any(self.path.iterdir()):
                self.shard = qe.EdgeShard.load(str(self.path), config)
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self.shard = qe.EdgeShard.create(str(self.path), config)
        except Exception as exc:
            if "WouldBlock" in str(exc):
                raise IndexInUseError(
                    f"the index at {self.path} is open in another process (a running `profile-ai serve`?): "
                    "stop it, or sync through the server with POST /v1/sync") from None
            raise
        existing = set(self.shard.info().payload_schema)
        for key, kind in PAYLOAD_INDEXES.items():
            if key not in existing:
                self.shard.update(qe.UpdateOperation.create_field_index(key, _SCHEMA[kind]))

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        if not points:
            return
        batch = [
            qe.Point(p.id, {DENSE: np.asarray(p.dense, dtype=np.float32).tolist(),
                            SPARSE: qe.SparseVector(p.sparse.indices, p.sparse.values)}, p.payload)
            for p in points
        ]
        with self._lock:
            self.shard.update(qe.UpdateOperation.upsert_points(batch))
            self._points = None

    def delete(self, profile_ids: Sequence[str]) -> None:
        if profile_ids:
            with self._lock:
                self.shard.update(qe.UpdateOperation.delete_points([point_id(p) for p in profile_ids]))
                self._points = None

    def set_payload(self, profile_id: str, payload: dict[str, Any]) -> None:
        with self._lock:
            self.shard.update(qe.UpdateOperation.set_payload([point_id(profile_id)], payload))

    def search(self, *, dense: Sequence[float] | np.ndarray | None, sparse: SparseVector | None,
               filters: Sequence[Condition] = (), limit: int = 10, offset: int = 0,
               mode: SearchMode = "dense", exclude_profile_ids: Sequence[str] = ()) -> list[Hit]:
        flt = edge_filter(filters, exclude_profile_ids)
        if self._points is None:
            self._points = self.shard.info().points_count
        params = self._exact if self._points <= self.exact_max_points else self._params
        dq = qe.Query.Nearest(np.asarray(dense, dtype=np.float32).tolist(), using=DENSE) if dense is not None else None
        sq = qe.Query.Nearest(qe.SparseVector(sparse.indices, sparse.values), using=SPARSE) if sparse else None
        if mode == "hybrid" and dq is not None and sq is not None:
            depth = max(50, (limit + offset) * 4)
            req = qe.QueryRequest(limit=limit, offset=offset, query=qe.Fusion.Rrf(k=60),  # type: ignore[arg-type]
                                  prefetches=[qe.Prefetch(limit=depth, query=dq, filter=flt, params=params),
                                              qe.Prefetch(limit=depth, query=sq, filter=flt)],
                                  with_payload=True)
        else:
            query = sq if mode == "sparse" else dq
            if query is None:
                raise ValueError(f"search mode {mode} needs a {'sparse' if mode == 'sparse' else 'dense'} vector")
            req = qe.QueryRequest(limit=limit, offset=offset, query=query, filter=flt, with_payload=True,
                                  params=params if mode != "sparse" else None)
        return [_hit(p) for p in self.shard.query(req)]

    def retrieve(self, profile_ids: Sequence[str], with_vector: bool = False) -> list[Hit]:
        if not profile_ids:
            return []
        recs = self.shard.retrieve([point_id(p) for p in profile_ids], with_payload=True,
                                   with_vector=[DENSE] if with_vector else False)
        return [_hit(r) for r in recs]

    def count(self, filters: Sequence[Condition] = ()) -> int:
        return int(self.shard.count(qe.CountRequest(filter=edge_filter(filters), exact=True)))

    def ensure_field_indexes(self, fields: dict[str, str]) -> list[str]:
        with self._lock:
            existing = set(self.shard.info().payload_schema)
            added = [key for key in fields if key not in existing and fields[key] in _SCHEMA]
            for key in added:
                self.shard.update(qe.UpdateOperation.create_field_index(key, _SCHEMA[fields[key]]))
        return added

    def scroll(self, batch: int = 1000, with_vector: bool = False,
               fields: Sequence[str] | None = None) -> Iterator[list[Hit]]:
        offset = None
        while True:
            recs, offset = self.shard.scroll(qe.ScrollRequest(
                offset=offset, limit=batch, with_payload=list(fields) if fields is not None else True,
                with_vector=[DENSE] if with_vector else False))
            if recs:
                yield [_hit(r) for r in recs]
            if offset is None:
                return

    def flush(self) -> None:
        with self._lock:
            self.shard.flush()

    def close(self) -> None:
        with self._lock:
            self.shard.flush()
            self.shard.close()
