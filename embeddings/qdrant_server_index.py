"""Production twin: a Qdrant server or cluster through qdrant-client (`QDRANT_URL`).

Tested against qdrant-client's local mode (`path=` or `:memory:`), which implements the same API.
Same payload, same vectors, same filters and RRF fusion as the embedded Edge backend.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models

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

_SCHEMA = {
    "keyword": models.PayloadSchemaType.KEYWORD,
    "integer": models.PayloadSchemaType.INTEGER,
    "float": models.PayloadSchemaType.FLOAT,
    "datetime": models.PayloadSchemaType.DATETIME,
    "bool": models.PayloadSchemaType.BOOL,
}


def server_filter(conditions: Sequence[Condition], exclude: Sequence[str] = ()) -> models.Filter | None:
    must: list[Any] = []
    for c in conditions:
        if c.op == "eq":
            alts = eq_alternatives(c)
            should: list[Any] = [models.FieldCondition(key=c.key, match=models.MatchValue(value=a)) for a in alts]
            must.append(should[0] if len(should) == 1 else models.Filter(should=should))
        elif c.op == "ne":
            must.append(models.Filter(must_not=[models.IsEmptyCondition(is_empty=models.PayloadField(key=c.key)), *(
                models.FieldCondition(key=c.key, match=models.MatchValue(value=a)) for a in eq_alternatives(c))]))
        elif c.op == "range":
            bounds = dict(c.value)
            if any(isinstance(v, str) for v in bounds.values()):
                must.append(models.FieldCondition(key=c.key, range=models.DatetimeRange(**bounds)))
            elif absent_is_zero(c):  # no such events: a count of 0
                must.append(models.Filter(should=[models.FieldCondition(key=c.key, range=models.Range(**bounds)),
                                                  models.IsEmptyCondition(is_empty=models.PayloadField(key=c.key))]))
            else:
                must.append(models.FieldCondition(key=c.key, range=models.Range(**bounds)))
        elif c.op == "exists":
            must.append(models.Filter(must_not=[models.IsEmptyCondition(is_empty=models.PayloadField(key=c.key))]))
        elif c.op == "ids":
            must.append(models.HasIdCondition(has_id=[point_id(p) for p in c.value]))
        elif c.op == "not_ids":
            must.append(models.Filter(must_not=[models.HasIdCondition(has_id=[point_id(p) for p in c.value])]))
    must_not: list[Any] | None = [models.HasIdCondition(has_id=[point_id(p) for p in exclude])] if exclude else None
    if not must and not must_not:
        return None
    return models.Filter(must=must or None, must_not=must_not)


def _hit(p: Any) -> Hit:
    vec = None
    if isinstance(p.vector, dict) and DENSE in p.vector:
        vec = list(p.vector[DENSE])
    return Hit(str(p.id), float(getattr(p, "score", 0.0) or 0.0), dict(p.payload or {}), vec)


# The Query API (prefetch + fusion) arrived in Qdrant 1.10; a parametrised RRF (`Rrf(k=60)`, the same k as the
# Edge backend) in 1.16. Older servers get plain RRF fusion (Qdrant's own k), chosen at start-up.
MIN_SERVER = (1, 10)
PARAMETRISED_RRF = (1, 16)


class QdrantVersionError(RuntimeError):
    pass


def server_version(client: QdrantClient) -> tuple[int, int]:
    text = str(client.info().version)
    try:
        major, minor = (int(x) for x in text.split(".")[:2])
    except ValueError as exc:
        raise QdrantVersionError(f"Qdrant reported version {text!r}, which profile-ai cannot read") from exc
    return major, minor


class QdrantServerIndex:
    def __init__(self, client: QdrantClient, collection: str, dim: int) -> None:
        self.client = client
        self.collection = collection
        self.dim = dim
        self._indexed: set[str] = set()
        version = server_version(client)
        if version < MIN_SERVER:
            raise QdrantVersionError(f"Qdrant {version[0]}.{version[1]} is too old: hybrid search needs the Query "
                                     "API of Qdrant 1.10+ (docker-compose.yml pins a version that has everything)")
        self.fusion: Any = (models.RrfQuery(rrf=models.Rrf(k=60)) if version >= PARAMETRISED_RRF
                            else models.FusionQuery(fusion=models.Fusion.RRF))
        if not client.collection_exists(collection):
            client.create_collection(
                collection,
                vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
                sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            )
            for key, kind in PAYLOAD_INDEXES.items():
                client.create_payload_index(collection, key, _SCHEMA[kind])

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        if not points:
            return
        self.client.upsert(self.collection, points=[
            models.PointStruct(id=p.id, vector={
                DENSE: np.asarray(p.dense, dtype=np.float32).tolist(),
                SPARSE: models.SparseVector(indices=p.sparse.indices, values=p.sparse.values)},
                payload=p.payload)
            for p in points
        ], wait=True)

    def delete(self, profile_ids: Sequence[str]) -> None:
        if profile_ids:
            self.client.delete(self.collection, points_selector=models.PointIdsList(
                points=[point_id(p) for p in profile_ids]), wait=True)

    def set_payload(self, profile_id: str, payload: dict[str, Any]) -> None:
        self.client.set_payload(self.collection, payload=payload, points=[point_id(profile_id)], wait=True)

    def ensure_field_indexes(self, fields: dict[str, str]) -> list[str]:
        # what this process asked for counts too: qdrant-client's local mode keeps no payload schema
        existing = set(self.client.get_collection(self.collection).payload_schema or {}) | self._indexed
        added = [key for key in fields if key not in existing and fields[key] in _SCHEMA]
        for key in added:
            self.client.create_payload_index(self.collection, key, _SCHEMA[fields[key]], wait=True)
        self._indexed.update(added)
        return added

    def search(self, *, dense: Sequence[float] | np.ndarray | None, sparse: SparseVector | None,
               filters: Sequence[Condition] = (), limit: int = 10, offset: int = 0,
               mode: SearchMode = "dense", exclude_profile_ids: Sequence[str] = ()) -> list[Hit]:
        flt = server_filter(filters, exclude_profile_ids)
        dq = np.asarray(dense, dtype=np.float32).tolist() if dense is not None else None
        sq = models.SparseVector(indices=sparse.indices, values=sparse.values) if sparse else None
        if mode == "hybrid" and dq is not None and sq is not None:
            depth = max(50, (limit + offset) * 4)
            res = self.client.query_points(
                self.collection, prefetch=[models.Prefetch(query=dq, using=DENSE, limit=depth, filter=flt),
                                           models.Prefetch(query=sq, using=SPARSE, limit=depth, filter=flt)],
                query=self.fusion, limit=limit, offset=offset, with_payload=True)
        else:
            query: Any = sq if mode == "sparse" else dq
            if query is None:
                raise ValueError(f"search mode {mode} needs a {'sparse' if mode == 'sparse' else 'dense'} vector")
            res = self.client.query_points(self.collection, query=query, using=SPARSE if mode == "sparse" else DENSE,
                                           query_filter=flt, limit=limit, offset=offset, with_payload=True)
        return [_hit(p) for p in res.points]

    def retrieve(self, profile_ids: Sequence[str], with_vector: bool = False,
                 fields: Sequence[str] | None = None) -> list[Hit]:
        if not profile_ids:
            return []
        recs = self.client.retrieve(self.collection, ids=[point_id(p) for p in profile_ids],
                                    with_payload=list(fields) if fields is not None else True,
                                    with_vectors=[DENSE] if with_vector else False)
        return [_hit(r) for r in recs]

    def _dense(self, recs: Sequence[Any]) -> tuple[list[str], np.ndarray]:
        """(point ids, float32 rows) of records that hold a dense vector."""
        kept = [(str(r.id), r.vector[DENSE]) for r in recs if isinstance(r.vector, dict) and DENSE in r.vector]
        return [p for p, _ in kept], np.asarray([v for _, v in kept], dtype=np.float32).reshape(-1, self.dim)

    def vectors(self, profile_ids: Sequence[str]) -> tuple[list[str], np.ndarray]:
        by_point = {point_id(p): p for p in profile_ids}
        recs = self.client.retrieve(self.collection, ids=list(by_point), with_payload=False,
                                    with_vectors=[DENSE]) if by_point else []
        points, rows = self._dense(recs)
        return [by_point[q] for q in points], rows

    def vector_pages(self, batch: int = 20_000) -> Iterator[tuple[list[str], np.ndarray]]:
        offset = None
        while True:
            recs, offset = self.client.scroll(self.collection, limit=batch, offset=offset, with_payload=False,
                                              with_vectors=[DENSE])
            points, rows = self._dense(recs)
            if points:
                yield points, rows
            if offset is None:
                return

    def count(self, filters: Sequence[Condition] = ()) -> int:
        return int(self.client.count(self.collection, count_filter=server_filter(filters), exact=True).count)

    def scroll(self, batch: int = 1000, with_vector: bool = False, filters: Sequence[Condition] = (),
               fields: Sequence[str] | None = None) -> Iterator[list[Hit]]:
        offset = None
        where = server_filter(filters)
        while True:
            recs, offset = self.client.scroll(self.collection, limit=batch, offset=offset, scroll_filter=where,
                                              with_payload=list(fields) if fields is not None else True,
                                              with_vectors=[DENSE] if with_vector else False)
            if recs:
                yield [_hit(r) for r in recs]
            if offset is None:
                return

    def optimize(self) -> None:
        """The server's own optimizers index in the background."""

    def purge_deleted(self) -> bool:
        """The server's vacuum optimizer drops deleted points by the collection's `deleted_threshold`."""
        return False

    def flush(self) -> None:
        """Writes are acknowledged with wait=True: durable on return."""

    def close(self) -> None:
        self.client.close()
