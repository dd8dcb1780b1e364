"""Request and status models of syncs started over HTTP."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.sanitize import Request


class SyncRequest(Request):
    source: str | None = Field(None, max_length=2000, description="one of the configured sources "
                               "(PROFILE_AI_SYNC__SOURCE or PROFILE_AI_TRACARDI__URL); default: settings")
    full: bool = Field(False, description="read everything (also removes profiles deleted in the source)")


class SyncStatus(BaseModel):
    running: bool
    started_at: str | None = None
    progress: dict[str, Any] = Field(default_factory=dict)
    last_result: dict[str, Any] | None = None
    last_error: str | None = None
