"""The one place where domain errors become HTTP answers."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.errors import DomainError
from app.tracardi.errors import TracardiError


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"error": exc.code, "detail": exc.message}, status_code=exc.status)

    @app.exception_handler(TracardiError)
    async def tracardi_error(_: Request, exc: TracardiError) -> JSONResponse:
        return JSONResponse({"error": "tracardi", "detail": str(exc)}, status_code=502)
