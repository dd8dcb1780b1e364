"""Smart segments: discover (cluster, name, explain, export rules), keep ids across refreshes, assign new
profiles, description and lookalike segments, publish membership to PostgreSQL and Tracardi.

The heavy parts (reading every vector, clustering, naming) run in a thread; the library in segmentation/
does the maths, this module does identity, versions and storage.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.errors import InvalidRequestError, NotFoundError
from app.search.filters import parse_filters
from app.segments.repository import SegmentRepository, SegmentRow
from app.segments.schemas import (
    DescriptionSegmentRequest,
    DiscoverRequest,
    DiscoverResponse,
    LookalikeRequest,
    Member,
    MemberPage,
    PublishResponse,
    Segment,
)
from embeddings.encoder import Encoder
from embeddings.index import Hit, VectorIndex
from segmentation import SegmentModel, discover, match_segments

log = logging.getLogger(__name__)
# what one preview (a read-scope request) may pull from the index: its cost is counted before the work
PREVIEW_MAX = 10_000
DISCOVERY_SAMPLE = 100_000  # discovery fits on at most this many profiles, then assigns everyone in chunks
ASSIGN_CHUNK = 20_000
LOOKALIKE_SAMPLE = 20_000  # non-members whose similarities place a lookalike's cut-off as a percentile
OVERFETCH = 100  # extra nearest neighbours asked for, in place of objectors dropped afterwards
MAP_CACHE_SECONDS = 300.0  # an upper bound: a sync or a discovery drops the cached map at once

RECORD_FIELDS = ["profile_id", "traits", "data", "counts", "top", "event_count", "active_days", "spend_total",
                 "purchases", "rating_mean", "last_seen", "document", "objected"]
# what assigning a profile to a fitted segment reads: everything the behaviour features use, not the document
# (1-2 KB of text per profile that only naming the segments needs, on the fitted sample)
ASSIGN_FIELDS = [f for f in RECORD_FIELDS if f != "document"]
ID_FIELDS = ["profile_id", "objected"]  # where only vectors count
Enqueue = Callable[[list[str]], Awaitable[int]]


@dataclass
class Population:
    ids: list[str]
    vectors: np.ndarray
    records: list[dict[str, Any]]


def _segment(row: SegmentRow) -> Segment:
    d = row.definition or {}
    return Segment(segment_id=row.segment_id, version=row.version, name=row.name, description=row.description,
                   kind=row.kind, status=row.status, size=row.size, share=d.get("share"),
                   stability=d.get("stability"), features=d.get("features", []), terms=d.get("terms", []),
                   exemplars=d.get("exemplars", []), rules=d.get("rules", {}),
                   definition={k: v for k, v in d.items()
                               if k not in ("features", "terms", "exemplars", "rules", "share", "stability")},
                   created_at=row.created_at.isoformat(), updated_at=row.updated_at.isoformat(),
                   published_at=row.published_at.isoformat() if row.published_at else None)


def _new_id(seed: str) -> str:
    return "seg-" + hashlib.sha1(seed.encode()).hexdigest()[:10]


class SegmentService:
    def __init__(self, index: VectorIndex, encoder: Encoder, repo: SegmentRepository, enqueue: Enqueue,
                 *, min_jaccard: float = 0.5, wording: str = "en") -> None:
        self.wording = wording  # names and descriptions of discovered segments: en | es
        self.erasures_since: Callable[[str], Awaitable[int]] | None = None  # set by the container
        self.index = index
        self.encoder = encoder
        self.repo = repo
        self.enqueue = enqueue  # queues the current AI traits of profiles for write-back
        self.min_jaccard = min_jaccard
        self._lock = asyncio.Lock()  # one discovery/refresh at a time: versions stay consecutive
        self._map_cache: dict[tuple[int, int], tuple[float, dict[str, Any]]] = {}
        self.discovery_sample = DISCOVERY_SAMPLE
        self.assign_chunk = ASSIGN_CHUNK

    # -- reading the population from the index
    def _population(self, profile_ids: list[str] | None = None,
                    fields: Sequence[str] = RECORD_FIELDS) -> Population:
        if profile_ids is None:
            pages: Iterable[list[Hit]] = self.index.scroll(batch=2000, with_vector=True, fields=fields)
        else:
            pages = (self.index.retrieve(profile_ids[i:i + self.assign_chunk], with_vector=True, fields=fields)
                     for i in range(0, len(profile_ids), self.assign_chunk))
        ids: list[str] = []
        records: list[dict[str, Any]] = []
        blocks: list[np.ndarray] = []
        for page in pages:  # vectors become float32 page by page: a Python float list is 8x their size
            # a person who objected to profiling (GDPR art. 21) is in no segment
            kept = [h for h in page if h.vector is not None and not h.payload.get("objected")]
            ids.extend(str(h.payload["profile_id"]) for h in kept)
            records.extend(h.payload for h in kept)
            blocks.append(np.asarray([h.vector for h in kept], dtype=np.float32).reshape(-1, self.index.dim))
        order = sorted(range(len(ids)), key=ids.__getitem__)  # scroll order is not a contract
        vectors = np.concatenate(blocks)[order] if blocks else np.zeros((0, self.index.dim), dtype=np.float32)
        return Population([ids[i] for i in order], vectors, [records[i] for i in order])

    def _all_ids(self) -> list[str]:
        return sorted(str(h.payload["profile_id"]) for batch in self.index.scroll(batch=5000, fields=["profile_id"])
                      for h in batch)

    def _sample_ids(self, n: int, random_state: int = 0, exclude: set[str] | None = None,
                    everyone: list[str] | None = None) -> list[str]:
        """A fixed random sample of indexed ids (only ids are read, then only the sample's vectors); `everyone`:
        the sorted ids when the caller has read them already (a pass over 1M payloads takes ~30 s)."""
        ids = self._all_ids() if everyone is None else everyone
        if exclude:
            ids = [i for i in ids if i not in exclude]
        if len(ids) <= n:
            return ids
        rng = np.random.default_rng(random_state)
        return [ids[i] for i in np.sort(rng.choice(len(ids), n, replace=False))]

    def _assign_all(self, model: SegmentModel, profile_ids: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Every profile's nearest segment, ASSIGN_CHUNK profiles at a time (vectors and records of one chunk
        in memory, never everyone's)."""
        ids: list[str] = []
        labels: list[np.ndarray] = []
        dists: list[np.ndarray] = []
        for start in range(0, len(profile_ids), self.assign_chunk):
            part = self._population(profile_ids[start:start + self.assign_chunk], ASSIGN_FIELDS)
            if not part.ids:
                continue
            lab, dist = model.assign(part.vectors, part.records)
            ids.extend(part.ids)
            labels.append(np.asarray(lab))
            dists.append(np.asarray(dist))
        if not labels:
            return [], np.zeros(0, int), np.zeros(0)
        return ids, np.concatenate(labels), np.concatenate(dists)

    # -- discovery
    async def discover(self, req: DiscoverRequest) -> DiscoverResponse:
        if req.k_min > req.k_max:
            raise InvalidRequestError(f"k_min {req.k_min} > k_max {req.k_max}")
        async with self._lock:
            t0 = time.perf_counter()
            # fitted on a fixed random sample past DISCOVERY_SAMPLE profiles (memory and time stay bounded); then
            # everyone is assigned to the nearest segment in chunks, and the answer says so
            everyone = await asyncio.to_thread(self._all_ids)
            sampled = len(everyone) > self.discovery_sample
            pop = await asyncio.to_thread(
                lambda: self._population(self._sample_ids(self.discovery_sample, req.random_state, everyone=everyone)
                                         if sampled else None))
            if len(pop.ids) < 10:
                raise InvalidRequestError(f"{len(pop.ids)} profiles indexed: sync at least 10 before discovering "
                                          "segments")
            if req.n_clusters is not None and req.n_clusters > len(pop.ids) // 2:
                raise InvalidRequestError(f"n_clusters={req.n_clusters} is too many for {len(pop.ids)} profiles")
            if req.vector_weight + req.behaviour_weight <= 0:
                raise InvalidRequestError("vector_weight and behaviour_weight cannot both be 0")
            try:
                found = await asyncio.to_thread(
                    discover, pop.vectors, pop.records, [str(r.get("document") or "") for r in pop.records],
                    n_clusters=req.n_clusters, k_min=req.k_min, k_max=req.k_max, vector_weight=req.vector_weight,
                    behaviour_weight=req.behaviour_weight, random_state=req.random_state, wording=self.wording)
            except ValueError as exc:  # the library's own refusals (too few distinct profiles for k, ...)
                raise InvalidRequestError(f"cannot discover segments: {exc}") from None
            run = await self.repo.next_run_version()
            k = found.clusterer.n_clusters_
            if sampled:
                ids, labels, distances = await asyncio.to_thread(self._assign_all, found.model, everyone)
            else:
                ids, labels, distances = pop.ids, found.labels, found.distances
            member_sets = [{ids[i] for i in np.flatnonzero(labels == c)} for c in range(k)]
            previous = await self.repo.member_sets("discovered")
            matched = match_segments(previous, member_sets, min_jaccard=self.min_jaccard)
            current = {r.segment_id: r for r in await self.repo.current() if r.kind == "discovered"}
            segments: list[dict[str, Any]] = []
            memberships: list[tuple[str, int, str, float]] = []
            for c in range(k):
                desc = found.descriptions[c]
                prev = matched.get(c)
                old = current.get(prev[0]) if prev else None
                sid = old.segment_id if old else _new_id(f"{run}:{c}:{sorted(member_sets[c])[:3]}")
                definition = {
                    "share": round(len(member_sets[c]) / max(1, len(ids)), 4) if sampled else desc.share,
                    "stability": round(float(found.clusterer.cluster_stability_[c]), 3),
                    "features": desc.features, "terms": desc.terms,
                    "exemplars": [pop.ids[i] for i in found.exemplars[c]], "rules": found.rules[c],
                    "label": c, "generated_name": desc.name,
                    "matched": {"previous_version": old.version, "jaccard": prev[1]} if old and prev else None,
                }
                segments.append({"segment_id": sid, "version": run, "definition": definition,
                                 "name": old.name if old else desc.name,  # a kept segment keeps its name
                                 "description": desc.description,
                                 "status": old.status if old else "draft",
                                 "published_at": old.published_at if old else None})
                idx = np.flatnonzero(labels == c)
                memberships.extend((sid, run, ids[i], round(float(-distances[i]), 5)) for i in idx)
            kept = {s["segment_id"] for s in segments}
            retired = sorted(set(current) - kept)
            quality = {"k": k, "stability": found.clusterer.stability_, "selection": found.clusterer.selection_,
                       "profiles": len(ids), "fitted_on": len(pop.ids)}
            params = req.model_dump()
            await self.repo.save_discovery(run, params, found.model.to_dict(), quality, segments, memberships,
                                           retired)
            # published segments changed membership: their members' traits are due again in Tracardi
            touched = {sid for sid in kept | set(retired)
                       if (current.get(sid) and current[sid].status == "published")}
            if touched:
                await self._enqueue_segments(touched)
            out = [await self.show(s["segment_id"]) for s in segments]
            self.invalidate()
            return DiscoverResponse(run_version=run, k=k, stability=round(found.clusterer.stability_, 3),
                                    selection=[{kk: round(v, 4) for kk, v in s.items()}
                                               for s in found.clusterer.selection_],
                                    kept_ids=sum(1 for s in segments if current.get(s["segment_id"])),
                                    profiles=len(ids), fitted_on=len(pop.ids),
                                    retired=retired, seconds=round(time.perf_counter() - t0, 2), segments=out)

    # -- reading
    async def current(self, include_retired: bool = False) -> list[Segment]:
        return [_segment(r) for r in await self.repo.current(include_retired)]

    async def _row(self, segment_id: str) -> SegmentRow:
        row = await self.repo.get(segment_id)
        if row is None:
            raise NotFoundError(f"segment {segment_id!r} not found")
        return row

    async def show(self, segment_id: str) -> Segment:
        seg = _segment(await self._row(segment_id))
        if self.erasures_since is not None:
            seg.erased_since = await self.erasures_since(segment_id)
        return seg

    async def members(self, segment_id: str, limit: int = 100, offset: int = 0) -> MemberPage:
        if not 1 <= limit <= 10_000 or offset < 0:
            raise InvalidRequestError("limit must be 1..10000 and offset >= 0")
        row = await self._row(segment_id)
        rows = await self.repo.members(segment_id, row.version, limit, offset)
        return MemberPage(segment_id=segment_id, version=row.version, total=row.size,
                          members=[Member(profile_id=p, score=s) for p, s in rows])

    # -- publishing
    async def _enqueue_segments(self, segment_ids: set[str]) -> int:
        ids: set[str] = set()
        for sid in segment_ids:
            ids |= await self.repo.previous_members(sid)  # leavers too: their trait must lose the segment
        return await self.enqueue(sorted(ids)) if ids else 0

    async def publish(self, segment_id: str) -> PublishResponse:
        """Mark the current version published and queue every member's (and former member's) traits."""
        row = await self._row(segment_id)
        if row.status == "retired":
            raise InvalidRequestError(f"segment {segment_id!r} is retired; discover again or publish a live one")
        await self.repo.set_status(segment_id, row.version, "published")
        queued = await self._enqueue_segments({segment_id})
        return PublishResponse(segment_id=segment_id, version=row.version, members=row.size, queued=queued)

    async def unpublish(self, segment_id: str) -> PublishResponse:
        row = await self._row(segment_id)
        await self.repo.set_status(segment_id, row.version, "draft")
        queued = await self._enqueue_segments({segment_id})
        return PublishResponse(segment_id=segment_id, version=row.version, members=row.size, queued=queued)

    # -- description and lookalike segments
    async def create_description(self, req: DescriptionSegmentRequest) -> Segment:
        filters = parse_filters(req.filters)  # a bad filter fails before anything is stored
        sid = "desc-" + hashlib.sha1(req.name.strip().lower().encode()).hexdigest()[:10]
        definition = {"query": req.description, "filters": req.filters, "threshold": req.threshold,
                      "max_members": req.max_members}
        await self.repo.upsert_saved(sid, req.name, req.description, "description", definition)
        await self._refresh_description(sid, definition, filters)
        return await self.show(sid)

    async def _refresh_description(self, sid: str, definition: dict[str, Any], filters: list[Any] | None = None,
                                   ) -> int:
        conditions = parse_filters(definition.get("filters")) if filters is None else filters
        vec = await asyncio.to_thread(self.encoder.encode_query, definition["query"])
        hits = await asyncio.to_thread(self.index.search, dense=vec, sparse=None, filters=conditions,
                                       limit=int(definition.get("max_members", 10000)), mode="dense")
        rows = [(str(h.payload.get("profile_id")), round(float(h.score), 5)) for h in hits
                if h.score >= float(definition["threshold"])]
        row = await self._row(sid)
        await self.repo.replace_members(sid, row.version, rows)
        return len(rows)

    async def create_lookalike(self, req: LookalikeRequest) -> Segment:
        seed = await self._row(req.seed_segment_id)
        seed_ids = {p for p, _ in await self.repo.members(seed.segment_id, seed.version)}
        if not seed_ids:
            raise InvalidRequestError(f"segment {seed.segment_id!r} has no members to look alike")
        sid = "look-" + hashlib.sha1(f"{seed.segment_id}:{req.size}".encode()).hexdigest()[:10]
        name = req.name or f"Lookalikes of {seed.name}"
        definition = {"seed_segment_id": seed.segment_id, "size": req.size}
        await self.repo.upsert_saved(sid, name, f"The {req.size} non-members most similar to '{seed.name}'.",
                                     "lookalike", definition)
        await self._refresh_lookalike(sid, definition)
        return await self.show(sid)

    async def _refresh_lookalike(self, sid: str, definition: dict[str, Any]) -> int:
        """The `size` non-members nearest the seed's centre, found by one search of the index, not by reading
        every vector; where each stands among all non-members is estimated on a fixed random sample of
        LOOKALIKE_SAMPLE profiles."""
        seed = await self._row(definition["seed_segment_id"])
        seed_ids = {p for p, _ in await self.repo.members(seed.segment_id, seed.version)}
        size = int(definition["size"])

        def rank() -> tuple[list[tuple[str, float]], dict[str, float | None]]:
            vectors = self._population(sorted(seed_ids), ID_FIELDS).vectors  # the seed's own, not everyone's
            if not len(vectors):
                return [], {}
            centre = vectors.mean(axis=0)
            centre /= np.linalg.norm(centre) or 1.0
            hits = self.index.search(dense=centre, sparse=None, limit=min(size + OVERFETCH, 100_000), mode="dense",
                                     exclude_profile_ids=sorted(seed_ids))
            kept = [h for h in hits if not h.payload.get("objected")][:size]
            if not kept:
                return [], {}
            sample = self._population(self._sample_ids(LOOKALIKE_SAMPLE, exclude=seed_ids), ID_FIELDS)
            sims = np.sort(sample.vectors @ centre) if len(sample.ids) else np.zeros(0)
            floor = float(kept[-1].score)
            below = float(np.searchsorted(sims, floor - 1e-6, side="left")) / len(sims) if len(sims) else 1.0
            return ([(str(h.payload["profile_id"]), round(float(h.score), 5)) for h in kept],
                    {"min_similarity": round(floor, 5), "min_percentile": round(100.0 * below, 2)})

        rows, cut = await asyncio.to_thread(rank)
        row = await self._row(sid)
        await self.repo.replace_members(sid, row.version, rows, {**definition, **cut})
        return len(rows)

    # -- after every sync
    async def refresh(self) -> dict[str, int]:
        """Assign profiles no discovered segment holds yet to the nearest segment of the current run (no
        re-clustering), and re-evaluate description and lookalike segments. Idempotent."""
        async with self._lock:
            report = {"assigned": 0, "description_segments": 0, "lookalike_segments": 0}
            seg = await self.repo.latest_segmentation()
            segments = await self.repo.current()
            discovered = [s for s in segments if s.kind == "discovered" and s.definition.get("label") is not None
                          and seg is not None and s.version == seg["version"]]
            if seg is not None and discovered:
                new = await self.repo.unassigned(int(seg["version"]))  # one anti-join, not a scan of the index
                if new:
                    pop = await asyncio.to_thread(self._population, new)
                    model = SegmentModel.from_dict(seg["model"])
                    labels, dist = await asyncio.to_thread(model.assign, pop.vectors, pop.records)
                    by_label = {int(s.definition["label"]): s for s in discovered}
                    rows = [(by_label[int(lab)].segment_id, seg["version"], pid, round(float(-d), 5))
                            for pid, lab, d in zip(pop.ids, labels, dist, strict=True) if int(lab) in by_label]
                    await self.repo.add_members(rows)
                    report["assigned"] = len(rows)
                    published = {s.segment_id for s in discovered if s.status == "published"}
                    joined = sorted({r[2] for r in rows if r[0] in published})
                    if joined:
                        await self.enqueue(joined)
            for s in segments:
                if s.kind not in ("description", "lookalike"):
                    continue
                before = {p for p, _ in await self.repo.members(s.segment_id, s.version)}
                if s.kind == "description":
                    await self._refresh_description(s.segment_id, s.definition)
                else:
                    await self._refresh_lookalike(s.segment_id, s.definition)
                report[f"{s.kind}_segments"] += 1
                if s.status == "published":  # joiners and leavers get their traits re-sent
                    after = {p for p, _ in await self.repo.members(s.segment_id, s.version)}
                    if before ^ after:
                        await self.enqueue(sorted(before ^ after))
            self.invalidate()
            return report

    # -- for the web page
    async def of_profile(self, profile_id: str) -> list[dict[str, Any]]:
        return [{"segment_id": r.segment_id, "name": r.name, "kind": r.kind, "status": r.status}
                for r in await self.repo.of_profile(profile_id)]

    async def map(self, sample: int = 3000, random_state: int = 0) -> dict[str, Any]:
        """A 2-D map: PCA of a sample of profile vectors, each point with its discovered segment. Only the
        sampled vectors are read (ids first, then those vectors), and the answer is cached until the next
        sync or discovery: a read-scope key asking again and again costs one projection."""
        key = (sample, random_state)
        cached = self._map_cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < MAP_CACHE_SECONDS:
            return cached[1]
        chosen = await asyncio.to_thread(self._sample_ids, sample, random_state)
        if len(chosen) < 3:
            return {"points": [], "segments": []}
        pop = await asyncio.to_thread(self._population, chosen, ID_FIELDS)
        label: dict[str, str] = {}
        for sid, members in (await self.repo.member_sets("discovered")).items():
            for pid in members:
                label[pid] = sid

        def project() -> list[dict[str, Any]]:
            from sklearn.decomposition import PCA

            if len(pop.ids) < 3:
                return []
            xy = PCA(2, random_state=random_state).fit_transform(pop.vectors)
            return [{"profile_id": pid, "x": round(float(x), 4), "y": round(float(y), 4),
                     "segment_id": label.get(pid)} for pid, (x, y) in zip(pop.ids, xy, strict=True)]

        points = await asyncio.to_thread(project)
        segs = [{"segment_id": s.segment_id, "name": s.name} for s in await self.current() if s.kind == "discovered"]
        answer = {"points": points, "segments": segs}
        self._map_cache = {key: (time.monotonic(), answer)}  # one entry: a sweep of sample sizes holds no memory
        return answer

    def invalidate(self) -> None:
        """Drop cached answers (after a sync, a discovery or a refresh)."""
        self._map_cache = {}

    async def publish_preview(self, segment_id: str) -> dict[str, Any]:
        """What publishing would write, before it is written."""
        row = await self._row(segment_id)
        members = {p for p, _ in await self.repo.members(segment_id, row.version)}
        ever = await self.repo.previous_members(segment_id)
        sample = sorted(members)[:1]
        return {"segment_id": segment_id, "name": row.name, "version": row.version, "status": row.status,
                "members": len(members), "leavers": len(ever - members),
                "writes": ["PostgreSQL: profile_ai.current_traits lists the segment for each member",
                           f"Tracardi: traits.ai.segments includes '{segment_id}' for {len(members)} profiles"
                           + (f" and drops it for {len(ever - members)} former members" if ever - members else "")],
                "example": {"profile_id": sample[0], "traits.ai.segments": ["...", segment_id]} if sample else None}

    async def preview_description(self, req: DescriptionSegmentRequest) -> dict[str, Any]:
        """The size and first members of a description segment, without saving it. A preview is a read
        (read-scope keys may ask), so it looks at most PREVIEW_MAX members and says when it was capped."""
        conditions = parse_filters(req.filters)
        limit = min(req.max_members, PREVIEW_MAX)
        vec = await asyncio.to_thread(self.encoder.encode_query, req.description)
        hits = await asyncio.to_thread(self.index.search, dense=vec, sparse=None, filters=conditions,
                                       limit=limit, mode="dense")
        kept = [h for h in hits if h.score >= req.threshold]
        total = await asyncio.to_thread(self.index.count)
        return {"size": len(kept), "share": round(len(kept) / total, 4) if total else 0.0,
                "capped": len(hits) >= limit,
                "sample": [{"profile_id": str(h.payload.get("profile_id")), "score": round(float(h.score), 4),
                            "summary": str(h.payload.get("document") or "").split("\n", 1)[0][:200]}
                           for h in kept[:10]]}
