"""PostgreSQL cannot store NUL characters in text or jsonb; whatever reaches the state layer (requests, profile
traits, event properties) goes through here first, so one stray \\u0000 is dropped instead of failing a write."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, model_validator


def without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value


class Request(BaseModel):
    """Base of every request body: NUL characters are removed before validation."""

    @model_validator(mode="before")
    @classmethod
    def _drop_nul(cls, data: Any) -> Any:
        return without_nul(data)


class NulGuard:
    """ASGI: a NUL in a path or query string (ids, filters) is refused with 422 before it reaches a query."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            raw = (scope.get("raw_path") or scope["path"].encode()) + b"?" + (scope.get("query_string") or b"")
            if b"%00" in raw or b"\x00" in raw or "\x00" in scope["path"]:
                body = b'{"error":"invalid_request","detail":"NUL characters are not allowed in paths or queries"}'
                await send({"type": "http.response.start", "status": 422,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
