"""Profile documents: whole-history summaries, readable unknown events, no contact details, deterministic."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.tracardi.schemas import parse_event, parse_profile
from embeddings.documents import DocumentBuilder
from embeddings.payload import profile_payload
from embeddings.redaction import Redactor
from profiles.dictionary import EventDictionary
from profiles.model import ProfileWithEvents

T0 = datetime(2024, 1, 1, tzinfo=UTC)
EMAIL = "jane.doe@example.com"
PHONE = "+48 600 100 200"


def event(i: int, etype: str, props: dict, days: float = 0) -> dict:
    return {"id": f"e{i}", "type": etype, "profile": {"id": "p1"}, "properties": props,
            "metadata": {"time": {"insert": (T0 + timedelta(days=days)).isoformat()}}}


def person(events: list[dict], **extra: object) -> ProfileWithEvents:
    raw = {"id": "p1", "ids": ["p1", "emm-abc"], "traits": {"plan": {"contract": "Month-to-month"},
           "email": EMAIL, "favourite_colour": "green", "backup": f"write to {EMAIL}"},
           "data": {"pii": {"firstname": "Jane", "lastname": "Doe", "gender": "female", "birthday": "1990-02-03"},
                    "contact": {"email": {"main": EMAIL}, "phone": {"mobile": PHONE},
                                "address": {"street": "12 Long Road", "town": "Leeds", "postcode": "LS1 4AP"}},
                    "identifier": {"passport": "ZX1234567", "id": "CRM-991"},
                    "job": {"position": "nurse"}}, **extra}
    return ProfileWithEvents(profile=parse_profile(raw), events=[parse_event(e) for e in events])


def test_document_summarises_the_whole_history() -> None:
    evs = [event(i, "purchase-order", {"value": 10 + i, "currency": "EUR", "category": "shoes" if i % 3 else "bags",
                                       "product": f"sku-{i % 4}"}, days=i) for i in range(40)]
    evs += [event(100 + i, "page-view", {"page": {"title": f"Page {i}", "category": "blog"}}, days=50 + i)
            for i in range(10)]
    doc = DocumentBuilder().build(person(evs))
    text = doc.text
    assert "Most frequent category: shoes 52%, bags 28%, blog 20%" in text  # over all 50 events, not the last few
    assert "50 events from January 2024 to February 2024" in text
    assert "40 purchases totalling 1,180.00 EUR" in text
    assert "nurse" in text and "female" in text and "plan contract Month-to-month" in text
    assert "Recently:" in text and 'viewed page "Page 9"' in text
    assert len(text.split()) <= 190


@pytest.mark.parametrize(("written", "amount"), [("49,90", 49.9), ("49,90 €", 49.9), ("1.234,50", 1234.5),
                                               ("1,234.50", 1234.5), ("1,234", 1234.0), ("€12.5", 12.5),
                                               ("1.234.567", 1234567.0), ("n/a", None), ("1e5", None),
                                               ("nan", None), ("", None)])
def test_amounts_are_read_as_people_write_them(written: str, amount: float | None) -> None:
    """A Spanish form sends "49,90": forty-nine ninety, not 4,990 (the comma had been dropped as if it grouped
    thousands, so one purchase weighed a hundred); text that is no number (nor "nan") spends nothing."""
    from profiles.paths import as_number

    assert as_number(written) == (pytest.approx(amount) if amount is not None else None)
    who = person([event(1, "purchase-order", {"value": written})])
    assert DocumentBuilder().build(who).summary.spend_total == pytest.approx(amount or 0.0)


def test_no_contact_details_or_identifiers_in_text_or_payload() -> None:
    evs = [event(1, "ticket-opened", {"subject": f"call me on {PHONE}", "email": EMAIL, "category": "billing"}),
           event(2, "newsletter-signup", {"address": "12 Long Road", "list": "weekly"})]
    item = person(evs)
    builder = DocumentBuilder()
    doc = builder.build(item)
    payload = profile_payload(item.profile, doc, source="test")
    blob = doc.text + repr(payload)
    for secret in (EMAIL, "jane.doe", "600 100 200", "Long Road", "Leeds", "LS1 4AP", "ZX1234567", "CRM-991",
                   "Jane", "Doe", "1990", "emm-abc"):
        assert secret not in blob, secret
    assert "favourite colour green" in doc.text  # harmless traits stay


def test_allow_list_lets_configured_fields_in() -> None:
    builder = DocumentBuilder(redactor=Redactor(allow=["data.contact.address.town"]))
    assert "Leeds" in builder.build(person([])).text


def test_unknown_event_types_read_readably() -> None:
    evs = [event(1, "warranty-claim-filed", {"product_line": "kettles", "reason": "leaks", "nested": {"x": 2}})]
    doc = DocumentBuilder().build(person(evs))
    assert "warranty claim filed (nested x: 2; product line: kettles; reason: leaks)" in doc.text
    assert "1 warranty claim filed events" in doc.text


def test_extended_dictionary() -> None:
    d = EventDictionary.load({"event_types": {"warranty-claim-filed": {"label": "warranty claims",
                                                                      "text": "claimed warranty on {product_line}"}}})
    doc = DocumentBuilder(dictionary=d).build(person([event(1, "warranty-claim-filed", {"product_line": "kettles"})]))
    assert "claimed warranty on kettles" in doc.text and "1 warranty claims" in doc.text


def test_deterministic_text_and_hash() -> None:
    rnd = random.Random(5)
    evs = [event(i, rnd.choice(["page-view", "purchase-order", "content-rated"]),
                 {"value": rnd.randint(1, 99), "genres": ["Drama"], "rating": rnd.randint(1, 5), "title": f"m{i}"},
                 days=rnd.uniform(0, 100)) for i in range(60)]
    a = DocumentBuilder().build(person(evs))
    b = DocumentBuilder().build(person(list(reversed(evs))))
    assert a.text == b.text and a.content_hash == b.content_hash
    c = DocumentBuilder().build(person(evs[:-1]))
    assert c.content_hash != a.content_hash


@pytest.mark.parametrize("value", ["555-123-4567", "+1 (415) 555 0199", "4111 1111 1111 1111",
                                   "0f8fad5b-d9cb-469f-a165-70867728950e", "x@y.io"])
def test_free_text_scrubbing(value: str) -> None:
    out = Redactor().scrub_text(f"note: {value} end")
    assert value not in out and "end" in out


def test_scrubbing_keeps_scores_years_and_money() -> None:
    text = 'rated "Heat" (1995) 5/5 (March 1998); totalling 12,345.50 USD'
    assert Redactor().scrub_text(text) == text


def test_empty_profile_has_a_document() -> None:
    item = ProfileWithEvents(profile=parse_profile({"id": "z"}), events=[])
    doc = DocumentBuilder().build(item)
    assert doc.text and re.search(r"no events", doc.text)


def test_flags_are_facts_and_no_key_order_cuts_traits() -> None:
    from app.tracardi.schemas import parse_profile
    from profiles.model import ProfileWithEvents

    t = "2024-03-05T10:00:00+00:00"
    traits: dict[str, Any] = {f"a{i:02d}_note": f"value {i}" for i in range(15)}  # 15 keys that sort before the ones that matter
    traits.update({"SeniorCitizen": True, "Partner": False, "StreamingTV": "Yes", "PhoneService": "Yes",
                   "PaperlessBilling": "No", "Contract": "Two year", "tenure": 34})
    p = parse_profile({"id": "p1", "metadata": {"time": {"insert": t, "create": t, "update": t}}, "traits": traits})
    text = DocumentBuilder().build(ProfileWithEvents(profile=p)).text
    assert "senior citizen;" in text and "streaming TV;" in text and "phone service;" in text
    assert "partner" not in text and "paperless" not in text  # a false flag is absent, not "... no"
    assert "contract Two year" in text and "tenure 34" in text  # not cut by the 15 keys sorting first


def test_specs_of_unknown_event_types_are_bounded() -> None:
    """Anyone can send an event of a new type: the specs made for types the dictionary does not name are kept
    up to a bound, then emptied, and a type still reads with the default facets after that."""
    from profiles.dictionary import UNKNOWN_TYPES_KEPT

    d = EventDictionary.load()
    for i in range(UNKNOWN_TYPES_KEPT + 10):
        d.spec(f"flood-{i}")
    assert len(d._cache) <= UNKNOWN_TYPES_KEPT
    spec = d.spec("flood-1")
    assert spec.facets == d.default_facets
    given = tuple((tuple(f.split(".")), f.rsplit(".", 1)[-1]) for f in d.default_facets)
    assert spec.facet_paths[:len(given)] == given


def test_a_facet_is_read_in_either_number_and_counted_under_the_name_given() -> None:
    """The dictionary says `genres` for ratings; events that say `genre` (a deployment's own shape) are counted
    under it too, so "horror" is something events are about, not a word no one reads."""
    from profiles.aggregates import summarise

    d = EventDictionary.load()
    t = "2024-05-01T10:00:00+00:00"
    events = [parse_event({"id": f"e{i}", "type": "content-rated", "metadata": {"time": {"insert": t}},
                           "properties": {key: value, "rating": 4}})
              for i, (key, value) in enumerate([("genre", "horror"), ("genres", ["horror", "drama"]),
                                                ("genre", "comedy"), ("categories", ["films"])])]
    s = summarise(events, d)
    assert s.facets["genres"] == {"horror": 2, "drama": 1, "comedy": 1}
    assert s.facets["category"] == {"films": 1} and "genre" not in s.facets
    # the documents' layout key says so: the profiles it changes re-render, the rest keep their vectors
    assert ("genre",) in {parts for parts, _ in d.spec("content-rated").facet_paths}
