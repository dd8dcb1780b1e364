"""Request bodies of /v1/jobs and /v1/schedules: every value checked before anything is queued."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class JobRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    job: str = Field(..., max_length=40, description="sync | backfill | writeback | segments-refresh | rescore")
    args: dict[str, Any] = Field(default_factory=dict, description="sync: {full}; backfill: {partitions}")


class ScheduleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    job: str = Field(..., max_length=40)
    cron: str = Field(..., max_length=120, description="five fields, UTC: '*/5 * * * *' is every 5 minutes")
    args: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
