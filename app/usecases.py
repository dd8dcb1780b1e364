"""The application layer: what a user can do that changes state, each written once.

Every front end (the CLI, the HTTP routes, the MCP and LangChain tools, the notebook Workspace, the job runner)
calls these and nothing below them for: a sync and the refresh after it, a webhook push, publishing a segment,
scoring (one model, or every active one), write-back delivery, erasure with its Tracardi clear and index purge,
and a retrain the quality policy asks for. Reads (search, cards, counts) go to their services directly: they
change nothing, so there is nothing for front ends to disagree about.

It owns the one sync lock (`guard`): every door into the sync (HTTP, CLI, jobs, webhook, backfill) holds it.
The services' hooks point here (what an erasure drops, what a degraded model sets off), wired once in __init__.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from app.config import Settings
from app.erasure.service import ErasureService
from app.errors import DomainError
from app.insights.service import InsightService
from app.jobs.queue import JobQueue
from app.predictions.schemas import ScoreRequest, ScoreResponse
from app.predictions.service import PredictionService
from app.search.service import SearchService
from app.segments.schemas import PublishResponse
from app.segments.service import SegmentService
from app.store.database import Database
from app.sync.debounce import Debounced
from app.sync.guard import SyncGuard
from app.sync.push import sync_pushed
from app.sync.repository import PostgresSyncState
from app.sync.service import SyncResult, SyncService
from app.sync.sources import ProfileSource, Sources, TracardiSource
from app.tracardi.client import TracardiClient
from app.tracardi.webhook import Push
from app.writeback.changes_repository import ChangesRepository
from app.writeback.repository import WritebackRepository
from app.writeback.service import TracardiWriteback
from embeddings.index import VectorIndex

log = logging.getLogger(__name__)


class UseCases:
    def __init__(self, *, settings: Settings, database: Database, index: VectorIndex, state: PostgresSyncState,
                 sync: SyncService, search: SearchService, segments: SegmentService, predictions: PredictionService,
                 insights: InsightService, erasure: ErasureService, changes: ChangesRepository,
                 writeback_queue: WritebackRepository, sources: Sources, guard: SyncGuard) -> None:
        self.settings = settings
        self.database = database
        self.index = index
        self.state = state
        self.sync = sync
        self.search = search
        self.segments = segments
        self.predictions = predictions
        self.insights = insights
        self.erasure = erasure
        self.changes = changes
        self.writeback_queue = writeback_queue
        self.sources = sources
        self.guard = guard  # one sync at a time per deployment, whichever door
        self._pushed_source: TracardiSource | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # work started beside a use case (see _background)
        self._after_push = Debounced(self.after_sync, settings.webhook.refresh_delay_s)
        self._purge = Debounced(self._purge_index, settings.privacy.index_purge_delay_s)
        # the services' hooks: an erasure drops what was computed from the person, asks for the index's files to
        # be rewritten (the embedded engine leaves deleted points in them) and clears Tracardi; a degraded model
        # is retrained through the job engine
        erasure.drop_caches = functools.partial(self.drop_caches, erased=True)
        erasure.purge = self.request_purge if not settings.qdrant.url else None
        erasure.clear_remote = self.clear_tracardi
        if predictions.monitor is not None:
            predictions.monitor.on_degraded = self.retrain_later

    # -- sync
    async def sync_and_refresh(self, source: ProfileSource, *, full: bool = False, progress: Any = None,
                               allow_mass_delete: bool = False) -> dict[str, Any]:
        """Sync, then refresh what depends on the profiles (caches, segments, retention). A failed refresh is
        reported in the answer, not raised: the sync itself is durable and its result stands."""
        async with self.guard.hold(door="sync"):
            result = await self.sync.run(source, full=full, progress=progress, allow_mass_delete=allow_mass_delete)
        return await self.refreshed(result)

    async def refreshed(self, result: SyncResult) -> dict[str, Any]:
        """A finished sync's result, after the refresh that follows every sync (a failed refresh is reported in
        the answer and logged, not raised)."""
        out = result.as_dict()
        try:
            out["after_sync"] = await self.after_sync()
        except Exception as exc:  # noqa: BLE001 - reported with the result, logged
            log.exception("refresh after sync failed")
            out["after_sync_error"] = f"{type(exc).__name__}: {exc}"
        else:  # not after webhook pushes: a burst each few seconds would rebuild it each time
            self._background(self.insights.prebuild, "prebuilding the describe columns")
        return out

    def _background(self, work: Callable[[], Awaitable[Any]], what: str) -> None:
        """Run `work()` beside the caller; a failure is logged; `aclose` cancels what is still running (the
        coroutine is made inside the task, so one cancelled before it started leaves nothing un-awaited)."""
        async def run() -> None:
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - nothing waits for it: logged, and the next question builds it
                log.exception("%s failed", what)
        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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

    async def sync_pushed(self, pushes: list[Push]) -> SyncResult:
        """Re-sync the profiles Tracardi pushed, through one Tracardi source kept for the purpose."""
        if self._pushed_source is None:
            src = self.sources.open(self.settings.tracardi.url)
            assert isinstance(src, TracardiSource)
            self._pushed_source = src
        async with self.guard.hold(door="webhook"):  # a push waits for a running sync, then applies
            result = await sync_pushed(self.sync, self._pushed_source, pushes)
        # searches see the pushed profiles at once; the whole-population segment refresh is coalesced, so a
        # burst of pushes (one per profile change in Tracardi) costs one refresh, not one each
        self.drop_caches()
        self._after_push.request()
        return result

    def drop_caches(self, *, erased: bool = False) -> None:
        """Forget what was computed from the indexed profiles (search sample and vocabulary, the segment map,
        the population that groups are described against). `erased`: after an erasure, the stored phrase
        vectors go too (the vocabulary may have held the person's words)."""
        self.search.invalidate(forget_phrases=erased)
        self.segments.invalidate()
        self.insights.invalidate()

    # -- activation
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

    async def rescore(self) -> dict[str, Any]:
        """Score every active model that can score here (an imported model's scores come from elsewhere), refresh
        the prediction audiences, prune old score snapshots, deliver."""
        scored: dict[str, int] = {}
        for m in await self.predictions.models():
            if m.status != "active" or await self.predictions.repo.artifact(m.model_id) is None:
                continue
            res = await self.predictions.score(ScoreRequest(model_id=m.model_id, limit=0))
            scored[m.model_id] = res.scored
        audiences = await self.segments.refresh_audiences() if scored else 0  # they follow the new scores
        pruned: int | str = 0
        if self.predictions.monitor is not None:
            try:  # snapshots past their retention go (a retention shorter than a horizon is refused, and logged)
                pruned = await self.predictions.monitor.prune()
            except DomainError as exc:
                log.warning("score snapshots not pruned: %s", exc)
                pruned = str(exc)
        delivered = await self.deliver_writeback() if scored else None
        return {"scored": scored, "audiences": audiences, "snapshots_pruned": pruned, "delivered": delivered}

    def _tracardi_writeback(self, http: httpx.AsyncClient) -> TracardiWriteback:
        t = self.settings.tracardi
        return TracardiWriteback(TracardiClient.from_settings(http, t), self.writeback_queue,
                                 workflow_writeback=t.workflow_writeback)

    def _tracardi_http(self) -> httpx.AsyncClient:
        return self.sources.http(self.settings.tracardi.url or "")

    async def deliver_writeback(self) -> int | None:
        """Record the changes (segment entered/left, tier changed) since the last call, then deliver the
        write-back queue and the changes to Tracardi when one is configured: how many trait items were delivered
        (None when no Tracardi is configured; what is undelivered stays queued for the next run)."""
        await self.changes.record()
        if not self.settings.tracardi.url:
            return None
        async with self._tracardi_http() as http:
            wb = self._tracardi_writeback(http)
            delivered = (await wb.deliver()).delivered
            await wb.deliver_changes(self.changes)
            return delivered

    # -- erasure (art. 17) and objection
    async def forget(self, profile_id: str, *, actor: str, reason: str | None = None,
                     clear_tracardi: bool = False) -> dict[str, Any]:
        """Erase a person everywhere this layer holds them (and their merged ids), optionally clearing
        `traits.ai` in Tracardi; the index's files are purged shortly after (coalesced)."""
        return await self.erasure.forget(profile_id, actor=actor, reason=reason, clear_tracardi=clear_tracardi)

    async def clear_tracardi(self, profile_ids: list[str]) -> int | None:
        """Set `traits.ai` to nothing in Tracardi for these people (erasure); None when no Tracardi is configured."""
        if not self.settings.tracardi.url:
            return None
        async with self._tracardi_http() as http:
            return await self._tracardi_writeback(http).clear(profile_ids)

    def request_purge(self) -> None:
        """After an erasure: rewrite the index's segments without the deleted points, once for a burst."""
        self._purge.request()

    async def _purge_index(self) -> None:
        t = time.perf_counter()
        if await asyncio.to_thread(self.index.purge_deleted):
            log.info("index segments rewritten without deleted points in %.1f s", time.perf_counter() - t)

    # -- model quality
    async def retrain_later(self, goal: str, model_id: str, reason: str) -> int | None:
        """The quality policy's action: one waiting retrain per goal, through the job engine (a second cause while
        one waits adds nothing). Without a session for the engine (a transaction pooler and no direct URL), the
        log line and the quality report say so and nothing is queued."""
        if self.database.session_url is None:
            log.warning("goal %s needs retraining (%s) but the job engine needs DATABASE__DIRECT_URL", goal, reason)
            return None
        queue = JobQueue(self.database.pool, self.database.session_url, self.settings.jobs)
        try:
            return await queue.defer_step("retrain", {"goal": goal, "replaces": model_id, "reason": reason[:500]},
                                          f"waiting:retrain:{goal}")
        finally:
            await queue.close()

    # -- lifecycle
    async def settle(self) -> None:
        """Wait for deferred work (the coalesced refresh after pushes) to finish; run a pending index purge now."""
        await self._after_push.wait()
        await self._purge.flush()

    async def aclose(self) -> None:
        await self._purge.flush()  # a CLI erasure purges before its process exits
        await self._after_push.close()  # idempotent: the next sync's refresh catches up
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

