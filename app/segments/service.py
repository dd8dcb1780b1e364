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
from typing import Any, Protocol

import numpy as np

from app.errors import InvalidRequestError, NotFoundError
from app.search.filters import parse_filters
from app.search.service import Meaning
from app.segments.holdout import MAX_SHARE
from app.segments.repository import HoldoutFixedError, SegmentRepository, SegmentRow, sample_positions
from app.segments.schemas import (
    AudienceSize,
    DescriptionSegmentRequest,
    DiscoverRequest,
    DiscoverResponse,
    LookalikeRequest,
    Member,
    MemberPage,
    PredictionAudienceRequest,
    PublishResponse,
    Segment,
)
from embeddings.encoder import Encoder
from embeddings.index import Condition, VectorIndex, matching_ids, point_id
from segmentation import (
    BehaviourSpec,
    ProfileBlender,
    SegmentModel,
    discover,
    fit_space,
    match_overlaps,
    project,
)

log = logging.getLogger(__name__)
# what one preview (a read-scope request) may pull from the index: its cost is counted before the work
PREVIEW_MAX = 10_000
# discovery fits on at most this many profiles (the blender and the naming read at most 50,000 rows anyway, and k
# is chosen on 8,000), then projects everyone else into the fitted space from the index's vectors
DISCOVERY_SAMPLE = 50_000
ASSIGN_CHUNK = 20_000
LOOKALIKE_SAMPLE = 20_000  # non-members whose similarities place a lookalike's cut-off as a percentile
OVERFETCH = 100  # extra nearest neighbours asked for, in place of objectors dropped afterwards
MAP_CACHE_SECONDS = 300.0  # an upper bound: a sync or a discovery drops the cached map at once

Enqueue = Callable[[list[str]], Awaitable[int]]


RAW_THRESHOLD = 0.45  # a description's raw-cosine bar where no question reader is wired (the old default)


