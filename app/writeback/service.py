"""Write-back of AI traits to Tracardi: `/track` events carrying an object under `traits.ai`.

Items come from the persistent queue in PostgreSQL. Each batch first resolves its profiles in bulk (a merged id
is sent to its survivor; an unknown id is dead-lettered, because `/track` would create a new profile), then
checks that Tracardi answered with that profile. Items are claimed (SKIP LOCKED, a lease per worker, one item in
flight per profile), so concurrent runs never send one item twice or an older payload last. Failures stay pending for the next run; after
`max_attempts` they are dead; an outage (5xx, time-outs, refused connections) does not spend attempts.
Before anything is sent, the server's version and the mapping are checked: on 0.7 (no mapping route) write-back
refuses unless a Tracardi workflow was declared, and a missing mapping is an error, so nothing is marked
delivered that Tracardi would drop. Bounded concurrency, retries inside the client. `/profiles/import` is never
used.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any

from app.store.database import pid_alive
from app.tracardi.client import TracardiClient
from app.tracardi.errors import TracardiError, TracardiUnavailableError
from app.tracardi.schemas import CHANGE_EVENT_TYPES
from app.tracardi.setup import EVENT_TYPE, mapping_exists
from app.tracardi.versions import TracardiCapabilityError
from app.writeback.changes_repository import ChangesRepository
from app.writeback.repository import QueueItem, WritebackRepository
from profiles.model import Profile

log = logging.getLogger(__name__)
TARGET = "tracardi"


async def enqueue_traits(queue: WritebackRepository, profile_ids: list[str]) -> int:
    """Queue the current AI traits (predictions of active models, published segments) of these profiles.
    Idempotent: the queue keeps one item per profile and payload."""
    return await queue.enqueue_current_traits(TARGET, profile_ids)


@dataclass
class WritebackReport:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    pending: int = 0


class TracardiWriteback:
    def __init__(self, client: TracardiClient, queue: WritebackRepository,
                 *, source_id: str = "profile-ai", concurrency: int = 8, max_attempts: int = 5,
                 workflow_writeback: bool = False, lease_seconds: float = 600) -> None:
        self.client = client
        self.lease_seconds = lease_seconds  # a claim outlives a dead worker this long, no longer
        self.queue = queue
        self.source_id = source_id
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.workflow_writeback = workflow_writeback

    async def enqueue_profiles(self, profile_ids: list[str]) -> int:
        return await enqueue_traits(self.queue, profile_ids)

    async def check_target(self) -> None:
        """Refuse, before any item is touched, a Tracardi that would accept the events and drop the traits."""
        version = await self.client.version()
        if not version.has_mapping_route:
            if not self.workflow_writeback:
                raise TracardiCapabilityError(
                    f"Tracardi {version} has no event-to-profile mapping, so write-back events would change "
                    f"nothing: add a workflow on event type {EVENT_TYPE!r} that copies properties.ai into "
                    "traits.public.ai, then set PROFILE_AI_TRACARDI__WORKFLOW_WRITEBACK=true (or upgrade to 0.8.1+)")
            return
        if not await mapping_exists(self.client):
            raise TracardiCapabilityError(f"Tracardi {version} has no profile-ai event-to-profile mapping: run "
                                          "`profile-ai tracardi setup` first (nothing was sent)")

    async def deliver(self, batch: int = 1000) -> WritebackReport:
        report = WritebackReport()
        waiting = (await self.queue.counts(TARGET)).get("pending", 0)
        if not waiting:
            return report
        try:
            await self.check_target()
        except TracardiUnavailableError as exc:  # down: every item stays pending, no attempt spent
            log.warning("write-back: Tracardi unavailable, %d items stay queued: %s", waiting, exc)
            report.failed = report.pending = waiting
            return report
        sem = asyncio.Semaphore(self.concurrency)
        host = socket.gethostname()
        worker = f"{host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        released = await self.queue.release_dead(TARGET, host, pid_alive)
        if released:
            log.info("write-back: released %d items claimed by killed runs on this host", released)
        cursor = 0
        while True:
            items = await self.queue.claim(TARGET, worker, batch, self.lease_seconds, after_id=cursor)
            if not items:
                break
            cursor = items[-1].id
            try:
                resolved = await self.client.lookup_many(sorted({i.profile_id for i in items}))
            except TracardiError as exc:  # Tracardi down: every item of the batch stays pending
                for item in items:
                    await self._failed(item, exc, report, worker)
                continue

            async def one(item: QueueItem, profile: Profile | None) -> None:
                async with sem:
                    await self._deliver(item, profile, report, worker)

            await asyncio.gather(*(one(i, resolved.get(i.profile_id)) for i in items))
        report.pending = (await self.queue.counts(TARGET)).get("pending", 0)
        return report

    async def deliver_changes(self, changes: ChangesRepository, batch: int = 500) -> int:
        """Send recorded changes as Tracardi events (`profile-ai-segment-entered`, `-segment-left`,
        `-tier-changed`) so Tracardi workflows can act on them: one `/track` per profile with its changes in
        order, each marked delivered once Tracardi answered for that profile. Returns how many were sent."""
        sent = 0
        while items := await changes.claim(batch):
            by_profile: dict[str, list[dict[str, Any]]] = {}
            for c in items:
                by_profile.setdefault(c["profile_id"], []).append(c)
            try:
                resolved = await self.client.lookup_many(sorted(by_profile))
            except TracardiError as exc:  # down: everything goes back, nothing is spent
                for c in items:
                    await changes.failed(c["id"], f"{type(exc).__name__}: {exc}")
                break
            sem = asyncio.Semaphore(self.concurrency)
            sent += sum(await asyncio.gather(*(self._send_changes(changes, resolved.get(pid), rows, sem)
                                               for pid, rows in by_profile.items())))
        return sent

    async def _send_changes(self, changes: ChangesRepository, profile: Profile | None, rows: list[dict[str, Any]],
                            sem: asyncio.Semaphore) -> int:
        async with sem:
            return await self._send_profile_changes(changes, profile, rows)

    async def _send_profile_changes(self, changes: ChangesRepository, profile: Profile | None,
                                    rows: list[dict[str, Any]]) -> int:
        if profile is None:  # /track would create a new profile
            for c in rows:
                await changes.failed(c["id"], "profile not in Tracardi (deleted?): not sent", dead=True)
            return 0
        events = [{"type": CHANGE_EVENT_TYPES[c["kind"]], "properties": {
            "change_id": c["id"], ("segment_id" if c["kind"].startswith("segment") else "goal"): c["subject"],
            "before": c["before"], "after": c["after"], "model_version": c["model_version"]}} for c in rows]
        try:
            await self.client.track(self.source_id, profile.id, events)
        except TracardiError as exc:
            for c in rows:
                await changes.failed(c["id"], f"{type(exc).__name__}: {exc}",
                                     dead=not isinstance(exc, TracardiUnavailableError) and c.get("attempts", 0) >= 4)
            return 0
        for c in rows:
            await changes.delivered(c["id"])
        return len(rows)

    async def clear(self, profile_ids: list[str]) -> int:
        """Erasure: replace these people's `traits.ai` in Tracardi by `{"erased": true}` through the same event and
        mapping, so no AI trait of a forgotten person stays behind there. Not an empty object: Tracardi skips an
        empty mapped value ("Value of event@... is None or empty", LIB tracardi/service/tracking/
        profile_data_computation.py @0.9.0-dev). Unknown ids are skipped (`/track` would create a profile).
        Returns how many profiles were cleared."""
        await self.check_target()
        found = await self.client.lookup_many(sorted(set(profile_ids)))
        done = 0
        for profile in {p.id: p for p in found.values() if p is not None}.values():
            await self.client.track(self.source_id, profile.id, [{"type": EVENT_TYPE, "properties": {"ai": {"erased": True}}}])
            done += 1
        return done

    async def _deliver(self, item: QueueItem, profile: Profile | None, report: WritebackReport, worker: str) -> None:
        try:
            if profile is None:
                await self.queue.failed(item.id, "profile not in Tracardi (deleted?): not sent, /track would "
                                                 "create a new profile", worker=worker, dead=True)
                report.dead += 1
                return
            target = profile.id  # the survivor when the id was merged
            body: dict[str, Any] = {"type": EVENT_TYPE, "properties": {"ai": item.payload}}
            answer = await self.client.track(self.source_id, target, [body])
            got = (answer.get("profile") or {}).get("id")
            if got != target:
                await self.queue.failed(item.id, f"Tracardi answered for profile {got}, expected {target}", worker=worker,
                                     dead=True)
                report.dead += 1
                return
            if await self.queue.delivered(item.id, target, worker):
                report.delivered += 1
        except TracardiError as exc:
            await self._failed(item, exc, report, worker)

    async def _failed(self, item: QueueItem, exc: Exception, report: WritebackReport, worker: str) -> None:
        counted = not isinstance(exc, TracardiUnavailableError)  # an outage is nobody's fault of the item's
        dead = counted and item.attempts + 1 >= self.max_attempts
        await self.queue.failed(item.id, f"{type(exc).__name__}: {exc}", worker=worker, dead=dead,
                                counted=counted)
        report.dead += dead
        report.failed += not dead
        log.warning("write-back of %s failed (%s): %s", item.profile_id, "dead" if dead else "will retry", exc)
