"""What an MCP tool answered, as text: our tools answer with one text block of JSON."""

from __future__ import annotations

from typing import Any


def tool_text(result: Any) -> str:
    from mcp.types import TextContent

    block = result.content[0]
    assert isinstance(block, TextContent), type(block)
    return block.text
