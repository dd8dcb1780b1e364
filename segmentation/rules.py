"""Rule export: membership approximated by a shallow decision tree, written as Tracardi TQL and SQL.

The tree's leaves that are mostly members become OR-ed clauses of AND-ed conditions. Two rules are learned:
one over every attribute (SQL over `profile_ai.profile_features f`) and one over the attributes Tracardi's
own profile holds (TQL: traits and data), since a TQL condition cannot see our aggregates. Each rule carries
its precision and recall against the real membership, measured by evaluating the rule as rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.tree import DecisionTreeClassifier

from segmentation.attributes import Attribute, AttributeTable, tql_str

Condition = tuple[int, str, float]  # attribute index, "<=" | ">", threshold


@dataclass
class Rule:
    clauses: list[list[Condition]] = field(default_factory=list)  # OR of ANDs
    attributes: list[Attribute] = field(default_factory=list)
    precision: float = 0.0
    recall: float = 0.0

    def evaluate(self, X: np.ndarray) -> np.ndarray:
        out = np.zeros(X.shape[0], dtype=bool)
        for clause in self.clauses:
            ok = np.ones(X.shape[0], dtype=bool)
            for j, op, t in clause:
                col = X[:, j]
                with np.errstate(invalid="ignore"):
                    ok &= (col <= t) if op == "<=" else (col > t)  # NaN compares false, as NULL does in SQL
            out |= ok
        return out

    def _render(self, cond: Condition, tql: bool) -> str:
        j, op, t = cond
        a = self.attributes[j]
        if a.kind == "flag":
            holds = op == ">"
            if tql:
                return f'{a.tql} {"=" if holds else "!="} {tql_str(a.value or "")}'
            return f"({a.sql})" if holds else f"NOT COALESCE({a.sql}, false)"
        num = f"{t:.4g}"
        return f"{a.tql} {op} {num}" if tql else f"({a.sql}) {op} {num}"

    def sql(self) -> str:
        if not self.clauses:
            return "false"
        return " OR ".join("(" + " AND ".join(self._render(c, False) for c in cl) + ")" for cl in self.clauses)

    def tql(self) -> str | None:
        if not self.clauses:
            return None
        if any(self.attributes[j].tql is None for cl in self.clauses for j, _, _ in cl):
            return None
        return " OR ".join("(" + " AND ".join(self._render(c, True) for c in cl) + ")" for cl in self.clauses)

    def as_dict(self, tql: bool) -> dict[str, Any]:
        return {"tql" if tql else "sql": self.tql() if tql else self.sql(),
                "precision": round(self.precision, 3), "recall": round(self.recall, 3),
                "conditions": sum(len(c) for c in self.clauses)}


def _simplify(path: list[Condition]) -> list[Condition]:
    """Keep the tightest bound per attribute and direction."""
    best: dict[tuple[int, str], float] = {}
    for j, op, t in path:
        key = (j, op)
        if key not in best:
            best[key] = t
        else:
            best[key] = min(best[key], t) if op == "<=" else max(best[key], t)
    return [(j, op, t) for (j, op), t in best.items()]


def extract_rule(table: AttributeTable, member: np.ndarray, *, tql_only: bool = False, max_depth: int = 3,
                 random_state: int | None = 0) -> Rule:
    """Fit the tree on the allowed attributes and read the member leaves off it."""
    allowed = [j for j, a in enumerate(table.attributes) if not tql_only or a.tql is not None]
    rule = Rule(attributes=table.attributes)
    if not allowed or member.all() or not member.any():
        return rule
    X = table.X[:, allowed]
    tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=max(5, len(member) // 200),
                                  random_state=random_state).fit(X, member)
    t = tree.tree_
    # NaN support: where missing values go is not expressible as one comparison; such splits keep the
    # rendered semantics (NULL fails both sides) and the measured precision/recall tell the truth.
    leaves: list[tuple[float, int, list[Condition]]] = []

    def walk(node: int, path: list[Condition]) -> None:
        if t.children_left[node] == -1:
            counts = t.value[node][0]
            frac = counts[1] / counts.sum() if counts.sum() else 0.0
            leaves.append((float(frac), int(t.n_node_samples[node]), path))
            return
        j = allowed[int(t.feature[node])]
        thr = float(t.threshold[node])
        walk(int(t.children_left[node]), [*path, (j, "<=", thr)])
        walk(int(t.children_right[node]), [*path, (j, ">", thr)])

    walk(0, [])
    chosen = [p for frac, _, p in leaves if frac > 0.5]
    if not chosen:
        chosen = [max(leaves, key=lambda x: (x[0], x[1]))[2]]
    rule.clauses = [_simplify(p) for p in chosen if p]
    pred = rule.evaluate(table.X)
    tp = float((pred & member).sum())
    rule.precision = tp / pred.sum() if pred.sum() else 0.0
    rule.recall = tp / member.sum()
    return rule
