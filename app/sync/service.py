"""The sync pipeline: source -> normalised profile -> document -> hash (skip unchanged) -> encode -> upsert.

Merges (absorbed ids in `ids`, 0.7's inactive `merged_with` duplicates) and deletions (profiles missing
from a complete read) remove points. State is committed per batch only after the index has flushed, and
the watermark moves only when the whole run is durable, so a crash at any point resumes without loss or
duplicates: a re-run skips what was committed (same content hash) and redoes the rest.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import orjson

from app.collector import collect_young, collector_paused
from app.sanitize import without_nul
from app.shutdown import STOPPING, StoppingError
from app.sync.sources import ProfileSource
from app.sync.state import EventRow, IndexedRow, ProfileFeatures, SyncState
from embeddings.documents import DocumentBuilder, ProfileDocument
from embeddings.encoder import Encoder
from embeddings.index import IndexPoint, VectorIndex
from embeddings.payload import profile_payload
from embeddings.sparse import Bm25Encoder
from profiles.model import Profile, ProfileWithEvents
from profiles.paths import as_number, get_path
from profiles.population import FacetPopulation

log = logging.getLogger(__name__)
ENCODE_CHUNK = 128  # documents encoded between two looks at the stop flags (a few seconds on 2 cores)
FIRST_BATCH = 32  # the first batch of a read, doubled up to batch_size: encoding starts after 32 renders, not 256
POPULATION_SAMPLE = 2000  # profiles the document population statistics are taken from (then frozen)
MIN_POPULATION = 100  # fewer profiles with events than this (a fresh, empty Tracardi): nothing is frozen yet


@dataclass
class SyncResult:
    source: str
    mode: str  # full | incremental
    seen: int = 0
    embedded: int = 0
    unchanged: int = 0
    deleted: int = 0
    merged: int = 0
    errors: list[str] = field(default_factory=list)
    deletion_refused: str | None = None  # why profiles the source no longer holds were kept
    forgotten: int = 0  # profiles the source still holds that were erased on request (tombstoned): skipped
    seconds: float = 0.0
    encode_seconds: float = 0.0
    watermark: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {**self.__dict__, "errors": self.errors[:50], "error_count": len(self.errors)}


@dataclass
class PreparedBatch:
    """A batch ready to write: index points (encoded), ids to delete, merge aliases and the state's rows."""

    points: list[IndexPoint]
    deletes: list[str]
    aliases: dict[str, str]
    rows: list[IndexedRow]
    features: list[ProfileFeatures]
    events: dict[str, list[EventRow]]


Rendered = tuple[ProfileDocument, ProfileFeatures, list[EventRow]]  # a profile's document, features, event rows
RenderAhead = asyncio.Future[dict[int, Rendered]]  # a batch's rendering under way, by id() of its items
# a batch's items, their rendering under way, and the ids of batches read before it and not yet written
Prepare = Callable[[list[ProfileWithEvents], RenderAhead | None, frozenset[str]], Awaitable[PreparedBatch]]


def _merged_away(item: ProfileWithEvents) -> bool:
    """0.7: an inactive duplicate kept after a merge (deleted, never rendered)."""
    p = item.profile
    return not p.active or bool(p.merged_with and p.merged_with != p.id)


def _renderable(item: ProfileWithEvents) -> bool:
    return not _merged_away(item) and not item.unchanged


def partition_of(profile_id: str, partitions: int) -> int:
    """A stable partition of a profile id (the same on every machine and Python run, unlike hash())."""
    if partitions <= 1:
        return 0
    return int.from_bytes(hashlib.blake2b(profile_id.encode(), digest_size=8).digest(), "big") % partitions


Progress = Callable[[SyncResult], None]
Forgotten = Callable[[list[str]], Awaitable[set[str]]]


