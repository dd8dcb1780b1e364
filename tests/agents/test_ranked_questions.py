"""Who first by a stored number: "the 5 oldest students", "who rated the most horror movies", "users with the most
ratings", asked in words to the agent tool (LangChain and MCP agree), the HTTP API and the CLI, each answer checked
against the raw MovieLens export. A search by meaning had answered these with profiles whose text reads like the
words ("spent the most"), not with the customers who did."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from app.agents.langchain import customer_tools
from tests.agents.test_business_questions import ask, raw_profiles


@pytest.fixture(scope="module")
def ml(movielens_container: Any, movielens_export: Path) -> dict[str, Any]:
    c = movielens_container
    events = [json.loads(line) for line in (movielens_export / "events.ndjson").read_text().splitlines() if line]
    return {"c": c, "raw": raw_profiles(movielens_export), "events": events,
            "tools": {t.name: t for t in customer_tools(c.agent_tools())}}


def _best(values: dict[str, float], n: int, descending: bool = True) -> list[str]:
    """The raw data's ranking: by value, ties by profile id (as the answer pages them)."""
    return [p for p, _ in sorted(values.items(), key=lambda pv: (-pv[1] if descending else pv[1], pv[0]))[:n]]


def _job(p: dict[str, Any]) -> str:
    return str(p["data"]["job"]["position"])


@pytest.mark.parametrize(("question", "job", "descending", "n"), [
    ("the 5 oldest students", "student", True, 5),
    ("the 3 youngest engineers", "engineer", False, 3),
    ("top 4 retired users by age", "retired", True, 4),
])
def test_the_oldest_and_youngest_of_a_group_are_ranked_by_age(ml: dict[str, Any], question: str, job: str,
                                                              descending: bool, n: int) -> None:
    answer = ask(ml, "rank_customers", {"query": question})
    ages = {p["id"]: p["traits"]["age"] for p in ml["raw"] if _job(p) == job}
    assert answer["ranked_by"]["field"] == "traits.age" and answer["exact"] is True
    assert answer["group"]["query"]["semantic"] == "" and answer["in_group"] == len(ages)
    assert [r["profile_id"] for r in answer["ranked"]] == _best(ages, n, descending)
    assert [r["value"] for r in answer["ranked"]] == [ages[p] for p in _best(ages, n, descending)]


def test_who_did_an_event_the_most_is_counted_from_the_events(ml: dict[str, Any]) -> None:
    ratings = Counter(e["profile"]["id"] for e in ml["events"] if e["type"] == "content-rated")
    answer = ask(ml, "rank_customers", {"query": "the 10 users with the most ratings"})
    assert answer["ranked_by"]["field"] == "counts.content-rated"
    assert [r["profile_id"] for r in answer["ranked"]] == _best(dict(ratings), 10)
    assert [r["value"] for r in answer["ranked"]] == [ratings[p] for p in _best(dict(ratings), 10)]


@pytest.mark.parametrize(("question", "genre", "job"), [
    ("who rated the most horror movies", "Horror", None),
    ("the 3 students who rated the most comedy movies", "Comedy", "student"),
])
def test_who_did_an_event_about_a_value_the_most_is_counted_from_the_event_log(ml: dict[str, Any], question: str,
                                                                               genre: str, job: str | None) -> None:
    """"rated the most horror movies" counts each user's horror ratings (the event log), not all of their ratings."""
    jobs = {p["id"]: _job(p) for p in ml["raw"]}
    counted = Counter(e["profile"]["id"] for e in ml["events"] if e["type"] == "content-rated"
                      and genre in e["properties"]["genres"] and (job is None or jobs[e["profile"]["id"]] == job))
    answer = ask(ml, "rank_customers", {"query": question})
    n = len(answer["ranked"])
    assert answer["ranked_by"]["about"] == [genre] and n == (3 if job else 10)
    assert [r["profile_id"] for r in answer["ranked"]] == _best(dict(counted), n)
    assert [r["value"] for r in answer["ranked"]] == [counted[p] for p in _best(dict(counted), n)]


@pytest.mark.parametrize(("question", "latest", "n"), [
    ("the first 5 users to rate a horror movie", False, 5),
    ("who rated a horror movie most recently", True, 10),
])
def test_who_did_an_event_first_or_last_is_ranked_by_its_time(ml: dict[str, Any], question: str, latest: bool,
                                                              n: int) -> None:
    """"Who first" in time: each user's first (or last) horror rating, from the event log."""
    when: dict[str, float] = {}
    for e in ml["events"]:
        if e["type"] == "content-rated" and "Horror" in e["properties"]["genres"]:
            at = datetime.fromisoformat(e["metadata"]["time"]["insert"]).timestamp()
            pid = e["profile"]["id"]
            when[pid] = (max if latest else min)(when.get(pid, at), at)
    answer = ask(ml, "rank_customers", {"query": question})
    assert answer["ranked_by"]["when"] == ("last" if latest else "first") and answer["ranked_by"]["about"] == ["Horror"]
    assert answer["ranked_customers"] == len(when)
    assert [r["profile_id"] for r in answer["ranked"]] == _best(when, n, descending=latest)
    assert [datetime.fromisoformat(r["value"]).timestamp() for r in answer["ranked"]] == \
        [when[p] for p in _best(when, n, descending=latest)]


