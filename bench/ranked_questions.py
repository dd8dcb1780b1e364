"""Benchmark: agents' "who first" questions by a stored number ("the 10 customers who spent the most", "los
clientes más antiguos"), in English and Spanish, each answer checked against the export read directly.

Method: the shop of bench/event_questions.py (N profiles of bench/large_export.py, seed 11, synced under `en` and,
renamed as a Spanish company's Tracardi holds it, under `multi`; the sync's encoder a stand-in, questions read with
the real model). Each question goes to the agent tool `rank_customers`; it scores when its profile ids, in order,
are the export's: the profiles ranked by the rule's value over their raw events (spend: the purchases' values;
first / last seen: their first / last event; an event type's count, about a value or in a window where asked;
the time of the first or last such event),
ties by profile id, as many as asked. The same questions put to `search_customers` (what an agent had before
`rank_customers`) are reported as how many of its hits are among the export's top N. Also printed: each
ranking's seconds (the first question of a process builds the population columns).
Run: .venv/bin/python bench/ranked_questions.py [--profiles 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.event_questions import ask  # noqa: E402
from bench.large_export import profile_records, write_large_export  # noqa: E402

Event = tuple[str, datetime, dict[str, Any]]
Rule = Callable[[list[Event], dict[str, Any]], float | None]


def _n(events: list[Event], etype: str = "purchase-order", since: datetime | None = None,
       category: str | None = None) -> float:
    return float(sum(1 for t, at, p in events if t == etype and (since is None or at >= since)
                     and (category is None or p.get("category") == category)))


def questions(now: datetime) -> list[tuple[str, str, int, bool, Rule]]:
    """(English, Spanish, how many, highest first, the value each profile is ranked by; None: not ranked)."""
    year = now.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)

    def spend(e: list[Event], t: dict[str, Any]) -> float:
        return round(sum(p["value"] for k, _, p in e if k == "purchase-order"), 2)

    return [
        ("the 10 customers who spent the most", "los 10 clientes que más gastaron", 10, True, spend),
        ("the 10 customers with the most purchases", "los 10 clientes con más compras", 10, True,
         lambda e, t: _n(e)),
        ("our 10 most active customers", "los 10 clientes más activos", 10, True, lambda e, t: float(len(e))),
        ("the 10 newest customers", "los 10 clientes más nuevos", 10, True,
         lambda e, t: min(at for _, at, _ in e).timestamp() if e else None),
        ("the 10 customers who have been inactive the longest", "los 10 clientes que llevan más tiempo sin actividad",
         10, False, lambda e, t: max(at for _, at, _ in e).timestamp() if e else None),
        ("the 10 customers with the most page views", "los 10 clientes con más visitas a la página", 10, True,
         lambda e, t: _n(e, "page-view")),
        ("the 10 customers who opened the most support tickets", "los 10 clientes con más incidencias abiertas", 10,
         True, lambda e, t: _n(e, "ticket-opened")),
        ("the 10 customers who bought the most shoes", "los 10 clientes que más zapatos compraron", 10, True,
         lambda e, t: _n(e, category="shoes")),
        ("the 10 customers who bought the most this year", "los 10 clientes que más compraron este año", 10, True,
         lambda e, t: _n(e, since=year)),
        ("the 10 customers from Spain who spent the most", "los 10 clientes de España que más gastaron", 10, True,
         lambda e, t: spend(e, t) if t.get("country") == "ES" else None),
        ("the 5 gold tier customers with the most purchases", "los 5 clientes de nivel oro con más compras", 5, True,
         lambda e, t: _n(e) if (t.get("loyalty") or {}).get("tier") == "gold" else None),
        ("the 10 customers who added the most items to the cart", "los 10 clientes que más añadieron al carrito", 10,
         True, lambda e, t: _n(e, "add-to-cart")),
        ("the 10 customers who spent the most on shoes", "los 10 clientes que más gastaron en zapatos", 10, True,
         lambda e, t: round(sum(p["value"] for k, _, p in e if k == "purchase-order" and p.get("category") == "shoes"),
                            2) or None),
        ("the first 10 customers to buy shoes", "los 10 primeros en comprar zapatos", 10, False,
         lambda e, t: min((at.timestamp() for k, at, p in e if k == "purchase-order" and p.get("category") == "shoes"),
                          default=None)),
        ("the 10 customers who bought most recently", "los 10 clientes que compraron más recientemente", 10, True,
         lambda e, t: max((at.timestamp() for k, at, _ in e if k == "purchase-order"), default=None)),
        # the longest since the last purchase, the last carts abandoned, a verb before "más" (added 2026-12-06)
        ("the 10 customers who have not bought for the longest time", "los 10 clientes que llevan más tiempo sin comprar",
         10, False, lambda e, t: max((at.timestamp() for k, at, _ in e if k == "purchase-order"), default=None)),
        ("the 10 customers who abandoned their cart most recently",
         "los 10 clientes que abandonaron el carrito más recientemente", 10, True, _abandoned_at),
        ("the 10 customers who bought the most bags this year", "los 10 clientes que compraron más bolsos este año", 10,
         True, lambda e, t: _n(e, since=year, category="bags")),
        # ratings of a score (added 2026-12-07; the Spanish shop's rating type is learned from its events)
        ("the 10 customers who gave the most 5-star ratings", "los 10 clientes que dieron más valoraciones de 5 estrellas",
         10, True, lambda e, t: float(sum(1 for k, _, p in e if k == "content-rated" and p.get("rating") == 5)) or None),
    ]


def _abandoned_at(e: list[Event], t: dict[str, Any]) -> float | None:
    """The last cart event's time, where no purchase came after it."""
    cart = max((at for k, at, _ in e if k == "add-to-cart"), default=None)
    bought = max((at for k, at, _ in e if k == "purchase-order"), default=None)
    return cart.timestamp() if cart is not None and (bought is None or bought < cart) else None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profiles", type=int, default=1000)
    a = ap.parse_args()
    events: dict[str, list[Event]] = defaultdict(list)
    traits: dict[str, dict[str, Any]] = {}
    for profile, history in profile_records(a.profiles, 20.0, seed=11):
        traits[profile["id"]] = profile["traits"]
        for e in history:
            events[profile["id"]].append((e["type"], datetime.fromisoformat(e["metadata"]["time"]["insert"]),
                                          e["properties"]))
    now = max(at for history in events.values() for _, at, _ in history)
    asked = questions(now)
    truth = []
    for *_, n, descending, rule in asked:
        values = {pid: v for pid in traits if (v := rule(events[pid], traits[pid])) is not None}
        truth.append(sorted(values, key=lambda p: (-values[p] if descending else values[p], p))[:n])
    with tempfile.TemporaryDirectory() as tmp:
        for language, column, spanish in (("en", 0, False), ("multi", 1, True)):
            export = Path(tmp) / f"export-{language}"
            write_large_export(export, a.profiles, 20.0, seed=11, spanish=spanish)
            said = [q[column] for q in asked]
            seconds: list[float] = []
            ranked = asyncio.run(ask(export, Path(tmp) / f"data-{language}", language, said, "rank_customers",
                                     seconds))
            searched = asyncio.run(ask(export, Path(tmp) / f"data-{language}", language, said, "search_customers"))
            right, overlap = 0, []
            for q, answer, hits, best in zip(said, ranked, searched, truth, strict=True):
                ids = [r["profile_id"] for r in answer["ranked"]]
                right += ids == best
                found = [r["profile_id"] for r in hits["results"]][:len(best)]
                overlap.append(len(set(found) & set(best)))
                print(f"[{language}] {q!r}: {'ok' if ids == best else 'WRONG'} by {answer['ranked_by']['field']} "
                      f"{answer['ranked_by']['order']}{' about ' + str(answer['ranked_by']['about']) if 'about' in answer['ranked_by'] else ''}"
                      f", group {answer['in_group']:,}; search_customers had {overlap[-1]} of its {len(best)}")
            print(f"{language}: rank_customers {right} of {len(asked)} equal to the export; search_customers's hits "
                  f"held {sum(overlap)} of {sum(len(b) for b in truth)} of the export's top profiles; seconds a "
                  f"ranking: first {seconds[0]:.3f}, median of the rest {statistics.median(seconds[1:]):.3f}, "
                  f"max of the rest {max(seconds[1:]):.3f}")


if __name__ == "__main__":
    main()
