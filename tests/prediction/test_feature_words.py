"""Drivers and card notes in the deployment's wording: every feature the library makes and every note code has
words in English and Spanish, so nothing falls back to a raw key or to English silently."""

from __future__ import annotations

import string
from typing import Any

import pytest

from prediction.card_words import NOTES, localise_card, note, render_note
from prediction.feature_words import WORDINGS, feature_label, label_drivers
from prediction.features import FeatureSpec

SPEC = FeatureSpec(types=["purchase-order", "page-view"], purchase_types=["purchase-order"], activity_types=None,
                   condition="purchase-order[category=shoes]")
NAMES = [*SPEC.names(), "bgnbd_expected_purchases", "bgnbd_expected_spend"]


def test_every_feature_has_words_in_every_wording() -> None:
    for name in NAMES:
        english, spanish = feature_label(name, "en"), feature_label(name, "es")
        assert english != name and spanish != name and english != spanish, name
    assert feature_label("purchase_recency_days", "es") == "días desde la última compra"
    assert feature_label("recency_days[page-view]", "es") == "días desde el último «page-view»"
    assert feature_label("count_90d[purchase-order]", "en") == "“purchase-order” events in the last 90 days"
    assert feature_label("traits.edad", "es") == "rasgo traits.edad"
    assert feature_label("something_new", "es") == "something_new"  # unknown: left as it is, not guessed
    labels = {feature_label(n, "es") for n in NAMES}
    assert len(labels) == len(NAMES)  # no two features read the same


def test_drivers_keep_their_key_and_gain_a_label() -> None:
    drivers = label_drivers([{"feature": "spend_30d", "value": 12.5, "effect": 0.1}], "es")
    assert drivers == [{"feature": "spend_30d", "value": 12.5, "effect": 0.1, "label": "gasto en los últimos 30 días"}]


@pytest.mark.parametrize("code", sorted(NOTES))
def test_every_note_code_has_a_template_in_every_wording_with_the_same_parameters(code: str) -> None:
    fields = {w: {f[1] for f in string.Formatter().parse(NOTES[code][w]) if f[1]} for w in NOTES[code]}
    assert set(NOTES[code]) == set(WORDINGS)
    assert fields["en"] == fields["es"], code


def test_notes_are_written_from_codes_in_the_cards_wording() -> None:
    card: dict[str, Any] = {"note_codes": [note("spend_blend", boosting=0.75, forecast=0.25),
                           note("sparse_features", count=3, minimum=30)], "quality": "good: ranks customers well"}
    assert localise_card(card, "en")["notes"][0].startswith("spend = 0.75 x boosting + 0.25 x the BG/NBD")
    spanish = localise_card(card, "es")
    assert spanish["notes"] == [render_note(n, "es") for n in card["note_codes"]]
    assert spanish["notes"][1].startswith("3 rasgos están presentes en menos de 30 perfiles")
    with pytest.raises(KeyError, match="no template"):
        note("a_note_nobody_wrote")
