"""CDNOW (shipped in the lifetimes wheel) as a Tracardi export directory: customers become profiles,
purchases become `purchase-order` events with value and quantity. Read by path (`import lifetimes`
fails on current setuptools)."""

from __future__ import annotations

import importlib.util
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.demo.movielens import DatasetMissingError
from app.demo.writer import stable_id, write_export
from app.tracardi.schemas import parse_event
from prediction import EventLog


def cdnow_file() -> Path:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetMissingError("CDNOW needs the lifetimes wheel: pip install --no-deps lifetimes==0.11.3")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "CDNOW_master.txt"
    if not path.is_file():
        raise DatasetMissingError(f"CDNOW file not found at {path}")
    return path


def profile_id(customer_id: str) -> str:
    return stable_id("cdnow-customer", customer_id)


def load_cdnow(limit_customers: int | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    purchases: dict[str, list[tuple[datetime, int, float]]] = defaultdict(list)
    with open(cdnow_file(), encoding="ascii") as fh:
        next(fh)
        for line in fh:
            parts = line.split()
            if len(parts) != 4:
                continue
            cid, day, qty_text, value_text = parts
            purchases[cid].append((datetime.strptime(day, "%Y%m%d").replace(hour=12, tzinfo=UTC), int(qty_text),
                                   float(value_text)))
    profiles: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for n, (cid, rows) in enumerate(sorted(purchases.items())):
        if limit_customers is not None and n >= limit_customers:
            break
        rows.sort()
        pid = profile_id(cid)
        first, last = rows[0][0].isoformat(), rows[-1][0].isoformat()
        profiles.append({"id": pid, "ids": [pid], "active": True,
                         "metadata": {"time": {"insert": first, "create": first, "update": last}},
                         "stats": {"visits": len(rows), "views": 0}, "traits": {},
                         "data": {"identifier": {"id": f"cdnow-{cid}"}}, "segments": [], "interests": {},
                         "consents": {}})
        for i, (when, qty, value) in enumerate(rows):
            events.append({"id": stable_id("cdnow-order", f"{cid}:{i}"), "type": "purchase-order",
                           "name": "Purchase order",
                           "metadata": {"time": {"insert": when.isoformat(), "create": when.isoformat()}},
                           "source": {"id": "cdnow"}, "session": None, "profile": {"id": pid},
                           "properties": {"value": value, "quantity": qty, "currency": "USD",
                                          "category": "music CDs"},
                           "traits": {}, "context": {}, "tags": {"values": [], "count": 0}})
    return profiles, events


def build_cdnow_export(directory: Path, limit_customers: int | None = None) -> Path:
    profiles, events = load_cdnow(limit_customers)
    return write_export(directory, profiles, events)


def cdnow_event_log() -> EventLog:
    """CDNOW's purchases as the prediction library's event log (what a sync of the export would store)."""
    _, events = load_cdnow()
    return EventLog.from_rows([(e["profile"]["id"], e["type"], parse_event(e).time.timestamp(),
                                float(e["properties"]["value"])) for e in events])
