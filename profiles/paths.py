"""Reading nested profile data by dotted path: the helpers every layer shares."""

from __future__ import annotations

from typing import Any


def flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted path, leaf) for every leaf of nested dicts, keys sorted; a non-dict is its own leaf."""
    if not isinstance(value, dict):
        return [(prefix, value)] if prefix else []
    out: list[tuple[str, Any]] = []
    for k in sorted(value, key=str):
        out.extend(flatten(value[k], f"{prefix}.{k}" if prefix else str(k)))
    return out


def get_path(obj: Any, path: str) -> Any:
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.replace(",", "").strip())
        except ValueError:
            return None
    return None
