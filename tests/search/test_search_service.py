"""Search service behaviour: filters, modes, why-it-matched, lookalikes, profile cards, bad input."""

from __future__ import annotations

import pytest

from app.errors import InvalidRequestError, NotFoundError
from app.search.filters import parse_expression, parse_filters
from app.search.schemas import SearchRequest
from embeddings.index import Condition


@pytest.fixture
def run(movielens_container):  # type: ignore[no-untyped-def]
    return movielens_container.run


def test_filters_restrict_results(movielens_container, run) -> None:
    s = movielens_container.search
    res = run(s.search(SearchRequest(query="horror movie fans", limit=20,
                                     filters=["data.pii.gender=female", "age>=40", "event_count>=50"])))
    assert res.results
    for r in res.results:
        card = run(s.profile(r.profile_id))
        assert card.data["pii"]["gender"] == "female" and card.traits["age"] >= 40 and card.event_count >= 50
    dated = run(s.search(SearchRequest(query="drama", filters={"last_seen": {"lt": "1997-12-01T00:00:00Z"}})))
    assert all(r.last_seen < "1997-12-01" for r in dated.results)


def test_every_mode_answers_and_explains(movielens_container, run) -> None:
    s = movielens_container.search
    for mode in ("dense", "hybrid", "sparse"):
        res = run(s.search(SearchRequest(query="people who love documentaries", limit=5, mode=mode)))
        assert len(res.results) == 5
        assert all(r.why for r in res.results)
    hybrid = run(s.search(SearchRequest(query="film noir lovers", limit=5)))
    assert any("Film-Noir" in " ".join(r.why) for r in hybrid.results)
    offset = run(s.search(SearchRequest(query="film noir lovers", limit=3, offset=2)))
    assert [r.profile_id for r in offset.results] == [r.profile_id for r in hybrid.results[2:5]]


def test_similar_profiles_with_percentiles(movielens_container, run) -> None:
    s = movielens_container.search
    pid = run(s.search(SearchRequest(query="horror movie fans", limit=1))).results[0].profile_id
    res = run(s.similar(pid, limit=10))
    assert len(res.results) == 10 and pid not in [r.profile_id for r in res.results]
    sims = [r.similarity for r in res.results]
    assert sims == sorted(sims, reverse=True)
    assert all(90 <= r.percentile <= 100 for r in res.results)  # nearest neighbours are in the top decile


def test_profile_card_and_unknown_profile(movielens_container, run) -> None:
    s = movielens_container.search
    pid = run(s.search(SearchRequest(query="comedy", limit=1))).results[0].profile_id
    card = run(s.profile(pid))
    assert card.profile_id == pid and card.document.startswith("Favourite") and card.counts["content-rated"] > 0
    assert "postcode" not in repr(card.data) and "identifier" not in card.data
    with pytest.raises(NotFoundError):
        run(s.profile("does-not-exist"))


@pytest.mark.parametrize("bad", [["no_operator"], ["a b=1"], ["event_count>=soon"], {"x": {"between": 1}},
                                 {"x": {"not": None}}, {"x": {"not": []}}, {"x": {"not": "a", "gte": 1}},
                                 {"x": {"gte": 1, "lte": "2024-01-01"}}, {"x": None}, "plain string", [1, 2]])
def test_bad_filters_are_clear_errors(bad) -> None:
    with pytest.raises(InvalidRequestError):
        parse_filters(bad)


def test_filter_expressions() -> None:
    assert parse_expression("traits.plan.contract=Month-to-month") == Condition("traits.plan.contract", "eq", "Month-to-month")
    assert parse_expression("plan=a,b") == Condition("traits.plan", "eq", ["a", "b"])
    assert parse_expression("spend_total>100") == Condition("spend_total", "range", {"gt": 100.0})
    assert parse_expression("last_seen>=2024-01-01").value == {"gte": "2024-01-01T00:00:00Z"}
    assert parse_expression("plan!=free,pro") == Condition("traits.plan", "ne", ["free", "pro"])
    assert parse_filters({"plan": {"not": "free"}}) == [Condition("traits.plan", "ne", "free")]


def test_filters_are_counted_before_any_is_parsed() -> None:
    """A body of thousands of filters is refused by its count, before one of them is parsed (issue 14)."""
    import pydantic

    from app.search.schemas import SearchRequest

    with pytest.raises(pydantic.ValidationError, match="at most 20 filters"):
        SearchRequest(query="x", filters={f"traits.k{i}": {"gte": "not parsed"} for i in range(5000)})
    with pytest.raises(pydantic.ValidationError, match="at most 20 filters"):
        SearchRequest(query="x", filters=["=" * 10] * 21)
    assert SearchRequest(query="x", filters=["traits.plan=gold"] * 20).filters is not None
