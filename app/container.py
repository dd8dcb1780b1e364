"""Builds every heavy or stateful resource once (model, index, state, clients) and the services over them.

Used by the FastAPI lifespan, the CLI and the notebook API alike, so all three behave the same.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.activation.repository import LiftRepository
from app.activation.service import LiftService
from app.agents.tools import CustomerTools
from app.auth.repository import ApiKeyRepository
from app.config import Settings
from app.erasure.explain import TransparencyService
from app.erasure.repository import ErasureRepository
from app.erasure.service import ErasureService, check_erasure_key, erasure_key
from app.insights.service import InsightService
from app.jobs.engine import ensure_job_schema
from app.predictions.repository import PredictionsRepository
from app.predictions.service import PredictionService
from app.predictions.snapshots_repository import SnapshotsRepository
from app.search.phrase_store import PhraseVectorStore
from app.search.service import SearchService
from app.segments.repository import SegmentRepository
from app.segments.service import SegmentService
from app.store.data_dir import secure_data_dir
from app.store.database import Database
from app.sync.guard import SyncGuard
from app.sync.lease_repository import LeaseRepository
from app.sync.repository import PostgresSyncState
from app.sync.service import SyncService
from app.sync.sources import ProfileSource, Sources
from app.usecases import UseCases
from app.writeback.changes_repository import ChangesRepository
from app.writeback.repository import WritebackRepository
from app.writeback.service import enqueue_traits
from embeddings.documents import DocumentBuilder
from embeddings.encoder import Encoder, load_encoder
from embeddings.index import NotOwnedIndex, VectorIndex
from embeddings.redaction import Redactor
from embeddings.sparse import Bm25Encoder
from profiles.dictionary import EventDictionary

log = logging.getLogger(__name__)


def build_index(settings: Settings, dim: int) -> VectorIndex:
    if settings.qdrant.url:
        from qdrant_client import QdrantClient

        from embeddings.qdrant_server_index import QdrantServerIndex

        client = QdrantClient(url=settings.qdrant.url, api_key=settings.qdrant.api_key)
        return QdrantServerIndex(client, settings.qdrant.collection, dim)
    from embeddings.edge_index import EdgeIndex

    return EdgeIndex(Path(settings.data_dir) / "index" / settings.qdrant.collection, dim,
                     hnsw_m=settings.qdrant.hnsw_m)


def build_builder(settings: Settings) -> DocumentBuilder:
    return DocumentBuilder(EventDictionary.load(settings.sync.event_dictionary, settings.lang.wording),
                           Redactor(settings.privacy.allow_fields))


def event_labels(settings: Settings, dictionary: EventDictionary) -> Callable[[str], list[str]]:
    """An event type's names in English and the deployment's wording, from the event dictionary ("ratings",
    "valoraciones"): questions count events in either ("valoraron más de 100 películas"). `dictionary` is the
    documents' own (the deployment's wording), so only an English one is loaded beside it."""
    books = [dictionary] if settings.lang.wording == "en" else \
        [EventDictionary.load(settings.sync.event_dictionary, "en"), dictionary]
    # and how one such event is said, its phrase up to the first detail: "bought", "opened a support ticket",
    # "compró" (people ask "who bought something", not "who has purchases")
    return lambda etype: [name for b in books if b.knows(etype)
                          for name in (b.spec(etype).label, b.spec(etype).said, *b.spec(etype).asked) if name]


def build_encoder(settings: Settings) -> Encoder:
    e = settings.embedding
    return load_encoder(e.model or settings.lang.model, device=e.device, batch_size=e.batch_size, threads=e.threads,
                        precision=e.precision)


@dataclass
class Container:
    """Wiring only: the resources and the services over them, built once in `create`. What users do that
    changes state is in `usecases` (app/usecases.py); front ends call that, and the services for reads."""

    settings: Settings
    encoder: Encoder
    index: VectorIndex
    database: Database
    state: PostgresSyncState
    builder: DocumentBuilder
    sparse: Bm25Encoder
    sync: SyncService
    search: SearchService
    segments: SegmentService
    predictions: PredictionService
    predictions_repo: PredictionsRepository
    writeback_queue: WritebackRepository
    keys: ApiKeyRepository
    erasure: ErasureService
    changes: ChangesRepository
    insights: InsightService
    lift: LiftService
    sources: Sources
    usecases: UseCases

    @classmethod
    async def create(cls, settings: Settings, encoder: Encoder | None = None, *, open_index: bool = True,
                     migrate: bool = True, tracardi_transport: Any = None) -> Container:
        """Build everything once: the model and the index load in threads, the database pool on the loop.
        A worker that does not own the embedded index passes open_index=False (it only encodes); one on another
        machine passes migrate=False, so a wrong database is refused instead of given profile-ai's tables."""
        data_dir = Path(settings.data_dir)
        await asyncio.to_thread(secure_data_dir, data_dir)
        database = await Database.from_settings(settings.database, data_dir, migrate=migrate)
        try:
            if encoder is None:
                encoder = await asyncio.to_thread(build_encoder, settings)
            if open_index or settings.qdrant.url:
                index = await asyncio.to_thread(build_index, settings, encoder.dim)
            else:
                index = NotOwnedIndex()  # a worker without the shard: anything but encoding asks for the owner
        except BaseException:
            await database.close()
            raise
        state = PostgresSyncState(database.pool)
        builder = build_builder(settings)
        sparse = Bm25Encoder(settings.lang.analysers)
        predictions_repo = PredictionsRepository(database.pool)
        queue = WritebackRepository(database.pool)

        async def enqueue(profile_ids: list[str]) -> int:
            return await enqueue_traits(queue, profile_ids)

        search = SearchService(encoder, sparse, index, state, max_limit=settings.server.max_limit,
                               default_mode=settings.lang.search_mode,
                               wordings=("en", "es") if settings.lang.code == "multi" else (settings.lang.wording,),
                               event_labels=event_labels(settings, builder.dictionary),
                               phrases=PhraseVectorStore(data_dir / "cache", encoder.model_id),
                               population=lambda: builder.population,
                               amount_of=lambda etype: builder.dictionary.spec(etype).value,
                               rating_of=lambda etype: (builder.dictionary.spec(etype).rating or {}).get("property"))
        erasures = ErasureRepository(database.pool)
        segments = SegmentService(index, encoder, SegmentRepository(database.pool), enqueue,
                                  wording=settings.lang.wording, erasures_since=erasures.erasures_since,
                                  questions=search)
        key = erasure_key(settings.privacy.erasure_key, data_dir)
        try:
            if migrate:  # the job tables too, so workers elsewhere can join before this process runs a job
                await ensure_job_schema(database.pool)
            await check_erasure_key(database.pool, key, owner=migrate)
        except BaseException:
            await asyncio.to_thread(index.close)
            await database.close()
            raise
        erasure = ErasureService(erasures, index, key)
        predictions = PredictionService(predictions_repo, builder.dictionary, enqueue, settings.prediction,
                                        snapshots=SnapshotsRepository(database.pool),
                                        erasures_since=erasures.erasures_since)
        sync = SyncService(builder, encoder, sparse, index, state, batch_size=settings.sync.batch_size,
                           max_delete_share=settings.sync.max_delete_share, forgotten=erasure.forgotten,
                           objection_field=settings.privacy.objection_field)
        await sync.load_population()  # what questions read about events before this process's first sync
        insights = InsightService(index, search, segments, predictions, wording=settings.lang.wording)
        changes = ChangesRepository(database.pool)
        sources = Sources(settings.sync, settings.tracardi, tracardi_transport)
        usecases = UseCases(settings=settings, database=database, index=index, state=state, sync=sync, search=search,
                            segments=segments, predictions=predictions, insights=insights, erasure=erasure,
                            changes=changes, writeback_queue=queue, sources=sources,
                            guard=SyncGuard(LeaseRepository(database.pool)))
        return cls(settings=settings, encoder=encoder, index=index, database=database, state=state, builder=builder,
                   sparse=sparse, predictions_repo=predictions_repo, writeback_queue=queue,
                   keys=ApiKeyRepository(database.pool), segments=segments, erasure=erasure, changes=changes,
                   predictions=predictions, sync=sync, search=search, insights=insights,
                   lift=_lift(database, segments, predictions), sources=sources, usecases=usecases)

    def transparency(self) -> TransparencyService:
        """What the layer holds and infers about one person (GET /v1/profiles/{id}/explain, `profile-ai explain`)."""
        return TransparencyService(self.search, self.segments, self.predictions, self.writeback_queue,
                                   self.settings.lang.wording)

    def source(self, spec: str | None = None, transport: Any = None) -> ProfileSource:
        """An export directory path or a Tracardi URL (default: settings); see `Sources.open`."""
        return self.sources.open(spec, transport)

    @property
    def tracardi_transport(self) -> Any:
        """The HTTP transport to Tracardi (tests pass the emulator's ASGI transport; None = real HTTP)."""
        return self.sources.transport

    @tracardi_transport.setter
    def tracardi_transport(self, transport: Any) -> None:
        self.sources.transport = transport

    def agent_tools(self) -> CustomerTools:
        """The tools agents get (LangChain, MCP): search, cards, lookalikes, segments, predictions."""
        return CustomerTools(self.search, self.builder.redactor, segments=self.segments,
                             predictions=self.predictions, insights=self.insights,
                             explain=lambda pid: self.transparency().explain(pid), publish=self.usecases.publish_segment,
                             lift=self.lift.lift, uplift=self.lift.uplift)

    async def aclose(self) -> None:
        await self.usecases.aclose()
        await self.sources.aclose()
        try:
            await asyncio.to_thread(self.index.close)
        finally:
            await self.database.close()


def _lift(database: Database, segments: SegmentService, predictions: PredictionService) -> LiftService:
    """Measured lift of published segments with a holdout."""
    async def exists(segment_id: str) -> bool:
        return await segments.repo.get(segment_id) is not None

    return LiftService(LiftRepository(database.pool), exists, segments.repo.holdout, predictions.purchase_types,
                       predictions.repo.event_types)
