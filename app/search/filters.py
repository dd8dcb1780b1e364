"""Filters from users (CLI `--filter key=value`, HTTP JSON) to index conditions, validated."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from app.errors import InvalidRequestError
from embeddings.index import Condition

_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}$")
_EXPR = re.compile(r"^\s*([^=<>!]+?)\s*(>=|<=|!=|=|>|<)\s*(.*?)\s*$")
# Top-level payload fields; any other key is taken as a trait (`plan=gold` means `traits.plan=gold`).
PAYLOAD_FIELDS = {"profile_id", "traits", "data", "segments", "event_count", "event_types", "counts", "active_days",
                  "first_seen", "last_seen", "spend_total", "purchases", "rating_mean", "top", "source",
                  "source_version", "updated_at", "ai"}
_OPS = {">=": "gte", "<=": "lte", ">": "gt", "<": "lt"}
MAX_FILTERS = 20


def count_before_parsing(value: object) -> object:
    """Pydantic `before` validator: refuse more than MAX_FILTERS filters before any of them is looked at."""
    if isinstance(value, dict | list) and len(value) > MAX_FILTERS:
        raise ValueError(f"at most {MAX_FILTERS} filters")
    return value


def _key(key: str) -> str:
    key = key.strip()
    if not _KEY.match(key) or ".." in key:
        raise InvalidRequestError.worded("invalid_filter_field", field=key[:200])
    return key if key.split(".", 1)[0] in PAYLOAD_FIELDS else f"traits.{key}"


def _finite(value: float, key: str) -> float:
    if not math.isfinite(value):  # `event_count>=NaN` compared with nothing and was silently ignored
        raise InvalidRequestError.worded("filter_not_finite", field=key, raw=value)
    return value


def _range_value(raw: Any, key: str) -> float | str:
    if isinstance(raw, bool):
        raise InvalidRequestError.worded("filter_range_value", field=key, raw=raw)
    if isinstance(raw, int | float):
        return _finite(float(raw), key)
    text = str(raw).strip()[:100]
    try:
        return _finite(float(text), key)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequestError.worded("filter_not_number_or_date", field=key,
                                         raw=raw[:100] if isinstance(raw, str) else raw) from None
    return dt.isoformat() if dt.tzinfo else dt.isoformat() + "Z"


def parse_expression(expr: str) -> Condition:
    """`traits.plan=gold`, `traits.plan!=free` (set, and none of these), `event_count>=10`,
    `last_seen>=2024-01-01`, `segments=a,b` (any of)."""
    m = _EXPR.match(expr)
    if not m:
        raise InvalidRequestError.worded("invalid_filter", expr=expr[:200])
    key, op, value = _key(m.group(1)), m.group(2), m.group(3)
    if op in ("=", "!="):
        parts = [v.strip() for v in value.split(",")] if "," in value else [value]
        return Condition(key, "eq" if op == "=" else "ne", parts if len(parts) > 1 else parts[0])
    return Condition(key, "range", {_OPS[op]: _range_value(value, key)})


def parse_filters(filters: Any) -> list[Condition]:
    """HTTP form: {"traits.plan": "gold", "event_count": {"gte": 10}, "segments": ["a", "b"],
    "traits.contract": {"not": "Month-to-month"}} or a list of CLI-style expressions."""
    if filters in (None, {}, []):
        return []
    out: list[Condition] = []
    if isinstance(filters, list):
        if not all(isinstance(f, str) for f in filters):
            raise InvalidRequestError.worded("filters_list_strings")
        out = [parse_expression(f) for f in filters]
    elif isinstance(filters, dict):
        for raw_key, value in filters.items():
            key = _key(str(raw_key))
            if isinstance(value, float):
                _finite(value, key)
            if isinstance(value, dict) and set(value) == {"not"}:
                excluded = value["not"]
                if isinstance(excluded, list) and excluded and all(isinstance(v, str | int | bool) for v in excluded):
                    out.append(Condition(key, "ne", list(excluded)))
                elif isinstance(excluded, str | int | float | bool):
                    out.append(Condition(key, "ne", excluded))
                else:
                    raise InvalidRequestError.worded("filter_not_values", field=key)
            elif isinstance(value, dict):
                bad = set(value) - {"gte", "gt", "lte", "lt"}
                if bad or not value:
                    raise InvalidRequestError.worded("filter_range_ops", field=key,
                                                      ops=", ".join(sorted(str(b)[:20] for b in bad)[:5]) or "-")
                bounds = {op: _range_value(v, key) for op, v in value.items()}
                if len({type(v) for v in bounds.values()}) > 1:
                    raise InvalidRequestError.worded("filter_mixed_range", field=key)
                out.append(Condition(key, "range", bounds))
            elif isinstance(value, list):
                if not value or not all(isinstance(v, str | int | bool) for v in value):
                    raise InvalidRequestError.worded("filter_list_values", field=key)
                out.append(Condition(key, "eq", list(value)))
            elif isinstance(value, str | int | float | bool):
                out.append(Condition(key, "eq", value))
            else:
                raise InvalidRequestError.worded("filter_value", field=key, raw=str(value)[:100])
    else:
        raise InvalidRequestError.worded("filters_shape")
    if len(out) > MAX_FILTERS:
        raise InvalidRequestError.worded("too_many_filters", n=MAX_FILTERS)
    return out
