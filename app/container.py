"""Builds every heavy or stateful resource once (model, index, state, clients) and the services over them.

Used by the FastAPI lifespan, the CLI and the notebook API alike, so all three behave the same.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.config import Settings
from app.search.service import SearchService
from app.sync.service import SyncService
from app.sync.sources import ExportSource, ProfileSource, TracardiSource
from app.sync.state import SqliteSyncState
from app.tracardi.client import TracardiClient
from embeddings.documents import DocumentBuilder, EventDictionary
from embeddings.encoder import Encoder
from embeddings.index import VectorIndex
from embeddings.redaction import Redactor
from embeddings.sparse import Bm25Encoder

log = logging.getLogger(__name__)


def build_index(settings: Settings, dim: int) -> VectorIndex:
    if settings.qdrant.url:
        from qdrant_client import QdrantClient

        from embeddings.qdrant_server_index import QdrantServerIndex

        client = QdrantClient(url=settings.qdrant.url, api_key=settings.qdrant.api_key)
        return QdrantServerIndex(client, settings.qdrant.collection, dim)
    from embeddings.edge_index import EdgeIndex

    return EdgeIndex(Path(settings.data_dir) / "index" / settings.qdrant.collection, dim)


def build_builder(settings: Settings) -> DocumentBuilder:
    return DocumentBuilder(EventDictionary.load(settings.sync.event_dictionary),
                           Redactor(settings.privacy.allow_fields))


@dataclass
class Container:
    settings: Settings
    encoder: Encoder
    index: VectorIndex
    state: SqliteSyncState
    builder: DocumentBuilder
    sparse: Bm25Encoder
    sync: SyncService
    search: SearchService
    _http: list[httpx.AsyncClient] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings, encoder: Encoder | None = None) -> Container:
        data_dir = Path(settings.data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        encoder = encoder or Encoder(settings.embedding.model, device=settings.embedding.device,
                                     batch_size=settings.embedding.batch_size, threads=settings.embedding.threads,
                                     precision=settings.embedding.precision)
        index = build_index(settings, encoder.dim)
        state = SqliteSyncState(data_dir / "state.sqlite")
        builder = build_builder(settings)
        sparse = Bm25Encoder()
        return cls(settings=settings, encoder=encoder, index=index, state=state, builder=builder, sparse=sparse,
                   sync=SyncService(builder, encoder, sparse, index, state, batch_size=settings.sync.batch_size),
                   search=SearchService(encoder, sparse, index, state, max_limit=settings.server.max_limit))

    def source(self, spec: str | None = None, transport: Any = None) -> ProfileSource:
        """An export directory path or a Tracardi URL (default: settings)."""
        spec = spec or self.settings.sync.source or self.settings.tracardi.url
        if not spec:
            raise ValueError("no source: pass --source DIR|URL or set PROFILE_AI_TRACARDI__URL")
        if spec.startswith(("http://", "https://")):
            t = self.settings.tracardi
            http = httpx.AsyncClient(base_url=spec, transport=transport, timeout=t.timeout_s)
            self._http.append(http)
            client = TracardiClient(http, username=t.username, password=t.password, context=t.context,
                                    timeout=t.timeout_s, page_size=t.page_size, concurrency=t.concurrency)
            return TracardiSource(client, spec)
        return ExportSource(spec)

    async def aclose(self) -> None:
        for http in self._http:
            await http.aclose()
        self.close()

    def close(self) -> None:
        try:
            self.index.close()
        finally:
            self.state.close()
