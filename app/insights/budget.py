"""Answers that fit an agent's context: every answer is measured with one stated rule and trimmed from the end
of its rows until it fits, saying how many rows were left out and where the next page starts."""

from __future__ import annotations

import json
import math
from typing import Any

from app.errors import InvalidRequestError

TOKEN_RULE = "tokens = ceil(characters of the compact JSON answer / 4)"
DEFAULT_MAX_TOKENS = 2000
MAX_MAX_TOKENS = 50_000


def tokens(answer: Any) -> int:
    text = json.dumps(answer, ensure_ascii=False, separators=(",", ":"), default=str)
    return math.ceil(len(text) / 4)


def fit(answer: dict[str, Any], rows: str, max_tokens: int, *, offset: int = 0) -> dict[str, Any]:
    """`answer` with its list `rows` cut from the end until the whole answer (budget note included) is within
    `max_tokens`; the note says how many rows were left out and the offset of the next page. When not even one row
    fits, a one-line error says what one row needs, rather than an empty answer."""
    if not 1 <= max_tokens <= MAX_MAX_TOKENS:
        raise InvalidRequestError.worded("max_tokens_range", most=MAX_MAX_TOKENS)
    items = list(answer.get(rows) or [])
    total = len(items)

    def shaped(keep: int) -> dict[str, Any]:
        out = {**answer, rows: items[:keep]} if rows in answer else dict(answer)
        out["budget"] = {"max_tokens": max_tokens, "rule": TOKEN_RULE, "used": 0, "omitted": total - keep,
                         "next_offset": offset + keep if keep < total else None}
        out["budget"]["used"] = tokens(out)
        out["budget"]["used"] = tokens(out)  # the count's own digits are part of the answer
        return out

    lo, hi = 0, total  # the largest number of rows that fits: more rows never cost fewer tokens
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if shaped(mid)["budget"]["used"] <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    best = shaped(lo)
    if best["budget"]["used"] > max_tokens or (lo == 0 and total > 0):
        need = shaped(min(1, total))["budget"]["used"]
        raise InvalidRequestError.worded("max_tokens_too_small", max_tokens=max_tokens, need=need)
    return best
