"""The customer tools that agents call, shared by the LangChain and MCP adapters (which add no logic).

Guardrails live here, once: results are capped, anything that still looks like contact data is masked
(payloads are already redacted at sync time; this is the last line of defence), and every call is logged
with its arguments' shape, never with personal data.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from app.search.schemas import SearchRequest
from app.search.service import SearchService
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
    def __init__(self, search: SearchService, redactor: Redactor | None = None, max_results: int = MAX_RESULTS) -> None:
        self.search = search
        self.redactor = redactor or Redactor()
        self.max_results = max_results

    def _done(self, tool: str, started: float, **shape: Any) -> None:
        log.info("agent tool call", extra={"tool": tool, "ms": round((time.perf_counter() - started) * 1000, 1),
                                           **shape})

    async def search_customers(self, query: str, limit: int = 10, filters: list[str] | None = None) -> dict[str, Any]:
        t = time.perf_counter()
        limit = max(1, min(int(limit), self.max_results))
        res = await self.search.search(SearchRequest(query=query, limit=limit, filters=filters or None))
        out = {"query": res.query, "results": [
            {"profile_id": h.profile_id, "score": h.score, "why": h.why, "summary": h.summary, "traits": h.traits,
             "segments": h.segments, "event_count": h.event_count, "last_seen": h.last_seen} for h in res.results]}
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
