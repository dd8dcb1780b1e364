"""Measured lift: what a marketer asks and what comes back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

OUTCOME_HELP = ("purchase (the event types the purchase goal counts), spend (the sum of money amounts), or "
                "event:TYPE (any event type seen in the data)")


class ArmReport(BaseModel):
    members: int = Field(description="members whose whole outcome window has passed")
    converters: int
    rate: float
    spend: float
    spend_per_member: float


class LiftReport(BaseModel):
    segment_id: str
    outcome: str
    days: int
    as_of: datetime
    holdout: float
    arms: dict[str, ArmReport]
    lift: dict[str, Any] = Field(description="conversion: Beta-binomial posterior of each arm's rate (absolute and "
                                             "relative lift, 95% interval, probability treated is better); spend: "
                                             "difference of means with a normal interval")
    cuped: dict[str, Any] | None = Field(None, description="the same difference with each member's own pre-entry "
                                                           "outcome as covariate (smaller variance), or null")
    power: dict[str, Any]
    entered: int
    waiting: int = Field(description="members entered whose outcome window has not ended yet (not counted)")
    enough_data: bool
    verdict: str
