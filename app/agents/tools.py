"""The customer tools that agents call, shared by the LangChain and MCP adapters (which add no logic).

Guardrails live here, once: results are capped, anything that still looks like contact data is masked
(payloads are already redacted at sync time; this is the last line of defence), and every call is logged
with its arguments' shape, never with personal data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field

from app.errors import UnavailableError
from app.insights.budget import DEFAULT_MAX_TOKENS, fit
from app.insights.service import InsightService
from app.predictions.service import PredictionService
from app.search.schemas import SearchRequest
from app.search.service import SearchService
from app.segments.schemas import PredictionAudienceRequest
from app.segments.service import SegmentService
from embeddings.redaction import Redactor
from prediction.goals import named_goals

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


# The tools' arguments, described once: MCP and LangChain both read their schemas from these signatures.
Query = Annotated[str, Field(min_length=1, max_length=1000, description=(
    "What kind of customers to find, in plain words, e.g. 'customers who complain about delivery' or 'horror "
    "movie fans'. Words that name trait values ('two-year contract', 'students') are read as filters."))]
Limit = Annotated[int, Field(ge=1, le=MAX_RESULTS, description=f"How many to return (1-{MAX_RESULTS})")]
Filters = Annotated[list[str] | None, Field(description=(
    "Optional exact conditions, each 'KEY=VALUE', 'KEY!=VALUE', 'KEY>=N' or 'KEY<=DATE', e.g. "
    "['traits.plan=gold', 'traits.contract!=Month-to-month', 'event_count>=10']"))]
ProfileId = Annotated[str, Field(min_length=1, max_length=200, description="The customer's profile id, as "
                                                                           "returned by search_customers")]
SegmentId = Annotated[str, Field(min_length=1, max_length=200, description="The segment id, as returned by "
                                                                           "list_segments")]
OptionalQuery = Annotated[str | None, Field(max_length=1000, description=(
    "Optional: who, in plain words ('horror fans', 'clientes con fibra'); trait words become exact filters, "
    "the rest is matched by meaning against a cut-off"))]
OptionalSegment = Annotated[str | None, Field(max_length=200, description="Optional: only this segment's members")]
Tier = Annotated[str | None, Field(max_length=200, description=(
    "Optional: only a prediction tier, as GOAL:TIER, e.g. 'churn:top 10%' (tiers: top 1%, top 10%, top 50%, rest)"))]
Fields = Annotated[list[str] | None, Field(max_length=20, description=(
    "Optional fields to break down, e.g. ['traits.plan', 'data.pii.gender', 'event_count']; default: the most "
    "distinctive fields first"))]
Goal = Annotated[str, Field(min_length=1, max_length=200, description=(
    f"The predicted behaviour: {', '.join(named_goals())} or event:TYPE (a goal with a trained model)"))]
MaxTokens = Annotated[int, Field(ge=50, le=50_000, description=(
    "Answer size limit, counted as ceil(characters of the compact JSON answer / 4); rows are dropped from the "
    "end and the answer says how many and where the next page starts"))]
Offset = Annotated[int, Field(ge=0, le=100_000, description="Rows to skip (the next_offset of a cut answer)")]
RankedBy = Annotated[str | None, Field(max_length=200, description=(
    "Optional: the number to rank by, when the question does not say it: spend_total, purchases, event_count, "
    "active_days, rating_mean, first_seen, last_seen, a numeric trait ('traits.age') or counts.TYPE"))]
Descending = Annotated[bool | None, Field(description=(
    "Optional: true for the highest first (the default), false for the lowest first; default: as the question "
    "says ('spent the least', 'the oldest customers')"))]
RankingQuery = Annotated[str | None, Field(max_length=1000, description=(
    "Who, and what to rank them by, in plain words: 'the 10 customers who spent the most', 'los 5 clientes con "
    "más compras', 'our newest customers in Spain', 'students with the most ratings'"))]
TopPercent = Annotated[float | None, Field(gt=0, le=100, description="Optional: the highest-scored N percent")]
Capture = Annotated[float | None, Field(gt=0, le=1, description=(
    "Optional: customers in score order until they hold this share of everyone's expected outcomes"))]
ModelTier = Annotated[str | None, Field(max_length=40, description=(
    "Optional: one tier of the model: top 1%, top 10%, top 50% or rest"))]
AudienceName = Annotated[str, Field(min_length=1, max_length=200, description="The audience's name")]
Outcome = Annotated[str, Field(min_length=1, max_length=206, description=(
    "purchase, spend, or event:TYPE (an event type seen in the data)"))]
Days = Annotated[int, Field(ge=1, le=730, description="the outcome counts within this many days of each member's "
                                                      "entry")]
WhoChanged = Annotated[bool, Field(description=(
    "Also estimate who changed because of the campaign, as a few readable rules with held-out uplift (slower)"))]
Holdout = Annotated[float | None, Field(ge=0, le=0.5, description=(
    "Optional: the share of members kept out as a control group (0-0.5), so the campaign's lift can be measured; "
    "fixed for the segment's life"))]


class CustomerTools:
    def __init__(self, search: SearchService, redactor: Redactor | None = None, max_results: int = MAX_RESULTS,
                 *, segments: SegmentService | None = None, predictions: PredictionService | None = None,
                 insights: InsightService | None = None,
                 explain: Callable[[str], Awaitable[dict[str, Any]]] | None = None,
                 publish: Callable[[str, float | None], Awaitable[Any]] | None = None,
                 lift: Callable[[str, str, int], Awaitable[Any]] | None = None,
                 uplift: Callable[[str, str, int], Awaitable[dict[str, Any]]] | None = None) -> None:
        self.search = search
        self.redactor = redactor or Redactor()
        self.max_results = max_results
        self.segments = segments
        self.predictions = predictions
        self.insights = insights
        self._explain = explain
        self._publish = publish  # the application's use case (records change events, delivers to Tracardi)
        self._lift = lift
        self._uplift = uplift

    def _done(self, tool: str, started: float, **shape: Any) -> None:
        log.info("agent tool call", extra={"tool": tool, "ms": round((time.perf_counter() - started) * 1000, 1),
                                           **shape})

    async def search_customers(self, query: Query, limit: Limit = 10, filters: Filters = None,
                               max_tokens: MaxTokens = DEFAULT_MAX_TOKENS) -> dict[str, Any]:
        t = time.perf_counter()
        limit = max(1, min(int(limit), self.max_results))
        res = await self.search.search(SearchRequest(query=query, limit=limit, filters=filters or None))
        out = {"query": res.query, "understood": res.understood, "understood_matches": res.understood_matches,
               "cutoff": res.cutoff, "results": [
            {"profile_id": h.profile_id, "relevance": h.relevance, "score": h.score, "why": h.why, "summary": h.summary,
             "traits": h.traits, "segments": h.segments, "event_count": h.event_count, "last_seen": h.last_seen}
            for h in res.results]}
        self._done("search_customers", t, limit=limit, filters=len(filters or []), hits=len(res.results))
        return fit(_mask(out, self.redactor), "results", max_tokens)

    async def get_customer(self, profile_id: ProfileId) -> dict[str, Any]:
        t = time.perf_counter()
        card = (await self.search.profile(profile_id)).model_dump()
        self._done("get_customer", t, merged=card["merged_from"] is not None)
        masked: dict[str, Any] = _mask(card, self.redactor)
        return masked

    async def similar_customers(self, profile_id: ProfileId, limit: Limit = 10,
                                max_tokens: MaxTokens = DEFAULT_MAX_TOKENS) -> dict[str, Any]:
        t = time.perf_counter()
        limit = max(1, min(int(limit), self.max_results))
        res = (await self.search.similar(profile_id, limit)).model_dump()
        self._done("similar_customers", t, limit=limit)
        return fit(_mask(res, self.redactor), "results", max_tokens)

    def _segments(self) -> SegmentService:
        if self.segments is None:
            raise UnavailableError("segments are not available in this deployment")
        return self.segments

    async def list_segments(self, max_tokens: MaxTokens = DEFAULT_MAX_TOKENS) -> dict[str, Any]:
        t = time.perf_counter()
        segs = await self._segments().current()
        out = {"segments": [{"segment_id": s.segment_id, "name": s.name, "kind": s.kind, "status": s.status,
                             "size": s.size, "share": s.share, "description": s.description,
                             "top_features": [f["label"] for f in s.features[:5]]}
                            for s in segs[: self.max_results]], "total": len(segs)}
        self._done("list_segments", t, segments=len(segs))
        return fit(_mask(out, self.redactor), "segments", max_tokens)

    async def segment_members(self, segment_id: SegmentId, limit: Limit = 10,
                              max_tokens: MaxTokens = DEFAULT_MAX_TOKENS) -> dict[str, Any]:
        t = time.perf_counter()
        limit = max(1, min(int(limit), self.max_results))
        page = await self._segments().members(segment_id, limit)
        out = {"segment_id": segment_id, "total": page.total,
               "members": [{"profile_id": m.profile_id, "score": m.score} for m in page.members]}
        self._done("segment_members", t, limit=limit)
        return fit(out, "members", max_tokens)

    async def customer_predictions(self, profile_id: ProfileId) -> dict[str, Any]:
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
        masked: dict[str, Any] = _mask(out, self.redactor)
        return masked

    def _insights(self) -> InsightService:
        if self.insights is None:
            raise UnavailableError("business questions are not available in this deployment")
        return self.insights

    async def count_customers(self, query: OptionalQuery = None, filters: Filters = None,
                              segment: OptionalSegment = None, tier: Tier = None,
                              max_tokens: MaxTokens = DEFAULT_MAX_TOKENS) -> dict[str, Any]:
        t = time.perf_counter()
        out = await self._insights().count(query, filters, segment, tier)
        self._done("count_customers", t, filters=len(filters or []))
        return fit(_mask(out, self.redactor), "rows", max_tokens)

    async def describe_customers(self, query: OptionalQuery = None, filters: Filters = None,
                                 segment: OptionalSegment = None, fields: Fields = None, tier: Tier = None,
                                 max_tokens: MaxTokens = DEFAULT_MAX_TOKENS) -> dict[str, Any]:
        t = time.perf_counter()
        out = await self._insights().describe(query, filters, segment, fields, tier=tier)
        self._done("describe_customers", t, filters=len(filters or []))
        masked = _mask(out, self.redactor)
        # the per-field breakdowns are the rows a small budget drops first; the distinctive list is kept short
        masked["distinctive"] = masked.get("distinctive", [])[:8]
        return fit(masked, "fields", max_tokens)

    async def top_customers(self, goal: Goal, query: OptionalQuery = None, filters: Filters = None,
                            segment: OptionalSegment = None, limit: Limit = 10, offset: Offset = 0,
                            max_tokens: MaxTokens = DEFAULT_MAX_TOKENS) -> dict[str, Any]:
        t = time.perf_counter()
        limit = max(1, min(int(limit), self.max_results))
        out = await self._insights().top(goal, query, filters, segment, limit, offset)
        self._done("top_customers", t, limit=limit, filters=len(filters or []))
        return fit(_mask(out, self.redactor), "ranked", max_tokens, offset=offset)

    async def rank_customers(self, query: RankingQuery = None, by: RankedBy = None, descending: Descending = None,
                             filters: Filters = None, segment: OptionalSegment = None, limit: Limit = 10,
                             offset: Offset = 0, max_tokens: MaxTokens = DEFAULT_MAX_TOKENS) -> dict[str, Any]:
        t = time.perf_counter()
        limit = max(1, min(int(limit), self.max_results))
        out = await self._insights().ranked(query, filters, segment, by, descending, limit, offset)
        self._done("rank_customers", t, limit=limit, filters=len(filters or []))
        return fit(_mask(out, self.redactor), "ranked", max_tokens, offset=offset)

    async def explain_customer(self, profile_id: ProfileId, max_tokens: MaxTokens = DEFAULT_MAX_TOKENS) -> dict[str, Any]:
        """What the layer holds and infers about one customer, and why (segments, predictions, write-back)."""
        t = time.perf_counter()
        if self._explain is None:
            raise UnavailableError("explanations are not available in this deployment")
        out = await self._explain(profile_id)
        self._done("explain_customer", t)
        return fit(_mask(out, self.redactor), "plain", max_tokens)

    async def model_quality(self, model_id: Annotated[str, Field(min_length=1, max_length=200, description=(
            "The model id, as customer_predictions or top_customers report it"))],
                            max_tokens: MaxTokens = DEFAULT_MAX_TOKENS) -> dict[str, Any]:
        """Whether a model's predictions are coming true: drift and realized quality per scoring."""
        t = time.perf_counter()
        if self.predictions is None:
            raise UnavailableError("predictions are not available in this deployment")
        res = await self.predictions.quality_history(model_id)
        self._done("model_quality", t)
        return fit(res, "snapshots", max_tokens)

    async def segment_lift(self, segment_id: SegmentId, outcome: Outcome = "purchase", days: Days = 30,
                           who_changed: WhoChanged = False,
                           max_tokens: MaxTokens = DEFAULT_MAX_TOKENS) -> dict[str, Any]:
        """Measured lift of a published segment against its control group (and, if asked, who changed)."""
        t = time.perf_counter()
        if self._lift is None:
            raise UnavailableError("measured lift is not available in this deployment")
        res = (await self._lift(segment_id, outcome, days)).model_dump(mode="json")
        if who_changed and self._uplift is not None and outcome != "spend":
            res["who_changed"] = await self._uplift(segment_id, outcome, days)
        self._done("segment_lift", t)
        return fit(res, "plain", max_tokens)

    async def size_prediction_audience(self, goal: Goal, top_percent: TopPercent = None, capture: Capture = None,
                                       tier: ModelTier = None, segment_id: OptionalSegment = None) -> dict[str, Any]:
        """How many customers a model's rule picks and what share of the expected outcomes they hold."""
        t = time.perf_counter()
        req = PredictionAudienceRequest(name="sizing", goal=goal, top_percent=top_percent, capture=capture,
                                        tier=tier, segment_id=segment_id)
        res: dict[str, Any] = (await self._segments().size_audience(req)).model_dump()
        self._done("size_prediction_audience", t)
        return res

    async def create_prediction_audience(self, name: AudienceName, goal: Goal, top_percent: TopPercent = None,
                                         capture: Capture = None, tier: ModelTier = None,
                                         segment_id: OptionalSegment = None) -> dict[str, Any]:
        """Write tool: offered only when writes are allowed."""
        t = time.perf_counter()
        req = PredictionAudienceRequest(name=name, goal=goal, top_percent=top_percent, capture=capture, tier=tier,
                                        segment_id=segment_id)
        seg = await self._segments().create_audience(req)
        self._done("create_prediction_audience", t)
        return {"segment_id": seg.segment_id, "name": seg.name, "size": seg.size, "description": seg.description}

    async def publish_segment(self, segment_id: SegmentId, holdout: Holdout = None) -> dict[str, Any]:
        """Write tool: offered only when writes are allowed."""
        t = time.perf_counter()
        if self._publish is None:  # never the segment service directly: that would record and deliver nothing
            raise UnavailableError("publishing is not available to these tools: build them with "
                                   "Container.agent_tools(), which publishes through the application layer")
        res: dict[str, Any] = (await self._publish(segment_id, holdout)).model_dump()
        self._done("publish_segment", t)
        return res


