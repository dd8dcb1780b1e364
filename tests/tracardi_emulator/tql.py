"""The subset of Tracardi's query languages that clients send in `where`.

TQL (0.8.2+ default, `?query_type=tql` before): `a.b = "x"`, `!=`, `>=`, `<=`, `>`, `<`,
`x BETWEEN "a" AND "b"`, `f EXISTS`, `f NOT EXISTS`, `f = NULL`, `TRUE`/`FALSE`, numbers, `*` wildcard in
strings, `AND`, `OR`, `NOT`, parentheses. Lucene `query_string` (0.7-0.8.1 default): `field:value`,
`field:"value"` joined by AND/OR. A parse error raises `QueryError` (Tracardi answers it with a 500).

Version strictness (`Dialect`), each read from Tracardi's source (LIB = github Tracardi/tracardi):
- `*` is a wildcard only from 0.8.2 (`tracardi/process_engine/tql/domain/elastic_condition.py` picks a
  `wildcard` query when the string holds `*`); before, it is a term query for the literal string.
- On <= 0.8.1 `and_expr` merges its operands with `append_or_value` (`tql/transformer/filter_transformer.py`,
  `tql/utils/value_compressions.py`): an operand that is itself an AND raises a KeyError (HTTP 500), and an
  OR operand is flattened into the conjunction (so `(A OR B) AND C` means `A AND B AND C`).
- String literals are taken as written between the quotes (`OP_STRING` strips `"`), never unescaped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]


class QueryError(ValueError):
    pass


_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<op>>=|<=|!=|=|>|<|:)|(?P<lp>\()|(?P<rp>\))|(?P<word>[^\s()=<>!:"]+))'
)
_MISSING = object()


def get_path(doc: dict[str, Any], path: str) -> Any:
    cur: Any = doc
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            return _MISSING
    return cur


def _as_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) < 10 or value[4:5] != "-":
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    # Naive times are UTC (Tracardi before 0.8.2 stored them so).
    return dt if dt.tzinfo is None else dt.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Dialect:
    wildcard: bool = True  # 0.8.2+
    nested_and: bool = True  # 0.8.2+


def _compare(left: Any, op: str, right: Any, wildcard: bool = True) -> bool:
    if isinstance(left, list):
        return any(_compare(item, op, right, wildcard) for item in left)
    if op in ("=", "!="):
        if wildcard and isinstance(right, str) and "*" in right and isinstance(left, str):
            hit = fnmatchcase(left, right)
        elif isinstance(right, str) and not isinstance(left, str) and left is not None:
            hit = str(left).lower() == right.lower() if isinstance(left, bool) else str(left) == right
        else:
            hit = left == right
        return hit if op == "=" else not hit
    lt, rt = _as_time(left), _as_time(right)
    a, b = (lt, rt) if lt is not None and rt is not None else (left, right)
    try:
        if op == ">=":
            return bool(a >= b)
        if op == "<=":
            return bool(a <= b)
        if op == ">":
            return bool(a > b)
        if op == "<":
            return bool(a < b)
    except TypeError:
        return False
    raise QueryError(f"unknown operator {op}")


@dataclass
class Condition:
    field: str
    op: str
    value: Any = None
    upper: Any = None
    wildcard: bool = True

    def __call__(self, doc: dict[str, Any]) -> bool:
        left = get_path(doc, self.field)
        if self.op == "EXISTS":
            return left is not _MISSING and left is not None
        if self.op == "NOT EXISTS":
            return left is _MISSING or left is None
        if self.value is None and self.op in ("=", "!="):
            missing = left is _MISSING or left is None
            return missing if self.op == "=" else not missing
        if left is _MISSING or left is None:
            return self.op == "!="
        if self.op == "BETWEEN":
            return _compare(left, ">=", self.value) and _compare(left, "<=", self.upper)
        return _compare(left, self.op, self.value, self.wildcard)


@dataclass
class BoolNode:
    kind: str  # AND | OR | NOT
    children: list[Any]

    def __call__(self, doc: dict[str, Any]) -> bool:
        if self.kind == "AND":
            return all(c(doc) for c in self.children)
        if self.kind == "OR":
            return any(c(doc) for c in self.children)
        return not self.children[0](doc)


class _Parser:
    def __init__(self, text: str, lucene: bool) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise QueryError(f"cannot parse query at {text[pos:pos + 20]!r}")
            pos = m.end()
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
        self.i = 0
        self.lucene = lucene

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise QueryError("unexpected end of query")
        self.i += 1
        return tok

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "word" and tok[1].upper() == word:
            self.i += 1
            return True
        return False

    def parse(self) -> Predicate:
        node = self.or_expr()
        if self.peek() is not None:
            raise QueryError(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return node

    def or_expr(self) -> Any:
        parts = [self.and_expr()]
        while self.keyword("OR"):
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else BoolNode("OR", parts)

    def and_expr(self) -> Any:
        parts = [self.not_expr()]
        while self.keyword("AND"):
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else BoolNode("AND", parts)

    def not_expr(self) -> Any:
        if self.keyword("NOT"):
            return BoolNode("NOT", [self.not_expr()])
        tok = self.peek()
        if tok and tok[0] == "lp":
            self.take()
            node = self.or_expr()
            if self.take()[0] != "rp":
                raise QueryError("missing ')'")
            return node
        return self.condition()

    def value(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return text[1:-1]  # Tracardi strips the quotes and never unescapes
        if kind != "word":
            raise QueryError(f"expected a value, got {text!r}")
        upper = text.upper()
        if upper == "TRUE":
            return True
        if upper == "FALSE":
            return False
        if upper == "NULL":
            return None
        try:
            return int(text)
        except ValueError:
            pass
        try:
            return float(text)
        except ValueError:
            pass
        if self.lucene:
            return text
        raise QueryError(f"unquoted value {text!r}")

    def condition(self) -> Condition:
        kind, field = self.take()
        if kind != "word":
            raise QueryError(f"expected a field name, got {field!r}")
        if self.lucene:
            if self.take() != ("op", ":"):
                raise QueryError("expected ':' in query_string")
            return Condition(field, "=", self.value())
        if self.keyword("EXISTS"):
            return Condition(field, "EXISTS")
        if self.keyword("NOT"):
            if not self.keyword("EXISTS"):
                raise QueryError("expected EXISTS after NOT")
            return Condition(field, "NOT EXISTS")
        if self.keyword("BETWEEN"):
            low = self.value()
            if not self.keyword("AND"):
                raise QueryError("expected AND in BETWEEN")
            return Condition(field, "BETWEEN", low, self.value())
        kind, op = self.take()
        if kind != "op" or op == ":":
            raise QueryError(f"expected an operator after {field!r}")
        return Condition(field, op, self.value())


def compile_query(text: str | None, *, lucene: bool = False, dialect: Dialect | None = None) -> Predicate | None:
    """Compile a `where` string; None or blank means match everything."""
    if text is None or not text.strip():
        return None
    pred = _Parser(text, lucene).parse()
    if dialect is not None and not lucene:
        pred = _legacy(pred, dialect)
    return pred


def _legacy(node: Any, dialect: Dialect) -> Any:
    """Apply the older releases' TQL behaviour to a parsed query (see the module docstring)."""
    if isinstance(node, Condition):
        node.wildcard = dialect.wildcard
        return node
    if not isinstance(node, BoolNode):
        return node
    children = [_legacy(c, dialect) for c in node.children]
    if node.kind == "AND" and not dialect.nested_and:
        if len(children) > 2 or any(isinstance(c, BoolNode) and c.kind == "AND" for c in children):
            raise LegacyAndError("KeyError: 'should' (an AND holding another AND, <= 0.8.1)")
        flat: list[Any] = []
        for c in children:  # an OR operand is flattened into the conjunction
            flat.extend(c.children if isinstance(c, BoolNode) and c.kind == "OR" else [c])
        children = flat
    return BoolNode(node.kind, children)


