"""The MCP server (official `mcp` SDK): the same customer tools for any MCP client. `profile-ai mcp` serves
it on stdio. Read-only by default: tools that change state are registered only when configured."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from app.agents.tools import MAX_RESULTS, CustomerTools

INSTRUCTIONS = ("Customer data of a CDP (Tracardi). Start with search_customers (describe the customers in words), "
                "then get_customer for details or similar_customers for lookalikes; list_segments and segment_members for "
                "segments; customer_predictions for predicted behaviour. Contact details are never returned.")


def build_mcp_server(tools: CustomerTools, *, allow_writes: bool = False, sync: Any = None) -> MCPServer:
    server = MCPServer(name="profile-ai", instructions=INSTRUCTIONS, version="0.1.0")

    @server.tool(description="Find customers by meaning: describe behaviour, tastes or situation in words "
                             "(e.g. 'customers who complain about delivery'). Optional filters, each 'KEY=VALUE' "
                             f"or 'KEY>=N', e.g. ['traits.plan=gold']. limit 1-{MAX_RESULTS}.")
    async def search_customers(query: str, limit: int = 10, filters: list[str] | None = None) -> dict[str, Any]:
        return await tools.search_customers(query, limit, filters)

    @server.tool(description="A customer's card by profile id: activity summary, traits (no contact details), "
                             "counts, first/last seen, spend. A merged id answers with the survivor.")
    async def get_customer(profile_id: str) -> dict[str, Any]:
        return await tools.get_customer(profile_id)

    @server.tool(description=f"Lookalikes of a customer, most similar first, with similarity percentiles. "
                             f"limit 1-{MAX_RESULTS}.")
    async def similar_customers(profile_id: str, limit: int = 10) -> dict[str, Any]:
        return await tools.similar_customers(profile_id, limit)

    if tools.segments is not None:
        @server.tool(description="The customer segments marketers work with: name, size, share, description and "
                                 "the features that set each apart.")
        async def list_segments() -> dict[str, Any]:
            return await tools.list_segments()

        @server.tool(description=f"Customers in one segment (segment_id from list_segments), most typical first. "
                                 f"limit 1-{MAX_RESULTS}.")
        async def segment_members(segment_id: str, limit: int = 10) -> dict[str, Any]:
            return await tools.segment_members(segment_id, limit)

        if allow_writes:
            @server.tool(description="WRITE: publish a segment's membership to the CDP (traits.ai.segments). "
                                     "Only when the user explicitly asks to publish.")
            async def publish_segment(segment_id: str) -> dict[str, Any]:
                return await tools.publish_segment(segment_id)

    if tools.predictions is not None:
        @server.tool(description="A customer's predicted behaviour (purchase, churn, lifetime value, custom "
                                 "events): probability or value, percentile, tier, drivers, and each model's "
                                 "quality in words with its holdout metrics and warnings.")
        async def customer_predictions(profile_id: str) -> dict[str, Any]:
            return await tools.customer_predictions(profile_id)

    if allow_writes and sync is not None:
        @server.tool(description="Start a sync of customer profiles from the configured source (write: changes "
                                 "the index). Returns the sync status.")
        async def start_sync(full: bool = False) -> dict[str, Any]:
            return sync.start(None, full).model_dump()  # type: ignore[no-any-return]

    return server
