"""The segmentation library on data whose answer is known: blobs, a trait that defines a group."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from segmentation import (
    AutoKMeans,
    BehaviourSpec,
    ProfileBlender,
    SegmentModel,
    attribute_table,
    describe_segments,
    discover,
    extract_rule,
    match_segments,
)


@parametrize_with_checks([AutoKMeans(n_clusters=3, n_bootstrap=1, n_init=1, random_state=0),
                          ProfileBlender(n_components=2, random_state=0)])
def test_scikit_learn_conventions(estimator: Any, check: Any) -> None:
    check(estimator)


def blobs(n: int = 600, k: int = 4, dim: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim)) * 3
    truth = rng.integers(0, k, n)
    return (centres[truth] + rng.normal(size=(n, dim))).astype(np.float32), truth


def test_auto_k_finds_the_true_number_of_groups_and_is_stable() -> None:
    X, truth = blobs()
    km = AutoKMeans(k_min=2, k_max=8, random_state=0).fit(X)
    assert km.n_clusters_ == 4
    assert km.stability_ >= 0.95
    assert (km.cluster_stability_ >= 0.9).all()
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth, km.labels_) > 0.95
    sizes = np.bincount(km.labels_)
    assert list(sizes) == sorted(sizes, reverse=True)  # numbered largest first


def test_fixed_random_state_is_deterministic() -> None:
    X, _ = blobs(seed=3)
    a = AutoKMeans(random_state=7).fit(X)
    b = AutoKMeans(random_state=7).fit(X)
    assert a.n_clusters_ == b.n_clusters_
    assert (a.labels_ == b.labels_).all()
    assert a.selection_ == b.selection_


def records_with_groups(n: int = 300, seed: int = 0) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
    """Gold-plan profiles buy a lot of Electronics; the rest read Books. Vectors carry the same split."""
    rng = np.random.default_rng(seed)
    gold = rng.random(n) < 0.3
    records = []
    for i in range(n):
        g = bool(gold[i])
        records.append({
            "profile_id": f"p{i:04d}",
            "traits": {"plan": "gold" if g else "basic", "age": int(rng.integers(20, 60))},
            "data": {},
            "counts": {"purchase-order": int(rng.integers(5, 20))} if g else {"page-view": int(rng.integers(1, 5))},
            "top": {"category": ["Electronics"] if g else ["Books"]},
            "event_count": int(rng.integers(5, 20)) if g else int(rng.integers(1, 5)),
            "spend_total": float(rng.uniform(200, 900)) if g else 0.0,
            "last_seen": "2024-05-01T00:00:00+00:00",
        })
    centre = np.where(gold[:, None], 1.0, -1.0) * np.ones((n, 16))
    vectors = (centre + rng.normal(scale=0.5, size=(n, 16))).astype(np.float32)
    return records, vectors, gold


def test_names_features_and_rules_say_what_sets_a_segment_apart() -> None:
    records, vectors, gold = records_with_groups()
    docs = ["bought electronics gadgets laptops" if g else "read books novels" for g in gold]
    found = discover(vectors, records, docs, n_clusters=2, random_state=0)
    gold_label = int(np.bincount(found.labels[gold]).argmax())
    assert ((found.labels == gold_label) == gold).mean() > 0.98
    d = found.descriptions[gold_label]
    assert "gold" in d.name or "Electronics" in d.name
    labels = {f["label"] for f in d.features}
    assert {"gold", "Electronics"} <= labels
    top = next(f for f in d.features if f["label"] == "gold")
    assert top["lift"] == pytest.approx(1 / gold.mean(), rel=0.1)
    assert any(t["term"] in ("electronics", "gadgets", "laptops") for t in d.terms)
    rules = found.rules[gold_label]
    assert rules["sql"]["precision"] > 0.95 and rules["sql"]["recall"] > 0.95
    assert rules["tql"]["tql"] is not None and 'traits.plan' in rules["tql"]["tql"]
    assert rules["tql"]["precision"] > 0.95
    assert found.descriptions[0].name != found.descriptions[1].name


def test_rule_precision_and_recall_are_measured_on_the_rendered_rule() -> None:
    records, _, gold = records_with_groups(seed=2)
    table = attribute_table(records)
    rule = extract_rule(table, gold, tql_only=True)
    pred = rule.evaluate(table.X)
    assert rule.precision == pytest.approx((pred & gold).sum() / pred.sum())
    assert rule.recall == pytest.approx((pred & gold).sum() / gold.sum())
    assert rule.tql() in ('(traits.plan = "gold")', '(traits.plan != "basic")')
    # SQL is over profile_features: the flag reads the stored attributes
    assert "f.attributes" in rule.sql()


def test_model_assigns_new_profiles_like_the_fit_did() -> None:
    records, vectors, _ = records_with_groups(seed=4)
    found = discover(vectors, records, None, n_clusters=2, random_state=0)
    model = SegmentModel.from_dict(found.model.to_dict())  # through the stored form
    labels, dist = model.assign(vectors, records)
    assert (labels == found.labels).all()
    assert np.allclose(dist, found.distances, atol=1e-4)


def test_behaviour_spec_round_trips_and_fills_gaps() -> None:
    records, _, _ = records_with_groups()
    spec = BehaviourSpec.fit(records, ["traits.age"])
    again = BehaviourSpec.from_dict(spec.to_dict())
    assert (spec.matrix(records) == again.matrix(records)).all()
    empty = spec.matrix([{"profile_id": "x"}])
    assert np.isfinite(empty).all()


def test_matching_keeps_ids_through_relabelling_and_drops_what_changed() -> None:
    prev = {"seg-a": {f"p{i}" for i in range(0, 50)}, "seg-b": {f"p{i}" for i in range(50, 100)}}
    new = [{f"p{i}" for i in range(52, 100)} | {"p200"}, {f"p{i}" for i in range(0, 48)},
           {f"p{i}" for i in range(300, 320)}]
    m = match_segments(prev, new)
    assert m[0][0] == "seg-b" and m[1][0] == "seg-a"
    assert 2 not in m
    assert match_segments(prev, [{f"p{i}" for i in range(0, 100)}]) == {} or \
        match_segments(prev, [{f"p{i}" for i in range(0, 100)}])[0][1] >= 0.5


def test_too_few_profiles_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="too few"):
        discover(np.zeros((3, 4), dtype=np.float32), [{}] * 3)
    with pytest.raises(ValueError, match="vectors but"):
        discover(np.zeros((30, 4), dtype=np.float32), [{}] * 29)


def test_description_of_a_featureless_population_says_so() -> None:
    records = [{"profile_id": f"p{i}"} for i in range(40)]
    table = attribute_table(records)
    d = describe_segments(np.array([0] * 20 + [1] * 20), table, None)
    assert all("Nothing sets them apart" in x.description for x in d)
    assert d[0].name != d[1].name


async def test_rule_sql_quotes_hostile_trait_keys_and_values(pg_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Trait keys and values are data: quotes, backslashes, commas, braces and unicode stay inside their SQL
    literals, and the attribute's SQL selects exactly the rows its flag column marks (issue 14)."""
    from app.store.database import Database
    from segmentation.attributes import attribute_table

    keys = ["it's", "back\\slash", "a,b", "{brace}", "ñandú", "x'); DROP TABLE profile_ai_models; --"]
    records = []
    for i in range(40):
        traits: dict[str, Any] = {k: ("o'neil" if i % 2 else "plain\\value") for k in keys}
        traits["score"] = i
        records.append({"profile_id": f"p{i}", "traits": traits, "counts": {}, "top": {}})
    table = attribute_table(records)
    db = await Database.connect(pg_url, tmp_path)
    try:
        await db.pool.executemany(
            "INSERT INTO profile_ai.profile_features(profile_id, event_count, attributes) VALUES ($1, 1, $2)",
            [(r["profile_id"], {"traits": r["traits"]}) for r in records])  # the pool's codec encodes jsonb
        checked = 0
        for j, attr in enumerate(table.attributes):
            if attr.kind != "flag" or attr.tql is None:
                continue
            rows = await db.pool.fetch(f"SELECT profile_id FROM profile_ai.profile_features f WHERE {attr.sql}")
            expected = {records[i]["profile_id"] for i in range(len(records)) if table.X[i, j] == 1}
            assert {r["profile_id"] for r in rows} == expected, attr.sql
            checked += 1
        assert checked >= 2 * len(keys)
        assert await db.pool.fetchval("SELECT count(*) FROM profile_ai.models") == 0  # the table is still there
    finally:
        await db.close()


