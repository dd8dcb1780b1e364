"""API keys as the API shows them (the secret only once, at creation)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.sanitize import Request


class KeyRequest(Request):
    scope: Literal["read", "write", "admin"]
    name: str = Field("", max_length=200)
    expires_in: str | None = Field(None, max_length=20, description="a lifetime such as 30m, 12h, 90d or 8w; "
                                   "none: the key lives until it is revoked")


class KeyInfo(BaseModel):
    key_id: str
    name: str
    scope: str
    created_at: str
    last_used_at: str | None = None
    revoked_at: str | None = None
    expires_at: str | None = None


class CreatedKey(KeyInfo):
    key: str = Field(description="the API key: shown this once, store it now")


class KeyList(BaseModel):
    keys: list[KeyInfo]
