"""The MCP server (official `mcp` SDK): the same customer tools for any MCP client. `profile-ai mcp` serves
it on stdio. Read-only by default: tools that change state are registered only when configured. The tools
come from the one registry in tools.py (TOOLS), with MCP annotations (read-only, idempotent) from it."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

from app.agents.tools import CustomerTools, available_tools

INSTRUCTIONS = ("Customer data of a CDP (Tracardi). Start with search_customers (describe the customers in words), "
                "then get_customer for details or similar_customers for lookalikes; list_segments and segment_members for "
                "segments; customer_predictions for predicted behaviour. Business questions, answered exactly where the "
                "data allows: count_customers (how many, what share), rank_customers (who spent the most, the newest, "
                "the first to buy something), top_customers (most likely to churn or buy, by a model), "
                "describe_customers (what a group has in common, why they churn). Questions may be asked in English or "
                "Spanish, as a person would. Contact details are never returned.")


def build_mcp_server(tools: CustomerTools, *, allow_writes: bool = False, sync: Any = None) -> MCPServer:
    server = MCPServer(name="profile-ai", instructions=INSTRUCTIONS, version="0.1.0")
    for spec in available_tools(tools, allow_writes=allow_writes):
        server.add_tool(spec.bound(tools), name=spec.name, title=spec.title, description=spec.description,
                        annotations=ToolAnnotations(title=spec.title, read_only_hint=not spec.writes,
                                                    destructive_hint=False, idempotent_hint=True,
                                                    open_world_hint=spec.writes))
    if allow_writes and sync is not None:
        async def start_sync(full: bool = False) -> dict[str, Any]:
            started: dict[str, Any] = (await sync.start(None, full)).model_dump()
            return started

        server.add_tool(start_sync, name="start_sync", title="Start a sync",
                        description="Start a sync of customer profiles from the configured source (write: changes "
                                    "the index). Returns the sync status.",
                        annotations=ToolAnnotations(title="Start a sync", read_only_hint=False, destructive_hint=False,
                                                    idempotent_hint=True, open_world_hint=True))
    return server
