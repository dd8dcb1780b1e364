"""The typed error tree of the Tracardi client."""

from __future__ import annotations


class TracardiError(Exception):
    """Anything that went wrong talking to Tracardi."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TracardiAuthError(TracardiError):
    """Login refused, or a token still refused after one fresh login (wrong role, disabled account)."""


class TracardiForbiddenError(TracardiError):
    """403: the instance does not expose its management API (EXPOSE_GUI_API is not `yes`)."""


class TracardiNotFoundError(TracardiError):
    """404 with body null: the profile or event never existed or was deleted."""


class TracardiUnavailableError(TracardiError):
    """5xx, time-outs or broken connections that outlasted the bounded retries."""


class TracardiRequestError(TracardiError):
    """Any other refusal (4xx): the request itself is wrong."""
