"""Benchmark: "how many customers rated horror movies", answered from the event log, at N profiles.

Method: a large export (bench/large_export.py: N profiles, about 50 events each, seven event types whose
properties hold categories, genres and topics) synced into Qdrant Edge and the embedded PostgreSQL with the encoder
replaced by a stand-in (fixed vectors: the figure is the event log's, not the model's), then given back, so
questions are read with the real model (the vocabulary's phrases are embedded by it). Then each question is
asked through the agent tool `count_customers`, --runs times after one warm-up, timed with time.perf_counter
around the awaited call (question understanding, the event log's pass over that type's rows, the count in the
index), and the answer is checked against the export read directly. Denied questions ("never bought shoes", "did
not buy anything in the last month") are everyone but those the log finds, counted with a `not_ids` condition;
"bought at least twice in the last 90 days" groups the log's rows by profile and counts them.
Reported: p50 / p99 and the event log's rows of that type.
Run: .venv/bin/python bench/event_about_latency.py [--profiles 20000] [--runs 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bench.common import stand_in_encode
from bench.large_export import write_large_export

# question -> (event type, property, values, days before the export's last event; denied: everyone else; at least
# this many such events) the answer is checked against; a windowed one counts from the day that many days before the
# latest event, as the product reads "in the last month" (30) and "in the last 90 days"
QUESTIONS: dict[str, tuple[str, str | None, set[str] | None, int | None, bool, int]] = {
    "how many customers rated horror movies?": ("content-rated", "genre", {"horror"}, None, False, 1),
    "how many customers bought shoes or bags?": ("purchase-order", "category", {"shoes", "bags"}, None, False, 1),
    "how many customers opened a support ticket about refunds?": ("ticket-opened", "topic", {"refund"}, None, False,
                                                                  1),
    "how many customers never bought shoes?": ("purchase-order", "category", {"shoes"}, None, True, 1),
    "how many customers did not buy anything in the last month?": ("purchase-order", None, None, 30, True, 1),
    # how often, in a window: the log's rows grouped by profile and counted
    "how many customers bought at least twice in the last 90 days?": ("purchase-order", None, None, 90, False, 2),
}


def expected(export: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Per question: the customers with such an event (or, denied, without), read from the export; per type: its
    events."""
    from datetime import date, datetime, timedelta

    who: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows: dict[str, int] = defaultdict(int)
    events = []
    with (export / "events.ndjson").open() as f:
        for line in f:
            e = json.loads(line)
            rows[e["type"]] += 1
            events.append((e["profile"]["id"], e["type"], e["properties"], e["metadata"]["time"]["insert"]))
    with (export / "profiles.ndjson").open() as f:
        everyone = {json.loads(line)["id"] for line in f}
    latest = max(datetime.fromisoformat(t) for *_, t in events).date()
    for q, (etype, prop, values, days, *_) in QUESTIONS.items():
        since = (latest - timedelta(days=days)).isoformat() if days else None
        for pid, t, props, at in events:
            if t == etype and (prop is None or props.get(prop) in (values or set())) and \
                    (since is None or date.fromisoformat(at[:10]) >= date.fromisoformat(since)):
                who[q][pid] += 1
    found = {q: {pid for pid, n in who[q].items() if n >= QUESTIONS[q][5]} for q in QUESTIONS}
    return {q: len(everyone - found[q]) if QUESTIONS[q][4] else len(found[q]) for q in QUESTIONS}, dict(rows)


async def run(export: Path, data: Path, runs: int) -> None:
    from app.config import Settings
    from app.container import Container

    c = await Container.create(Settings(data_dir=data))
    try:
        encode = c.sync.encoder.encode
        c.sync.encoder.encode = stand_in_encode(c.encoder.dim)  # type: ignore[method-assign]
        t = time.perf_counter()
        r = await c.sync.run(c.source(str(export)))
        print(f"synced {r.seen:,} profiles in {time.perf_counter() - t:.1f} s (encoder stand-in)")
        c.sync.encoder.encode = encode  # type: ignore[method-assign]  # questions are read with the real model
        c.search.invalidate(forget_phrases=True)
        truth, rows = expected(export)
        tools = c.agent_tools()
        for q, (etype, *_) in QUESTIONS.items():
            answer = await tools.count_customers(query=q)  # warm-up: the vocabulary is built once per sync
            laps = []
            for _ in range(runs):
                t = time.perf_counter()
                answer = await tools.count_customers(query=q)
                laps.append((time.perf_counter() - t) * 1000)
            ok = "exact, matches the export" if answer["exact"] and answer["count"] == truth[q] else \
                f"MISMATCH: export {truth[q]}, read as {answer['group'].get('query')}"
            print(f"{q!r}: {answer['count']:,} ({ok}); {etype} rows {rows.get(etype, 0):,}; "
                  f"p50 {np.percentile(laps, 50):.0f} ms, p99 {np.percentile(laps, 99):.0f} ms")
    finally:
        await c.aclose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profiles", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=10)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "export"
        write_large_export(export, a.profiles, 50.0, seed=5)
        asyncio.run(run(export, Path(tmp) / "data", a.runs))


if __name__ == "__main__":
    main()
