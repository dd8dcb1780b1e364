"""Everyone as columns (app/insights/columns.py) answers what the record-walking attribute table answers."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

import numpy as np
import pytest

from app.insights import columns
from app.insights.columns import ColumnsBuilder
from segmentation.attributes import attribute_table
from segmentation.naming import distinctive_features


def _records(n: int = 600, seed: int = 0) -> list[dict[str, Any]]:
    rnd = np.random.default_rng(seed)
    plans = ["basic", "pro", "team", "enterprise"]
    out = []
    for i in range(n):
        pro = i % 5 == 0
        record: dict[str, Any] = {
            "profile_id": f"p{i}",
            "traits": {"plan": plans[0 if not pro else 1] if rnd.random() < 0.7 else str(rnd.choice(plans)),
                       "age": int(rnd.integers(18, 80)), "vip": bool(rnd.random() < (0.6 if pro else 0.1))},
            "data": {"pii": {"gender": str(rnd.choice(["female", "male"]))}},
            "counts": {t: 1 for t in ["view", "purchase", "rate"] if rnd.random() < (0.9 if pro and t == "purchase"
                                                                                     else 0.3)},
            "top": {"genres": list(rnd.choice(["Horror", "Drama", "Comedy", "Western"], 2, replace=False))},
            "event_count": int(rnd.integers(1, 200)), "spend_total": float(rnd.gamma(2, 50 if pro else 10)),
            "purchases": int(rnd.integers(0, 9)), "active_days": int(rnd.integers(1, 60)), "rating_mean": None,
            "last_seen": f"2026-{1 + i % 12:02d}-{1 + i % 27:02d}T10:00:00+00:00",
        }
        if i % 7 == 0:
            del record["traits"]["age"]  # unknown for some
        out.append(record)
    return out


def _columns(records: list[dict[str, Any]]) -> columns.PopulationColumns:
    builder = ColumnsBuilder()
    for r in records:
        builder.add(r)
    return builder.build()


def test_distinctive_is_the_measure_segments_are_named_by() -> None:
    records = _records()
    pop = _columns(records)
    for members in ([r["profile_id"] for i, r in enumerate(records) if i % 5 == 0],
                    [r["profile_id"] for r in records if r["traits"].get("age", 0) > 60]):
        mask = pop.mask(members)
        expected = distinctive_features(attribute_table(records), mask)
        got = pop.distinctive(mask)
        assert got == expected and got  # same attributes, same order, same figures


def test_a_fields_breakdown_is_counted_from_the_records() -> None:
    records = _records()
    pop = _columns(records)
    group = [r for r in records if r["data"]["pii"]["gender"] == "female"]
    mask = pop.mask([r["profile_id"] for r in group] + ["not-in-the-population"])
    assert int(mask.sum()) == len(group)
    plan = pop.field("traits.plan", mask, top_values=10)
    mine, all_ = Counter(r["traits"]["plan"] for r in group), Counter(r["traits"]["plan"] for r in records)
    assert [(v["value"], v["count"]) for v in plan["values"]] == mine.most_common()
    for v in plan["values"]:
        assert v["share"] == round(mine[v["value"]] / len(group), 4)
        assert v["population_share"] == round(all_[v["value"]] / len(records), 4)
    vip = pop.field("traits.vip", mask)  # a flag reads as JSON writes it
    assert {v["value"] for v in vip["values"]} <= {"true", "false"}
    age = pop.field("traits.age", mask)
    ages = [r["traits"]["age"] for r in group if "age" in r["traits"]]
    assert age["kind"] == "number" and age["group"]["median"] == statistics.median(ages)
    assert age["group"]["n"] == len(ages) and age["everyone"]["n"] == sum("age" in r["traits"] for r in records)
    assert pop.field("traits.nothing", mask) == {"field": "traits.nothing", "kind": "unknown"}
    kinds = {e["event_type"]: e["share"] for e in pop.event_types(mask)}
    assert kinds["purchase"] == round(sum("purchase" in r["counts"] for r in group) / len(group), 4)


def test_an_empty_group_says_nothing() -> None:
    pop = _columns(_records(50))
    mask = pop.mask([])
    assert pop.distinctive(mask) == [] and pop.event_types(mask) == []


def test_a_field_with_too_many_values_stops_coding_new_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(columns, "MAX_DISTINCT", 3)
    records = [{"profile_id": f"p{i}", "traits": {"code": f"c{i % 6}"}} for i in range(60)]
    pop = _columns(records)
    answer = pop.field("traits.code", pop.mask([f"p{i}" for i in range(60)]), top_values=10)
    assert [v["value"] for v in answer["values"]] == ["c0", "c1", "c2"]  # the first three coded, counted exactly
    assert all(v["count"] == 10 for v in answer["values"]) and answer["known_in_group"] == 60


def test_filters_are_evaluated_on_the_columns_as_the_index_selects() -> None:
    from embeddings.index import Condition

    records = _records()
    records[3]["traits"]["tags"] = ["a", "b"]  # a list: only the index can match its elements
    records[4]["traits"]["note"] = "  "  # a blank: set for the index, unknown to the columns
    pop = _columns(records)

    def ids(conditions: list[Condition]) -> set[str] | None:
        mask = pop.where(conditions)
        return None if mask is None else {pop.ids[i] for i in np.flatnonzero(mask)}

    def raw(pred: Any) -> set[str]:
        return {r["profile_id"] for r in records if pred(r)}

    assert ids([Condition("traits.plan", "eq", "pro")]) == raw(lambda r: r["traits"]["plan"] == "pro")
    assert ids([Condition("traits.plan", "eq", ["pro", "team"])]) == raw(lambda r: r["traits"]["plan"] in ("pro", "team"))
    assert ids([Condition("traits.plan", "ne", "pro")]) == raw(lambda r: r["traits"]["plan"] != "pro")
    assert ids([Condition("traits.vip", "eq", "true")]) == raw(lambda r: r["traits"]["vip"] is True)
    assert ids([Condition("traits.age", "range", {"gte": 40, "lt": 60})]) == raw(
        lambda r: "age" in r["traits"] and 40 <= r["traits"]["age"] < 60)
    assert ids([Condition("traits.age", "eq", "33")]) == raw(lambda r: r["traits"].get("age") == 33)
    assert ids([Condition("traits.age", "exists")]) == raw(lambda r: "age" in r["traits"])
    assert ids([Condition("traits.age", "ne", "33")]) == raw(lambda r: "age" in r["traits"] and r["traits"]["age"] != 33)
    assert ids([Condition("event_count", "range", {"gt": 100}), Condition("data.pii.gender", "eq", "female")]) == raw(
        lambda r: r["event_count"] > 100 and r["data"]["pii"]["gender"] == "female")
    assert ids([Condition("", "ids", ["p1", "p2", "nobody"]), Condition("traits.plan", "eq", "pro")]) == raw(
        lambda r: r["profile_id"] in ("p1", "p2") and r["traits"]["plan"] == "pro")
    # everyone but those ("never bought shoes": the event log's buyers of shoes left out)
    assert ids([Condition("", "not_ids", ["p0", "p5", "nobody"]), Condition("traits.plan", "eq", "pro")]) == raw(
        lambda r: r["profile_id"] not in ("p0", "p5") and r["traits"]["plan"] == "pro")
    assert ids([]) == {r["profile_id"] for r in records}
    for unanswerable in (Condition("traits.tags", "eq", "a"), Condition("traits.note", "exists"),
                         Condition("segments", "eq", "seg-1"), Condition("last_seen", "range", {"gte": "2026-01-01"}),
                         Condition("traits.plan", "range", {"gte": 1})):
        assert pop.where([Condition("traits.plan", "eq", "pro"), unanswerable]) is None


def test_a_ranking_by_a_number_skips_the_unknown_and_objectors_and_breaks_ties_by_id() -> None:
    records = _records(300, seed=3)
    for i, r in enumerate(records):
        r["first_seen"] = f"2025-{1 + i % 12:02d}-01T00:00:00+00:00"
        r["counts"] = {"view": i % 4, **({"purchase": 2} if i % 3 == 0 else {})}
        r["objected"] = i % 10 == 0
    everyone = ColumnsBuilder()
    for r in reversed(records):  # rows in another order than the ids': ties must still come out by id
        everyone.add(r)
    built = everyone.build()
    mask = np.ones(built.n, dtype=bool)
    kept = [r for r in records if not r["objected"]]

    def expected(key: Any, descending: bool, n: int) -> list[str]:
        known = [r for r in kept if key(r) is not None]
        return [r["profile_id"] for r in sorted(known, key=lambda r: (-key(r) if descending else key(r),
                                                                         r["profile_id"]))][:n]

    for path, key in [("traits.age", lambda r: r["traits"].get("age")), ("spend_total", lambda r: r["spend_total"]),
                      ("counts.view", lambda r: r["counts"].get("view", 0)),
                      ("counts.purchase", lambda r: r["counts"].get("purchase", 0))]:
        values = built.ranking_values(path)
        assert values is not None, path
        for descending in (True, False):
            page, ranked = built.ranked(values, mask, descending, 10, 5)
            assert [p for p, _ in page] == expected(key, descending, 15)[5:], (path, descending)
            assert ranked == sum(1 for r in kept if key(r) is not None)
    first = built.ranking_values("first_seen")
    assert first is not None
    page, _ = built.ranked(first, mask, False, 3)
    assert [p for p, _ in page] == [r["profile_id"] for r in sorted(kept, key=lambda r: (r["first_seen"],
                                                                                      r["profile_id"]))[:3]]
    assert built.ranking_values("data.pii.gender") is None and built.ranking_values("counts.nothing") is None
    assert built.ranking_values("recency_days") is None  # ours, not a stored number
