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
from pydantic import ConfigDict, Field

from app.agents.tools import CustomerTools, available_tools
from embeddings.encoder import Encoder


class ProfileEmbeddings(Embeddings):
    """The same vectors the index holds (normalised), for LangChain vector stores and evaluators."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = self.encoder.encode(texts).tolist()
        return vectors

    def embed_query(self, text: str) -> list[float]:
        vector: list[float] = self.encoder.encode_query(text).tolist()
        return vector

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


def customer_tools(tools: CustomerTools, *, allow_writes: bool = False) -> list[StructuredTool]:
    """The agent's tools, from the one registry (tools.TOOLS): the same names, descriptions and argument schemas
    as the MCP server; segment and prediction tools when the services are there, writes only if allowed."""
    return [StructuredTool.from_function(coroutine=spec.bound(tools), name=spec.name, description=spec.description)
            for spec in available_tools(tools, allow_writes=allow_writes)]