class LegacyAndError(QueryError):
    """What 0.7-0.8.1 raise for `A AND B AND C`: an uncaught KeyError, so an HTTP 500."""


def count_terms(pred: Predicate | None) -> int:
    """The comparisons a query holds: what Tracardi's Earley parser's cost grows with."""
    if isinstance(pred, Condition):
        return 1
    if isinstance(pred, BoolNode):
        return sum(count_terms(c) for c in pred.children)
    return 0


def equality_values(pred: Predicate | None, field: str) -> set[str] | None:
    """If the query can only match docs whose `field` equals one of a few values, return them.

    The emulator uses this as an index hint (Elasticsearch would use its term index); None = no hint.
    """
    if isinstance(pred, Condition):
        if pred.field == field and pred.op == "=" and isinstance(pred.value, str) and "*" not in pred.value:
            return {pred.value}
        return None
    if isinstance(pred, BoolNode):
        if pred.kind == "OR":
            out: set[str] = set()
            for child in pred.children:
                vals = equality_values(child, field)
                if vals is None:
                    return None
                out |= vals
            return out
        if pred.kind == "AND":
            for child in pred.children:
                vals = equality_values(child, field)
                if vals is not None:
                    return vals
    return None


def is_pure_equality(pred: Predicate | None, field: str | tuple[str, ...]) -> bool:
    """True when the query is exactly `field = v1 OR field = v2 ...` (no other condition)."""
    fields = (field,) if isinstance(field, str) else field
    if isinstance(pred, Condition):
        return pred.field in fields and pred.op == "=" and isinstance(pred.value, str) and "*" not in pred.value
    if isinstance(pred, BoolNode) and pred.kind == "OR":
        return all(is_pure_equality(c, fields) for c in pred.children)
    return False


def pure_equality_values(pred: Predicate | None) -> set[str]:
    """The values of a query that `is_pure_equality` accepted."""
    if isinstance(pred, Condition):
        return {str(pred.value)}
    if isinstance(pred, BoolNode):
        return set().union(*(pure_equality_values(c) for c in pred.children))
    return set()
