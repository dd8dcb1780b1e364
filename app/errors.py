"""Domain errors: services raise these (never HTTP errors); exception_handlers.py maps them once."""

from __future__ import annotations

from typing import Any, Self

from app.error_words import sentences


class DomainError(Exception):
    status = 500
    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, str] | None = None  # the sentence in each wording, when raised by `worded`

    @classmethod
    def worded(cls, key: str, /, **params: Any) -> Self:
        """Raised from a sentence of app/error_words.py: `message` is its English, `details` every wording."""
        details = sentences(key, **params)
        error = cls(details["en"])
        error.details = details
        return error

    def sentence(self, wording: str) -> str:
        """The refusal in a wording: its own sentence there when it has one, else the English message."""
        return (self.details or {}).get(wording) or self.message


class NotFoundError(DomainError):
    status = 404
    code = "not_found"


class InvalidRequestError(DomainError):
    status = 422
    code = "invalid_request"


class UnavailableError(DomainError):
    status = 503
    code = "unavailable"


class ConflictError(DomainError):
    status = 409
    code = "conflict"


class RateLimitedError(DomainError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after
