"""create_app(): the FastAPI service. The lifespan builds every resource once and closes it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from app import exception_handlers
from app.config import Settings, load_settings
from app.container import Container
from app.search.endpoints import router as search_router
from app.sync.endpoints import router as sync_router
from app.sync.runner import SyncRunner


def create_app(settings: Settings | None = None, container: Container | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = container is None
        app.state.container = container or await Container.create(settings)
        app.state.sync_runner = SyncRunner(app.state.container)
        app.state.started = time.time()
        try:
            yield
        finally:
            await app.state.sync_runner.wait()
            if owned:
                await app.state.container.aclose()

    app = FastAPI(title="profile-ai", version="0.1.0", lifespan=lifespan,
                  description="Semantic search, smart segments and predictions over Tracardi customer profiles.")
    exception_handlers.install(app)
    app.include_router(search_router)
    app.include_router(sync_router)

    @app.get("/health", tags=["ops"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", tags=["ops"])
    async def ready(request: Request) -> JSONResponse:
        c: Container | None = getattr(request.app.state, "container", None)
        checks = {"model": c is not None and c.encoder.dim > 0, "index": False}
        if c is not None:
            try:
                checks["index"] = await asyncio.to_thread(c.index.count) >= 0
            except Exception:  # noqa: BLE001 - readiness reports, it does not raise
                checks["index"] = False
        ok = all(checks.values())
        return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)

    @app.get("/metrics", tags=["ops"])
    async def metrics(request: Request) -> Response:
        c: Container = request.app.state.container
        points = await asyncio.to_thread(c.index.count)
        body = (
            "# TYPE profile_ai_indexed_profiles gauge\n"
            f"profile_ai_indexed_profiles {points}\n"
            "# TYPE profile_ai_uptime_seconds gauge\n"
            f"profile_ai_uptime_seconds {time.time() - request.app.state.started:.0f}\n"
        )
        return Response(body, media_type="text/plain; version=0.0.4")

    return app
