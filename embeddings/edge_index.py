"""The embedded default: a Qdrant Edge shard on disk (HNSW, payload indexes, filters, BM25 with IDF)."""

from __future__ import annotations

import contextlib
import ctypes
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
    absent_is_zero,
    eq_alternatives,
    point_id,
)


def _return_freed_memory() -> None:
    """Hand memory the engine freed back to the system. Building segments allocates and frees gigabytes, and
    glibc keeps freed memory in its arenas: at 300,000 points the process held 1.5 GB it no longer used,
    190 MB after this call."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class IndexInUseError(RuntimeError):
    """An embedded shard is single-process: another process holds its write-ahead log."""


_SCHEMA = {
    "keyword": qe.PayloadSchemaType.Keyword,
    "integer": qe.PayloadSchemaType.Integer,
    "float": qe.PayloadSchemaType.Float,
    "datetime": qe.PayloadSchemaType.Datetime,
    "bool": qe.PayloadSchemaType.Bool,
}


def _exact(value: Any) -> Any:
    """What MatchValue is given for `value`: a Python bool is an int to the binding (qdrant-edge-py 0.9.0 reads
    True as the integer 1, which matches no stored true: every yes/no trait counted 0), while NumPy's bool is
    read as a bool."""
    return np.bool_(value) if isinstance(value, bool) else value


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
            should.extend(qe.FieldCondition(key=c.key, match=qe.MatchValue(_exact(o))) for o in others)
            must.append(should[0] if len(should) == 1 else qe.Filter(should=should))
        elif c.op == "ne":
            must.append(qe.Filter(must_not=[qe.IsEmptyCondition(c.key), *(
                qe.FieldCondition(key=c.key, match=qe.MatchValue(_exact(a))) for a in eq_alternatives(c))]))
        elif c.op == "range":
            bounds = dict(c.value)
            if any(isinstance(v, str) for v in bounds.values()):
                must.append(qe.FieldCondition(key=c.key, range=qe.RangeDateTime(**bounds)))
            elif absent_is_zero(c):  # no such events: a count of 0
                must.append(qe.Filter(should=[qe.FieldCondition(key=c.key, range=qe.RangeFloat(**bounds)),
                                              qe.IsEmptyCondition(c.key)]))
            else:
                must.append(qe.FieldCondition(key=c.key, range=qe.RangeFloat(**bounds)))
        elif c.op == "exists":
            must.append(qe.Filter(must_not=[qe.IsEmptyCondition(c.key)]))
        elif c.op == "ids":
            must.append(qe.HasIdCondition({point_id(p) for p in c.value}))
        elif c.op == "not_ids":
            must.append(qe.Filter(must_not=[qe.HasIdCondition({point_id(p) for p in c.value})]))
    must_not: list[Any] | None = [qe.HasIdCondition({point_id(p) for p in exclude})] if exclude else None
    if not must and not must_not:
        return None
    return qe.Filter(must=must or None, must_not=must_not)


def _hit(p: Any, score: float | None = None) -> Hit:
    """A search hit (scored) or a stored record (score 0). Each attribute read converts the engine's record into
    new Python objects (a vector: a dict holding a list of 384 floats), so each is read once: reading the
    vector three times added about 80 s to reading 1M records."""
    vectors = p.vector
    vec = vectors.get(DENSE) if isinstance(vectors, dict) else None
    payload = p.payload
    return Hit(str(p.id), 0.0 if score is None else score, payload if isinstance(payload, dict) else {}, vec)


class EdgeIndex:
    """One Qdrant Edge shard.

    By default it answers by scanning int8-quantized vectors (kept in RAM) and rescoring the best 2x candidates
    with the float vectors (kept on disk): no HNSW graph (`hnsw_m=0`). Measured at 1,000,000 x 384 on 2 cores
    (bench/search_latency.py): built in 527 s, recall@10 1.000 for profile-like and short text queries, HTTP
    p99 37.5 ms (dense) and 46.8 ms (hybrid), server RSS 2.1 GB. An HNSW graph (m=32, ef_construct=256) took
    1,058 s to build for 300,000 points and gave recall@10 0.94 (profile-like) and 0.79 (short text) at
    ef 1024. The scan's cost grows linearly: past a few million points set `hnsw_m` (16-32; setting
    `QDRANT__HNSW_M`) or use a Qdrant server.

    Qdrant Edge runs no background optimizer: segments are only indexed (quantized, merged, vacuumed) when
    `optimize` is called. `upsert` calls it every `optimize_every` points, so a long backfill builds in bounded
    steps, and the container calls it after every sync.

    The binding holds Python's GIL for a whole `optimize`: every thread of the process (the event loop, job
    heartbeats) waits until it returns. Segments are therefore capped at `segment_points` vectors, so an
    optimization only ever indexes what one step wrote and never merges large segments: with segments of up to
    200,000 vectors, a 300,000-profile sync spent 60 s in the merge at 150,000 (a job heartbeat's whole
    `stalled_after_s`) and peaked at 3.5 GB; capped at 50,000, each optimization takes 10-14 s and the sync
    peaked at 2.2 GB (bench/sync_memory.py).
    """

    def __init__(self, path: Path | str, dim: int, *, hnsw_m: int = 0, hnsw_ef_construct: int = 256,
                 hnsw_ef: int = 1024, oversampling: float = 2.0, optimize_every: int = 50_000,
                 segment_points: int = 50_000) -> None:
        self.path = Path(path)
        self.dim = dim
        self._lock = threading.RLock()
        # With a graph, hnsw_ef is its search width; without one it is unused. Oversampling 2: rescoring 20
        # candidates for a top 10 gave recall 1.000 where 10 gave 0.935 (int8 confuses near neighbours).
        self._params = qe.SearchParams(hnsw_ef=hnsw_ef, quantization=qe.QuantizationSearchParams(
            rescore=True, oversampling=oversampling))
        # an optimization rewrites what was written since the last one: the fewer points between two, the lower
        # a sync's peak (bench/sync_memory.py --optimize-every)
        self.optimize_every = optimize_every
        self._since_optimize = 0
        self._settings = (hnsw_m, hnsw_ef_construct, segment_points)
        config = self._config()
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

    def _config(self, vacuum: bool = False) -> Any:
        hnsw_m, hnsw_ef_construct, segment_points = self._settings
        dim = self.dim
        return qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine, memory=qe.Memory.Cold)},
            hnsw_config=qe.HnswIndexConfig(m=hnsw_m, ef_construct=hnsw_ef_construct, full_scan_threshold=10_000),
            quantization_config=qe.ScalarQuantizationConfig(type=qe.ScalarType.Int8, quantile=0.99,
                                                            memory=qe.Memory.Pinned),
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf, memory=qe.Memory.Cold)},
            # segments of at most `segment_points` vectors (the engine counts a segment's dense vectors in KB):
            # an optimization converts what is new and never re-merges what is indexed, so its time and memory
            # do not grow with the index; a query scans the segments on both cores. `vacuum`: every segment
            # with a deleted point is rewritten at the next optimization (purge_deleted)
            # default_segment_number 2 (the engine's default is the machine's CPU count): small segments are
            # merged up to the cap the same way on every machine
            optimizers=qe.EdgeOptimizersConfig(max_segment_size=max(1, segment_points * dim * 4 // 1024),
                                               default_segment_number=2,
                                               deleted_threshold=0.0 if vacuum else None,
                                               vacuum_min_vector_number=0 if vacuum else None),
        )

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
            self._since_optimize += len(batch)
            if self._since_optimize >= self.optimize_every:
                self.optimize()

    def delete(self, profile_ids: Sequence[str]) -> None:
        if profile_ids:
            with self._lock:
                self.shard.update(qe.UpdateOperation.delete_points([point_id(p) for p in profile_ids]))

    def set_payload(self, profile_id: str, payload: dict[str, Any]) -> None:
        with self._lock:
            self.shard.update(qe.UpdateOperation.set_payload([point_id(profile_id)], payload))

    def search(self, *, dense: Sequence[float] | np.ndarray | None, sparse: SparseVector | None,
               filters: Sequence[Condition] = (), limit: int = 10, offset: int = 0,
               mode: SearchMode = "dense", exclude_profile_ids: Sequence[str] = ()) -> list[Hit]:
        flt = edge_filter(filters, exclude_profile_ids)
        params = self._params  # the quantized scan with rescoring (or the graph, when one is configured)
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
        with self._lock:  # the shard may be reopened by purge_deleted
            found = self.shard.query(req)
        return [_hit(p, float(p.score)) for p in found]

    def retrieve(self, profile_ids: Sequence[str], with_vector: bool = False,
                 fields: Sequence[str] | None = None) -> list[Hit]:
        if not profile_ids:
            return []
        with self._lock:
            recs = self.shard.retrieve([point_id(p) for p in profile_ids],
                                       with_payload=list(fields) if fields is not None else True,
                                       with_vector=[DENSE] if with_vector else False)
        return [_hit(r) for r in recs]

    def _dense(self, recs: Sequence[Any]) -> tuple[list[str], np.ndarray]:
        """(point ids, float32 rows) of records that hold a dense vector. The binding builds a Python float per
        dimension, each time `.vector` is read: that, not the engine, is most of the cost. Each record's list is
        copied into the array and dropped at once: holding a page of lists (20,000 dicts and lists) had the
        garbage collector sweep them again and again, 26 µs a record against 17 µs (bench/segment_discovery.py
        reads 1M this way)."""
        points: list[str] = []
        rows = np.empty((len(recs), self.dim), dtype=np.float32)
        for r in recs:
            vectors = r.vector
            vec = vectors.get(DENSE) if isinstance(vectors, dict) else None
            if vec is not None:
                rows[len(points)] = vec
                points.append(str(r.id))
        return points, rows[: len(points)]

    def vectors(self, profile_ids: Sequence[str]) -> tuple[list[str], np.ndarray]:
        by_point = {point_id(p): p for p in profile_ids}
        with self._lock:
            recs = self.shard.retrieve(list(by_point), with_payload=False, with_vector=[DENSE]) if by_point else []
        points, rows = self._dense(recs)
        return [by_point[q] for q in points], rows

    def vector_pages(self, batch: int = 20_000) -> Iterator[tuple[list[str], np.ndarray]]:
        # a scroll in id order costs the engine a fraction of what `retrieve` by random ids does
        offset = None
        while True:
            with self._lock:
                recs, offset = self.shard.scroll(qe.ScrollRequest(offset=offset, limit=batch, with_payload=False,
                                                                  with_vector=[DENSE]))
            points, rows = self._dense(recs)
            if points:
                yield points, rows
            if offset is None:
                return

    def count(self, filters: Sequence[Condition] = ()) -> int:
        with self._lock:
            return int(self.shard.count(qe.CountRequest(filter=edge_filter(filters), exact=True)))

    def ensure_field_indexes(self, fields: dict[str, str]) -> list[str]:
        with self._lock:
            existing = set(self.shard.info().payload_schema)
            added = [key for key in fields if key not in existing and fields[key] in _SCHEMA]
            for key in added:
                self.shard.update(qe.UpdateOperation.create_field_index(key, _SCHEMA[fields[key]]))
        return added

    def scroll(self, batch: int = 1000, with_vector: bool = False, filters: Sequence[Condition] = (),
               fields: Sequence[str] | None = None) -> Iterator[list[Hit]]:
        offset = None
        where = edge_filter(filters)
        while True:
            with self._lock:
                recs, offset = self.shard.scroll(qe.ScrollRequest(
                    offset=offset, limit=batch, with_payload=list(fields) if fields is not None else True,
                    with_vector=[DENSE] if with_vector else False, filter=where))
            if recs:
                yield [_hit(r) for r in recs]
            if offset is None:
                return

    def optimize(self) -> None:
        """Index what was written since the last call (quantize, merge small segments, drop deleted points).
        Writes wait for it, and so does every other Python thread: the binding holds the GIL throughout (about
        10 s for a 50,000-point step on 2 cores)."""
        with self._lock:
            self.shard.optimize()
            # the segments an optimization replaced leave the disk (and their memory maps) only at a flush
            self.shard.flush()
            self._since_optimize = 0
        _return_freed_memory()

    def purge_deleted(self) -> bool:
        """Rewrite every segment that holds deleted points, so that an erased person's vector and payload leave
        the segment files now: the engine only drops deleted points from a segment when it vacuums it, which by
        default waits until a fifth of the segment is deleted, so one erasure would stay on disk for good. The
        shard is reopened with an optimizer that vacuums any deletion, optimized once, then reopened as
        configured. Like every optimization it holds the GIL: about 10 s per 50,000-point segment rewritten.
        (The write-ahead log still holds the last writes until newer ones overwrite it.)"""
        with self._lock:
            self.shard.flush()
            self.shard.close()
            self.shard = qe.EdgeShard.load(str(self.path), self._config(vacuum=True))
            try:
                self.shard.optimize()
                self.shard.flush()
            finally:
                self.shard.close()
                self.shard = qe.EdgeShard.load(str(self.path), self._config())
        _return_freed_memory()
        return True

    def flush(self) -> None:
        with self._lock:
            self.shard.flush()

    def close(self) -> None:
        with self._lock:
            self.shard.flush()
            self.shard.close()
