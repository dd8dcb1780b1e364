"""Property-based tests (hypothesis): the profile normaliser over every Tracardi version's shape, and the
document renderer, on arbitrary input. Neither may crash with anything but a clear RecordError, and no
contact detail or identifier may reach the document text or the index payload."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.tracardi.schemas import RecordError, parse_event, parse_profile
from embeddings.documents import DocumentBuilder
from embeddings.payload import profile_payload
from embeddings.redaction import Redactor
from profiles.model import ProfileWithEvents
from tests.tracardi_emulator.shapes import VERSIONS, render_event, render_profile

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=12)
times = st.datetimes(timezones=st.just(__import__("datetime").UTC)).map(lambda d: d.isoformat())

EMAILS = st.from_regex(r"[a-z]{3,8}\.[a-z]{2,6}@[a-z]{3,8}\.(com|io|org)", fullmatch=True)
PHONES = st.from_regex(r"\+48 [1-9]\d{2} \d{3} \d{3}", fullmatch=True)
STREETS = st.from_regex(r"[1-9]\d{0,2} [A-Z][a-z]{4,9} (Street|Avenue|Road)", fullmatch=True)


@st.composite
def canonical_profiles(draw: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """A 1.x-shaped profile with random traits and contact details planted where people put them."""
    pid = draw(st.uuids()).hex
    email, phone, street = draw(EMAILS), draw(PHONES), draw(STREETS)
    t = draw(times)
    traits = draw(st.dictionaries(st.from_regex(r"[a-z]{3,10}", fullmatch=True), json_scalars, max_size=5))
    traits.update({"email": email, "contact_phone": phone, "home_address": street})
    profile = {
        "id": pid, "ids": [pid, f"crm-{draw(st.integers(0, 10**9))}"], "active": True,
        "metadata": {"time": {"insert": t, "create": t, "update": t}},
        "traits": traits, "segments": draw(st.lists(st.text(min_size=1, max_size=10), max_size=3)),
        "data": {"pii": {"firstname": "Ann", "lastname": "Example", "gender": "female"},
                 "contact": {"email": {"main": email}, "phone": {"main": phone},
                             "address": {"street": street, "town": "Springfield"}},
                 "job": {"position": draw(st.sampled_from(["engineer", "nurse", "teacher"]))}},
        "stats": {}, "interests": {}, "consents": {}, "aux": {}, "trash": {},
    }
    return profile, {"email": email, "phone": phone, "street": street}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=json_values, version=st.sampled_from(sorted(VERSIONS)))
def test_normaliser_takes_anything_and_fails_only_with_a_record_error(raw: Any, version: str) -> None:
    for candidate in (raw, {"id": "p1", **raw} if isinstance(raw, dict) else raw):
        try:
            parse_profile(candidate, location=f"test:{version}")
        except RecordError as exc:
            assert "test:" in str(exc)  # names the record
        try:
            parse_event(candidate, location="event:test")
        except RecordError as exc:
            assert "event:test" in str(exc)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=canonical_profiles(), version=st.sampled_from(sorted(VERSIONS)),
       props=st.lists(st.dictionaries(st.text(max_size=10), json_scalars, max_size=4), max_size=6),
       types=st.lists(st.sampled_from(["purchase-order", "page-view", "content-rated", "complaint", "x\ty"]),
                      min_size=6, max_size=6))
def test_every_version_renders_without_contact_details(data: Any, version: str, props: list[dict[str, Any]],
                                                        types: list[str]) -> None:
    profile, secrets = data
    shaped = render_profile(profile, version)
    parsed = parse_profile(shaped, location="p")
    assert parsed.id == profile["id"]
    events = []
    for i, p in enumerate(props):
        p = {**p, "note": f"call me on {secrets['phone']} or {secrets['email']}"}
        raw_event = {"id": f"e{i}", "type": types[i], "metadata": {"time": {"insert": profile["metadata"]["time"]
                     ["insert"], "create": profile["metadata"]["time"]["insert"]}}, "profile": {"id": profile["id"]},
                     "properties": p, "traits": {}, "context": {}, "source": {"id": "web"}, "session": {"id": "s"}}
        events.append(parse_event(render_event(raw_event, version), location="e"))
    redactor = Redactor()
    doc = DocumentBuilder(redactor=redactor).build(ProfileWithEvents(profile=parsed, events=events))
    payload = json.dumps(profile_payload(parsed, doc, source="test"), default=str)
    for text in (doc.text, payload):
        for value in secrets.values():
            assert value not in text, (value, text[:500])
        assert not re.search(r"[\w.]+@[\w.]+\.\w+", text)
    assert "crm-" not in doc.text and profile["id"] not in doc.text  # identifiers stay out of the text