def test_spanish_names_and_descriptions_from_spanish_data() -> None:
    records, vectors, gold = records_with_groups()
    for r, g in zip(records, gold, strict=True):  # a Spanish company's data: Spanish values and words
        r["traits"]["plan"] = "oro" if g else "básico"
        r["top"] = {"categoría": ["Electrónica"] if g else ["Libros"]}
    docs = ["compró electrónica portátiles y auriculares" if g else "leyó libros y novelas" for g in gold]
    found = discover(vectors, records, docs, n_clusters=2, random_state=0, wording="es")
    d = found.descriptions[int(np.bincount(found.labels[gold]).argmax())]
    assert "oro" in d.name or "Electrónica" in d.name
    assert d.description.startswith(f"{int(gold.sum())} perfiles (") and "del total" in d.description
    assert "Frente a todos, destacan por: " in d.description and " frente a " in d.description
    assert "eventos purchase-order" in {f["label"] for f in d.features}
    assert any(f["label"] == "usuarios intensivos" for f in d.features)  # event_count above the mean
    terms = {t["term"] for t in d.terms}
    assert terms & {"electrónica", "portátiles", "auriculares"} and not terms & {"y", "compró"}  # no stop words
    featureless = describe_segments(np.array([0] * 20 + [1] * 20),
                                    attribute_table([{"profile_id": f"p{i}"} for i in range(40)]), None, wording="es")
    assert all("Nada los distingue" in x.description for x in featureless)
    assert featureless[0].name.startswith("público general")
