"""Trait keys come from Tracardi, where any event can set them: quotes, spaces, brackets, dots, dashes,
non-Latin letters and emoji. None of them may take search, filters, discovery or training down (issue 32,
item 0: one profile's `loyalty'score` made every later search fail with "invalid JSON path")."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.demo.writer import write_export
from profiles.paths import flatten_addressable, index_key, last_key
from tests.tracardi_emulator.generate import START, make_profiles

ODD_KEYS = ["loyalty'score", "favourite colour", "a.b", "x[0]", "dash-key", "ñandú", "🎉 fans", 'quo"te',
            "back\\slash", "tab\there", "*", "$where", "{}"]


@pytest.mark.parametrize("key", ODD_KEYS)
def test_every_key_shape_is_quoted_or_left_out(key: str) -> None:
    import qdrant_edge as qe

    part = index_key(key)
    if part is None:
        assert any(c in key for c in '"\\\t')  # only what Qdrant's path grammar cannot name
        return
    path = f"traits.{part}"
    qe.FieldCondition(key=path, match=qe.MatchValue("x"))  # the engine's own parser accepts it
    assert last_key(path) == key


def test_flatten_addressable_names_what_it_leaves_out() -> None:
    leaves, skipped = flatten_addressable({"a.b": {"c": 1}, 'q"': 2, "plain": 3}, "traits")
    assert dict(leaves) == {'traits."a.b".c': 1, "traits.plain": 3}
    assert skipped == ['traits.q"']


def _hostile_export(root: Path) -> Path:
    profiles, events = make_profiles(240, seed=7, events_per_profile=6)
    rnd = random.Random(3)
    for p in profiles:
        p["traits"].update({k: rnd.choice(["gold", "silver"]) if k == "loyalty'score" else rnd.choice(["azure", "crimson"])
                            for k in ODD_KEYS})
        p["traits"]["nested"] = {"a.b": rnd.choice(["north", "south"]), 'q"': "x"}
    for e in events:  # activity spread over the year, so a model has people active on both sides of as-of
        when = (START + timedelta(days=rnd.uniform(0, 365))).isoformat()
        e["metadata"]["time"] = {"insert": when, "create": when}
    return write_export(root / "export", profiles, events)


async def test_odd_keys_never_take_search_segments_or_training_down(encoder: Any, tmp_path: Path,
                                                                      pg_url: str) -> None:
    from app.config import DatabaseSettings, Settings
    from app.container import Container
    from app.predictions.schemas import TrainRequest
    from app.search.schemas import SearchRequest
    from app.segments.schemas import DiscoverRequest

    settings = Settings(data_dir=tmp_path / "data", database=DatabaseSettings(url=pg_url))
    c = await Container.create(settings, encoder=encoder)
    try:
        result = await c.sync.run(c.source(str(_hostile_export(tmp_path))))
        assert result.embedded == 240
        plain = await c.search.search(SearchRequest(query="coffee", limit=5))
        assert len(plain.results) == 5
        # the quoted key is understood and filtered on: every hit holds the value the question names
        gold = await c.search.search(SearchRequest(query="gold customers", limit=10))
        assert gold.understood is not None and "traits.\"loyalty'score\"=gold" in gold.understood["filters"]
        assert gold.results and all(h.traits["loyalty'score"] == "gold" for h in gold.results)
        north = await c.search.search(SearchRequest(query="north", limit=10))
        assert north.results and all(h.traits["nested"]["a.b"] == "north" for h in north.results)
        assert (await c.search.search(SearchRequest(query="azure crimson customers", limit=5))).results
        # explicit filters still take plain keys; a hostile key is refused with a clear error, not a 500
        assert (await c.search.search(SearchRequest(query="x", limit=5, filters={"traits.plan": "pro"}))).results
        discovered = await c.segments.discover(DiscoverRequest(k_min=2, k_max=3, random_state=0))
        assert len(discovered.segments) >= 2
        model = await c.predictions.train(TrainRequest(goal="churn", horizon_days=30))
        assert model.model_id
    finally:
        await c.aclose()