def test_a_field_named_outright_and_the_lowest_first(ml: dict[str, Any]) -> None:
    writers = {p["id"]: p["traits"]["age"] for p in ml["raw"] if _job(p) == "writer"}
    answer = ask(ml, "rank_customers", {"by": "age", "descending": False, "filters": ["data.job.position=writer"],
                                        "limit": 5})
    assert answer["ranked_by"] == {"field": "traits.age", "order": "ascending", "from": "", "label": "age"}
    assert [r["profile_id"] for r in answer["ranked"]] == _best(writers, 5, descending=False)
    # the next page follows on, and a question's own "oldest" is overridden by `descending`
    page = ask(ml, "rank_customers", {"query": "the oldest writers", "descending": False, "limit": 5, "offset": 5})
    assert [r["rank"] for r in page["ranked"]] == [6, 7, 8, 9, 10]
    assert [r["profile_id"] for r in page["ranked"]] == _best(writers, 10, descending=False)[5:]


@pytest.mark.parametrize(("args", "message"), [
    ({"query": "students who love horror"}, "say what to rank customers by"),
    ({"by": "traits.no_such_number"}, "cannot be ranked by 'traits.no_such_number'"),
    ({"by": "data.job.position"}, "cannot be ranked by 'data.job.position'"),  # a word, not a number
])
def test_a_ranking_with_nothing_to_rank_by_is_one_clear_line(ml: dict[str, Any], args: dict[str, Any],
                                                             message: str) -> None:
    with pytest.raises(Exception) as err:  # noqa: PT011 - the domain error, as LangChain hands it on
        ml["c"].run(ml["tools"]["rank_customers"].ainvoke(args))
    assert message in str(err.value) and "\n" not in str(err.value).strip()


def test_the_same_ranking_over_http_with_a_read_key(ml: dict[str, Any]) -> None:
    import httpx

    from app.config import ServerSettings, Settings
    from app.main import create_app

    c = ml["c"]

    async def go() -> list[httpx.Response]:
        key, _ = await c.keys.create("read", "ranking test")
        app = create_app(Settings(data_dir=c.settings.data_dir, server=ServerSettings(auth=True)), container=c)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://localhost",
                headers={"Authorization": f"Bearer {key}"}) as http:
            return [await http.post("/v1/customers/ranked", json={"query": "the 5 oldest students"}),
                    await http.post("/v1/customers/ranked", json={"query": "students"})]

    ranked, unread = c.run(go())
    ages = {p["id"]: p["traits"]["age"] for p in ml["raw"] if _job(p) == "student"}
    assert ranked.status_code == 200 and [r["profile_id"] for r in ranked.json()["ranked"]] == _best(ages, 5)
    assert unread.status_code == 422 and "say what to rank customers by" in unread.json()["detail"]


def test_the_top_of_a_ranking_is_a_group_to_count_and_describe(ml: dict[str, Any]) -> None:
    """"how many of the 50 oldest users are women": the 50 first of the ranking, then the filter, exactly;
    "what do the 20 users who rated the most movies have in common" describes those 20."""
    ages = {p["id"]: p["traits"]["age"] for p in ml["raw"]}
    oldest = set(_best(ages, 50))
    women = {p["id"] for p in ml["raw"] if p["data"]["pii"]["gender"] == "female"}
    counted = ask(ml, "count_customers", {"query": "how many of the 50 oldest users are women?"})
    assert counted["exact"] is True and counted["count"] == len(oldest & women)
    assert counted["group"]["ranked"]["field"] == "traits.age" and counted["group"]["ranked"]["members"] == 50
    ratings = Counter(e["profile"]["id"] for e in ml["events"] if e["type"] == "content-rated")
    described = ask(ml, "describe_customers", {"query": "what do the 20 users who rated the most movies have in common?",
                                               "fields": ["event_count"]})
    assert described["size"] == 20 and described["group"]["ranked"]["field"] == "counts.content-rated"
    most = sorted(ratings[p] for p in _best(dict(ratings), 20))
    assert described["fields"][0]["group"]["median"] == (most[9] + most[10]) / 2  # their event counts: ratings only
    # without a number of people, an order names no group: "customers who spent the most" stays a meaning
    plain = ask(ml, "count_customers", {"query": "how many students are there?"})
    assert "ranked" not in plain["group"]