class SyncService:
    def __init__(self, builder: DocumentBuilder, encoder: Encoder, sparse: Bm25Encoder, index: VectorIndex,
                 state: SyncState, *, batch_size: int = 256, max_delete_share: float = 0.10,
                 forgotten: Forgotten | None = None, objection_field: str | None = None,
                 population_sample: int = POPULATION_SAMPLE) -> None:
        self.population_sample = population_sample
        self.objection_field = objection_field  # art. 21: who objected to profiling (payload + features say so)
        self.forgotten = forgotten  # tombstone lookup: an erased person is never written again
        self.builder = builder
        self.encoder = encoder
        self.sparse = sparse
        self.index = index
        self.state = state
        self.batch_size = batch_size
        self.max_delete_share = max_delete_share
        self.stop = threading.Event()  # set when the owner closes: encoding stops at the next chunk

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Encode in length-sorted chunks, looking at the stop flags between them: a thread cannot be
        interrupted, so this is how a sync stops within seconds of SIGTERM instead of after its whole batch."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.encoder.dim), dtype=np.float32)
        for start in range(0, len(order), ENCODE_CHUNK):
            if self.stop.is_set() or STOPPING.is_set():
                raise StoppingError("the sync stopped: the process is stopping (the next run resumes)")
            chunk = order[start:start + ENCODE_CHUNK]
            out[chunk] = self.encoder.encode([texts[i] for i in chunk])
        return out

    async def run(self, source: ProfileSource, *, full: bool = False, progress: Progress | None = None,
                  allow_mass_delete: bool = False) -> SyncResult:
        with collector_paused():  # collected once a batch instead (app/collector.py)
            return await self._run(source, full, progress, allow_mass_delete)

    async def _run(self, source: ProfileSource, full: bool, progress: Progress | None,
                   allow_mass_delete: bool) -> SyncResult:
        started = datetime.now(UTC)
        t0 = time.perf_counter()
        if await self.check_vector_space():
            full = True
        last = await self.state.watermark(source.key)
        since = None if full else last
        result = SyncResult(source=source.key, mode="full" if since is None else "incremental")
        seen: set[str] = set()
        stored = await self.load_population()
        salt = self._salt()  # read when `known` is called: a read-ahead for population statistics uses this one

        async def known(profiles: list[Profile]) -> set[str]:
            stored = await self.state.fingerprints([p.id for p in profiles])
            return {p.id for p in profiles if p.active and stored.get(p.id) == p.fingerprint(salt)}

        stream = await self.with_population(source.stream(since, known, events_since=last), stored)
        salt = self._salt()

        async def prepare(items: list[ProfileWithEvents], ahead: RenderAhead | None,
                          pending: frozenset[str]) -> PreparedBatch:
            return await self.prepare(items, result, seen, source.key, salt, ahead, pending)

        async def write(batch: PreparedBatch) -> None:
            await self.apply(batch)
            if progress:
                progress(result)

        await self._pipelined(stream, prepare, write)
        result.errors = list(source.errors)
        if source.complete:  # the read covered every profile: what it did not see of its own is gone
            await self.delete_unseen(source.key, seen, result, allow_mass_delete)
        await self.state.set_watermark(source.key, started)
        result.watermark = started.isoformat()
        result.seconds = time.perf_counter() - t0
        if progress:
            progress(result)
        return result

    async def _pipelined(self, stream: AsyncIterator[ProfileWithEvents], prepare: Prepare,
                         write: Callable[[PreparedBatch], Awaitable[None]]) -> None:
        """Batches of `stream` through `prepare` (render, hash, encode) and `write`, in order. Three batches
        overlap: while one is written, the next is encoded and the one after it read and rendered
        (`render_ahead`, in a thread: the encoder leaves the GIL, so they share the cores). Writes stay in read
        order, and a batch is prepared while the batch before it may still be unwritten: its profiles are
        passed as `pending`, so a profile read twice is embedded again rather than trusted to the state's
        stale hash. A failure anywhere stops the run after the batches in flight."""
        prepared: asyncio.Future[PreparedBatch] | None = None  # the batch being encoded
        written: asyncio.Future[None] | None = None  # the last batch launched, written after those before it
        unwritten: list[set[str]] = []  # ids of each batch launched and not yet written
        ahead: RenderAhead | None = None
        batch: list[ProfileWithEvents] = []
        size = min(FIRST_BATCH, self.batch_size)  # the encoder waits for the first batch's rendering alone

        async def write_after(ready: asyncio.Future[PreparedBatch], before: asyncio.Future[None] | None,
                              ids: set[str]) -> None:
            done = await ready
            if before is not None:
                await before
            await write(done)
            unwritten.remove(ids)
            collect_young()  # the collector is paused for the read (app/collector.py): once a batch instead

        async def launch(items: list[ProfileWithEvents], ahead: RenderAhead | None) -> None:
            nonlocal prepared, written
            if prepared is not None:
                await prepared  # one batch encodes at a time
            pending = frozenset().union(*unwritten)
            ids = {i.profile.id for i in items}
            unwritten.append(ids)
            prepared = asyncio.ensure_future(prepare(items, ahead, pending))
            written = asyncio.ensure_future(write_after(prepared, written, ids))

        try:
            async for item in stream:
                if written is not None and written.done() and not written.cancelled() \
                        and written.exception() is not None:
                    await written  # it failed (or the process is stopping): stop reading now
                batch.append(item)
                if len(batch) >= size:
                    ahead = self.render_ahead(batch)
                    await launch(batch, ahead)
                    ahead, batch, size = None, [], min(2 * size, self.batch_size)
            if batch:
                await launch(batch, self.render_ahead(batch))
            if written is not None:
                await written
        except BaseException:
            # let the batches in flight (and a render under way) end as they would have, then report the first failure
            await asyncio.gather(*(f for f in (prepared, written, ahead) if f is not None), return_exceptions=True)
            raise

    def render_ahead(self, items: list[ProfileWithEvents]) -> RenderAhead:
        """Start rendering the profiles of `items` that may need it (active, not merged away, not unchanged)."""
        def render() -> dict[int, Rendered]:
            return {id(i): self._render(i) for i in items if _renderable(i)}

        return asyncio.ensure_future(asyncio.to_thread(render))

    def _render(self, item: ProfileWithEvents) -> Rendered:
        doc = self.builder.build(item)
        # features and the event log for every live profile: a history can change without changing the text
        return doc, features_of(doc, item.profile.objects(self.objection_field)), event_rows(item, self.builder, doc)

    def _population_key(self) -> str:
        return f"document_population:{self.builder.layout_key}"

    async def load_population(self) -> bool:
        """Give the document builder the frozen population statistics (None when none are stored). True when
        found."""
        stored = await self.state.get_meta(self._population_key())
        self.builder.population = FacetPopulation.from_json(stored) if stored else None
        return stored is not None

    async def with_population(self, stream: AsyncIterator[ProfileWithEvents],
                              stored: bool) -> AsyncIterator[ProfileWithEvents]:
        """`stream` unchanged, once the builder has its population statistics: the stored ones (`stored`, as
        `load_population` found them), or (the first time for this document layout) ones frozen from the first
        `population_sample` profiles of this read. Two syncs racing store once: the first writer wins and both
        use what is stored.
        A read with fewer than MIN_POPULATION profiles with events freezes nothing (a fresh deployment's first
        sync must not fix "usual" for good): its documents go without, and the first larger read re-renders."""
        if stored:
            return stream
        head: list[ProfileWithEvents] = []
        async for item in stream:
            head.append(item)
            if len(head) >= self.population_sample:
                break
        sample = [i for i in head if i.events and not i.unchanged and i.profile.active]
        if self.forgotten is not None and sample:  # an erased person counts for nothing, not even in a share
            erased = await self.forgotten([i.profile.id for i in sample])
            sample = [i for i in sample if i.profile.id not in erased]
        if len(sample) >= min(MIN_POPULATION, self.population_sample):
            population = await asyncio.to_thread(self.builder.population_of, sample)
            kept = await self.state.claim_meta(self._population_key(), population.to_json())
            self.builder.population = FacetPopulation.from_json(kept)
            log.info("document population statistics frozen from %d profiles (%s)", population.profiles,
                     self.builder.population.version)
        else:  # too few to say what is usual: documents go without, and a later read with enough freezes them
            self.builder.population = None

        async def chained() -> AsyncIterator[ProfileWithEvents]:
            for item in head:
                yield item
            async for item in stream:
                yield item

        return chained()

    async def freeze_population(self, source: ProfileSource) -> bool:
        """Before a backfill's partitions run: freeze the population statistics from the head of a full read,
        as one full sync would. A partition freezing from its own head would take another sample (one
        partition's profiles) and partitions racing to do so would render differently, so a backfill would not
        end like one sync. True when statistics are stored, now or before."""
        if await self.load_population():
            return True
        stream = source.stream(None)
        try:
            await self.with_population(stream, False)
        finally:
            if isinstance(stream, AsyncGenerator):
                await stream.aclose()
        return self.builder.population is not None

    async def check_vector_space(self) -> bool:
        """The vector space is the dense model and the BM25 analysers: when either changed since the last sync,
        the state is reset so that every profile is re-embedded. True when that happened."""
        model_key = f"{self.encoder.model_id}|bm25:{'+'.join(self.sparse.languages)}"
        changed = await self.state.get_meta("model_id") not in (None, model_key)
        if changed:
            log.warning("embedding model changed: re-embedding every profile")
            await self.state.reset()
        await self.state.set_meta("model_id", model_key)
        return changed

    async def delete_unseen(self, source_key: str, seen: set[str], result: SyncResult,
                            allow_mass_delete: bool = False) -> None:
        """After a complete read: delete this source's profiles the read did not see, unless that looks like a
        broken read (then they are kept and `result.deletion_refused` says why)."""
        delivered = await self.state.all_profile_ids(source_key)
        gone = sorted(delivered - seen)
        refusal = self._refuse_deletion(len(gone), len(delivered), result, allow_mass_delete) if gone else None
        if refusal:
            result.deletion_refused = refusal
            log.warning("sync of %s: %s", source_key, refusal)
        elif gone:
            await self._apply([], gone, {})
            result.deleted += len(gone)

    def _refuse_deletion(self, gone: int, delivered: int, result: SyncResult, allow_mass_delete: bool) -> str | None:
        """Why `gone` profiles must be kept although a complete read did not see them (None: delete them)."""
        if result.errors:
            return (f"kept {gone} profiles the source did not return: the read skipped {len(result.errors)} "
                    "malformed records, so their absence proves nothing")
        if result.seen == 0:
            return (f"kept {gone} profiles: the source answered with no profiles at all although it delivered "
                    f"{delivered} before (an empty export, a wrong context?)")
        allowed = max(1, int(self.max_delete_share * delivered))
        if gone > allowed and not allow_mass_delete:
            return (f"kept {gone} profiles the source did not return: that is {gone / delivered:.0%} of the "
                    f"{delivered} it delivered, past the {self.max_delete_share:.0%} limit "
                    "(PROFILE_AI_SYNC__MAX_DELETE_SHARE); re-run with --allow-mass-delete if they are really gone")
        return None

    def _salt(self) -> str:
        """What a profile's fingerprint is taken with: the document layout and the vector space."""
        return f"{self.builder.config_key}:{self.encoder.model_id}:objection={self.objection_field}"

    async def sync_items(self, items: list[ProfileWithEvents], source: str,
                         deleted: list[str] | None = None) -> SyncResult:
        """Sync just these profiles now (a webhook push), as read back from the source: the merges their own
        `ids` report are applied by the batch; `deleted` names profiles the source answered 404 for."""
        t0 = time.perf_counter()
        result = SyncResult(source=source, mode="push")
        await self.load_population()  # none stored yet: this push renders without it, the first full read adds it
        if items:
            await self._batch(items, result, set(), source, self._salt())
        if deleted:
            await self._apply([], list(deleted), {})
            result.deleted += len(deleted)
        result.seconds = time.perf_counter() - t0
        return result

    async def _batch(self, items: list[ProfileWithEvents], result: SyncResult, seen: set[str], source: str,
                     salt: str, ahead: RenderAhead | None = None) -> None:
        await self.apply(await self.prepare(items, result, seen, source, salt, ahead))

    async def prepare(self, items: list[ProfileWithEvents], result: SyncResult, seen: set[str], source: str,
                      salt: str, ahead: RenderAhead | None = None,
                      pending: frozenset[str] = frozenset()) -> PreparedBatch:
        """Everything a batch needs short of writing it: rendered, hashed, encoded. Reads the state (hashes,
        tombstones) but writes nothing, so any worker can prepare and the index's owner apply. `ahead`: these
        items' rendering, started earlier (`render_ahead`); `pending`: profiles of earlier batches not yet
        written, whose stored hashes may be stale (so they are embedded again)."""
        deletes: list[str] = []
        aliases: dict[str, str] = {}
        live: list[ProfileWithEvents] = []
        if self.forgotten is not None:  # an erased person (any of their ids) stays out, whatever the source says
            erased = await self.forgotten(sorted({i for it in items for i in (it.profile.id, *it.profile.absorbed_ids)}))
            if erased:
                result.forgotten += sum(1 for it in items if it.profile.id in erased or
                                        erased & set(it.profile.absorbed_ids))
                items = [it for it in items if it.profile.id not in erased and not erased & set(it.profile.absorbed_ids)]
        for item in items:
            p = item.profile
            result.seen += 1
            if _merged_away(item):
                deletes.append(p.id)  # 0.7: an inactive duplicate kept after a merge
                if p.merged_with:
                    aliases[p.id] = p.merged_with
                    result.merged += 1
                continue
            seen.add(p.id)
            if item.unchanged:  # exactly as last synced: nothing to render, embed or delete
                result.unchanged += 1
                continue
            for absorbed in p.absorbed_ids:
                aliases[absorbed] = p.id
                seen.discard(absorbed)
                deletes.append(absorbed)
                result.merged += 1
            live.append(item)
        rendered = await ahead if ahead is not None else {}

        def render() -> list[Rendered]:
            return [rendered.get(id(i)) or self._render(i) for i in live]

        parts = await asyncio.to_thread(render) if any(id(i) not in rendered for i in live) else \
            [rendered[id(i)] for i in live]
        docs = [doc for doc, _, _ in parts]
        features = [f for _, f, _ in parts]
        events = {i.profile.id: rows for i, (_, _, rows) in zip(live, parts, strict=True)}
        known = await self.state.hashes([d.profile_id for d in docs if d.profile_id not in pending])
        changed = [(i, d) for i, d in zip(live, docs, strict=True) if known.get(d.profile_id) != d.content_hash]
        result.unchanged += len(docs) - len(changed)
        points: list[IndexPoint] = []
        if changed:
            t = time.perf_counter()
            vectors = await asyncio.to_thread(self._encode, [d.text for _, d in changed])
            result.encode_seconds += time.perf_counter() - t

            def build_points() -> list[IndexPoint]:  # BM25 and payloads: milliseconds a batch, off the loop
                return [IndexPoint(doc.profile_id, vec, self.sparse.document(doc.text),
                                   profile_payload(item.profile, doc, source=source,
                                                   objected=item.profile.objects(self.objection_field)))
                        for (item, doc), vec in zip(changed, vectors, strict=True)]

            points = await asyncio.to_thread(build_points)
        # every live profile's row records its fingerprint, so the next unchanged read can skip it early
        rows = [IndexedRow(d.profile_id, d.content_hash, i.profile.changed_at, i.profile.fingerprint(salt), source)
                for i, d in zip(live, docs, strict=True)]
        deletes = list(dict.fromkeys(deletes))
        seen.difference_update(deletes)  # an id absorbed by a merge is gone, even if read earlier in this run
        result.embedded += len(points)
        result.deleted += len(deletes)
        return PreparedBatch(points, deletes, aliases, rows, features, events)

    async def apply(self, batch: PreparedBatch) -> None:
        """Write a prepared batch: the index first (flushed), then the state, so the state never claims more.
        A person erased since the batch was prepared (elsewhere, earlier) is left out of it here."""
        if self.forgotten is not None and batch.rows:
            erased = await self.forgotten([r.profile_id for r in batch.rows])
            if erased:
                batch = PreparedBatch([p for p in batch.points if p.profile_id not in erased], batch.deletes,
                                      batch.aliases, [r for r in batch.rows if r.profile_id not in erased],
                                      [f for f in batch.features if f.profile_id not in erased],
                                      {k: v for k, v in batch.events.items() if k not in erased})
        await self._apply(batch.points, batch.deletes, batch.aliases, batch.rows, batch.features, batch.events)

    async def run_partition(self, source: ProfileSource, partition: int, partitions: int,
                            stage: Callable[[PreparedBatch], Awaitable[None]] | None = None) -> tuple[SyncResult, set[str]]:
        """One partition of a full read: only the profiles whose id hashes to `partition` are prepared.
        Each batch is applied here (`stage` None: this process may write the index) or handed to `stage`.
        The watermark and deletions are the whole run's business (app/jobs/backfill.py), not a partition's.
        Returns the counts and the ids this partition saw."""
        with collector_paused():  # collected once a batch instead (app/collector.py)
            return await self._run_partition(source, partition, partitions, stage)

    async def _run_partition(self, source: ProfileSource, partition: int, partitions: int,
                             stage: Callable[[PreparedBatch], Awaitable[None]] | None,
                             ) -> tuple[SyncResult, set[str]]:
        t0 = time.perf_counter()
        result = SyncResult(source=source.key, mode=f"partition {partition}/{partitions}")
        seen: set[str] = set()
        # the statistics were frozen by the run's start (freeze_population); none stored: too few profiles,
        # documents go without, as one sync's would
        await self.load_population()
        stream = source.stream(None, only=lambda pid: partition_of(pid, partitions) == partition)
        salt = self._salt()

        async def prepare(items: list[ProfileWithEvents], ahead: RenderAhead | None,
                          pending: frozenset[str]) -> PreparedBatch:
            return await self.prepare(items, result, seen, source.key, salt, ahead, pending)

        async def own() -> AsyncIterator[ProfileWithEvents]:
            async for item in stream:
                if partition_of(item.profile.id, partitions) == partition:
                    yield item

        await self._pipelined(own(), prepare, stage if stage is not None else self.apply)
        result.errors = list(source.errors)
        result.seconds = time.perf_counter() - t0
        return result, seen

    async def _apply(self, points: list[IndexPoint], deletes: list[str], aliases: dict[str, str],
                     rows: list[IndexedRow] | None = None, features: list[ProfileFeatures] | None = None,
                     events: dict[str, list[EventRow]] | None = None) -> None:
        def write_index() -> None:
            self.index.upsert(points)
            self.index.delete(deletes)
            self.index.flush()  # durable in the index before the state says so

        await asyncio.to_thread(write_index)
        await self.state.commit_batch(rows or [], deletes, aliases, features or [], events)