class Questions(Protocol):
    """How a question is read for counting (app/search/service.py: SearchService)."""

    def meaning(self, query: str) -> Meaning: ...

    def matching(self, meaning: Meaning, conditions: list[Condition], limit: int) -> list[tuple[str, float]]: ...


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
                 *, min_jaccard: float = 0.5, wording: str = "en",
                 erasures_since: Callable[[str], Awaitable[int]] | None = None,
                 questions: Questions | None = None) -> None:
        self.wording = wording  # names and descriptions of discovered segments: en | es
        self.questions = questions  # how a description is read: as "how many" reads a question
        self.erasures_since = erasures_since  # people erased since a segment was computed (the erasure log)
        self.index = index
        self.encoder = encoder
        self.repo = repo
        self.enqueue = enqueue  # queues the current AI traits of profiles for write-back
        self.min_jaccard = min_jaccard
        self._lock = asyncio.Lock()  # one discovery/refresh at a time: versions stay consecutive
        self._map_cache: dict[tuple[int, int], tuple[float, dict[str, Any]]] = {}
        self.discovery_sample = DISCOVERY_SAMPLE
        self.assign_chunk = ASSIGN_CHUNK

    # -- reading the population: ids and records from PostgreSQL, vectors from the index (no payload read)
    def _chunks(self, profile_ids: Sequence[str]) -> Iterable[Sequence[str]]:
        return (profile_ids[i:i + self.assign_chunk] for i in range(0, len(profile_ids), self.assign_chunk))

    async def _vectors(self, profile_ids: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """The vectors of `profile_ids` (sorted), chunk by chunk, in the ids' order; ids the index lacks drop out."""
        ids: list[str] = []
        blocks = [np.zeros((0, self.index.dim), dtype=np.float32)]
        for chunk in self._chunks(profile_ids):
            got, vecs = await asyncio.to_thread(self.index.vectors, chunk)
            row = {p: i for i, p in enumerate(got)}
            keep = [p for p in chunk if p in row]
            ids.extend(keep)
            blocks.append(vecs[[row[p] for p in keep]])
        return ids, np.concatenate(blocks)

    async def _population(self, profile_ids: Sequence[str], documents: bool = False) -> Population:
        """Records (from profile_features, as the sync stored them) and vectors of `profile_ids` (sorted) in the
        population; `documents`: also each profile's document from the index (naming reads them)."""
        records: dict[str, dict[str, Any]] = {}
        for chunk in self._chunks(profile_ids):
            records.update(await self.repo.records(chunk))
        ids, vectors = await self._vectors([p for p in profile_ids if p in records])
        rows = [records[p] for p in ids]
        if documents:
            for chunk in self._chunks(ids):
                hits = await asyncio.to_thread(self.index.retrieve, chunk, False, ["profile_id", "document"])
                text = {str(h.payload.get("profile_id")): str(h.payload.get("document") or "") for h in hits}
                for p in chunk:
                    records[p]["document"] = text.get(p, "")
        return Population(ids, vectors, rows)

    def _sample_ids(self, ids: list[str], n: int, random_state: int = 0) -> list[str]:
        """A fixed random sample of `ids` (sorted), in sorted order: the one `repo.population_sample` draws in
        SQL, for discovery, which reads every id anyway."""
        if len(ids) <= n:
            return ids
        return [ids[i] for i in sample_positions(len(ids), n, random_state)]

    async def _project_all(self, spec: BehaviourSpec, blender: ProfileBlender, profile_ids: Sequence[str],
                           ) -> tuple[list[str], np.ndarray]:
        """Profiles into the clustering space, a page of vectors at a time: the index is read in storage order
        (sequential: at 1M several times cheaper than reading by id), each page's behaviour columns computed by
        PostgreSQL while the next page is read. Holds only the projected rows (about 20 floats a profile),
        never everyone's vectors."""
        columns = spec.raw_sql()
        wanted = await asyncio.to_thread(lambda: {point_id(p): p for p in profile_ids})
        pages = self.index.vector_pages(self.assign_chunk)
        ids: list[str] = []
        blocks = [np.zeros((0, blender.components_.shape[0] + len(spec.keys)), dtype=np.float32)]
        upcoming = asyncio.ensure_future(asyncio.to_thread(next, pages, None))
        try:
            while (page := await upcoming) is not None:
                upcoming = asyncio.ensure_future(asyncio.to_thread(next, pages, None))
                points, vectors = page
                rows = [i for i, q in enumerate(points) if q in wanted]
                pids = [wanted[points[i]] for i in rows]
                got, raw = await self.repo.behaviour(pids, columns)  # leaves out who objected since
                if got:
                    at = {p: rows[j] for j, p in enumerate(pids)}
                    blocks.append(await asyncio.to_thread(project, spec, blender, vectors[[at[p] for p in got]],
                                                          raw))
                    ids.extend(got)
        finally:
            upcoming.cancel()  # a failure or a cancelled discovery leaves no page read pending
        return ids, np.concatenate(blocks)

    # -- discovery
    async def discover(self, req: DiscoverRequest) -> DiscoverResponse:
        if req.k_min > req.k_max:
            raise InvalidRequestError.worded("k_range", k_min=req.k_min, k_max=req.k_max)
        async with self._lock:
            t0 = time.perf_counter()
            phases: dict[str, float] = {}  # seconds per step, logged: where a slow discovery spends its time

            def lap(name: str) -> None:
                phases[name] = round(time.perf_counter() - t0 - sum(phases.values()), 2)

            # fitted on a fixed random sample past DISCOVERY_SAMPLE profiles (memory and time stay bounded); then
            # everyone else is projected into the fitted space and given the nearest segment; the answer says so
            everyone = await self.repo.population_ids()
            lap("ids")
            sampled = len(everyone) > self.discovery_sample
            pop = await self._population(self._sample_ids(everyone, self.discovery_sample, req.random_state),
                                         documents=True)
            lap("sample")
            if len(pop.ids) < 10:
                raise InvalidRequestError.worded("too_few_to_discover", n=len(pop.ids))
            if req.n_clusters is not None and req.n_clusters > len(pop.ids) // 2:
                raise InvalidRequestError.worded("too_many_clusters", n=req.n_clusters, profiles=len(pop.ids))
            if req.vector_weight + req.behaviour_weight <= 0:
                raise InvalidRequestError.worded("weights_zero")
            outside: asyncio.Future[tuple[list[str], np.ndarray]] | None = None
            try:
                space = None
                if sampled:
                    # the space is fitted first; the profiles outside the sample are projected into it while
                    # k-means runs on the sample (reading 1M vectors is the longest step: it overlaps the fit)
                    space = await asyncio.to_thread(fit_space, pop.vectors, pop.records,
                                                    vector_weight=req.vector_weight,
                                                    behaviour_weight=req.behaviour_weight,
                                                    random_state=req.random_state)
                    fitted = set(pop.ids)
                    outside = asyncio.ensure_future(
                        self._project_all(*space, [p for p in everyone if p not in fitted]))
                found = await asyncio.to_thread(
                    discover, pop.vectors, pop.records, [str(r.get("document") or "") for r in pop.records],
                    n_clusters=req.n_clusters, k_min=req.k_min, k_max=req.k_max, vector_weight=req.vector_weight,
                    behaviour_weight=req.behaviour_weight, random_state=req.random_state, wording=self.wording,
                    space=space)
            except BaseException as exc:
                if outside is not None:
                    outside.cancel()  # the fit failed: stop reading vectors nobody will use
                if isinstance(exc, ValueError):  # the library's own refusals (too few distinct profiles for k, ...)
                    raise InvalidRequestError.worded("cannot_discover", reason=str(exc)) from None
                raise
            lap("fit")
            run = await self.repo.next_run_version()
            k = found.clusterer.n_clusters_
            ids, labels, distances = pop.ids, found.labels, found.distances
            if outside is not None:
                rest, Z = await outside
                more, dist = found.model.nearest(Z)
                ids, labels, distances = ids + rest, np.concatenate([labels, more]), np.concatenate([distances, dist])
            lap("assign")
            sizes = np.bincount(labels, minlength=k)
            current = {r.segment_id: r for r in await self.repo.current() if r.kind == "discovered"}
            async with self.repo.discovery_run() as writer:
                # everyone's cluster goes to PostgreSQL once; the overlaps with the previous segments that keep
                # ids stable are counted there, not in Python sets of a million ids
                await writer.stage(ids, labels, -distances)
                lap("stage")
                overlap, new_shared, previous_shared = await writer.overlaps()
                matched = match_overlaps(overlap, [new_shared.get(c, 0) for c in range(k)], previous_shared,
                                         min_jaccard=self.min_jaccard)
                firsts = await writer.first_members(3)
                segments: list[dict[str, Any]] = []
                for c in range(k):
                    desc = found.descriptions[c]
                    prev = matched.get(c)
                    old = current.get(prev[0]) if prev else None
                    sid = old.segment_id if old else _new_id(f"{run}:{c}:{firsts.get(c, [])}")
                    definition = {
                        "share": round(int(sizes[c]) / max(1, len(ids)), 4) if sampled else desc.share,
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
                kept = {s["segment_id"] for s in segments}
                retired = sorted(set(current) - kept)
                quality = {"k": k, "stability": found.clusterer.stability_, "selection": found.clusterer.selection_,
                           "profiles": len(ids), "fitted_on": len(pop.ids)}
                lap("match")
                await writer.save(run, req.model_dump(), found.model.to_dict(), quality, segments,
                                  {c: s["segment_id"] for c, s in enumerate(segments)}, retired)
            lap("save")
            log.info("discovery run %d: %d profiles, k=%d, seconds per step %s", run, len(ids), k, phases)
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
            raise NotFoundError.worded("segment_not_found", segment=segment_id)
        return row

    async def show(self, segment_id: str) -> Segment:
        seg = _segment(await self._row(segment_id))
        if self.erasures_since is not None:
            seg.erased_since = await self.erasures_since(segment_id)
        return seg

    async def members(self, segment_id: str, limit: int = 100, offset: int = 0) -> MemberPage:
        if not 1 <= limit <= 10_000 or offset < 0:
            raise InvalidRequestError.worded("page_range", most=10_000)
        row = await self._row(segment_id)
        rows = await self.repo.members(segment_id, row.version, limit, offset)
        arms = await self.repo.arms(segment_id, [p for p, _ in rows])
        return MemberPage(segment_id=segment_id, version=row.version, total=row.size,
                          members=[Member(profile_id=p, score=s, arm=arms.get(p, "treated")) for p, s in rows])

    # -- publishing
    async def _enqueue_segments(self, segment_ids: set[str]) -> int:
        ids: set[str] = set()
        for sid in segment_ids:
            ids |= await self.repo.previous_members(sid)  # leavers too: their trait must lose the segment
        return await self.enqueue(sorted(ids)) if ids else 0

    async def publish(self, segment_id: str, holdout: float | None = None) -> PublishResponse:
        """Mark the current version published, record each member's entry and arm (a `holdout` share is kept
        out as a control group, fixed for the segment's life), and queue every member's (and former member's)
        traits: the treated arm's carry the segment, the control arm's never do."""
        if holdout is not None and not 0 <= holdout <= MAX_SHARE:
            raise InvalidRequestError.worded("holdout_range", most=MAX_SHARE)
        row = await self._row(segment_id)
        if row.status == "retired":
            raise InvalidRequestError.worded("segment_retired", segment=segment_id)
        try:
            entered = await self.repo.publish(segment_id, row.version, holdout)
        except HoldoutFixedError as exc:
            raise InvalidRequestError.worded("holdout_fixed", segment=segment_id, share=f"{exc.share:.0%}") from exc
        queued = await self._enqueue_segments({segment_id})
        return PublishResponse(segment_id=segment_id, version=row.version, members=row.size, queued=queued,
                               holdout=await self.repo.holdout(segment_id), entered=entered)

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
        rows = await self._described(definition["query"], conditions, definition.get("threshold"),
                                     int(definition.get("max_members", 10000)))
        row = await self._row(sid)
        await self.repo.replace_members(sid, row.version, rows)
        return len(rows)

    async def _described(self, description: str, conditions: list[Any], threshold: float | None,
                         limit: int) -> list[tuple[str, float]]:
        """Who a description means, best first (profile id, similarity). Without a threshold it is read as
        `count` reads a question (one reading for "how many" and the segment): the traits it names are filters,
        the rest must reach the question's calibrated cut-off. A raw cosine threshold means something else for
        every model (e5 scores unrelated text 0.8, MiniLM related text 0.4): given, it is used as it is."""
        if self.questions is not None and threshold is None:
            meaning = await asyncio.to_thread(self.questions.meaning, description)
            within = [*conditions, *meaning.conditions]
            if meaning.vector is None:  # the description named traits only: they are the segment
                ids = await asyncio.to_thread(matching_ids, self.index, within, limit=limit)
                return [(pid, 1.0) for pid in ids]
            hits = await asyncio.to_thread(self.questions.matching, meaning, within, limit)
            return [(pid, round(score, 5)) for pid, score in hits]
        vec = await asyncio.to_thread(self.encoder.encode_query, description)
        found = await asyncio.to_thread(self.index.search, dense=vec, sparse=None, filters=conditions, limit=limit,
                                        mode="dense")
        bar = RAW_THRESHOLD if threshold is None else threshold
        return [(str(h.payload.get("profile_id")), round(float(h.score), 5)) for h in found if h.score >= bar]

    async def create_lookalike(self, req: LookalikeRequest) -> Segment:
        seed = await self._row(req.seed_segment_id)
        seed_ids = {p for p, _ in await self.repo.members(seed.segment_id, seed.version)}
        if not seed_ids:
            raise InvalidRequestError.worded("no_members_to_look_alike", segment=seed.segment_id)
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

        _, seed_vectors = await self._vectors(sorted(seed_ids))  # the seed's own, not everyone's
        _, sample = await self._vectors(await self.repo.population_sample(LOOKALIKE_SAMPLE,
                                                                         exclude=sorted(seed_ids)))

        def rank() -> tuple[list[tuple[str, float]], dict[str, float | None]]:
            if not len(seed_vectors):
                return [], {}
            centre = seed_vectors.mean(axis=0)
            centre /= np.linalg.norm(centre) or 1.0
            hits = self.index.search(dense=centre, sparse=None, limit=min(size + OVERFETCH, 100_000), mode="dense",
                                     exclude_profile_ids=sorted(seed_ids))
            kept = [h for h in hits if not h.payload.get("objected")][:size]
            if not kept:
                return [], {}
            sims = np.sort(sample @ centre) if len(sample) else np.zeros(0)
            floor = float(kept[-1].score)
            below = float(np.searchsorted(sims, floor - 1e-6, side="left")) / len(sims) if len(sims) else 1.0
            return ([(str(h.payload["profile_id"]), round(float(h.score), 5)) for h in kept],
                    {"min_similarity": round(floor, 5), "min_percentile": round(100.0 * below, 2)})

        rows, cut = await asyncio.to_thread(rank)
        row = await self._row(sid)
        await self.repo.replace_members(sid, row.version, rows, {**definition, **cut})
        return len(rows)

    # -- prediction audiences: who a model says, kept current on every rescoring
    async def _audience(self, definition: dict[str, Any], size_only: bool = False,
                        ) -> tuple[list[tuple[str, float]], AudienceSize]:
        rule, value = definition["rule"], definition["value"]
        ids = None
        if definition.get("filters"):
            conditions = parse_filters(definition["filters"])
            ids = await asyncio.to_thread(matching_ids, self.index, conditions)
        segment_id = definition.get("segment_id")
        if segment_id is not None and await self.repo.get(segment_id) is None:
            raise NotFoundError.worded("segment_not_found", segment=segment_id)
        rows, stats = await self.repo.prediction_audience(definition["goal"], rule, value, segment_id, ids,
                                                          size_only)
        if stats.get("model_id") is None:
            raise InvalidRequestError.worded("goal_without_scores", goal=definition["goal"])
        expected = stats["expected"] if "expected" in stats else sum(s for _, s in rows)
        members = stats["members"] if "members" in stats else len(rows)
        low = stats.get("min", rows[-1][1] if rows else None)
        size = AudienceSize(members=members, pool=stats["pool"], expected_outcomes=round(expected, 4),
                            share_of_expected=round(expected / stats["all_total"], 4) if stats["all_total"] else 0.0,
                            min_score=None if low is None else round(low, 6), model_id=stats["model_id"])
        return rows, size

    @staticmethod
    def _audience_definition(req: PredictionAudienceRequest) -> dict[str, Any]:
        try:
            rule, value = req.rule()
        except ValueError:
            raise InvalidRequestError.worded("one_audience_rule") from None
        if req.filters:
            parse_filters(req.filters)  # a bad filter fails before anything is stored
        return {"goal": req.goal.strip(), "rule": rule, "value": value, "segment_id": req.segment_id,
                "filters": req.filters}

    async def size_audience(self, req: PredictionAudienceRequest) -> AudienceSize:
        """How big a prediction audience would be, and how much of the expected outcomes it holds: nothing saved."""
        _, size = await self._audience(self._audience_definition(req), size_only=True)
        return size

    async def create_audience(self, req: PredictionAudienceRequest) -> Segment:
        definition = self._audience_definition(req)
        rows, size = await self._audience(definition)  # sized (and refused) before anything is saved
        sid = "pred-" + hashlib.sha1(req.name.strip().lower().encode()).hexdigest()[:10]
        value = definition["value"]
        if self.wording == "es":  # the audience's description in the deployment's words, as discovered ones are
            shown = str(value).replace(".", ",") if isinstance(value, float) else str(value)
            rule = {"tier": f"nivel {value}", "top_percent": f"el {shown} % con más probabilidad",
                    "min_score": f"probabilidad de al menos {shown}",
                    "capture": f"el {value:.0%} de los resultados esperados".replace("%", " %")}[definition["rule"]]
            goal = {"churn": "abandono", "purchase": "compra", "ltv": "valor de vida"}.get(definition["goal"],
                                                                                         definition["goal"])
        else:
            rule = {"tier": f"tier {value}", "top_percent": f"top {value:g}%", "min_score": f"score at least {value:g}",
                    "capture": f"{value:.0%} of expected outcomes"}[definition["rule"]]
            goal = definition["goal"]
        await self.repo.upsert_saved(sid, req.name, f"{goal}: {rule}", "prediction", definition)
        row = await self._row(sid)
        await self.repo.replace_members(sid, row.version, rows, {**definition, "size": size.model_dump()})
        return await self.show(sid)

    async def refresh_audiences(self, goal: str | None = None) -> int:
        """Re-evaluate prediction audiences (of one goal, or all) after a rescoring; joiners and leavers of a
        published one get their traits re-sent and enter with their arm. Returns the audiences refreshed."""
        done = 0
        for s in await self.repo.current():
            if s.kind != "prediction" or (goal is not None and s.definition.get("goal") != goal):
                continue
            before = {p for p, _ in await self.repo.members(s.segment_id, s.version)}
            try:
                rows, size = await self._audience(s.definition)
            except (InvalidRequestError, NotFoundError) as exc:  # the model was retired, the segment deleted
                log.warning("prediction audience %s not refreshed: %s", s.segment_id, exc)
                continue
            await self.repo.replace_members(s.segment_id, s.version, rows, {**s.definition,
                                                                           "size": size.model_dump()})
            done += 1
            if s.status == "published":
                after = {p for p, _ in rows}
                if before ^ after:
                    await self.enqueue(sorted(before ^ after))
                await self.repo.record_exposures(s.segment_id, s.version)
        return done

    # -- after every sync
    async def refresh(self) -> dict[str, int]:
        """Assign profiles no discovered segment holds yet to the nearest segment of the current run (no
        re-clustering), and re-evaluate description and lookalike segments. Members of discovered versions
        older than the previous one are deleted first (their definitions stay). Idempotent."""
        async with self._lock:
            report = {"assigned": 0, "description_segments": 0, "lookalike_segments": 0,
                      "pruned_memberships": await self.repo.prune_memberships()}
            seg = await self.repo.latest_segmentation()
            segments = await self.repo.current()
            discovered = [s for s in segments if s.kind == "discovered" and s.definition.get("label") is not None
                          and seg is not None and s.version == seg["version"]]
            if seg is not None and discovered:
                new = await self.repo.unassigned(int(seg["version"]))  # one anti-join, not a scan of the index
                if new:
                    pop = await self._population(new)
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
            for s in await self.repo.current():
                if s.status == "published":  # joiners enter now, in the arm their hash gives them
                    report["entered"] = report.get("entered", 0) + await self.repo.record_exposures(s.segment_id,
                                                                                                   s.version)
            self.invalidate()
            return report

    # -- for the web page
    async def of_profile(self, profile_id: str) -> list[dict[str, Any]]:
        return [{"segment_id": r.segment_id, "name": r.name, "kind": r.kind, "status": r.status}
                for r in await self.repo.of_profile(profile_id)]

    async def map(self, sample: int = 3000, random_state: int = 0) -> dict[str, Any]:
        """A 2-D map: PCA of a sample of profile vectors, each point with its discovered segment. Only the
        sampled vectors are read (the sample's ids drawn in SQL, then those vectors), and the answer is cached
        until the next sync or discovery: a read-scope key asking again and again costs one projection."""
        key = (sample, random_state)
        cached = self._map_cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < MAP_CACHE_SECONDS:
            return cached[1]
        chosen, vectors = await self._vectors(await self.repo.population_sample(sample, random_state))
        if len(chosen) < 3:
            return {"points": [], "segments": []}
        label = await self.repo.segment_of(chosen)  # the sample's segments, not a million memberships

        def project() -> list[dict[str, Any]]:
            from sklearn.decomposition import PCA

            xy = PCA(2, random_state=random_state).fit_transform(vectors)
            return [{"profile_id": pid, "x": round(float(x), 4), "y": round(float(y), 4),
                     "segment_id": label.get(pid)} for pid, (x, y) in zip(chosen, xy, strict=True)]

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
        kept = await self._described(req.description, conditions, req.threshold, limit)
        total = await asyncio.to_thread(self.index.count)
        first = dict(kept[:10])
        documents = {str(h.payload.get("profile_id")): str(h.payload.get("document") or "")
                     for h in await asyncio.to_thread(self.index.retrieve, list(first), False,
                                                      ["profile_id", "document"])} if first else {}
        return {"size": len(kept), "share": round(len(kept) / total, 4) if total else 0.0,
                "capped": len(kept) >= limit,
                "sample": [{"profile_id": pid, "score": round(score, 4),
                            "summary": documents.get(pid, "").split("\n", 1)[0][:200]} for pid, score in first.items()]}
