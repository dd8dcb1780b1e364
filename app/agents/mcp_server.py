"""The MCP server (official `mcp` SDK): the same customer tools for any MCP client. `profile-ai mcp` serves
it on stdio. Read-only by default: tools that change state are registered only when configured."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from app.agents.tools import MAX_RESULTS, CustomerTools

INSTRUCTIONS = ("Customer data of a CDP (Tracardi). Start with search_customers (describe the customers in words), "
                "then get_customer for details or similar_customers for lookalikes. Contact details are never "
                "returned.")


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

    if allow_writes and sync is not None:
        @server.tool(description="Start a sync of customer profiles from the configured source (write: changes "
                                 "the index). Returns the sync status.")
        async def start_sync(full: bool = False) -> dict[str, Any]:
            return sync.start(None, full).model_dump()  # type: ignore[no-any-return]

    return server
