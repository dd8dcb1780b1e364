"""Domain errors: services raise these (never HTTP errors); exception_handlers.py maps them once."""

from __future__ import annotations


class DomainError(Exception):
    status = 500
    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
