"""The one typed way from a request to the services: the container the lifespan built (app/main.py). Endpoints
take `ContainerDep` or `UseCasesDep` (or call `container_of`), never `request.app.state` with a `type: ignore`."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from app.auth.ratelimit import BudgetLimiter
from app.container import Container
from app.jobs.queue import JobQueue
from app.sync.runner import SyncRunner
from app.usecases import UseCases


def container_of(request: Request) -> Container:
    return cast(Container, request.app.state.container)


ContainerDep = Annotated[Container, Depends(container_of)]


def usecases_of(request: Request) -> UseCases:
    """The application layer (app/usecases.py): what a route that changes state calls."""
    return container_of(request).usecases


UseCasesDep = Annotated[UseCases, Depends(usecases_of)]


def credential_failures(request: Request) -> BudgetLimiter:
    """Failed credentials counted per peer, shared by the key guard and the webhook (built in create_app)."""
    return cast(BudgetLimiter, request.app.state.credential_failures)


BudgetDep = Annotated[BudgetLimiter, Depends(credential_failures)]


def sync_runner_of(request: Request) -> SyncRunner:
    """The server's one background sync (built in the lifespan)."""
    return cast(SyncRunner, request.app.state.sync_runner)


def job_queue_of(request: Request) -> JobQueue:
    """The server's job queue (the in-process worker's, built in the lifespan)."""
    return cast(JobQueue, request.app.state.jobs.queue)


SyncRunnerDep = Annotated[SyncRunner, Depends(sync_runner_of)]
JobQueueDep = Annotated[JobQueue, Depends(job_queue_of)]
