"""The customer tools that agents call, shared by the LangChain and MCP adapters (which add no logic).

Guardrails live here, once: results are capped, anything that still looks like contact data is masked
(payloads are already redacted at sync time; this is the last line of defence), and every call is logged
with its arguments' shape, never with personal data.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from app.errors import UnavailableError
from app.predictions.service import PredictionService
from app.search.schemas import SearchRequest
from app.search.service import SearchService
from app.segments.service import SegmentService
from embeddings.redaction import Redactor

log = logging.getLogger("profile_ai.agents")
MAX_RESULTS = 25
# The Tracardi profile id is the handle an agent passes back (get_customer, similar_customers): a system key,
# not a customer identifier, so it is not masked.
HANDLE_KEYS = {"profile_id", "asked_id", "merged_from"}


def _mask(value: Any, redactor: Redactor, user_data: bool = False) -> Any:
    """Scrub contact-looking strings everywhere; inside customer data (traits, data) also drop PII keys."""
    if isinstance(value, str):
        return redactor.scrub_text(value)
    if isinstance(value, dict):
        return {k: v if k in HANDLE_KEYS and not user_data else _mask(v, redactor, user_data or k in ("traits", "data"))
                for k, v in value.items() if not (user_data and redactor.key_is_pii(str(k)))}
    if isinstance(value, list):
        return [_mask(v, redactor, user_data) for v in value]
    return value


class CustomerTools:
    def __init__(self, search: SearchService, redactor: Redactor | None = None, max_results: int = MAX_RESULTS,
                 *, segments: SegmentService | None = None, predictions: PredictionService | None = None) -> None:
        self.search = search
        self.redactor = redactor or Redactor()
        self.max_results = max_results
        self.segments = segments
        self.predictions = predictions

    def _done(self, tool: str, started: float, **shape: Any) -> None:
        log.info("agent tool call", extra={"tool": tool, "ms": round((time.perf_counter() - started) * 1000, 1),
                                           **shape})

    async def search_customers(self, query: str, limit: int = 10, filters: list[str] | None = None) -> dict[str, Any]:
        t = time.perf_counter()
        limit = max(1, min(int(limit), self.max_results))
        res = await self.search.search(SearchRequest(query=query, limit=limit, filters=filters or None))
        out = {"query": res.query, "understood": res.understood, "cutoff": res.cutoff, "results": [
            {"profile_id": h.profile_id, "relevance": h.relevance, "score": h.score, "why": h.why, "summary": h.summary,
             "traits": h.traits, "segments": h.segments, "event_count": h.event_count, "last_seen": h.last_seen}
            for h in res.results]}
        self._done("search_customers", t, limit=limit, filters=len(filters or []), hits=len(res.results))
        return _mask(out, self.redactor)  # type: ignore[no-any-return]

    async def get_customer(self, profile_id: str) -> dict[str, Any]:
        t = time.perf_counter()
        card = (await self.search.profile(profile_id)).model_dump()
        self._done("get_customer", t, merged=card["merged_from"] is not None)
        return _mask(card, self.redactor)  # type: ignore[no-any-return]

    async def similar_customers(self, profile_id: str, limit: int = 10) -> dict[str, Any]:
        t = time.perf_counter()
        limit = max(1, min(int(limit), self.max_results))
        res = (await self.search.similar(profile_id, limit)).model_dump()
        self._done("similar_customers", t, limit=limit)
        return _mask(res, self.redactor)  # type: ignore[no-any-return]

    def _segments(self) -> SegmentService:
        if self.segments is None:
            raise UnavailableError("segments are not available in this deployment")
        return self.segments

    async def list_segments(self) -> dict[str, Any]:
        t = time.perf_counter()
        segs = await self._segments().current()
        out = {"segments": [{"segment_id": s.segment_id, "name": s.name, "kind": s.kind, "status": s.status,
                             "size": s.size, "share": s.share, "description": s.description,
                             "top_features": [f["label"] for f in s.features[:5]]}
                            for s in segs[: self.max_results]], "total": len(segs)}
        self._done("list_segments", t, segments=len(segs))
        return _mask(out, self.redactor)  # type: ignore[no-any-return]

    async def segment_members(self, segment_id: str, limit: int = 10) -> dict[str, Any]:
        t = time.perf_counter()
        limit = max(1, min(int(limit), self.max_results))
        page = await self._segments().members(segment_id, limit)
        out = {"segment_id": segment_id, "total": page.total,
               "members": [{"profile_id": m.profile_id, "score": m.score} for m in page.members]}
        self._done("segment_members", t, limit=limit)
        return out

    async def customer_predictions(self, profile_id: str) -> dict[str, Any]:
        """Active models' predictions for one customer, each with its model card in brief."""
        t = time.perf_counter()
        if self.predictions is None:
            raise UnavailableError("predictions are not available in this deployment")
        mine = await self.predictions.of_profile(profile_id)
        cards = {m.model_id: m for m in await self.predictions.models()}
        out: dict[str, Any] = {"profile_id": profile_id, "predictions": []}
        for p in mine.predictions:
            m = cards.get(p.model_id)
            if m is None or m.status != "active":
                continue
            c = m.card
            out["predictions"].append({
                "goal": p.goal, "probability": p.probability, "value": p.value, "percentile": p.percentile,
                "tier": p.tier, "as_of": p.as_of, "drivers": p.drivers,
                "model": {"model_id": m.model_id, "horizon_days": m.horizon_days, "quality": c.get("quality"),
                          "holdout": c.get("holdout"), "warning": c.get("warning"),
                          "data": (c.get("sufficiency") or {}).get("verdict")}})
        self._done("customer_predictions", t, predictions=len(out["predictions"]))
        return _mask(out, self.redactor)  # type: ignore[no-any-return]

    async def publish_segment(self, segment_id: str) -> dict[str, Any]:
        """Write tool: offered only when writes are allowed."""
        t = time.perf_counter()
        res = (await self._segments().publish(segment_id)).model_dump()
        self._done("publish_segment", t)
        return res  # type: ignore[no-any-return]
