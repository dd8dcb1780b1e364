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

