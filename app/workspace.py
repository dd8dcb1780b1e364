"""The Python API for notebooks: a data dir (or a running server) as pandas DataFrames, with training,
scoring and segment discovery callable from Python; no HTTP server needed for a data dir.

    from app.workspace import Workspace
    ws = Workspace.open(".profile-ai")            # or Workspace.open(url="http://localhost:8000")
    ws.search("horror movie fans", limit=5)        # DataFrame
    ws.discover(); ws.segments()                   # smart segments
    ws.train("churn", horizon_days=30); ws.score(goal="churn")

A local workspace runs the same services as the server (app/container.py) on a private event loop thread,
so calls here are plain blocking calls. Only one process may open a data dir at a time (the embedded index).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import numpy as np
import pandas as pd

from app.config import Settings, load_settings
from app.store.ops_repository import OpsRepository
from profiles.paths import flatten

if TYPE_CHECKING:
    from app.container import Container

T = TypeVar("T")

PROFILE_COLUMNS = ["profile_id", "event_count", "active_days", "first_seen", "last_seen", "spend_total",
                   "purchases", "rating_mean"]


class _Loop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="profile-ai-workspace")
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class Workspace:
    def __init__(self, container: Container | None = None, loop: _Loop | None = None,
                 http: httpx.Client | None = None) -> None:
        self._c = container
        self._loop = loop
        self._http = http

    @classmethod
    def open(cls, data_dir: str | Path | None = None, *, url: str | None = None,
             settings: Settings | None = None, api_key: str | None = None) -> Workspace:
        if url:
            headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
            return cls(http=httpx.Client(base_url=url, timeout=600, headers=headers))
        from app.container import Container

        s = settings or load_settings(**({"data_dir": Path(data_dir)} if data_dir else {}))
        loop = _Loop()
        try:
            container = loop.run(Container.create(s))
        except BaseException:
            loop.close()
            raise
        return cls(container, loop)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        if self._c is not None and self._loop is not None:
            self._loop.run(self._c.aclose())
            self._loop.close()
            self._c = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing
    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None
        return self._loop.run(coro)

    def _local(self, what: str) -> Container:
        if self._c is None:
            raise RuntimeError(f"{what} needs a local data dir: Workspace.open(data_dir)")
        return self._c

    def _call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        assert self._http is not None
        r = self._http.request(method, path, **kw)
        if r.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:300]}")
        answer: dict[str, Any] = r.json()
        return answer

    # -- profiles, vectors, features, events
    def profiles(self) -> pd.DataFrame:
        """One row per indexed profile: aggregates, traits and describing data (flattened), top facet values,
        the document. Contact details are not there: they never entered the index."""
        c = self._local("profiles()")
        hits = self._run(asyncio.to_thread(lambda: [h for b in c.index.scroll(batch=2000) for h in b]))
        rows = []
        for h in hits:
            p = h.payload
            row = {k: p.get(k) for k in PROFILE_COLUMNS}
            row.update(flatten(p.get("traits") or {}, "traits"))
            row.update(flatten(p.get("data") or {}, "data"))
            for facet, values in (p.get("top") or {}).items():
                row[f"top.{facet}"] = ", ".join(values)
            row["document"] = p.get("document")
            rows.append(row)
        df = pd.DataFrame(rows)
        for col in ("first_seen", "last_seen"):
            if col in df:
                df[col] = pd.to_datetime(df[col], utc=True, errors="coerce")
        return df.sort_values("profile_id").reset_index(drop=True) if len(df) else df

    def vectors(self) -> tuple[list[str], np.ndarray]:
        """(profile ids, their embedding matrix), e.g. for a 2-D map."""
        c = self._local("vectors()")
        hits = self._run(asyncio.to_thread(
            lambda: [h for b in c.index.scroll(batch=2000, with_vector=True, fields=["profile_id"]) for h in b]))
        hits.sort(key=lambda h: str(h.payload["profile_id"]))
        return [str(h.payload["profile_id"]) for h in hits], np.asarray([h.vector for h in hits], dtype=np.float32)

    def features(self) -> pd.DataFrame:
        """The per-profile aggregates each sync writes (profile_ai.profile_features)."""
        c = self._local("features()")
        rows = self._run(OpsRepository(c.database.pool).features())
        return pd.DataFrame([dict(r) for r in rows])

    def events(self) -> pd.DataFrame:
        """The event log (type, time, money value, properties without PII)."""
        c = self._local("events()")
        rows = self._run(OpsRepository(c.database.pool).events())
        return pd.DataFrame([dict(r) for r in rows], columns=["profile_id", "event_id", "type", "time", "value"])

    def sync(self, source: str | None = None, full: bool = False) -> dict[str, Any]:
        c = self._local("sync()")

        async def go() -> dict[str, Any]:
            from tqdm.auto import tqdm  # a notebook widget in Jupyter, a text bar elsewhere

            src = c.source(source)
            with tqdm(total=await src.total(), unit="profile", desc="sync") as bar:
                def progress(r: Any) -> None:
                    bar.update(r.seen - bar.n)
                    bar.set_postfix(embedded=r.embedded, refresh=False)
                return await c.usecases.sync_and_refresh(src, full=full, progress=progress)
        return self._run(go())

    # -- search
    def search(self, query: str, limit: int = 10, filters: list[str] | dict[str, Any] | None = None,
               mode: str = "hybrid") -> pd.DataFrame:
        body = {"query": query, "limit": limit, "filters": filters, "mode": mode}
        if self._http is not None:
            res = self._call("POST", "/v1/search", json=body)
        else:
            from app.search.schemas import SearchRequest

            res = self._run(self._local("search()").search.search(SearchRequest(**body))).model_dump()
        return pd.DataFrame(res["results"])

    def similar(self, profile_id: str, limit: int = 10) -> pd.DataFrame:
        if self._http is not None:
            res = self._call("GET", f"/v1/profiles/{profile_id}/similar", params={"limit": limit})
        else:
            res = self._run(self._local("similar()").search.similar(profile_id, limit)).model_dump()
        return pd.DataFrame(res["results"])

    # -- business questions (app/insights/): the same answers as the agent tools, HTTP and the CLI
    def count(self, query: str | None = None, filters: list[str] | dict[str, Any] | None = None,
              segment: str | None = None) -> dict[str, Any]:
        """How many customers (exact for filters and segments; `estimate` for a description in words)."""
        if self._http is not None:
            return self._call("POST", "/v1/customers/count",
                              json={"query": query, "filters": filters, "segment": segment})
        return self._run(self._local("count()").insights.count(query, filters, segment))

    def describe(self, query: str | None = None, filters: list[str] | dict[str, Any] | None = None,
                 segment: str | None = None, fields: list[str] | None = None) -> dict[str, Any]:
        """What sets a group apart from everyone: distinctive attributes, per-field breakdowns, behaviour."""
        if self._http is not None:
            return self._call("POST", "/v1/customers/describe",
                              json={"query": query, "filters": filters, "segment": segment, "fields": fields,
                                    "max_tokens": 50_000})
        return self._run(self._local("describe()").insights.describe(query, filters, segment, fields))

    def top(self, goal: str, query: str | None = None, filters: list[str] | dict[str, Any] | None = None,
            segment: str | None = None, limit: int = 100) -> pd.DataFrame:
        """Customers ranked by a goal's active model, best first."""
        if self._http is not None:
            res = self._call("POST", "/v1/predictions/top", json={"goal": goal, "query": query, "filters": filters,
                                                                  "segment": segment, "limit": limit,
                                                                  "max_tokens": 50_000})
        else:
            res = self._run(self._local("top()").insights.top(goal, query, filters, segment, limit))
        return pd.DataFrame(res["ranked"])

    def ranked(self, query: str | None = None, by: str | None = None, descending: bool | None = None,
               filters: list[str] | dict[str, Any] | None = None, segment: str | None = None,
               limit: int = 100) -> pd.DataFrame:
        """Customers ranked by a stored number, best first: read from the question ("who spent the most", "los
        clientes más antiguos") or `by` a field (spend_total, purchases, first_seen, traits.age, counts.TYPE)."""
        if self._http is not None:
            res = self._call("POST", "/v1/customers/ranked", json={
                "query": query, "by": by, "descending": descending, "filters": filters, "segment": segment,
                "limit": limit, "max_tokens": 50_000})
        else:
            res = self._run(self._local("ranked()").insights.ranked(query, filters, segment, by, descending, limit))
        return pd.DataFrame(res["ranked"])

    # -- segments
    def discover(self, **params: Any) -> pd.DataFrame:
        """Cluster into named segments (DiscoverRequest fields: n_clusters, k_min, k_max, behaviour_weight...)."""
        if self._http is not None:
            res = self._call("POST", "/v1/segments/discover", json=params)
        else:
            from app.segments.schemas import DiscoverRequest

            res = self._run(self._local("discover()").segments.discover(DiscoverRequest(**params))).model_dump()
        self.last_discovery = res
        return pd.DataFrame(res["segments"])

    def segments(self) -> pd.DataFrame:
        if self._http is not None:
            res = self._call("GET", "/v1/segments")["segments"]
        else:
            res = [s.model_dump() for s in self._run(self._local("segments()").segments.current())]
        return pd.DataFrame(res)

    def segment_members(self, segment_id: str, limit: int = 10_000) -> pd.DataFrame:
        if self._http is not None:
            res = self._call("GET", f"/v1/segments/{segment_id}/members", params={"limit": limit})
        else:
            res = self._run(self._local("segment_members()").segments.members(segment_id, limit)).model_dump()
        return pd.DataFrame(res["members"])

    def publish(self, segment_id: str, holdout: float | None = None) -> dict[str, Any]:
        """Publish a segment; `holdout` (0-0.5) keeps that share out as a control group, for measured lift."""
        if self._http is not None:
            return self._call("POST", f"/v1/segments/{segment_id}/publish",
                              json={"holdout": holdout} if holdout is not None else None)
        # the shared use case: publishes, records the change events and delivers, as every front end does
        return self._run(self._local("publish()").usecases.publish_segment(segment_id, holdout)).model_dump()

    def audience(self, name: str, goal: str, *, top_percent: float | None = None, capture: float | None = None,
                 tier: str | None = None, min_score: float | None = None, segment_id: str | None = None,
                 filters: list[str] | None = None, save: bool = True) -> dict[str, Any]:
        """A prediction audience (saved, or only sized with `save=False`): who a model says, kept current."""
        body = {"name": name, "goal": goal, "top_percent": top_percent, "capture": capture, "tier": tier,
                "min_score": min_score, "segment_id": segment_id, "filters": filters}
        path = "/v1/segments/prediction" + ("" if save else "/size")
        if self._http is not None:
            return self._call("POST", path, json=body)
        from app.segments.schemas import PredictionAudienceRequest

        req = PredictionAudienceRequest(**body)
        segments = self._local("audience()").segments
        res = self._run(segments.create_audience(req) if save else segments.size_audience(req))
        return res.model_dump(mode="json")

    def uplift(self, segment_id: str, outcome: str = "purchase", days: int = 30) -> dict[str, Any]:
        """Who changed because of the campaign, as readable rules with held-out uplift."""
        if self._http is not None:
            return self._call("GET", f"/v1/segments/{segment_id}/uplift",
                              params={"outcome": outcome, "days": days})
        return self._run(self._local("uplift()").lift.uplift(segment_id, outcome, days))

    def lift(self, segment_id: str, outcome: str = "purchase", days: int = 30) -> dict[str, Any]:
        """Measured lift of a segment published with a holdout: per arm, the lift with its interval, CUPED."""
        if self._http is not None:
            return self._call("GET", f"/v1/segments/{segment_id}/lift",
                              params={"outcome": outcome, "days": days})
        return self._run(self._local("lift()").lift.lift(segment_id, outcome, days)).model_dump(
            mode="json")

    # -- predictions
    def train(self, goal: str, horizon_days: int | None = None, as_of: str | None = None) -> dict[str, Any]:
        """Train a model version; returns it with its card."""
        body = {"goal": goal, "horizon_days": horizon_days, "as_of": as_of}
        if self._http is not None:
            return self._call("POST", "/v1/models", json=body)
        from app.predictions.schemas import TrainRequest

        return self._run(self._local("train()").predictions.train(TrainRequest(**body))).model_dump()

    def models(self) -> pd.DataFrame:
        if self._http is not None:
            res = self._call("GET", "/v1/models")["models"]
        else:
            res = [m.model_dump() for m in self._run(self._local("models()").predictions.models())]
        return pd.DataFrame(res)

    def score(self, model_id: str | None = None, goal: str | None = None, as_of: str | None = None,
              ) -> pd.DataFrame:
        """Score every profile; returns all predictions of that model, best first."""
        body = {"model_id": model_id, "goal": goal, "as_of": as_of, "limit": 1_000_000}
        if self._http is not None:
            res = self._call("POST", "/v1/score", json=body)
        else:
            from app.predictions.schemas import ScoreRequest

            res = self._run(self._local("score()").usecases.score(ScoreRequest(**body))).model_dump()
        return pd.DataFrame(res["predictions"])

    def predictions(self, goal: str | None = None) -> pd.DataFrame:
        """Stored predictions of active models (all goals, or one)."""
        c = self._local("predictions()")
        rows = self._run(OpsRepository(c.database.pool).active_predictions(goal))
        return pd.DataFrame([dict(r) for r in rows])

    def training_frame(self, goal: str, horizon_days: int | None = None, as_of: str | None = None,
                       ) -> pd.DataFrame:
        """Point-in-time features (only events before as_of) and the label over the horizon after it, one row
        per profile: bring your own model."""
        c = self._local("training_frame()")
        ids, names, X, y, _ = self._run(c.predictions.frame(goal, horizon_days, as_of))
        df = pd.DataFrame(X, columns=names, index=pd.Index(ids, name="profile_id"))
        df["label"] = y
        return df

    def write_predictions(self, scores: pd.Series, goal: str, model_name: str, *, probability: bool = True,
                          metrics: dict[str, Any] | None = None, description: str = "") -> dict[str, Any]:
        """Store your own model's scores (index = profile id) as a model version with percentiles and tiers,
        and queue them for Tracardi like ours."""
        preds = [{"profile_id": str(pid), ("probability" if probability else "value"): float(v)}
                 for pid, v in scores.items()]
        body = {"goal": goal, "model_name": model_name, "description": description, "metrics": metrics or {},
                "predictions": preds}
        if self._http is not None:
            return self._call("POST", "/v1/predictions/import", json=body)
        from app.predictions.schemas import ImportRequest

        c = self._local("write_predictions()")
        return self._run(c.predictions.import_predictions(ImportRequest(**body))).model_dump()
