"""PostgreSQL cannot store NUL characters in text or jsonb; whatever reaches the state layer (requests, profile
traits, event properties) goes through here first, so one stray \\u0000 is dropped instead of failing a write."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, model_validator

from app.errors import InvalidRequestError
from profiles.paths import nesting_exceeds

MAX_JSON_DEPTH = 64  # nesting a request (or a push) may have; checked before anything recurses into it


def parse_json_body(raw: bytes) -> Any:
    """Strict JSON: NaN and Infinity are refused (they are not JSON), and so is nesting past MAX_JSON_DEPTH."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequestError.worded("body_not_json", reason=str(exc)[:120]) from None
    if nesting_exceeds(value, MAX_JSON_DEPTH):
        raise InvalidRequestError.worded("body_too_deep", most=MAX_JSON_DEPTH)
    return value


def without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value


class Request(BaseModel):
    """Base of every request body: NUL characters are removed before validation; NaN and Infinity are refused
    (the CLI and notebooks build these models without going through JSON)."""

    model_config = ConfigDict(allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _drop_nul(cls, data: Any) -> Any:
        return without_nul(data)

