"""Observability: Prometheus metrics, request ids and structured JSON logs without personal data.

- Request latency by route template (never the raw path: profile ids are not label values).
- Gauges read at scrape time: indexed profiles, sync lag and progress, write-back queue depth by status,
  age of each goal's active model.
- Every request gets an id (X-Request-ID in, or a new one), echoed in the response and in every log line.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest

from app.jobs.engine import ALL_QUEUES
from app.predictions.snapshots_repository import SnapshotsRepository
from app.store.ops_repository import OpsRepository

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

# label values come from closed sets: a client chooses its method name freely (200 made-up methods made 200
# series; one 8 KB method name stayed in /metrics until restart)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

# log record attributes worth keeping; anything else passed in `extra` is kept only if listed here
EXTRA_FIELDS = ("tool", "ms", "limit", "hits", "filters", "path", "route", "method", "status", "segments",
                "predictions", "merged")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"ts": round(record.created, 3), "level": record.levelname, "logger": record.name,
                               "msg": record.getMessage(), "request_id": request_id.get()}
        for k in EXTRA_FIELDS:
            if k in record.__dict__:
                out[k] = record.__dict__[k]
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(out, default=str)


def json_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram("profile_ai_request_seconds", "HTTP request latency by route",
                                 ["method", "route", "status"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        r = self.registry
        self.indexed = Gauge("profile_ai_indexed_profiles", "profiles in the vector index", registry=r)
        self.uptime = Gauge("profile_ai_uptime_seconds", "seconds since start", registry=r)
        self.sync_lag = Gauge("profile_ai_sync_lag_seconds", "seconds since the newest sync watermark", registry=r)
        self.sync_running = Gauge("profile_ai_sync_running", "1 while a sync runs in this server", registry=r)
        self.sync_seen = Gauge("profile_ai_sync_progress_profiles", "profiles seen by the running sync", registry=r)
        self.queue = Gauge("profile_ai_writeback_queue", "write-back items by status", ["status"], registry=r)
        self.model_age = Gauge("profile_ai_model_age_seconds", "age of each goal's active model", ["goal"], registry=r)
        self.score_psi = Gauge("profile_ai_model_score_psi", "PSI of the newest scoring's scores against the active "
                               "model's first scoring, by goal", ["goal"], registry=r)
        self.realized_auc = Gauge("profile_ai_model_realized_auc", "AUC of the newest matured snapshot of the active "
                                  "model: what came true", ["goal"], registry=r)
        self.jobs_queued = Gauge("profile_ai_jobs_queued", "jobs waiting, by queue", ["queue"], registry=r)
        self.job_runs = Gauge("profile_ai_job_runs", "job runs recorded, by job and outcome", ["job", "status"], registry=r)
        self.job_seconds = Gauge("profile_ai_job_seconds", "mean duration of the last hour's runs, by job", ["job"], registry=r)

    async def render(self, container: Any, runner: Any, started: float, jobs: Any = None) -> bytes:
        import asyncio

        self.indexed.set(await asyncio.to_thread(container.index.count))
        self.uptime.set(time.time() - started)
        ops = OpsRepository(container.database.pool)
        lag = await ops.sync_lag_seconds()
        if lag is not None:
            self.sync_lag.set(lag)
        status = runner.status()
        self.sync_running.set(1 if status.running else 0)
        self.sync_seen.set((status.progress or {}).get("seen", 0))
        for status_name, n in (await ops.queue_depth()).items():
            self.queue.labels(status_name).set(n)
        for goal, age in (await ops.active_model_age_seconds()).items():
            self.model_age.labels(goal).set(age)
        for goal, q in (await SnapshotsRepository(container.database.pool).latest_by_goal()).items():
            if q["psi"].get("score") is not None:
                self.score_psi.labels(goal).set(q["psi"]["score"])
            if q["realized"].get("auc") is not None:
                self.realized_auc.labels(goal).set(q["realized"]["auc"])
        if jobs is not None:
            stats = await jobs.stats()
            for queue in ALL_QUEUES:
                self.jobs_queued.labels(queue).set(stats["queued"].get(queue, 0))
            for (job, status_name), n in stats["runs"].items():
                self.job_runs.labels(job, status_name).set(n)
            for job, seconds in stats["seconds"].items():
                self.job_seconds.labels(job).set(seconds)
        return generate_latest(self.registry)


class RequestObserver:
    """Times each request under its route template and tags it (and its logs) with a request id."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex  # echoed and logged: a safe shape only
        token = request_id.set(rid)
        status = 500
        t0 = time.perf_counter()

        async def tagged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or ("/mcp" if scope["path"].startswith("/mcp") else "unmatched")
            method = scope["method"] if scope["method"] in METHODS else "other"
            code = str(status) if 100 <= status < 600 else "other"
            self.metrics.latency.labels(method, template, code).observe(time.perf_counter() - t0)
            request_id.reset(token)
