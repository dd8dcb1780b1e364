"""Builds every heavy or stateful resource once (model, index, state, clients) and the services over them.

Used by the FastAPI lifespan, the CLI and the notebook API alike, so all three behave the same.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.activation.repository import LiftRepository
from app.activation.service import LiftService
from app.agents.tools import CustomerTools
from app.auth.repository import ApiKeyRepository
from app.config import Settings
from app.erasure.explain import TransparencyService
from app.erasure.repository import ErasureRepository
from app.erasure.service import ErasureService, check_erasure_key, erasure_key
from app.errors import DomainError
from app.insights.service import InsightService
from app.jobs.engine import ensure_job_schema
from app.predictions.quality import QualityService
from app.predictions.schemas import ScoreRequest, ScoreResponse
from app.predictions.service import PredictionService
from app.search.service import SearchService
from app.segments.repository import SegmentRepository
from app.segments.schemas import PublishResponse
from app.segments.service import SegmentService
from app.store.changes_repository import ChangesRepository
from app.store.data_dir import secure_data_dir
from app.store.database import Database
from app.store.lease_repository import LeaseRepository
from app.store.predictions_repository import PredictionsRepository
from app.store.snapshots_repository import SnapshotsRepository
from app.store.sync_repository import PostgresSyncState
from app.store.writeback_repository import WritebackRepository
from app.sync.debounce import Debounced
from app.sync.guard import SyncGuard
from app.sync.push import sync_pushed
from app.sync.service import SyncResult, SyncService
from app.sync.sources import ExportSource, ProfileSource, TracardiSource
from app.tracardi.client import TracardiClient
from app.tracardi.webhook import Push
from app.writeback.service import TracardiWriteback, enqueue_traits
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


def build_encoder(settings: Settings) -> Encoder:
    e = settings.embedding
    return load_encoder(e.model or settings.lang.model, device=e.device, batch_size=e.batch_size, threads=e.threads,
                        precision=e.precision)


class SourceNotAllowedError(DomainError):
    status = 403
    code = "source_not_allowed"


@dataclass
class Container:
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
    _http: list[httpx.AsyncClient] = field(default_factory=list)
    tracardi_transport: Any = None  # tests pass the emulator's ASGI transport; None = real HTTP
    _pushed_source: TracardiSource | None = None
    _after_push: Debounced | None = None
    _purge: Debounced | None = None
    sync_guard: SyncGuard | None = None  # one sync at a time per deployment, whichever door (set in create)
    _insights: InsightService | None = None
    _lift: LiftService | None = None

    @classmethod
    async def create(cls, settings: Settings, encoder: Encoder | None = None, *, open_index: bool = True,
                     migrate: bool = True) -> Container:
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
                               wordings=("en", "es") if settings.lang.code == "multi" else (settings.lang.wording,))
        segments = SegmentService(index, encoder, SegmentRepository(database.pool), enqueue,
                                  wording=settings.lang.wording)
        key = erasure_key(settings.privacy.erasure_key, data_dir)
        try:
            if migrate:  # the job tables too, so workers elsewhere can join before this process runs a job
                await ensure_job_schema(database.pool)
            await check_erasure_key(database.pool, key, owner=migrate)
        except BaseException:
            await asyncio.to_thread(index.close)
            await database.close()
            raise
        erasure = ErasureService(ErasureRepository(database.pool), index, key)
        predictions = PredictionService(predictions_repo, builder.dictionary, enqueue, settings.prediction)
        predictions.monitor = QualityService(SnapshotsRepository(database.pool), predictions_repo,
                                             predictions.event_log, settings.prediction)
        predictions.erasures_since = segments.erasures_since = erasure.repo.erasures_since
        container = cls(settings=settings, encoder=encoder, index=index, database=database, state=state,
                   builder=builder, sparse=sparse, predictions_repo=predictions_repo, writeback_queue=queue,
                   keys=ApiKeyRepository(database.pool), segments=segments, erasure=erasure,
                   changes=ChangesRepository(database.pool),
                   predictions=predictions,
                   sync=SyncService(builder, encoder, sparse, index, state, batch_size=settings.sync.batch_size,
                                    max_delete_share=settings.sync.max_delete_share, forgotten=erasure.forgotten,
                                    objection_field=settings.privacy.objection_field),
                   search=search)
        container.sync_guard = SyncGuard(LeaseRepository(database.pool))
        erasure.drop_caches = container.drop_caches  # what was computed from a forgotten person
        if not settings.qdrant.url:  # the embedded index leaves deleted points in its files until purged
            erasure.purge = container.request_purge
        erasure.clear_remote = container.clear_tracardi
        predictions.monitor.on_degraded = container.retrain_later  # the quality policy acts through the job engine
        return container

    async def clear_tracardi(self, profile_ids: list[str]) -> int | None:
        """Set `traits.ai` to nothing in Tracardi for these people (erasure); None when no Tracardi is configured."""
        t = self.settings.tracardi
        if not t.url:
            return None
        async with httpx.AsyncClient(base_url=t.url, transport=self.tracardi_transport, timeout=t.timeout_s) as http:
            wb = TracardiWriteback(TracardiClient.from_settings(http, t), self.writeback_queue,
                                   workflow_writeback=t.workflow_writeback)
            return await wb.clear(profile_ids)

    def transparency(self) -> TransparencyService:
        """What the layer holds and infers about one person (GET /v1/profiles/{id}/explain, `profile-ai explain`)."""
        return TransparencyService(self.search, self.segments, self.predictions, self.writeback_queue,
                                   self.settings.lang.wording)

    def configured_sources(self) -> list[str]:
        """The sources this deployment was configured with: the only ones a request may name."""
        return list(dict.fromkeys(x for x in (self.settings.sync.source, self.settings.tracardi.url) if x))

    def requested_source(self, name: str | None) -> ProfileSource:
        """A source picked by a request: None means the default, anything else must be configured. A request
        never chooses a host (which would receive Tracardi's credentials) or a path on the server's disk."""
        allowed = self.configured_sources()
        if name is None:
            return self.source()
        wanted = name.strip().rstrip("/")
        for spec in allowed:
            if spec.rstrip("/") == wanted:
                return self.source(spec)
        raise SourceNotAllowedError(f"source {name[:100]!r} is not one of this deployment's configured sources "
                                    f"({len(allowed)} configured: PROFILE_AI_SYNC__SOURCE, PROFILE_AI_TRACARDI__URL); "
                                    "sources are configuration, not request data")

    def source(self, spec: str | None = None, transport: Any = None) -> ProfileSource:
        """An export directory path or a Tracardi URL (default: settings)."""
        spec = spec or self.settings.sync.source or self.settings.tracardi.url
        if not spec:
            raise ValueError("no source: pass --source DIR|URL or set PROFILE_AI_TRACARDI__URL")
        if spec.startswith(("http://", "https://")):
            t = self.settings.tracardi
            http = httpx.AsyncClient(base_url=spec, transport=transport or self.tracardi_transport, timeout=t.timeout_s)
            self._http.append(http)
            return TracardiSource(TracardiClient.from_settings(http, t), spec)
        return ExportSource(spec)

    async def release(self, source: ProfileSource) -> None:
        """Close the HTTP client `source()` opened for a Tracardi source. A long-lived process (the server's
        job worker makes a source per job) would otherwise keep one client per sync until it stops."""
        if isinstance(source, TracardiSource) and source.client.http in self._http:
            self._http.remove(source.client.http)
            await source.client.http.aclose()

    async def sync_pushed(self, pushes: list[Push]) -> SyncResult:
        """Re-sync the profiles Tracardi pushed, through one Tracardi source kept for the purpose."""
        if self._pushed_source is None:
            src = self.source(self.settings.tracardi.url, transport=self.tracardi_transport)
            assert isinstance(src, TracardiSource)
            self._pushed_source = src
        async with self.guard().hold(door="webhook"):  # a push waits for a running sync, then applies
            result = await sync_pushed(self.sync, self._pushed_source, pushes)
        # searches see the pushed profiles at once; the whole-population segment refresh is coalesced, so a
        # burst of pushes (one per profile change in Tracardi) costs one refresh, not one each
        self.drop_caches()
        if self._after_push is None:
            self._after_push = Debounced(self.after_sync, self.settings.webhook.refresh_delay_s)
        self._after_push.request()
        return result

    def agent_tools(self) -> CustomerTools:
        """The tools agents get (LangChain, MCP): search, cards, lookalikes, segments, predictions."""
        return CustomerTools(self.search, self.builder.redactor, segments=self.segments,
                             predictions=self.predictions, insights=self.insights,
                             explain=lambda pid: self.transparency().explain(pid), publish=self.publish_segment,
                             lift=self.lift.lift, uplift=self.lift.uplift)

    # -- the use cases every front end shares (CLI, HTTP, MCP, the notebook API): written once, here
    async def sync_and_refresh(self, source: ProfileSource, *, full: bool = False, progress: Any = None,
                               allow_mass_delete: bool = False) -> dict[str, Any]:
        """Sync, then refresh what depends on the profiles (caches, segments, retention). A failed refresh is
        reported in the answer, not raised: the sync itself is durable and its result stands."""
        async with self.guard().hold(door="sync"):
            result = await self.sync.run(source, full=full, progress=progress, allow_mass_delete=allow_mass_delete)
        return await self.refreshed(result)

    def guard(self) -> SyncGuard:
        assert self.sync_guard is not None, "Container.create sets the sync guard"
        return self.sync_guard

    async def refreshed(self, result: SyncResult) -> dict[str, Any]:
        """A finished sync's result, after the refresh that follows every sync (a failed refresh is reported in
        the answer and logged, not raised)."""
        out = result.as_dict()
        try:
            out["after_sync"] = await self.after_sync()
        except Exception as exc:  # noqa: BLE001 - reported with the result, logged
            log.exception("refresh after sync failed")
            out["after_sync_error"] = f"{type(exc).__name__}: {exc}"
        return out

    async def publish_segment(self, segment_id: str, holdout: float | None = None) -> PublishResponse:
        """Publish a segment's membership (PostgreSQL now), keeping a `holdout` share as a control group, and
        deliver the treated arm to Tracardi when one is configured."""
        res = await self.segments.publish(segment_id, holdout)
        res.delivered = await self.deliver_writeback()
        return res

    async def score(self, req: ScoreRequest) -> ScoreResponse:
        """Score with a model and deliver the new traits to Tracardi when one is configured."""
        res = await self.predictions.score(req)
        await self.segments.refresh_audiences(res.goal)  # prediction audiences follow the new scores
        res.delivered = await self.deliver_writeback()
        return res

    @property
    def insights(self) -> InsightService:
        """Business questions: count, describe, rank by a model (built on first use, over the same services)."""
        if self._insights is None:
            self._insights = InsightService(self.index, self.search, self.segments, self.predictions,
                                            wording=self.settings.lang.wording)
        return self._insights

    async def retrain_later(self, goal: str, model_id: str, reason: str) -> int | None:
        """The quality policy's action: one waiting retrain per goal, through the job engine (a second cause while
        one waits adds nothing). Without a session for the engine (a transaction pooler and no direct URL), the
        log line and the quality report say so and nothing is queued."""
        from app.jobs.queue import JobQueue

        if self.database.session_url is None:
            log.warning("goal %s needs retraining (%s) but the job engine needs DATABASE__DIRECT_URL", goal, reason)
            return None
        queue = JobQueue(self.database.pool, self.database.session_url, self.settings.jobs)
        try:
            return await queue.defer_step("retrain", {"goal": goal, "replaces": model_id, "reason": reason[:500]},
                                          f"waiting:retrain:{goal}")
        finally:
            await queue.close()

    @property
    def lift(self) -> LiftService:
        """Measured lift of published segments with a holdout (built on first use)."""
        if self._lift is None:
            async def exists(segment_id: str) -> bool:
                return await self.segments.repo.get(segment_id) is not None

            self._lift = LiftService(LiftRepository(self.database.pool), exists, self.segments.repo.holdout,
                                     self.predictions.purchase_types, self.predictions.repo.event_types)
        return self._lift

    def drop_caches(self) -> None:
        """Forget what was computed from the indexed profiles (search sample and vocabulary, the segment map,
        the population that groups are described against)."""
        self.search.invalidate()
        self.segments.invalidate()
        if self._insights is not None:
            self._insights.invalidate()

    async def after_sync(self) -> dict[str, int]:
        """What every sync is followed by: search caches dropped, segments refreshed (new profiles assigned,
        description and lookalike segments re-evaluated)."""
        self.drop_caches()
        await asyncio.to_thread(self.index.optimize)  # the embedded engine indexes only when asked
        await asyncio.to_thread(self.search.warm)  # the next question does not pay for the vocabulary's indexes
        report = await self.segments.refresh()
        if (days := self.settings.privacy.event_retention_days) is not None:
            report["events_purged"] = await self.state.purge_events(days)
        return report

    async def deliver_writeback(self) -> int | None:
        """Record the changes (segment entered/left, tier changed) since the last call, then deliver the
        write-back queue and the changes to Tracardi when one is configured: how many trait items were delivered
        (None when no Tracardi is configured; what is undelivered stays queued for the next run)."""
        await self.changes.record()
        url = self.settings.tracardi.url
        if not url:
            return None
        t = self.settings.tracardi
        async with httpx.AsyncClient(base_url=url, transport=self.tracardi_transport, timeout=t.timeout_s) as http:
            wb = TracardiWriteback(TracardiClient.from_settings(http, t), self.writeback_queue,
                                   workflow_writeback=t.workflow_writeback)
            delivered = (await wb.deliver()).delivered
            await wb.deliver_changes(self.changes)
            return delivered

    async def settle(self) -> None:
        """Wait for deferred work (the coalesced refresh after pushes) to finish; run a pending index purge now."""
        if self._after_push is not None:
            await self._after_push.wait()
        if self._purge is not None:
            await self._purge.flush()

    def request_purge(self) -> None:
        """After an erasure: rewrite the index's segments without the deleted points, once for a burst."""
        if self._purge is None:
            self._purge = Debounced(self._purge_index, self.settings.privacy.index_purge_delay_s)
        self._purge.request()

    async def _purge_index(self) -> None:
        t = time.perf_counter()
        if await asyncio.to_thread(self.index.purge_deleted):
            log.info("index segments rewritten without deleted points in %.1f s", time.perf_counter() - t)

    async def aclose(self) -> None:
        if self._purge is not None:
            await self._purge.flush()  # a CLI erasure purges before its process exits
        if self._after_push is not None:
            await self._after_push.close()  # idempotent: the next sync's refresh catches up
        for http in self._http:
            await http.aclose()
        try:
            await asyncio.to_thread(self.index.close)
        finally:
            await self.database.close()
