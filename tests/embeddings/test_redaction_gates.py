"""Each personal-value shape has a fast gate (a necessary condition that starts with a character class), and
most a faster one (a substring of the text's translated ASCII view, `AsciiViews`). A gate may only save time:
with and without it, every shape finds the same spans, on generated text rich in the characters the shapes are
made of and on the documents of a real export."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.tracardi.export import ExportDirectory
from embeddings.documents import DocumentBuilder
from embeddings.redaction import SHAPES, AsciiViews

UNGATED = tuple(dataclasses.replace(s, gate=None) for s in SHAPES)
PIECES = [*"0123456789", *"áéñÜ", "\u0663\u0664", "\u212a", "\u017f", "\u00a0", *"abcdefABCDEF", *"xyzXYZ", *"@.:-_ /()[]{}<>+\n", " at ", " arroba ", " dot ",
          " punto ", "(at)", "[dot]", "es", "ES91", "2100", "0418", "4502", "fe80", "::", "192.168.", "-", "12345",
          "612 345 678", "+34", "X1234567L", "12345678Z", "AB123456C", "123-45-6789", "jane", "example", "com",
          "Calle", "calle", "C/", "Av.", "Pº", "p°", "Rúa", " de ", "Mayor", "º", "#", " No. ", "Street", "St", " ",
          "Baker", "221B", "\u2019", "\t", "_", "NW", "28013"]


def _same(text: str) -> None:
    views = AsciiViews.of(text)
    for gated, plain in zip(SHAPES, UNGATED, strict=True):
        found = plain.spans(text)
        assert gated.spans(text) == found, (gated.name, gated.pattern.pattern, text)
        assert gated.spans(text, views) == found, (gated.name, gated.ascii_need, text)  # the ASCII views too


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
@pytest.mark.volume
def test_gates_never_change_what_a_shape_finds(text: str) -> None:
    _same(text)


def test_gates_agree_on_real_documents(movielens_export: Path) -> None:
    builder = DocumentBuilder()
    for item, _ in zip(ExportDirectory(movielens_export).iter_profiles_with_events(), range(60), strict=False):
        _same(builder.build(item).text)
    for sample in ("write to jane.doe@example.com or jane (at) example [dot] com, jane at example dot com",
                   "IBAN ES91 2100 0418 4502 0005 1332, card 4111 1111 1111 1111, call +34 612 345 678",
                   "mac 00:1a:2b:3c:4d:5e ip 192.168.1.20 fe80::1 uuid 123e4567-e89b-12d3-a456-426614174000",
                   "DNI 12345678Z NIE X1234567L CIF B12345674 NI AB123456C SSN 123-45-6789 crm-123456 a1b2c3d4e5f6",
                   "envíalo a C/ Gran Vía 12, 3º B, 28013 Madrid o a 221B Baker Street, London"):
        _same(sample)
        assert any(s.spans(sample) for s in SHAPES)


def test_views_refuse_texts_whose_foreign_characters_a_gate_could_match() -> None:
    import re

    folds = {chr(c) for c in range(128, 0x110000)
             if re.match(r"[a-z0-9]", chr(c), re.IGNORECASE) and not chr(c).isdecimal()}
    assert folds == {"\u0130", "\u0131", "\u017f", "\u212a"}  # what embeddings/redaction.py leaves to the gates
    for c in [*folds, "\u0663", "\uff11"]:  # and Unicode digits
        assert AsciiViews.of(f"número {c}") is None
    assert AsciiViews.of("compró en la categoría Niños") is not None


def test_a_spanish_document_with_contact_details_is_masked_through_the_views() -> None:
    from embeddings.redaction import Redactor

    text = "Últimamente pidió información: llamar al 612 345 678, DNI 12345678Z, correo ana@ejemplo.es"
    assert AsciiViews.of(text) is not None
    assert Redactor().scrub_text(text) == "Últimamente pidió información: llamar al [phone], DNI [id], correo [e-mail]"
