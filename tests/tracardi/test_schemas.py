"""The normaliser reads every Tracardi shape from 0.7 to 1.x and reports malformed records precisely."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.tracardi.schemas import RecordError, detect_shape, parse_event, parse_profile, parse_time
from tests.conftest import VERSIONS
from tests.tracardi_emulator.generate import make_profiles
from tests.tracardi_emulator.shapes import render_event, render_profile


@pytest.mark.parametrize("version", VERSIONS)
def test_every_version_shape_normalises_to_the_same_facts(version: str) -> None:
    docs, events = make_profiles(5, seed=1, events_per_profile=3)
    for doc in docs:
        p = parse_profile(render_profile(doc, version))
        assert p.id == doc["id"]
        assert p.traits == doc["traits"]  # 0.7/0.8.0 private/public merged back
        assert p.inserted_at is not None and p.inserted_at.tzinfo is not None
        assert (p.updated_at is not None) == (version not in ("0.7", "0.8.0"))
        assert p.data["pii"]["firstname"] == doc["data"]["pii"]["firstname"]
        assert p.data["contact"]["email"]["main"] == doc["data"]["contact"]["email"]["main"]
        assert p.absorbed_ids == []  # hashed merge keys (emm-...) are not profile ids
    for ev in events:
        e = parse_event(render_event(ev, version))
        assert e.profile_id == ev["profile"]["id"] and e.time.tzinfo is not None


def test_shapes_are_detected() -> None:
    doc = make_profiles(1)[0][0]
    assert [detect_shape(render_profile(doc, v)) for v in VERSIONS] == ["0.7", "0.8.0", "0.8.1+", "0.8.1+", "0.9", "1.x"]


def test_timestamps_with_and_without_offsets() -> None:
    utc = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_time("2024-05-01T12:00:00") == utc  # naive = UTC (before 0.8.2)
    assert parse_time("2024-05-01T14:00:00+02:00") == utc
    assert parse_time("2024-05-01T12:00:00Z") == utc
    assert parse_time("2024-05-01T12:00:00.000000") == utc
    assert parse_time(utc.timestamp()) == utc
    assert parse_time(utc.timestamp() * 1000) == utc
    assert parse_time(None) is None


def test_unknown_fields_are_kept() -> None:
    p = parse_profile({"id": "x", "traits": {}, "loyalty_tier": "gold", "custom": {"a": 1}})
    assert p.extra == {"loyalty_tier": "gold", "custom": {"a": 1}}
    e = parse_event({"id": "e", "type": "Page View", "metadata": {"time": {"insert": "2024-01-01T00:00:00"}},
                     "weird": 1})
    assert e.type == "page-view" and e.extra == {"weird": 1}


def test_07_merged_with_is_read() -> None:
    p = parse_profile({"id": "old", "active": False, "metadata": {"time": {"insert": "2021-01-01T00:00:00"},
                                                                 "merged_with": "new"},
                       "traits": {"private": {}, "public": {}}, "pii": {"name": "A"}})
    assert p.shape == "0.7" and p.merged_with == "new" and not p.active


@pytest.mark.parametrize(("raw", "field"), [
    ({"traits": {}}, "id"),
    ({"id": ""}, "id"),
    ({"id": "x", "traits": []}, "traits"),
    ({"id": "x", "ids": "abc"}, "ids"),
    ({"id": "x", "active": "yes"}, "active"),
    ({"id": "x", "metadata": {"time": {"insert": "yesterday"}}}, "metadata.time.insert"),
    ({"id": "x", "stats": {"visits": "many"}}, "stats.visits"),
    ("not an object", "<record>"),
])
def test_malformed_profile_errors_name_record_and_field(raw: object, field: str) -> None:
    with pytest.raises(RecordError) as info:
        parse_profile(raw, location="profiles.ndjson:7")
    assert info.value.field == field
    assert "profiles.ndjson:7" in str(info.value)


@pytest.mark.parametrize(("raw", "field"), [
    ({"id": "e", "metadata": {"time": {"insert": "2024-01-01T00:00:00"}}}, "type"),
    ({"id": "e", "type": "x", "metadata": {"time": {}}}, "metadata.time.insert"),
    ({"id": "e", "type": "x", "metadata": {"time": {"insert": "2024-01-01"}}, "properties": [1]}, "properties"),
])
def test_malformed_event_errors_name_the_field(raw: dict, field: str) -> None:
    with pytest.raises(RecordError) as info:
        parse_event(raw, location="events.ndjson:3")
    assert info.value.field == field


@pytest.mark.parametrize("version", VERSIONS)
def test_a_read_event_is_the_event_pydantic_would_build(version: str) -> None:
    """parse_event builds events without pydantic's per-field loop (`Event.checked`): each must equal the event
    pydantic validates from the same facts, with every field set, unknown keys kept in `extra` and types
    normalised."""
    from profiles.model import Event

    _, events = make_profiles(20, seed=3, events_per_profile=4)
    for e in events:
        raw = {**render_event(e, version), "device": {"name": "phone"}} if e["id"].endswith(("0", "5")) \
            else render_event(e, version)
        ev = parse_event(raw)
        assert ev == Event.model_validate(ev.model_dump()) and ev.model_fields_set == set(Event.model_fields)
        assert ev.type == "-".join(str(raw["type"]).strip().lower().split())
    odd = parse_event({"id": "e1", "type": " Page View ", "metadata": {"time": {"insert": "2024-01-01T00:00:00Z"}},
                       "brand_new": 1})
    assert odd.type == "page-view" and odd.extra == {"brand_new": 1}
