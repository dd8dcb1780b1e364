"""Reading nested profile data by dotted path: the helpers every layer shares."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def index_key(key: str) -> str | None:
    """One key as a part of the index's JSON path: plain when it is letters, digits, `_` and `-`, else quoted
    (`"loyalty'score"`, `"a.b"`, `"ñandú"`). Qdrant's path grammar has no escape inside quotes, so a key holding
    a `"` (or a control character) cannot be addressed at all: None."""
    if _PLAIN_KEY.fullmatch(key):
        return key
    if not key or '"' in key or "\\" in key or _CONTROL.search(key):
        return None
    return f'"{key}"'


MAX_DEPTH = 32  # nesting a record may have (Elasticsearch, under Tracardi, refuses objects past 20 levels)


def nesting_exceeds(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether `value` nests dicts and lists deeper than `limit`, found without recursion (the depth of data
    from a request or from Tracardi is attacker-controlled; everything that recurses runs after this check)."""
    if not isinstance(value, dict | list):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:  # only containers are stacked: most values of a record are scalars, looked at once
        node, depth = stack.pop()
        if depth > limit:
            return True
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False


def flatten_addressable(value: Any, prefix: str) -> tuple[list[tuple[str, Any]], list[str]]:
    """Like `flatten`, but each path is one the index can filter on (odd keys quoted), plus the dotted paths of
    leaves no index path can name (left out of indexing and filtering)."""
    out: list[tuple[str, Any]] = []
    skipped: list[str] = []
    stack: list[tuple[Any, str, str]] = [(value, prefix, prefix)]
    while stack:  # iterative: a profile's nesting depth is attacker-controlled
        node, path, shown = stack.pop()
        if not isinstance(node, dict):
            out.append((path, node))
            continue
        for k in sorted(node, key=str, reverse=True):
            part = index_key(str(k))
            if part is None:
                skipped.append(f"{shown}.{k}")
                continue
            stack.append((node[k], f"{path}.{part}", f"{shown}.{k}"))
    return out, skipped


def last_key(path: str) -> str:
    """The last key of an index path, unquoted: `traits."a.b"` -> `a.b`, `traits.plan` -> `plan`."""
    if path.endswith('"'):
        return path[path.rindex('"', 0, len(path) - 1) + 1:-1]
    return path.rsplit(".", 1)[-1]


def flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted path, leaf) for every leaf of nested dicts, keys sorted; a non-dict is its own leaf."""
    if not isinstance(value, dict):
        return [(prefix, value)] if prefix else []
    out: list[tuple[str, Any]] = []
    for k in sorted(value, key=str):
        out.extend(flatten(value[k], f"{prefix}.{k}" if prefix else str(k)))
    return out


def get_path(obj: Any, path: str) -> Any:
    return get_parts(obj, path.split("."))


def get_parts(obj: Any, parts: Sequence[str]) -> Any:
    """`get_path` with the path already split (a hot loop splits it once)."""
    cur = obj
    for part in parts:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


# a number as a person writes it: "1,234.50" (English), "1.234,50" / "49,90" (Spanish), "1 234,5"; a sign first
_WRITTEN_NUMBER = re.compile(r"[+-]?(?:\d{1,15}|\d{1,3}(?:[ ,.\u00a0\u202f]\d{3}){1,5})(?:[.,]\d{1,15})?")
_CURRENCY = "€$£¥ \t\u00a0\u202f"


def as_number(value: Any) -> float | None:
    """A number, or a string that writes one (None for anything else). A lone comma before one, two or four and
    more digits is a decimal comma ("49,90", what a Spanish form sends); before exactly three it is a thousands
    separator ("1,234"), as is a dot where a comma follows ("1.234,50"), and where several dots group ("1.234.567").
    Currency signs around it are dropped ("49,90 €")."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str) or len(value) > 64:
        return None
    text = value.strip(_CURRENCY)
    if not _WRITTEN_NUMBER.fullmatch(text):
        return None
    text = text.replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    comma, dot = text.rfind(","), text.rfind(".")
    if comma >= 0 and dot >= 0:  # the later of the two marks the decimals
        text = text.replace(".", "").replace(",", ".") if comma > dot else text.replace(",", "")
    elif comma >= 0:
        decimals = len(text) - comma - 1
        text = text.replace(",", ".") if text.count(",") == 1 and decimals != 3 else text.replace(",", "")
    elif text.count(".") > 1:
        text = text.replace(".", "")
    try:
        return float(text)
    except ValueError:
        return None
