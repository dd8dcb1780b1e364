"""The HTTP API over the synced MovieLens index (FastAPI app, real services)."""

from __future__ import annotations

import httpx

from app.config import ServerSettings, Settings
from app.main import create_app


def call(container, method: str, path: str, **kwargs):  # type: ignore[no-untyped-def]
    async def go() -> httpx.Response:
        app = create_app(Settings(data_dir=container.settings.data_dir, server=ServerSettings(auth=False)),
                         container=container)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://localhost") as http:
            return await http.request(method, path, **kwargs)
    return container.run(go())


def test_search_endpoint(movielens_container) -> None:
    r = call(movielens_container, "POST", "/v1/search", json={"query": "sci-fi fans", "limit": 3,
                                                                "filters": {"age": {"lte": 30}}})
    assert r.status_code == 200
    body = r.json()
    assert len(body["results"]) == 3 and body["results"][0]["score"] >= body["results"][-1]["score"]
    assert all(x["traits"]["age"] <= 30 and x["why"] for x in body["results"])


def test_profile_and_similar_endpoints(movielens_container) -> None:
    pid = call(movielens_container, "POST", "/v1/search", json={"query": "war movies"}).json()["results"][0]["profile_id"]
    card = call(movielens_container, "GET", f"/v1/profiles/{pid}")
    assert card.status_code == 200 and card.json()["profile_id"] == pid
    sim = call(movielens_container, "GET", f"/v1/profiles/{pid}/similar", params={"limit": 4})
    assert sim.status_code == 200 and len(sim.json()["results"]) == 4
    missing = call(movielens_container, "GET", "/v1/profiles/nope")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_bad_requests_are_4xx(movielens_container) -> None:
    for body in ({"query": ""}, {"query": "x", "limit": 0}, {"query": "x", "limit": 1000}, {"query": "x" * 2000},
                 {"query": "x", "filters": ["nonsense"]}, {"query": "x", "mode": "magic"}, {"limit": 3}):
        r = call(movielens_container, "POST", "/v1/search", json=body)
        assert r.status_code == 422, (body, r.text)
    # a request that breaks the schema is worded too, from pydantic's own parameters (app/error_words.py)
    over = call(movielens_container, "POST", "/v1/search", json={"query": "x", "limit": 1000}).json()
    assert over["detail"] == "body.limit: Input should be less than or equal to 100"
    assert over["details"] == {"en": over["detail"], "es": "body.limit: debe ser como máximo 100"}
    missing = call(movielens_container, "POST", "/v1/search", json={"limit": 3}).json()
    assert missing["details"]["es"] == "body.query: falta este campo"


def test_ops_endpoints(movielens_container) -> None:
    assert call(movielens_container, "GET", "/health").json() == {"status": "ok"}
    ready = call(movielens_container, "GET", "/ready")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    async def twice() -> httpx.Response:  # one app: the first request is in the second one's metrics
        app = create_app(Settings(data_dir=movielens_container.settings.data_dir, server=ServerSettings(auth=False)),
                         container=movielens_container)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://localhost") as http:
            await http.get("/v1/profiles/nope")
            return await http.get("/metrics", headers={"X-Request-ID": "req-42"})

    r = movielens_container.run(twice())
    assert "profile_ai_indexed_profiles 943.0" in r.text and r.headers["x-request-id"] == "req-42"
    # the route template, never the profile id
    assert 'route="/v1/profiles/{profile_id}",status="404"' in r.text and "nope" not in r.text
    for name in ("profile_ai_request_seconds_bucket", "profile_ai_sync_lag_seconds", "profile_ai_sync_running",
                 "profile_ai_uptime_seconds"):
        assert name in r.text
    assert len(call(movielens_container, "GET", "/health").headers["x-request-id"]) == 32
    assert "/v1/search" in call(movielens_container, "GET", "/openapi.json").json()["paths"]


def test_sync_through_the_server(movielens_container, movielens_export) -> None:
    async def go() -> None:
        app = create_app(Settings(data_dir=movielens_container.settings.data_dir, server=ServerSettings(auth=False)),
                         container=movielens_container)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://localhost") as http:
            # a request never chooses a host (Tracardi's credentials would go there) or a path on the disk
            for hostile in ("/no/such/dir", str(movielens_export), "https://attacker.example/", "/etc"):
                bad = await http.post("/v1/sync", json={"source": hostile})
                assert bad.status_code == 403 and bad.json()["error"] == "source_not_allowed", hostile
            movielens_container.settings.sync.source = str(movielens_export)
            r = await http.post("/v1/sync", json={"source": str(movielens_export) + "/"})
            assert r.status_code == 202 and r.json()["running"] is True
            again = await http.post("/v1/sync", json={"source": str(movielens_export)})
            assert again.status_code == 409
            await app.state.sync_runner.wait()
            status = (await http.get("/v1/sync")).json()
            assert status["running"] is False and status["last_error"] is None
            assert status["last_result"]["unchanged"] == 943 and status["last_result"]["embedded"] == 0
            movielens_container.settings.sync.source = None
    movielens_container.run(go())


def test_segments_endpoints_on_movielens(movielens_container) -> None:
    r = call(movielens_container, "POST", "/v1/segments/discover", json={"random_state": 0})
    assert r.status_code == 200, r.text
    body = r.json()
    assert 3 <= body["k"] <= 10 and sum(s["size"] for s in body["segments"]) == 943
    # on MovieLens the segments are about tastes and demographics: genres and traits among their features
    labels = {f["label"] for s in body["segments"] for f in s["features"]}
    genres = {"Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
              "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War",
              "Western"}
    assert labels & genres and labels & {"male", "female", "student", "educator", "programmer", "engineer"}
    listed = call(movielens_container, "GET", "/v1/segments").json()["segments"]
    sid = listed[0]["segment_id"]
    assert {s["segment_id"] for s in listed} == {s["segment_id"] for s in body["segments"]}
    shown = call(movielens_container, "GET", f"/v1/segments/{sid}").json()
    assert shown["rules"]["sql"]["sql"] and shown["features"]
    page = call(movielens_container, "GET", f"/v1/segments/{sid}/members", params={"limit": 5}).json()
    assert len(page["members"]) == 5 and page["total"] == shown["size"]
    missing = call(movielens_container, "GET", "/v1/segments/nope")
    assert missing.status_code == 404
    # the sentence in each wording, for the page to show its reader's (app/error_words.py, issue 34)
    assert missing.json() == {"error": "not_found", "detail": "segment 'nope' not found",
                              "details": {"en": "segment 'nope' not found", "es": "no existe el segmento 'nope'"}}
    # and the refusals a marketer meets writing a question or a filter on the page
    bad = call(movielens_container, "POST", "/v1/search", json={"query": "x", "filters": ["traits.age>soon"]})
    assert bad.status_code == 422 and bad.json()["details"]["es"] == \
        "filtro traits.age: 'soon' no es ni un número ni una fecha ISO"
    bad = call(movielens_container, "POST", "/v1/search", json={"query": "x", "filters": ["age"]})
    assert bad.json()["details"]["es"].startswith("filtro no válido 'age': se espera CLAVE=VALOR")
    assert call(movielens_container, "POST", "/v1/segments/discover", json={"n_clusters": 1}).status_code == 422
