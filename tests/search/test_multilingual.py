"""A Spanish deployment end to end: Spanish data synced under `multi`, asked in Spanish and English through
the API and the agent tools; switching the language re-embeds every profile through the normal path."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.agents.langchain import customer_tools
from app.config import DatabaseSettings, Settings
from app.container import Container
from app.demo.evaluation import relevant_users
from app.demo.movielens import load_movielens
from app.demo.spanish import to_spanish
from app.demo.writer import write_export
from app.search.schemas import SearchRequest


@pytest.fixture(scope="module")
def spanish_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    profiles, events = load_movielens()
    keep = {p["id"] for p in profiles[:80]}
    es_p, es_e = to_spanish([p for p in profiles if p["id"] in keep],
                            [e for e in events if e["profile"]["id"] in keep])
    return write_export(tmp_path_factory.mktemp("es-export"), es_p, es_e)


async def test_a_spanish_deployment_answers_spanish_and_english_questions(spanish_export: Path, tmp_path: Path,
                                                                         pg_url: str, encoder) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, database=DatabaseSettings(url=pg_url), language="multi")
    c = await Container.create(settings)
    try:
        assert c.encoder.model_id.startswith("multilingual-e5-small")
        first = await c.sync.run(c.source(str(spanish_export)))
        assert first.embedded == 80
        doc = c.index.retrieve([c.index.scroll(fields=["profile_id"]).__next__()[0].payload["profile_id"]])[0]
        assert "Actividad:" in doc.payload["document"] and "valoraciones" in doc.payload["document"]
        fans = relevant_users()["Horror"] & {h.payload["profile_id"] for page in c.index.scroll(fields=["profile_id"])
                                             for h in page}
        base_rate = len(fans) / 80
        for query in ("aficionados al cine de terror", "horror movie fans"):
            res = await c.search.search(SearchRequest(query=query, limit=10))
            hits = sum(h.profile_id in fans for h in res.results)
            assert hits / 10 >= 2 * base_rate, (query, hits, len(fans))  # well above chance, in either language
        tools = {t.name: t for t in customer_tools(c.agent_tools())}
        answer = await tools["search_customers"].ainvoke({"query": "estudiantes jóvenes que ven comedias", "limit": 3})
        assert len(answer["results"]) == 3 and all(r["why"] for r in answer["results"])
    finally:
        await c.aclose()
    # the same data dir under English: another model and other BM25 tokens, so everything is re-embedded
    english = await Container.create(Settings(data_dir=tmp_path, database=DatabaseSettings(url=pg_url)),
                                     encoder=encoder)
    try:
        again = await english.sync.run(english.source(str(spanish_export)))
        assert again.embedded == 80 and again.unchanged == 0
        doc = english.index.retrieve([english.index.scroll(fields=["profile_id"]).__next__()[0]
                                      .payload["profile_id"]])[0]
        assert "Activity:" in doc.payload["document"]
    finally:
        await english.aclose()
