"""LangChain tools (through LangChain's own interface and a fake-model agent loop) and the MCP server
(through the official SDK's client), over the synced MovieLens index."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from pydantic import ValidationError

from app.agents.langchain import ProfileEmbeddings, ProfileRetriever, customer_tools
from app.agents.mcp_server import build_mcp_server
from app.agents.tools import CustomerTools
from app.sync.runner import SyncRunner
from tests.mcp_text import tool_text


def test_langchain_tools_through_langchain(movielens_container) -> None:
    c = movielens_container
    tools = {t.name: t for t in customer_tools(CustomerTools(c.search))}
    assert set(tools) == {"search_customers", "get_customer", "similar_customers"}
    assert "KEY=VALUE" in json.dumps(tools["search_customers"].args)
    found = c.run(tools["search_customers"].ainvoke({"query": "horror movie fans", "limit": 3,
                                                     "filters": ["age>=18"]}))
    assert len(found["results"]) == 3 and all(r["traits"]["age"] >= 18 for r in found["results"])
    pid = found["results"][0]["profile_id"]
    card = c.run(tools["get_customer"].ainvoke({"profile_id": pid}))
    assert card["profile_id"] == pid and "Horror" in card["document"]
    assert "postcode" not in json.dumps(card) and "identifier" not in json.dumps(card)
    with pytest.raises(ValidationError):  # the argument schema states the cap
        c.run(tools["similar_customers"].ainvoke({"profile_id": pid, "limit": 100}))
    capped = c.run(CustomerTools(c.search).similar_customers(pid, 100))  # and the tool enforces it
    assert len(capped["results"]) == 25


def test_agent_loop_with_a_fake_model(movielens_container) -> None:
    c = movielens_container
    tools = {t.name: t for t in customer_tools(CustomerTools(c.search))}
    model = FakeMessagesListChatModel(responses=[
        AIMessage(content="", tool_calls=[{"name": "search_customers", "args": {"query": "war movie fans", "limit": 2},
                                           "id": "call-1"}]),
        AIMessage(content="I found two war movie fans."),
    ])
    messages: list = [HumanMessage("Who likes war movies?")]

    async def loop() -> str:
        while True:
            reply = await model.ainvoke(messages)
            messages.append(reply)
            if not reply.tool_calls:
                return str(reply.content)
            for call in reply.tool_calls:
                result = await tools[call["name"]].ainvoke(call["args"])
                messages.append(ToolMessage(json.dumps(result), tool_call_id=call["id"]))

    assert c.run(loop()) == "I found two war movie fans."
    tool_out = json.loads(messages[2].content)
    assert len(tool_out["results"]) == 2 and tool_out["results"][0]["why"]


def test_retriever_and_embeddings(movielens_container) -> None:
    c = movielens_container
    docs = c.run(ProfileRetriever(tools=CustomerTools(c.search), k=4).ainvoke("documentary lovers"))
    assert len(docs) == 4 and all(d.metadata["profile_id"] for d in docs)
    emb = ProfileEmbeddings(c.encoder)
    q = emb.embed_query("drama")
    assert len(q) == c.encoder.dim and abs(sum(x * x for x in q) - 1) < 1e-3


def test_mcp_server_through_the_sdk_client(movielens_container) -> None:
    from mcp.client.client import Client

    c = movielens_container
    tools = CustomerTools(c.search)

    async def go() -> None:
        async with Client(build_mcp_server(tools)) as client:
            listed = {t.name for t in (await client.list_tools()).tools}
            assert listed == {"search_customers", "get_customer", "similar_customers"}  # read-only: no write tool
            res = await client.call_tool("search_customers", {"query": "film noir lovers", "limit": 3})
            body = json.loads(tool_text(res))
            assert len(body["results"]) == 3
            pid = body["results"][0]["profile_id"]
            card = json.loads(tool_text(await client.call_tool("get_customer", {"profile_id": pid})))
            assert card["profile_id"] == pid and "postcode" not in json.dumps(card)
            sim = json.loads(tool_text(await client.call_tool("similar_customers", {"profile_id": pid, "limit": 2})))
            assert len(sim["results"]) == 2
        writable = build_mcp_server(tools, allow_writes=True, sync=SyncRunner(c))
        async with Client(writable) as client:
            assert "start_sync" in {t.name for t in (await client.list_tools()).tools}

    c.run(go())


def test_contact_details_are_masked_even_if_present() -> None:
    from app.agents.tools import _mask
    from embeddings.redaction import Redactor

    out = _mask({"profile_id": "p1", "summary": "call +48 600 100 200 or mail a@b.io",
                 "traits": {"plan": "gold", "email": "a@b.io", "home_address": "1 Main St"}}, Redactor())
    assert out == {"profile_id": "p1", "summary": "call [phone] or mail [e-mail]", "traits": {"plan": "gold"}}


def test_segment_and_prediction_tools_through_langchain_and_mcp(movielens_container) -> None:
    from mcp.client.client import Client

    from app.predictions.schemas import ScoreRequest, TrainRequest
    from app.segments.schemas import DiscoverRequest

    c = movielens_container
    c.run(c.segments.discover(DiscoverRequest(random_state=0)))
    model = c.run(c.predictions.train(TrainRequest(goal="churn", horizon_days=30)))
    c.run(c.predictions.score(ScoreRequest(model_id=model.model_id, limit=1)))
    agent = c.agent_tools()
    tools = {t.name: t for t in customer_tools(agent)}
    assert {"list_segments", "segment_members", "customer_predictions"} <= set(tools)
    assert "publish_segment" not in tools  # read-only unless allowed
    assert "publish_segment" in {t.name for t in customer_tools(agent, allow_writes=True)}
    segs = c.run(tools["list_segments"].ainvoke({}))
    assert segs["total"] >= 3 and all(s["name"] and s["size"] > 0 for s in segs["segments"])
    sid = segs["segments"][0]["segment_id"]
    members = c.run(tools["segment_members"].ainvoke({"segment_id": sid, "limit": 4}))
    assert len(members["members"]) == 4
    pid = members["members"][0]["profile_id"]
    preds = c.run(tools["customer_predictions"].ainvoke({"profile_id": pid}))
    churn = next(p for p in preds["predictions"] if p["goal"] == "churn")
    assert 0 <= churn["probability"] <= 1 and churn["tier"] and churn["model"]["quality"]

    async def go() -> None:
        async with Client(build_mcp_server(agent)) as client:
            listed = {t.name for t in (await client.list_tools()).tools}
            assert {"list_segments", "segment_members", "customer_predictions"} <= listed
            assert "publish_segment" not in listed
            res = json.loads(tool_text(await client.call_tool("customer_predictions", {"profile_id": pid})))
            assert any(p["goal"] == "churn" for p in res["predictions"])
        async with Client(build_mcp_server(agent, allow_writes=True)) as client:
            assert "publish_segment" in {t.name for t in (await client.list_tools()).tools}

    c.run(go())


def test_one_registry_feeds_mcp_and_langchain_alike() -> None:
    import asyncio

    from mcp.client.client import Client

    tools = CustomerTools(object(), segments=object(), predictions=object())  # type: ignore[arg-type]
    for writes in (False, True):
        lc = {t.name: t for t in customer_tools(tools, allow_writes=writes)}

        async def listed(w: bool = writes) -> list:  # type: ignore[type-arg]
            async with Client(build_mcp_server(tools, allow_writes=w)) as client:
                return (await client.list_tools()).tools

        mcp = {t.name: t for t in asyncio.run(listed())}
        assert set(mcp) == set(lc) and ("publish_segment" in mcp) == writes
        assert ("create_prediction_audience" in mcp) == writes  # a write tool, only where writes are allowed
        for name, tool in mcp.items():
            assert tool.description == lc[name].description  # one text, not two that drift apart
            assert set(tool.input_schema["properties"]) == set(cast(Any, lc[name].args_schema).model_json_schema()["properties"])
            assert tool.annotations.read_only_hint == (name not in ("publish_segment", "create_prediction_audience"))
    assert mcp["search_customers"].input_schema["properties"]["limit"]["maximum"] == 25
