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
