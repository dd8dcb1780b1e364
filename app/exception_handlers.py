"""The one place where errors become HTTP answers, all in one shape: {"error": code, "detail": text} (request
validation adds "errors", the field-by-field list; a worded refusal adds "details", its sentence by wording). `document()` puts that shape in the OpenAPI schema for
every error status a route can answer, so clients (and the schema fuzzer) can rely on it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from app.error_words import validation_words
from app.errors import DomainError, RateLimitedError
from app.tracardi.errors import TracardiError

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error", "type": "object", "required": ["error", "detail"],
    "properties": {"error": {"type": "string"}, "detail": {"type": "string"},
                   "details": {"type": "object", "additionalProperties": {"type": "string"}},
                   "errors": {"type": "array", "items": {"type": "object"}}},
}
ERROR_STATUSES = {"401": "no or unknown API key", "403": "the key's scope does not allow this",
                  "404": "not found", "409": "conflict (e.g. a sync already running)",
                  "413": "request body too large", "422": "invalid request", "502": "Tracardi failed",
                  "503": "not available"}


def _excerpt(value: Any) -> str:
    """At most 40 characters of what was sent, for a person reading the error; never the whole input."""
    if isinstance(value, dict | list):
        return f"<{type(value).__name__} of {len(value)}>"
    text = repr(value) if isinstance(value, float) else str(value)
    return text[:40] + ("..." if len(text) > 40 else "")


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimitedError) else None
        body: dict[str, Any] = {"error": exc.code, "detail": exc.message}
        if exc.details:  # the same sentence in each wording (app/error_words.py): the page shows its reader's
            body["details"] = exc.details
        return JSONResponse(body, status_code=exc.status, headers=headers)

    @app.exception_handler(TracardiError)
    async def tracardi_error(_: Request, exc: TracardiError) -> JSONResponse:
        return JSONResponse({"error": "tracardi", "detail": str(exc)}, status_code=502)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # the input is never echoed (it may be huge, hold NaN or personal data): where, what and a short excerpt
        raw_errors = exc.errors()
        errors = [{"loc": [str(p)[:100] for p in e.get("loc", ())][:10], "msg": str(e.get("msg", ""))[:200],
                   "type": str(e.get("type", ""))[:50], "input_excerpt": _excerpt(e.get("input"))}
                  for e in raw_errors[:20]]
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", []))
        detail = f"{where}: {first.get('msg', 'invalid')}" if first else "invalid request"
        body: dict[str, Any] = {"error": "invalid_request", "detail": detail[:500], "errors": errors[:20]}
        raw = raw_errors[0] if first else {}  # the first error as pydantic gave it: its type and parameters
        worded = validation_words(where, str(raw.get("type", "")), str(first.get("msg", "")),
                                  raw.get("ctx")) if first else None
        if worded:  # the page shows its reader's wording, as for a service's refusal
            body["details"] = {w: t[:500] for w, t in worded.items()}
        return JSONResponse(body, status_code=422)


def document(app: FastAPI) -> None:
    """Every operation documents the error shape for the statuses it can answer."""
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for path, item in schema.get("paths", {}).items():
            for op in item.values():
                responses = op.setdefault("responses", {})
                for status, text in ERROR_STATUSES.items():
                    if path.startswith("/v1") or status in ("413", "422"):
                        responses[status] = {"description": text, **ref}
        for name in ("HTTPValidationError", "ValidationError"):
            schema["components"]["schemas"].pop(name, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
