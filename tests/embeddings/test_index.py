"""Both index backends (Qdrant Edge, Qdrant server via qdrant-client local mode) behave the same."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient

from embeddings.edge_index import EdgeIndex
from embeddings.index import POINT_NAMESPACE, Condition, IndexPoint, VectorIndex, point_id
from embeddings.qdrant_server_index import QdrantServerIndex
from embeddings.sparse import Bm25Encoder

DIM = 16
WORDS = ["horror", "comedy", "drama", "documentary", "western", "musical", "shoes", "bags", "refund", "delivery"]


def corpus(n: int = 300) -> list[IndexPoint]:
    rnd = random.Random(1)
    bm25 = Bm25Encoder()
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    points = []
    for i in range(n):
        vec = np.array([rnd.gauss(0, 1) for _ in range(DIM)], dtype=np.float32)
        vec /= np.linalg.norm(vec)
        text = " ".join(rnd.choice(WORDS) for _ in range(8))
        points.append(IndexPoint(f"p{i}", vec, bm25.document(text), {
            "profile_id": f"p{i}", "document": text, "traits": {"plan": rnd.choice(["free", "pro"]), "age": 20 + i % 50},
            "segments": [f"s{i % 3}"], "event_count": i, "spend_total": float(i % 17),
            "last_seen": (t0 + timedelta(days=i)).isoformat()}))
    return points


@pytest.fixture(params=["edge", "server"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorIndex]:
    idx: VectorIndex
    if request.param == "edge":
        idx = EdgeIndex(tmp_path / "edge", DIM)
    else:
        idx = QdrantServerIndex(QdrantClient(path=str(tmp_path / "local")), "profiles", DIM)
    idx.upsert(corpus())
    idx.flush()
    yield idx
    idx.close()


def exact_top(points: list[IndexPoint], q: np.ndarray, k: int, keep=lambda p: True) -> list[str]:
    scored = sorted(((float(np.dot(p.dense, q)), p.profile_id) for p in points if keep(p)), reverse=True)
    return [pid for _, pid in scored[:k]]


def ids(hits) -> list[str]:
    return [h.payload["profile_id"] for h in hits]


def test_dense_search_is_exact_at_this_size(index: VectorIndex) -> None:
    pts = corpus()
    q = np.asarray(pts[7].dense)
    assert ids(index.search(dense=q, sparse=None, limit=10)) == exact_top(pts, q, 10)


def test_filters(index: VectorIndex) -> None:
    pts = corpus()
    q = np.asarray(pts[3].dense)
    got = ids(index.search(dense=q, sparse=None, limit=50, filters=[
        Condition("traits.plan", "eq", "pro"), Condition("event_count", "range", {"gte": 100.0}),
        Condition("last_seen", "range", {"lt": "2024-09-01T00:00:00+00:00"})]))
    expected = exact_top(pts, q, 50, lambda p: p.payload["traits"]["plan"] == "pro" and p.payload["event_count"] >= 100
                         and p.payload["last_seen"] < "2024-09-01")
    assert got == expected and got
    by_number = ids(index.search(dense=q, sparse=None, limit=300, filters=[Condition("traits.age", "eq", "25")]))
    assert by_number and all(int(p[1:]) % 50 == 5 for p in by_number)  # "25" matches the number 25
    any_of = ids(index.search(dense=q, sparse=None, limit=300, filters=[Condition("segments", "eq", ["s0", "s1"])]))
    assert len(any_of) == 200
    assert index.count([Condition("segments", "eq", "s2")]) == 100
    # ne: the field is set and is none of the values (a point without the field is not "not pro")
    not_pro = ids(index.search(dense=q, sparse=None, limit=1000, filters=[Condition("traits.plan", "ne", "pro")]))
    assert not_pro == exact_top(pts, q, 1000, lambda p: p.payload["traits"].get("plan") not in (None, "pro"))
    assert index.count([Condition("traits.plan", "ne", ["pro", "free"])]) == sum(
        1 for p in pts if p.payload["traits"].get("plan") not in (None, "pro", "free"))
    # not_ids: everyone but these ("never bought shoes": the event log's buyers of shoes left out)
    left_out = [p.payload["profile_id"] for p in pts[:40]]
    others = ids(index.search(dense=q, sparse=None, limit=1000, filters=[
        Condition("", "not_ids", left_out), Condition("traits.plan", "eq", "pro")]))
    assert others == exact_top(pts, q, 1000, lambda p: p.payload["profile_id"] not in left_out
                               and p.payload["traits"]["plan"] == "pro") and others


def test_field_indexes_are_added_once_and_filters_answer_the_same(index: VectorIndex) -> None:
    pts = corpus()
    q = np.asarray(pts[5].dense)
    flt = [Condition("traits.plan", "eq", "pro"), Condition("traits.age", "range", {"lte": 30.0})]
    before = ids(index.search(dense=q, sparse=None, limit=20, filters=flt))
    assert set(index.ensure_field_indexes({"traits.plan": "keyword", "traits.age": "float"})) == {
        "traits.plan", "traits.age"}
    assert index.ensure_field_indexes({"traits.plan": "keyword", "traits.age": "float"}) == []  # already there
    assert ids(index.search(dense=q, sparse=None, limit=20, filters=flt)) == before
    assert before == exact_top(pts, q, 20, lambda p: p.payload["traits"]["plan"] == "pro"
                               and p.payload["traits"]["age"] <= 30)


def test_sparse_and_hybrid_agree_across_backends(tmp_path: Path) -> None:
    pts = corpus()
    edge = EdgeIndex(tmp_path / "e", DIM)
    server = QdrantServerIndex(QdrantClient(path=str(tmp_path / "s")), "profiles", DIM)
    for idx in (edge, server):
        idx.upsert(pts)
    bm25 = Bm25Encoder()
    q = np.asarray(pts[11].dense)
    for text in ("documentary western", "refund delivery"):
        sq = bm25.query(text)
        e = edge.search(dense=None, sparse=sq, mode="sparse", limit=10)
        s = server.search(dense=None, sparse=sq, mode="sparse", limit=10)
        assert [round(h.score, 3) for h in e] == [round(h.score, 3) for h in s]
        assert {h.payload["profile_id"] for h in e if h.score > e[-1].score} <= {h.payload["profile_id"] for h in s}
        assert all(any(w in h.payload["document"] for w in text.split()) for h in e)
        eh = ids(edge.search(dense=q, sparse=sq, mode="hybrid", limit=10))
        sh = ids(server.search(dense=q, sparse=sq, mode="hybrid", limit=10))
        assert len(set(eh) & set(sh)) >= 8
    edge.close()
    server.close()


def test_exclude_retrieve_delete_scroll(index: VectorIndex) -> None:
    pts = corpus()
    q = np.asarray(pts[0].dense)
    hits = index.search(dense=q, sparse=None, limit=5, exclude_profile_ids=["p0"])
    assert "p0" not in ids(hits)
    got = index.retrieve(["p1", "p2", "missing"], with_vector=True)
    assert sorted(ids(got)) == ["p1", "p2"] and got[0].vector is not None and len(got[0].vector) == DIM
    # the bulk read: vectors only, as float32 rows named by profile id; unknown ids drop out
    held, vectors = index.vectors(["p2", "missing", "p1"])
    assert sorted(held) == ["p1", "p2"] and vectors.dtype == np.float32 and vectors.shape == (2, DIM)
    for pid, row in zip(held, vectors, strict=True):
        np.testing.assert_allclose(row, next(p.dense for p in pts if p.profile_id == pid), atol=1e-6)
    assert index.vectors([])[1].shape == (0, DIM)
    # and every vector in pages, named by point id
    pages = list(index.vector_pages(batch=64))
    assert len(pages) == 5 and all(len(p) == v.shape[0] for p, v in pages)
    by_point = {q: row for points, vectors in pages for q, row in zip(points, vectors, strict=True)}
    assert len(by_point) == 300
    np.testing.assert_allclose(by_point[point_id("p7")], pts[7].dense, atol=1e-6)
    index.delete(["p1", "p2"])
    assert index.count() == 298
    seen = [h.payload["profile_id"] for page in index.scroll(batch=64, fields=["profile_id"]) for h in page]
    assert len(seen) == 298 and "p1" not in seen
    index.upsert(pts[:5])  # idempotent re-upsert
    assert index.count() == 300


def test_edge_index_persists(tmp_path: Path) -> None:
    idx = EdgeIndex(tmp_path / "persist", DIM)
    idx.upsert(corpus(20))
    idx.close()
    again = EdgeIndex(tmp_path / "persist", DIM)
    assert again.count() == 20
    again.close()


def test_server_index_picks_the_fusion_its_qdrant_has(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qdrant_client.http import models as m

    from embeddings.qdrant_server_index import QdrantVersionError

    client = QdrantClient(path=str(tmp_path / "v"))
    assert isinstance(QdrantServerIndex(client, "p", DIM).fusion, m.RrfQuery)  # 1.16+: Rrf(k=60)
    monkeypatch.setattr(client, "info", lambda: m.VersionInfo(title="qdrant", version="1.15.4"))
    old = QdrantServerIndex(client, "p", DIM)
    assert isinstance(old.fusion, m.FusionQuery)
    pts = corpus()
    old.upsert(pts)
    bm25 = Bm25Encoder()
    hits = old.search(dense=np.asarray(pts[2].dense), sparse=bm25.query("profile"), mode="hybrid", limit=5)
    assert len(hits) == 5
    monkeypatch.setattr(client, "info", lambda: m.VersionInfo(title="qdrant", version="1.9.0"))
    with pytest.raises(QdrantVersionError, match="too old"):
        QdrantServerIndex(client, "p", DIM)
    client.close()


@pytest.mark.volume
def test_the_quantized_scan_answers_like_an_exact_search_and_optimize_keeps_serving(tmp_path: Path) -> None:
    """Past Qdrant's indexing threshold an optimized segment is scanned in int8 and the best 2x rescored with the
    float vectors. Vectors of one business sit close together (here: blends of 50 tastes), where int8 alone
    confuses neighbours; rescoring must still give (nearly) the exact top 10, filters included, also while
    `optimize` runs, and deleted points must stay out."""
    import threading

    dim, n = 384, 12_000
    rnd = np.random.default_rng(3)
    tastes = rnd.normal(0, 1, (50, dim)).astype(np.float32)
    a, b, w = rnd.integers(50, size=n), rnd.integers(50, size=n), rnd.uniform(0, 1, (n, 1)).astype(np.float32)
    vecs = w * tastes[a] + (1 - w) * tastes[b] + rnd.normal(0, 0.1, (n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    empty = Bm25Encoder().document("")
    points = [IndexPoint(f"p{i}", vecs[i], empty, {"profile_id": f"p{i}", "event_count": i % 7}) for i in range(n)]
    idx = EdgeIndex(tmp_path / "big", dim, optimize_every=n + 1)
    for s in range(0, n, 2000):
        idx.upsert(points[s:s + 2000])
    queries = [vecs[i] + rnd.normal(0, 0.02, dim).astype(np.float32) for i in rnd.choice(n, 20, replace=False)]

    def recall(deleted: frozenset[int] = frozenset()) -> float:
        hits = 0
        for q in queries:
            scores = vecs @ q
            scores[list(deleted)] = -2
            exact = {f"p{i}" for i in np.argsort(-scores)[:10]}
            hits += len(exact & set(ids(idx.search(dense=q, sparse=None, limit=10))))
        return hits / (10 * len(queries))

    during: list[float] = []
    worker = threading.Thread(target=lambda: during.append(recall()))
    worker.start()
    idx.optimize()
    worker.join()
    assert idx.shard.info().indexed_vectors_count == n  # quantized: the scan now reads int8
    # int8 alone finds 0.85-0.88 of this top 10; rescoring 2x gives 0.985-1.0 (the quantiles are sampled)
    assert recall() >= 0.97 and during[0] >= 0.97
    q = queries[0]
    keep = [i for i in range(n) if i % 7 == 3]
    exact = [f"p{i}" for i in sorted(keep, key=lambda i: -float(vecs[i] @ q))[:10]]
    got = ids(idx.search(dense=q, sparse=None, limit=10, filters=[Condition("event_count", "eq", 3)]))
    assert all(int(pid[1:]) % 7 == 3 for pid in got) and len(set(got) & set(exact)) >= 9
    gone = frozenset(int(i) for i in np.argsort(-(vecs @ q))[:5])
    idx.delete([f"p{i}" for i in gone])
    idx.optimize()
    assert idx.count() == n - 5 and recall(gone) >= 0.97
    assert not set(ids(idx.search(dense=q, sparse=None, limit=20))) & {f"p{i}" for i in gone}
    idx.close()


@pytest.mark.volume
def test_an_index_built_with_the_earlier_graph_settings_is_converted_at_its_next_optimize(tmp_path: Path) -> None:
    """Shards made by earlier releases (HNSW m=32, float vectors only) take the new settings on load, and
    Qdrant's optimizer rebuilds their segments as int8-quantized ones at the next optimize (after the next
    sync): nothing to migrate by hand, and the answers stay the same."""
    import qdrant_edge as qe

    dim, n = 384, 12_000
    rnd = np.random.default_rng(5)
    vecs = rnd.normal(0, 1, (n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    path = tmp_path / "old"
    path.mkdir()
    old = qe.EdgeShard.create(str(path), qe.EdgeConfig(
        vectors={"dense": qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine)},
        hnsw_config=qe.HnswIndexConfig(m=32, ef_construct=256, full_scan_threshold=10_000),
        sparse_vectors={"bm25": qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)}))
    for s in range(0, n, 3000):
        old.update(qe.UpdateOperation.upsert_points([
            qe.Point(str(uuid.uuid5(POINT_NAMESPACE, f"p{i}")), {"dense": vecs[i].tolist()}, {"profile_id": f"p{i}"})
            for i in range(s, s + 3000)]))
    old.optimize()
    old.flush()
    old.close()
    assert not list(path.glob("segments/*/vector_storage-dense/quantized.data"))
    idx = EdgeIndex(path, dim)
    idx.optimize()
    assert list(path.glob("segments/*/vector_storage-dense/quantized.data"))
    assert idx.count() == n
    for i in (0, 4321, 11_999):
        exact = [f"p{j}" for j in np.argsort(-(vecs @ vecs[i]))[:10]]
        got = ids(idx.search(dense=vecs[i], sparse=None, limit=10))
        assert got[0] == f"p{i}" and len(set(got) & set(exact)) >= 9
    idx.close()


@pytest.mark.volume
def test_segments_are_capped_so_an_optimize_never_merges_what_is_indexed(tmp_path: Path) -> None:
    """qdrant-edge-py holds the GIL for a whole `optimize`, so its length is how long the process stands still.
    Capped at `segment_points`, each step's optimization indexes one new segment and leaves the indexed ones
    alone; uncapped, the engine merges them into one (the 60 s merge at 150,000 points of a 300,000 sync,
    bench/sync_memory.py). The capped index still answers from every segment."""
    dim, step = 384, 7000  # 7,000 x 384 floats passes the engine's indexing threshold: each step is indexed
    rnd = np.random.default_rng(5)
    vecs = rnd.standard_normal((3 * step, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    empty = Bm25Encoder().document("")
    points = [IndexPoint(f"p{i}", vecs[i], empty, {"profile_id": f"p{i}"}) for i in range(3 * step)]
    capped = EdgeIndex(tmp_path / "capped", dim, optimize_every=step, segment_points=step)
    merged = EdgeIndex(tmp_path / "merged", dim, optimize_every=step, segment_points=100 * step)
    for idx in (capped, merged):
        for s in range(0, 3 * step, 1000):
            idx.upsert(points[s:s + 1000])  # optimizes after each 7,000
        idx.optimize()
        assert idx.shard.info().indexed_vectors_count == 3 * step
    assert capped.shard.info().segments_count > 3 > merged.shard.info().segments_count  # 3 indexed + appendable
    for i in rnd.choice(3 * step, 20, replace=False):
        q = vecs[i] + rnd.normal(0, 0.01, dim).astype(np.float32)
        exact = [f"p{j}" for j in np.argsort(-(vecs @ q))[:10]]
        assert ids(capped.search(dense=q, sparse=None, limit=10)) == exact


@pytest.mark.volume
def test_purge_deleted_rewrites_indexed_segments_without_the_deleted_points(tmp_path: Path) -> None:
    """An erased person's point, once deleted, is only marked so in an indexed segment: its payload stays in the
    segment's files through optimizations (the engine vacuums a segment once a fifth of it is deleted).
    purge_deleted rewrites the segment without it, keeps every other point searchable and leaves the shard
    configured as before."""
    import json

    dim, n = 384, 8000  # past the indexing threshold: an indexed, quantized segment
    rnd = np.random.default_rng(9)
    vecs = rnd.standard_normal((n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    empty = Bm25Encoder().document("")
    idx = EdgeIndex(tmp_path / "ix", dim)
    idx.upsert([IndexPoint(f"p{i}", vecs[i], empty, {"profile_id": f"p{i}", "note": f"marker-{i:05d}-x"})
                for i in range(n)])
    idx.optimize()

    def in_segments(text: str) -> bool:
        return any(text.encode() in f.read_bytes() for f in (tmp_path / "ix" / "segments").rglob("*") if f.is_file())

    idx.delete(["p42"])
    idx.optimize()
    assert idx.count() == n - 1 and in_segments("marker-00042-x")  # deleted, yet still written down
    assert idx.purge_deleted()
    assert not in_segments("marker-00042-x") and in_segments("marker-00043-x")
    assert idx.count() == n - 1 and not idx.retrieve(["p42"])
    assert ids(idx.search(dense=vecs[43], sparse=None, limit=1)) == ["p43"]
    optimizers = json.loads((tmp_path / "ix" / "edge_config.json").read_text())["optimizers"]
    assert optimizers["deleted_threshold"] is None  # the vacuum-everything config was for one optimization
    idx.close()


def test_a_count_of_an_event_type_is_zero_where_the_profile_has_none(index: VectorIndex) -> None:
    """A payload's `counts` holds the types a profile has events of: a range that 0 meets ("never rated",
    "fewer than 3 purchases") matches the profiles without the key too, on both backends; one 0 does not meet
    ("at least 1") does not."""
    bm25 = Bm25Encoder()
    extra = [IndexPoint(f"c{i}", np.eye(DIM, dtype=np.float32)[i % DIM], bm25.document("x"),
                        {"profile_id": f"c{i}", "counts": {"rate": i} if i % 3 else {}}) for i in range(12)]
    index.upsert(extra)
    index.flush()
    everyone = len(corpus()) + len(extra)
    with_rates = [i for i in range(12) if i % 3]
    assert index.count([Condition("counts.rate", "range", {"lt": 1})]) == everyone - len(with_rates)
    assert index.count([Condition("counts.rate", "range", {"lt": 3})]) == everyone - len(with_rates) + 2  # 1, 2
    assert index.count([Condition("counts.rate", "range", {"gte": 1})]) == len(with_rates)
    assert index.count([Condition("counts.rate", "range", {"gt": 4, "lte": 8})]) == 3  # 5, 7, 8
    assert index.count([Condition("event_count", "range", {"lt": 1})]) == 1  # not a count of one type: p0 only


def test_yes_no_traits_stored_as_json_booleans_are_matched(index: VectorIndex) -> None:
    """Tracardi's profile data keeps yes/no traits as JSON booleans ("newsletter": true). The Edge binding reads a
    Python True given to MatchValue as the integer 1, which matched no stored true: every such trait counted 0
    ("customers subscribed to the newsletter": 0 of 1,000) until the filter passed NumPy's bool, which it reads as a
    bool. Both backends, with and without a payload index, and as "true" written in a filter."""
    bm25 = Bm25Encoder()
    extra = [IndexPoint(f"b{i}", np.eye(DIM, dtype=np.float32)[i % DIM], bm25.document("x"),
                        {"profile_id": f"b{i}", "traits": {"newsletter": i % 4 == 0, "tier": i % 2}})
             for i in range(12)]
    index.upsert(extra)
    index.flush()
    for indexed in (False, True):
        if indexed:
            index.ensure_field_indexes({"traits.newsletter": "bool"})
        assert index.count([Condition("traits.newsletter", "eq", True)]) == 3
        assert index.count([Condition("traits.newsletter", "eq", "true")]) == 3
        assert index.count([Condition("traits.newsletter", "eq", False)]) == 9
        assert index.count([Condition("traits.newsletter", "ne", True)]) == 9  # set, and not true
        assert index.count([Condition("traits.tier", "eq", 1)]) == 6  # an integer stays an integer
