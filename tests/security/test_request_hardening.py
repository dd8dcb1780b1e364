"""What a caller without a key, or with one, can still send (issue 32, items 3, 5 and 7): made-up methods,
NaN and Infinity, JSON nested 900 deep, unknown keys in a loop. Each fails on the code before the fix."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.config import ServerSettings, Settings
from app.errors import InvalidRequestError
from app.main import create_app
from app.search.filters import parse_expression, parse_filters


def session(container: Any, steps: Any, **server: Any) -> Any:
    async def go() -> Any:
        app = create_app(Settings(data_dir=container.settings.data_dir, server=ServerSettings(**server)),
                         container=container)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://localhost") as http:
            return await steps(http)
    return container.run(go())


def test_made_up_methods_do_not_grow_metrics(movielens_container: Any) -> None:
    async def steps(http: httpx.AsyncClient) -> tuple[str, str]:
        before = (await http.get("/metrics")).text
        for i in range(50):
            await http.request(f"BREW{i}", "/health")
        await http.request("X" * 8000, "/health")
        return before, (await http.get("/metrics")).text

    before, after = session(movielens_container, steps, auth=False)
    assert "BREW" not in after and "XXXX" not in after
    assert 'method="other"' in after
    assert len(after) < len(before) + 5_000  # one more series, not fifty-one


@pytest.mark.parametrize("body", [
    '{"query": "x", "limit": NaN}', '{"query": "x", "filters": {"event_count": {"gte": Infinity}}}',
    '{{"query": "x", "filters": {}1{}}}'.format("[" * 900, "]" * 900),
    '{{"query": "x", "filters": {{"a": {}1{}}}}}'.format('{"b": ' * 200, "}" * 200),
])
def test_nan_infinity_and_deep_json_are_422_not_500(movielens_container: Any, body: str) -> None:
    async def steps(http: httpx.AsyncClient) -> httpx.Response:
        return await http.post("/v1/search", content=body, headers={"content-type": "application/json"})

    r = session(movielens_container, steps, auth=False)
    assert r.status_code == 422, r.text
    assert len(r.text) < 1000  # a short reason, never the input echoed


def test_the_422_answer_echoes_only_an_excerpt(movielens_container: Any) -> None:
    async def steps(http: httpx.AsyncClient) -> httpx.Response:
        return await http.post("/v1/search", json={"query": "x", "limit": "y" * 50_000})

    r = session(movielens_container, steps, auth=False)
    assert r.status_code == 422 and len(r.text) < 2000
    assert r.json()["errors"][0]["loc"] == ["body", "limit"]


@pytest.mark.parametrize("expr", ["event_count>=NaN", "event_count<inf", "spend_total>-Infinity"])
def test_non_finite_filter_bounds_are_refused(expr: str) -> None:
    """`event_count>=NaN` was accepted and silently ignored."""
    with pytest.raises(InvalidRequestError, match="finite"):
        parse_expression(expr)
    with pytest.raises(InvalidRequestError, match="finite"):
        parse_filters({"event_count": {"gte": float("nan")}})


def test_an_imported_infinity_is_refused_before_it_is_stored() -> None:
    from pydantic import ValidationError

    from app.predictions.schemas import ImportRequest

    with pytest.raises(ValidationError):
        ImportRequest(goal="ltv", model_name="m", predictions=[{"profile_id": "p", "value": float("inf")}])


def test_unknown_keys_are_rate_limited_per_peer(movielens_container: Any) -> None:
    async def steps(http: httpx.AsyncClient) -> list[int]:
        return [(await http.get("/v1/segments", headers={"Authorization": f"Bearer guess-{i}"})).status_code
                for i in range(6)]

    codes = session(movielens_container, steps, auth=True, key_failures_per_peer="4/minute")
    assert codes == [401, 401, 401, 401, 429, 429]
