"""Synthetic Tracardi profiles and events for tests and benchmarks (deterministic for a seed)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

START = datetime(2024, 1, 1, tzinfo=UTC)
EVENT_TYPES = ["page-view", "product-view", "add-to-cart", "purchase-order", "email-opened", "ticket-opened"]
CATEGORIES = ["shoes", "jackets", "bags", "watches", "outdoor gear", "books"]


def make_profiles(n: int, *, seed: int = 0, spread_days: float = 365.0, same_second: int = 0,
                  events_per_profile: int = 0) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`n` profiles inserted over `spread_days`; the first `same_second` share one insert second
    (a bulk import), which no time window can split."""
    rnd = random.Random(seed)
    profiles: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for i in range(n):
        pid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        if i < same_second:
            inserted = START + timedelta(days=10)
        else:
            inserted = START + timedelta(seconds=rnd.uniform(0, spread_days * 86400))
        updated = inserted + timedelta(seconds=rnd.uniform(0, 3600))
        profiles.append({
            "id": pid, "ids": [pid, f"emm-{rnd.getrandbits(64):x}"], "primary_id": None, "active": True,
            "metadata": {"time": {"insert": inserted.isoformat(), "create": inserted.isoformat(),
                                  "update": updated.isoformat(), "visit": {"last": updated.isoformat(), "count": 1}}},
            "stats": {"visits": 1, "views": 0, "counters": {}},
            "traits": {"plan": rnd.choice(["free", "pro", "enterprise"]), "score": rnd.randint(0, 100)},
            "data": {"pii": {"firstname": f"Name{i}", "lastname": "Doe", "gender": rnd.choice(["female", "male"])},
                     "contact": {"email": {"main": f"user{i}@example.com"}, "phone": {"main": "+48 600 100 200"},
                                 "address": {"street": "1 Main St", "town": "Springfield"}}},
            "segments": [], "interests": {}, "consents": {}, "aux": {}, "trash": {},
        })
        for j in range(events_per_profile):
            etype = rnd.choice(EVENT_TYPES)
            when = inserted + timedelta(minutes=j * 7 + rnd.uniform(0, 5))
            props: dict[str, Any] = {"category": rnd.choice(CATEGORIES)}
            if etype == "purchase-order":
                props.update(value=round(rnd.uniform(5, 500), 2), currency="USD", product=f"SKU-{rnd.randint(1, 50)}")
            events.append({"id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)), "type": etype,
                           "metadata": {"time": {"insert": when.isoformat(), "create": when.isoformat()}},
                           "source": {"id": "web"}, "session": {"id": f"s-{pid}"}, "profile": {"id": pid},
                           "properties": props, "traits": {}, "context": {}, "tags": {"values": [], "count": 0}})
    return profiles, events
