"""What each job does, over the container's use cases. Every job is idempotent (re-running one does what is
left, never twice), records its run (start, end, result or error) and raises transient failures so the engine
retries them with backoff; its input (the source, the queue, the staged batches) is never consumed by a failure.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from app.jobs.backfill import COUNTS, BackfillRepository
from app.jobs.engine import ALL_QUEUES
from app.jobs.queue import JobQueue
from app.predictions.schemas import TrainRequest
from app.sync.service import PreparedBatch, SyncResult

if TYPE_CHECKING:
    from app.container import Container



log = logging.getLogger(__name__)



class JobRunner:
    def __init__(self, container: Container, *, owns_index: bool) -> None:
        self.container = container
        self.owns_index = owns_index  # may this process write the index (the embedded shard's owner, or a server)
        self.queue = JobQueue(container.database.pool, container.database.session_url, container.settings.jobs, self.run)
        self.backfills = BackfillRepository(container.database.pool)
        self.bodies: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
            "sync": self.sync, "backfill": self.backfill, "backfill-partition": self.partition,
            "backfill-finish": self.finish, "backfill-apply": self.apply_ready, "writeback": self.writeback,
            "segments-refresh": self.segments_refresh, "rescore": self.rescore, "retrain": self.retrain, "schedules-tick": self.tick,
            "retry-stalled": self.stalled}

    @property
    def queues(self) -> list[str]:
        return list(ALL_QUEUES) if self.owns_index else [q for q in ALL_QUEUES if q != "index"]

    async def run(self, name: str, args: dict[str, Any], job_id: int | None) -> dict[str, Any]:
        run_id = await self.queue.start_run(job_id, name, args)
        try:
            result = await self.bodies[name](dict(args))
        except BaseException as exc:
            await self.queue.end_run(run_id, error=f"{type(exc).__name__}: {exc}")
            raise
        await self.queue.end_run(run_id, result=_jsonable(result))
        return result

    # -- the jobs
    async def sync(self, args: dict[str, Any]) -> dict[str, Any]:
        c = self.container
        if not (c.settings.sync.source or c.settings.tracardi.url):
            return {"skipped": "no source configured (PROFILE_AI_SYNC__SOURCE or PROFILE_AI_TRACARDI__URL)"}
        source = c.source(transport=c.tracardi_transport)
        try:
            return await c.usecases.sync_and_refresh(source, full=bool(args.get("full")))
        finally:
            await c.sources.release(source)

    async def backfill(self, args: dict[str, Any]) -> dict[str, Any]:
        """Start a partitioned full sync: one job per partition, on any worker."""
        c = self.container
        source = c.source(transport=c.tracardi_transport)
        partitions = int(args.get("partitions") or c.settings.jobs.partitions)
        try:
            async with c.usecases.guard.hold(door="backfill"):
                await c.sync.check_vector_space()  # a changed model resets the state before anyone encodes
                await c.sync.freeze_population(source)  # every partition renders with the same statistics
        finally:
            await c.sources.release(source)
        run_id = await self.backfills.create(source.key, partitions)
        for k in range(partitions):
            await self.queue.defer_step("backfill-partition", {"run_id": run_id, "partition": k},
                                        f"backfill:{run_id}:{k}")
        return {"run_id": run_id, "partitions": partitions, "source": source.key}

    async def partition(self, args: dict[str, Any]) -> dict[str, Any]:
        c = self.container
        run_id, k = str(args["run_id"]), int(args["partition"])
        run = await self.backfills.run(run_id)
        if run is None or not await self.backfills.begin_partition(run_id, k):
            return {"skipped": f"partition {k} of {run_id} is done or its run is gone"}
        source = c.source(transport=c.tracardi_transport)
        seq = 0

        async def stage(batch: PreparedBatch) -> None:
            nonlocal seq
            await self.backfills.stage(run_id, k, seq, batch)
            seq += 1

        try:
            if source.key != run["source"]:  # every worker must read the source the run was started on
                raise ValueError(f"this worker's source is {source.key}, the backfill's is {run['source']}: "
                                 "give every worker the same PROFILE_AI_SYNC__SOURCE / PROFILE_AI_TRACARDI__URL")
            result, seen = await c.sync.run_partition(source, k, int(run["partitions"]),
                                                      stage=None if self.owns_index else stage)
        finally:
            await c.sources.release(source)
        if await self.backfills.finish_partition(run_id, k, result, seen):
            await self.queue.defer_step("backfill-finish", {"run_id": run_id}, f"backfill-finish:{run_id}")
        elif seq:  # the owner applies this partition's batches now, while the others encode, not all at the end
            await self.queue.defer_step("backfill-apply", {"run_id": run_id}, f"backfill-apply:{run_id}")
        return {"run_id": run_id, "partition": k, "seen": result.seen, "embedded": result.embedded,
                "staged_batches": seq, "encode_seconds": round(result.encode_seconds, 2)}

    async def finish(self, args: dict[str, Any]) -> dict[str, Any]:
        """On the index's owner: apply every staged batch (each deleted once applied, so a retry resumes),
        delete what the complete read did not see, then move the watermark."""
        c = self.container
        run_id = str(args["run_id"])
        run = await self.backfills.run(run_id)
        if run is None or run["status"] == "done":
            return {"skipped": f"backfill {run_id} is done or gone"}
        if run["partitions_done"] < run["partitions"]:
            return {"waiting": f"{run['partitions'] - run['partitions_done']} partitions of {run_id} are not done"}
        await self.backfills.close_run(run_id, "applying")
        try:
            async with c.usecases.guard.hold(door="backfill-finish"):  # applied as one sync, never beside another
                applied = await self._apply_staged(run_id)
                seen, totals = await self.backfills.totals(run_id)
                result = SyncResult(source=run["source"], mode="backfill", errors=list(totals["errors"]))
                for key in COUNTS:
                    setattr(result, key, int(totals[key]))
                result.encode_seconds = float(totals["encode_seconds"])
                seen -= await c.state.absorbed_ids(sorted(seen))  # a merge in one partition removes an id seen elsewhere
                await c.sync.delete_unseen(run["source"], seen, result)
                await c.state.set_watermark(run["source"], run["started_at"])
        except Exception as exc:  # the run says why; a retry of this job resumes where it stopped
            await self.backfills.close_run(run_id, "failed", error=f"{type(exc).__name__}: {exc}"[:2000])
            raise
        out = {**await c.usecases.refreshed(result), "run_id": run_id, "applied_batches": applied}
        await self.backfills.close_run(run_id, "done", _jsonable(out))
        return out

    async def apply_ready(self, args: dict[str, Any]) -> dict[str, Any]:
        """On the index's owner, while a backfill's other partitions still encode: apply the batches of those
        that are done (a done partition's batches are final). Only the finish deletes and moves the watermark.
        Applying is idempotent, so a retry, or the finish applying what is left, is safe."""
        run_id = str(args["run_id"])
        run = await self.backfills.run(run_id)
        if run is None or run["status"] != "running":
            return {"skipped": f"backfill {run_id} is not running"}
        async with self.container.usecases.guard.hold(door="backfill-apply"):
            applied = await self._apply_staged(run_id, done_only=True)
        return {"run_id": run_id, "applied_batches": applied}

    async def _apply_staged(self, run_id: str, done_only: bool = False) -> int:
        """Apply a run's staged batches in order (`done_only`: of its done partitions), each deleted once
        applied; returns how many."""
        applied = 0
        for k, seq in await self.backfills.staged_keys(run_id, done_only):
            batch = await self.backfills.staged(run_id, k, seq)
            if batch is not None:
                await self.container.sync.apply(batch)
                await self.backfills.unstage(run_id, k, seq)
                applied += 1
        return applied

    async def writeback(self, args: dict[str, Any]) -> dict[str, Any]:
        delivered = await self.container.usecases.deliver_writeback()
        return {"delivered": delivered}

    async def segments_refresh(self, args: dict[str, Any]) -> dict[str, Any]:
        self.container.usecases.drop_caches()
        return await self.container.segments.refresh()

    async def rescore(self, args: dict[str, Any]) -> dict[str, Any]:
        """Score every active model that can score here (an imported model's scores come from elsewhere)."""
        return await self.container.usecases.rescore()

    async def retrain(self, args: dict[str, Any]) -> dict[str, Any]:
        """Train the goal again with the replaced model's horizon; the new card names the model and the reason."""
        c = self.container
        old = await c.predictions.model(str(args["replaces"]))
        new = await c.predictions.train(TrainRequest(goal=old.goal, horizon_days=old.horizon_days))
        await c.predictions_repo.annotate(new.model_id, {"replaces": {"model_id": old.model_id,
                                                                      "reason": str(args["reason"])[:500]}})
        return {"model_id": new.model_id, "replaces": old.model_id}

    async def tick(self, args: dict[str, Any]) -> dict[str, Any]:
        fired = await self.queue.schedules.fire_due(lambda job, a: self.queue.defer(job, a))
        return {"fired": fired, "at": datetime.now(UTC).isoformat()}

    async def stalled(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"retried": await self.queue.retry_stalled()}


def _jsonable(value: Any) -> Any:
    """Results go into jsonb: datetimes as ISO text, everything else as JSON has it."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
