"""A campaign simulator: a population, a segment published with a holdout, and outcome events with a known true
effect, as a Tracardi export (for tests, through the real sync) or as rows (for the scale benchmark).

Each member's arm is computed as the product computes it (`app/segments/holdout.py`), so outcomes can be planted
before the segment is published: treated members buy with probability `base + effect` within `days` of the
campaign's start, control members with `base`; everyone also buys before the start with a rate tied to a personal
habit, which is what CUPED uses.

Run the scale benchmark: .venv/bin/python bench/campaign_lift.py
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from app.segments.holdout import arm

PURCHASE = "purchase-order"


def population(n: int, seed: int = 0, *, start: datetime) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    t = (start - timedelta(days=400)).isoformat()
    out = []
    for i in range(n):
        pid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        out.append({"id": pid, "ids": [pid], "metadata": {"time": {"insert": t, "create": t, "update": t}},
                    "traits": {"plan": rnd.choice(["basic", "plus", "pro"]), "tenure_months": rnd.randint(1, 72),
                               "n": i},
                    "data": {}, "segments": [], "interests": {}, "consents": {}})
    return out


def outcomes(profile_ids: list[str], segment_id: str, holdout: float, *, start: datetime, days: int,
             base: float, effect: float | Callable[[str], float], seed: int = 0,
             ) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Purchase events before and after `start` for each member, with the true effect on the treated arm (the
    same for everyone, or per member: `effect(profile_id)`, for planted heterogeneity); and each member's arm."""
    rnd = random.Random(seed + 1)
    events: list[dict[str, Any]] = []
    arms = {pid: arm(segment_id, pid, holdout) for pid in profile_ids}
    for pid in profile_ids:
        habit = min(0.9, rnd.expovariate(1 / base)) if base else 0.0  # each member's own propensity
        lift = effect(pid) if callable(effect) else effect
        p_after = min(1.0, habit + (lift if arms[pid] == "treated" else 0.0))
        for when, p in ((start - timedelta(days=rnd.uniform(0.5, days - 0.5)), habit),
                        (start + timedelta(days=rnd.uniform(0.5, days - 0.5)), p_after)):
            if rnd.random() < p:
                events.append(_event(pid, when, round(rnd.uniform(10, 200), 2), rnd))
    return events, arms


def _event(pid: str, when: datetime, value: float, rnd: random.Random) -> dict[str, Any]:
    return {"id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)), "type": PURCHASE,
            "metadata": {"time": {"insert": when.isoformat(), "create": when.isoformat()}},
            "source": {"id": "web"}, "session": {"id": f"s-{pid}"}, "profile": {"id": pid},
            "properties": {"value": value, "currency": "EUR", "product": "SKU-1"}, "traits": {}, "context": {},
            "tags": {"values": [], "count": 0}}
