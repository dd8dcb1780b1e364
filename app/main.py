"""create_app(): the FastAPI service. The lifespan builds every resource once and closes it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from app import exception_handlers
from app.activation.endpoints import router as lift_router
from app.auth.endpoints import router as keys_router
from app.auth.guard import ApiKeyGuard, BodySizeLimit, JsonGuard, LoopbackOnly, NulGuard
from app.auth.ratelimit import BudgetLimiter, RateLimit, parse_limit
from app.config import Settings, load_settings
from app.container import Container
from app.erasure.endpoints import router as erasure_router
from app.insights.endpoints import router as insights_router
from app.jobs.endpoints import router as jobs_router
from app.jobs.runner import JobRunner
from app.observability import Metrics, RequestObserver
from app.predictions.endpoints import router as predictions_router
from app.search.endpoints import router as search_router
from app.segments.endpoints import router as segments_router
from app.sync.endpoints import router as sync_router
from app.sync.runner import SyncRunner
from app.web.endpoints import STATIC as WEB_STATIC
from app.web.endpoints import router as web_router
from app.web.headers import SecurityHeaders
from app.writeback.endpoints import router as changes_router

WEBHOOK_BYTES = 8 * 1024 * 1024  # one pushed Tracardi profile


def _mcp_app(container: Container, runner: SyncRunner, settings: Settings) -> Any:
    from mcp.server.transport_security import TransportSecuritySettings

    from app.agents.mcp_server import build_mcp_server

    server = build_mcp_server(container.agent_tools(),
                              allow_writes=settings.server.mcp_allow_writes, sync=runner)
    # With keys, the key guards /mcp. Open mode is a local server a browser page could reach by DNS rebinding:
    # MCP's own Host/Origin check is on then (beside the app-wide LoopbackOnly guard).
    names = ["localhost", "127.0.0.1", "[::1]", *settings.server.allowed_hosts]
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=not settings.server.auth,
        allowed_hosts=[n for name in names for n in (name, f"{name}:*")],
        allowed_origins=[f"{scheme}://{n}" for name in names for n in (name, f"{name}:*") for scheme in ("http", "https")])
    return server.streamable_http_app(streamable_http_path="/", transport_security=security)


async def _start_worker(jobs: JobRunner, settings: Settings) -> asyncio.Task[None]:
    """`serve` runs jobs itself (PROFILE_AI_JOBS__WORKER_IN_SERVE), with the default schedules, so the embedded
    default keeps itself fresh with no second command."""
    await jobs.queue.open()
    if settings.jobs.default_schedules:
        await jobs.queue.schedules.ensure_defaults()
    return asyncio.create_task(jobs.queue.work(jobs.queues), name="profile-ai worker")


def create_app(settings: Settings | None = None, container: Container | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = container is None
        app.state.container = container or await Container.create(settings)
        app.state.sync_runner = SyncRunner(app.state.container)
        app.state.started = time.time()
        # the server owns the embedded index, so its in-process worker serves every queue
        app.state.jobs = JobRunner(app.state.container, owns_index=True)
        worker = await _start_worker(app.state.jobs, settings) if settings.jobs.worker_in_serve else None
        mcp_app = _mcp_app(app.state.container, app.state.sync_runner, settings)
        app.mount("/mcp", mcp_app)  # MCP over streamable HTTP, the same tools as `profile-ai mcp`
        try:
            async with mcp_app.router.lifespan_context(mcp_app):  # runs the MCP session manager
                yield
        finally:
            if worker is not None:
                worker.cancel()  # Procrastinate stops taking jobs; a job cut short is retried (idempotent)
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await worker
            await app.state.jobs.queue.close()
            if owned:  # a sync in progress stops at its next encoding chunk; its next run resumes
                app.state.container.sync.stop.set()
            with contextlib.suppress(Exception):  # an interrupted sync reports through its status
                await app.state.sync_runner.wait()
            if owned:
                await app.state.container.aclose()

    # docs from the installed Swagger UI (an offline host has no CDN; online, a CDN's script would run on the
    # origin that holds the page's key); ReDoc has no bundled copy, so it is off
    app = FastAPI(title="profile-ai", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Semantic search, smart segments and predictions over Tracardi customer profiles.")
    exception_handlers.install(app)
    exception_handlers.document(app)
    app.include_router(search_router)
    app.include_router(insights_router)
    app.include_router(sync_router)
    app.include_router(lift_router)
    app.include_router(segments_router)
    app.include_router(predictions_router)
    app.include_router(keys_router)
    app.include_router(erasure_router)
    app.include_router(jobs_router)
    app.include_router(changes_router)
    app.include_router(web_router)
    app.mount("/static/docs", StaticFiles(directory=swagger_ui_path), name="docs-static")
    app.mount("/static", StaticFiles(directory=WEB_STATIC), name="static")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="profile-ai API",
                                   swagger_js_url="/static/docs/swagger-ui-bundle.js",
                                   swagger_css_url="/static/docs/swagger-ui.css",
                                   swagger_favicon_url="/static/docs/favicon-32x32.png")

    def keys() -> Any:
        c = getattr(app.state, "container", None)
        return c.keys if c is not None else None

    # the last added runs first: CORS (only if configured; it answers preflights), the size limit, then the
    # key check, which covers /v1 and the mounted /mcp alike
    server = settings.server
    # innermost: bodies are parsed strictly only for callers the key check and the rate limit let in, and
    # inside the size limit, so what it reads is bounded already
    app.add_middleware(JsonGuard)
    # inside the key check: the limit is counted per key, before the route does any work
    app.add_middleware(RateLimit, general=server.rate_limit, writes=server.rate_limit_writes,
                       storage=server.rate_limit_storage, mcp_writes=server.mcp_allow_writes)
    # failed credentials per peer (unknown keys here, wrong webhook secrets in its endpoint): one store
    app.state.credential_failures = BudgetLimiter(server.rate_limit_storage)
    app.add_middleware(ApiKeyGuard, keys=keys, enabled=server.auth, mcp_writes=server.mcp_allow_writes,
                       failures=app.state.credential_failures, failure_limit=parse_limit(server.key_failures_per_peer))
    app.add_middleware(BodySizeLimit, max_bytes=server.max_request_bytes,
                       routes={"/v1/predictions/import": server.max_body_bytes, "/v1/webhooks/tracardi": WEBHOOK_BYTES})
    app.add_middleware(NulGuard)
    if not settings.server.auth:
        app.add_middleware(LoopbackOnly, allowed_hosts=settings.server.allowed_hosts)
    app.add_middleware(SecurityHeaders)
    observed = Metrics()
    app.add_middleware(RequestObserver, metrics=observed)  # outside the guard: rejected requests count too
    if settings.server.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.server.cors_origins,
                           allow_methods=["GET", "POST", "DELETE"], allow_headers=["Authorization", "Content-Type"])

    @app.get("/health", tags=["ops"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", tags=["ops"])
    async def ready(request: Request) -> JSONResponse:
        c: Container | None = getattr(request.app.state, "container", None)
        checks = {"model": c is not None and c.encoder.dim > 0, "index": False, "database": False}
        if c is not None:
            try:
                checks["index"] = await asyncio.to_thread(c.index.count) >= 0
            except Exception:  # noqa: BLE001 - readiness reports, it does not raise
                checks["index"] = False
            try:
                checks["database"] = await asyncio.wait_for(c.database.ping(), 2.0)
            except Exception:  # noqa: BLE001
                checks["database"] = False
        ok = all(checks.values())
        return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
    async def metrics(request: Request) -> Response:
        body = await observed.render(request.app.state.container, request.app.state.sync_runner,
                                     request.app.state.started, request.app.state.jobs.queue)
        return Response(body, media_type="text/plain; version=0.0.4")

    return app