@dataclass(frozen=True)
class ToolSpec:
    """One agent tool, declared once: the MCP server and the LangChain tools are both built from TOOLS."""

    name: str  # also the CustomerTools method
    title: str
    description: str
    needs: Literal["search", "segments", "predictions", "insights"] = "search"
    writes: bool = False

    def bound(self, tools: CustomerTools) -> Callable[..., Awaitable[dict[str, Any]]]:
        method: Callable[..., Awaitable[dict[str, Any]]] = getattr(tools, self.name)
        return method


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec("search_customers", "Search customers",
             "Find customers by meaning: describe behaviour, tastes or situation in words. Returns profile ids, a "
             "relevance (0-1, comparable across questions), how the question was understood and why each matched; "
             "`understood_matches`: how many meet everything read (they come first, the closest others after). "
             "Use first, then get_customer. For 'who spent the most', 'the newest customers', 'the most active' use "
             "rank_customers (exact); for 'how many' count_customers."),
    ToolSpec("get_customer", "Customer card",
             "A customer's card: activity summary, traits (no contact details), event counts, first/last seen, "
             "spend. A merged id answers with the surviving profile."),
    ToolSpec("similar_customers", "Lookalikes",
             "Lookalikes of one customer, most similar first, with a similarity percentile (how unusual such "
             "similarity is among all customers)."),
    ToolSpec("list_segments", "Segments", "The customer segments marketers work with: name, size, share, what sets "
             "each apart. Use to answer 'what kinds of customers do we have'.", needs="segments"),
    ToolSpec("segment_members", "Segment members",
             "Customers in one segment, the most typical first (profile ids; then get_customer).", needs="segments"),
    ToolSpec("customer_predictions", "Predictions",
             "A customer's predicted behaviour (purchase, churn, lifetime value, custom events): probability or "
             "value, percentile and tier, the reasons (drivers), and how good each model is (quality in words, "
             "holdout metrics, warnings).", needs="predictions"),
    ToolSpec("count_customers", "Count customers",
             "How many customers: exact for filters and segments; for a description in words, an estimate above a "
             "stated similarity cut-off (labelled so). A question ending 'by <field>' / 'por <campo>' ('how many "
             "customers by gender', 'by age': ranges of a number) also gets the count per value (`by`, `rows`), as "
             "does 'which occupation has the most ...'; 'likely to churn / buy' counts whom the goal's active model "
             "gives a probability of 0.5 or more (`group.likely`; 'unlikely' below it, 'the top 10% most likely' its "
             "top share). Every answer has `share`, the count over all customers; 'what percentage of customers "
             "from Spain bought shoes' also gets `within`: the share of the group it is of. 'Spent more than the "
             "average' compares with everyone's mean (`group.average`). "
             "'How much' questions ('the average spend of customers from Spain', 'how much did they spend this "
             "year', 'the average order value', 'la edad media') also get `measure`: the mean, total and median of "
             "that number over the group, the one asked as `value`. Use for 'how many ...' questions instead of "
             "paging search.",
             needs="insights"),
    ToolSpec("describe_customers", "Describe a group",
             "What sets a group apart from all customers: the most distinctive traits and behaviour (share in the "
             "group against everyone, lift), top values per field with shares, medians and quartiles. Use for "
             "'what do X have in common' or 'which plans do X have'; 'why do X churn / buy?' describes the X the "
             "goal's model gives 0.5 or more, with its commonest reasons for them (`reasons`).", needs="insights"),
    ToolSpec("top_customers", "Rank by prediction",
             "Customers ranked by a model's prediction (e.g. most likely to churn), optionally within filters, a "
             "segment or a description: probability or value, percentile, tier, top reasons, and the model's "
             "quality. 'the 3 students ...' / 'top 5' in the question is how many are listed. People who objected "
             "to profiling are never listed.", needs="insights"),
    ToolSpec("rank_customers", "Rank by a fact",
             "Customers ranked by a stored number, exactly, optionally within filters, a segment or a description: "
             "'who spent the most', 'the 10 customers with the most purchases', 'our newest / oldest customers', "
             "'the most active', 'who opened the most tickets', 'los que más gastaron', 'los clientes más "
             "antiguos'. Each with its value; what it ranked by (`ranked_by`) and how many hold it. Use for "
             "'top / most / least / newest' questions about facts; top_customers ranks by a model's prediction. "
             "People who objected to profiling are never listed.", needs="insights"),
    ToolSpec("explain_customer", "Explain a customer",
             "Why a customer is in their segments and has their predictions: the reasons in plain words, what is "
             "held about them and what was written back.", needs="insights"),
    ToolSpec("model_quality", "Model quality over time",
             "Are a model's predictions coming true: for each scoring, drift of the scores (PSI) and, once its "
             "horizon has passed, what came true (AUC with interval, Brier, calibration, lift) beside the holdout "
             "figures; whether and why it was replaced.", needs="predictions"),
    ToolSpec("segment_lift", "Campaign lift",
             "Did a campaign work: a published segment's treated members against its control group (holdout) on an "
             "outcome (purchase, spend, event:TYPE) within N days of entry. Rates per arm, absolute and relative "
             "lift with a 95% interval, the probability the campaign helped, and plainly when there is not enough "
             "data yet.", needs="segments"),
    ToolSpec("size_prediction_audience", "Size a prediction audience",
             "How many customers a model picks (the top N percent, a tier, or enough to hold a share of the expected "
             "outcomes), optionally within a segment, and what share of all expected outcomes they hold. Give "
             "exactly one of top_percent, capture, tier.", needs="segments"),
    ToolSpec("create_prediction_audience", "Create a prediction audience",
             "WRITE: save a prediction audience as a segment (kept current on every rescoring). Only when the user "
             "explicitly asks to create it; size it first.", needs="segments", writes=True),
    ToolSpec("publish_segment", "Publish a segment",
             "WRITE: publish a segment's membership to the CDP (traits.ai.segments), optionally keeping a control "
             "group (holdout) out of it. Only when the user explicitly asks to publish.", needs="segments",
             writes=True),
)


def available_tools(tools: CustomerTools, *, allow_writes: bool = False) -> list[ToolSpec]:
    """The tools this deployment offers: segment and prediction tools when those services exist, writes only
    when allowed."""
    have = {"search": True, "segments": tools.segments is not None, "predictions": tools.predictions is not None,
            "insights": tools.insights is not None}
    return [t for t in TOOLS if have[t.needs] and (allow_writes or not t.writes)]
