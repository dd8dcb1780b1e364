"""Measured lift of a published segment with a holdout: the treated arm against the control arm, on the event log.

Each member counts from its own entry (`segment_exposures.entered_at`): the outcome within `days` after it, and,
for CUPED, the same outcome within `days` before it. Only members whose whole window has passed by `as_of` are
counted; the rest are reported as waiting. The numbers are summed per arm in PostgreSQL and the statistics are in
`prediction/lift.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from app.activation.repository import LiftRepository
from app.activation.schemas import ArmReport, LiftReport
from app.errors import InvalidRequestError, NotFoundError
from prediction.lift import Arm, conversion_lift, cuped, mean_difference, power
from prediction.uplift import design_matrix, uplift_rules

MAX_DAYS = 730
MIN_ARM = 30  # fewer matured members than this in an arm: no verdict, only what is needed


class LiftService:
    def __init__(self, repo: LiftRepository, segment_exists: Callable[[str], Awaitable[bool]],
                 holdout: Callable[[str], Awaitable[float | None]],
                 purchase_types: Callable[[], Awaitable[list[str]]],
                 event_types: Callable[[], Awaitable[list[str]]]) -> None:
        self.repo = repo
        self.segment_exists = segment_exists
        self.holdout = holdout  # the segments' own record of a holdout (SegmentRepository.holdout)
        self.purchase_types = purchase_types
        self.event_types = event_types

    async def _outcome(self, outcome: str) -> tuple[str, list[str], bool]:
        """(how events match, their types, whether the outcome is an amount)."""
        outcome = outcome.strip()
        if outcome == "purchase":
            return "purchase", await self.purchase_types(), False
        if outcome == "spend":
            return "spend", [], True
        if outcome.startswith("event:") and 1 < len(outcome) <= 206:
            name = outcome[len("event:"):]
            known = await self.event_types()
            if name not in known:
                raise InvalidRequestError.worded("outcome_unseen", outcome=outcome[:60], n=len(known),
                                                 types=", ".join(sorted(known)[:5]) or "-")
            return "types", [name], False
        raise InvalidRequestError.worded("unknown_outcome", outcome=outcome[:60])

    async def uplift(self, segment_id: str, outcome: str = "purchase", days: int = 30,
                     as_of: datetime | None = None) -> dict[str, Any]:
        """Who changed because of the campaign, as readable rules measured on members they were not found on
        (a conversion outcome: purchase or event:TYPE)."""
        await self._measurable(segment_id, days)
        match, types, amount = await self._outcome(outcome)
        if amount:
            raise InvalidRequestError.worded("uplift_needs_conversion")
        found = await _uplift_of(self.repo, segment_id, days, _aware(as_of), match, types)
        return {"segment_id": segment_id, "outcome": outcome, "days": days, **found}

    async def _measurable(self, segment_id: str, days: int) -> float:
        if not 1 <= days <= MAX_DAYS:
            raise InvalidRequestError.worded("days_range", most=MAX_DAYS)
        if not await self.segment_exists(segment_id):
            raise NotFoundError.worded("segment_not_found", segment=segment_id)
        share = await self.holdout(segment_id)
        if not share:
            raise InvalidRequestError.worded("no_holdout", segment=segment_id)
        return share

    async def lift(self, segment_id: str, outcome: str = "purchase", days: int = 30,
                   as_of: datetime | None = None) -> LiftReport:
        share = await self._measurable(segment_id, days)
        match, types, amount = await self._outcome(outcome)
        when = _aware(as_of)
        sums = await self.repo.arm_sums(segment_id, days, when, match, types, amount)
        entries = await self.repo.entries(segment_id, days, when)
        arms = {name: Arm(int(r.get("n") or 0), *(float(r.get(k) or 0) for k in ("sy", "syy", "sx", "sxx", "sxy")))
                for name, r in ((a, sums.get(a, {})) for a in ("treated", "control"))}
        report = {a: ArmReport(members=arms[a].n, converters=int(sums.get(a, {}).get("converters") or 0),
                               rate=round(arms[a].mean, 6) if not amount else round(
                                   (int(sums.get(a, {}).get("converters") or 0) / arms[a].n) if arms[a].n else 0, 6),
                               spend=round(float(sums.get(a, {}).get("spend") or 0), 2),
                               spend_per_member=round(float(sums.get(a, {}).get("spend") or 0) / arms[a].n, 4)
                               if arms[a].n else 0.0)
                  for a in ("treated", "control")}
        t, c = arms["treated"], arms["control"]
        lift: dict[str, Any] = mean_difference(t, c) if amount else conversion_lift(t, c)
        estimate = lift["estimate"] if amount else lift["absolute"]["estimate"]
        interval = lift["interval"] if amount else lift["absolute"]["interval"]
        span_days = max((when - entries["first"]).total_seconds() / 86400, 1.0) if entries["first"] else 1.0
        rate_per_day = float(entries["entered"]) / span_days
        target = abs(estimate) if estimate else (0.1 * c.mean if c.mean else None)
        pw = power(t, c, entry_per_day=rate_per_day, target=target or None)
        enough = t.n >= MIN_ARM and c.n >= MIN_ARM and (interval[0] > 0 or interval[1] < 0)
        return LiftReport(segment_id=segment_id, outcome=outcome, days=days, as_of=when, holdout=share, arms=report,
                          lift=lift, cuped=cuped(t, c) if t.n and c.n else None, power=pw,
                          entered=int(entries["entered"]), waiting=int(entries["immature"]), enough_data=enough,
                          verdict=_verdict(enough, amount, estimate, interval, t, c, pw))


def _aware(as_of: datetime | None) -> datetime:
    """`as_of` as an aware time: now by default; a time without a zone is read as UTC."""
    if as_of is None:
        return datetime.now(UTC)
    return as_of if as_of.tzinfo is not None else as_of.replace(tzinfo=UTC)


UPLIFT_MIN = 200  # matured members needed before who-changed is estimated at all
UPLIFT_MIN_CONTROL = 50
UPLIFT_MAX = 100_000  # members the uplift models are fitted on (a fixed sample beyond): a read never costs more


async def _uplift_of(repo: LiftRepository, segment_id: str, days: int, when: datetime, match: str,
                     types: list[str]) -> dict[str, Any]:
    rows = await repo.member_outcomes(segment_id, days, when, match, types, limit=UPLIFT_MAX)
    treated = np.array([bool(r["treated"]) for r in rows], dtype=bool)
    if len(rows) < UPLIFT_MIN or (~treated).sum() < UPLIFT_MIN_CONTROL:
        return {"members": len(rows), "heterogeneous": False, "rules": [],
                "note": f"not enough data yet: {len(rows)} members have had their whole window, "
                        f"{int((~treated).sum())} of them in control (at least {UPLIFT_MIN} and "
                        f"{UPLIFT_MIN_CONTROL} are needed)"}
    y = np.array([1 if r["converted"] else 0 for r in rows])

    def fit() -> dict[str, Any]:
        x, names = design_matrix([r["attributes"] or {} for r in rows])
        if not names:
            return {"members": len(rows), "heterogeneous": False, "rules": [],
                    "note": "the members have no traits to describe who changed"}
        res = uplift_rules(x, names, treated, y)
        return {"members": res.members, "qini": res.qini, "qini_null_95": res.qini_null_95,
                "heterogeneous": res.heterogeneous, "rules": res.rules, "note": res.note,
                "method": "two-model uplift (gradient boosting per arm), 5-fold cross-fitting; Qini on held-out "
                          "folds against 50 shuffles; rules from a depth-2 tree on half the members, each rule's "
                          "uplift measured on the other half (normal 95% interval)",
                "target_next": [{"filters": r["filters"], "uplift": r["uplift"]} for r in res.rules
                                if res.heterogeneous and r["interval"][0] > 0][:3]}

    return await asyncio.to_thread(fit)  # fitting never runs on the event loop


def _verdict(enough: bool, amount: bool, estimate: float | None, interval: list[float], t: Arm, c: Arm,
             pw: dict[str, Any]) -> str:
    unit = "per member" if amount else "points"
    scale = 1.0 if amount else 100.0
    if t.n < MIN_ARM or c.n < MIN_ARM:
        return (f"not enough data yet: {t.n} treated and {c.n} control members have had their whole window "
                f"(at least {MIN_ARM} each are needed)")
    if enough and estimate is not None:
        direction = "more" if estimate > 0 else "less"
        return (f"the treated arm did {abs(estimate) * scale:.2f} {unit} {direction} than the control arm "
                f"(95% interval {interval[0] * scale:.2f} to {interval[1] * scale:.2f})")
    need = ""
    if pw.get("more_members"):
        need = f"; detecting {pw['target_effect'] * scale:.2f} {unit} needs about {pw['more_members']} more members"
        if pw.get("more_days") is not None:
            need += f", about {pw['more_days']} more days at the current entry rate"
    return (f"not enough data yet: the interval ({interval[0] * scale:.2f} to {interval[1] * scale:.2f}) includes "
            f"no effect; the smallest effect these members could detect is {pw['detectable_effect'] * scale:.2f} "
            f"{unit}{need}")