def features_of(doc: ProfileDocument, objected: bool = False) -> ProfileFeatures:
    s = doc.summary
    attributes = without_nul({"traits": doc.traits, "data": doc.data})
    if objected:
        attributes["objected"] = True  # scoring leaves this person out (art. 21)
    return ProfileFeatures(
        profile_id=doc.profile_id, event_count=s.event_count, counts=without_nul(dict(s.counts_by_type)),
        first_seen=s.first_event_at, last_seen=s.last_event_at, active_days=s.active_days,
        tenure_days=s.tenure_days, frequency=s.event_count / s.active_days if s.active_days else 0.0,
        monetary=round(s.spend_total, 2), purchases=s.spend_count,
        rating_mean=s.rating_mean, top=without_nul(s.top_values()), attributes=attributes)


def event_rows(item: ProfileWithEvents, builder: DocumentBuilder, doc: ProfileDocument) -> list[EventRow]:
    """The event log's rows, with the properties the document's build already redacted."""
    out = []
    for e, properties in zip(item.events, doc.event_properties, strict=True):
        spec = builder.dictionary.spec(e.type)
        value = as_number(get_path(e.properties, spec.value)) if spec.value else None
        text = orjson.dumps(properties).decode()
        if "\\u0000" in text:  # a NUL (or a literal "\\u0000") somewhere: PostgreSQL refuses it in jsonb
            properties = without_nul(properties)
            text = orjson.dumps(properties).decode()
        out.append(EventRow(item.profile.id, without_nul(e.id), without_nul(e.type), e.time, value, properties,
                            text))
    return out
