"""The one typed way from a request to the services: the container the lifespan built (app/main.py). Endpoints
take `ContainerDep` (or call `container_of`), never `request.app.state` with a `type: ignore`."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from app.container import Container


def container_of(request: Request) -> Container:
    return cast(Container, request.app.state.container)


ContainerDep = Annotated[Container, Depends(container_of)]
