"""LangChain adapters: a retriever of profile documents, an `Embeddings` over our encoder, and tools.

    from app.agents.langchain import customer_tools, ProfileRetriever
    tools = customer_tools(CustomerTools(container.search))   # give them to any tool-calling agent
"""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import StructuredTool
from pydantic import BaseModel, ConfigDict, Field

from app.agents.tools import MAX_RESULTS, CustomerTools
from embeddings.encoder import Encoder


class ProfileEmbeddings(Embeddings):
    """The same vectors the index holds (normalised), for LangChain vector stores and evaluators."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encoder.encode(texts).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self.encoder.encode_query(text).tolist()  # type: ignore[no-any-return]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        return await asyncio.to_thread(self.embed_query, text)


class ProfileRetriever(BaseRetriever):
    """Customer profile documents for a query; metadata = profile id, score, traits, segments, why it matched."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    tools: Any
    k: int = 5
    filters: list[str] = Field(default_factory=list)

    async def _aget_relevant_documents(self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun,
                                       ) -> list[Document]:
        res = await self.tools.search_customers(query, self.k, self.filters or None)
        return [Document(page_content=h["summary"] if not h.get("why") else "\n".join(h["why"]),
                         metadata={k: v for k, v in h.items() if k not in ("why",)}) for h in res["results"]]

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        raise NotImplementedError("use the async interface (ainvoke): searches run on the service's event loop")


class SearchArgs(BaseModel):
    query: str = Field(description="What kind of customers to find, in plain words, e.g. 'customers who "
                                   "complain about delivery' or 'horror movie fans'")
    limit: int = Field(10, ge=1, le=MAX_RESULTS, description=f"How many customers to return (1-{MAX_RESULTS})")
    filters: list[str] | None = Field(None, description="Optional exact conditions, each 'KEY=VALUE', 'KEY>=N' or "
                                                        "'KEY<=DATE', e.g. ['traits.plan=gold', 'event_count>=10']")


class CustomerArgs(BaseModel):
    profile_id: str = Field(description="The customer's profile id, as returned by search_customers")


class SimilarArgs(BaseModel):
    profile_id: str = Field(description="The customer whose lookalikes you want")
    limit: int = Field(10, ge=1, le=MAX_RESULTS, description=f"How many lookalikes (1-{MAX_RESULTS})")


class SegmentArgs(BaseModel):
    segment_id: str = Field(description="The segment id, as returned by list_segments")
    limit: int = Field(10, ge=1, le=MAX_RESULTS, description=f"How many members (1-{MAX_RESULTS})")


class NoArgs(BaseModel):
    pass


def customer_tools(tools: CustomerTools, *, allow_writes: bool = False) -> list[StructuredTool]:
    """The agent's tools; segment and prediction tools when the services are there, writes only if allowed."""
    out = [
        StructuredTool.from_function(
            coroutine=tools.search_customers, name="search_customers", args_schema=SearchArgs,
            description="Find customers by meaning: describe behaviour, tastes or situation in words. Returns "
                        "profile ids, a one-line summary and why each matched. Use first, then get_customer."),
        StructuredTool.from_function(
            coroutine=tools.get_customer, name="get_customer", args_schema=CustomerArgs,
            description="A customer's card: activity summary, traits (no contact details), event counts, "
                        "first/last seen, spend. A merged id answers with the surviving profile."),
        StructuredTool.from_function(
            coroutine=tools.similar_customers, name="similar_customers", args_schema=SimilarArgs,
            description="Lookalikes of one customer, most similar first, with a similarity percentile (how "
                        "unusual such similarity is among all customers)."),
    ]
    if tools.segments is not None:
        out += [
            StructuredTool.from_function(
                coroutine=tools.list_segments, name="list_segments", args_schema=NoArgs,
                description="The customer segments marketers work with: name, size, share, what sets each apart. "
                            "Use to answer 'what kinds of customers do we have'."),
            StructuredTool.from_function(
                coroutine=tools.segment_members, name="segment_members", args_schema=SegmentArgs,
                description="Customers in one segment, the most typical first (profile ids; then get_customer)."),
        ]
        if allow_writes:
            out.append(StructuredTool.from_function(
                coroutine=tools.publish_segment, name="publish_segment", args_schema=SegmentArgs,
                description="WRITE: publish a segment's membership to the CDP (traits.ai.segments). Only when "
                            "the user explicitly asks to publish."))
    if tools.predictions is not None:
        out.append(StructuredTool.from_function(
            coroutine=tools.customer_predictions, name="customer_predictions", args_schema=CustomerArgs,
            description="A customer's predicted behaviour (purchase, churn, lifetime value, custom events): "
                        "probability or value, percentile and tier, the reasons (drivers), and how good each "
                        "model is (quality in words, holdout AUC, warnings)."))
    return out
