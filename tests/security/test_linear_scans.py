"""Anyone can send an event, so everything that scans profile and event text runs in linear time on any input
(issue 32, item 1). On the code before the fix, `find_shapes` on a 10,000-character run of letters and digits
took 1.5-2.3 s (quadratic backtracking in the e-mail shapes) and 100,000 characters took minutes, with the GIL
held. The bounds below are generous (measured: about 0.1 s per 100,000 characters for every detector
together); what they catch is a quadratic pattern, which misses them by orders of magnitude."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from app.demo.writer import write_export
from embeddings.redaction import MAX_VALUE_CHARS, SHAPES, Redactor, find_shapes, key_words
from tests.tracardi_emulator.generate import make_profiles

N = 100_000
# runs that each shape's prefix accepts, ended by a character that makes the match fail at the last moment
UNITS = ["a1", "1", "1 ", "at ", "a@", "a.", "ab12", "a:", "1(", "a (at) ", "1-", "a at ", "1.", "AB12 ",
         "a@b . c", "a1@. -(:", "a_1", "+1 (", "a [at] b [dot] ", "a at b dot ", "00:1A:", "ES12 ",
         "calle A", "calle de Ab ", "1 Ab ", "1 A B C D ", "Calle 1 # ", "calle 5, 2º ", "1 Ab Street, "]
TAILS = ["", "x", "@", "/"]


def adversarial() -> list[str]:
    return [(unit * N)[:N] + tail for unit in UNITS for tail in TAILS]


def test_every_detector_is_linear_on_adversarial_input() -> None:
    texts = adversarial()
    t0 = time.perf_counter()
    for text in texts:
        for shape in SHAPES:
            shape.spans(text)
    every_shape = time.perf_counter() - t0
    assert every_shape < 60, f"{len(texts)} strings x {len(SHAPES)} shapes took {every_shape:.1f} s"


def test_values_are_cut_before_they_are_scanned_or_stored() -> None:
    redactor = Redactor()
    t0 = time.perf_counter()
    for text in adversarial():
        find_shapes(text)
        assert len(redactor.scrub_text(text)) <= 20_000 + 1000  # masks may lengthen what is kept
        cleaned = redactor.clean({"note": text})
        assert cleaned is None or len(cleaned["note"]) <= MAX_VALUE_CHARS
        key_words(text)
    assert time.perf_counter() - t0 < 60


def test_values_under_the_cap_are_still_redacted() -> None:
    text = "call me " + "x" * 1500 + " at jane.doe@example.com please"
    cleaned = Redactor().clean({"note": text})
    assert cleaned is not None and "jane.doe" not in cleaned["note"] and "[e-mail]" in cleaned["note"]
    long_run = "ab12" * 5000 + " jane.doe@example.com"  # a contact detail past the cap is cut, never kept
    out = Redactor().clean({"note": long_run})
    assert out is None or "jane" not in out["note"]


@pytest.mark.parametrize("unit", ["a1", "1 ", "a at "])
async def test_a_whole_sync_of_hostile_events_finishes(unit: str, encoder: Any, tmp_path: Path, pg_url: str) -> None:
    """One profile whose trait and event properties hold 100,000-character values: the sync ends, nothing
    stored is longer than the cap, and the contact detail planted inside never reaches the document."""
    from app.config import DatabaseSettings, Settings
    from app.container import Container

    profiles, events = make_profiles(3, seed=1, events_per_profile=2)
    hostile = (unit * N)[:N]
    profiles[0]["traits"]["bio"] = hostile + " jane.doe@example.com"
    for e in events:
        e["properties"]["comment"] = "write to jane.doe@example.com " + hostile
    export = write_export(tmp_path / "export", profiles, events)
    c = await Container.create(Settings(data_dir=tmp_path / "data", database=DatabaseSettings(url=pg_url)),
                               encoder=encoder)
    try:
        t0 = time.perf_counter()
        result = await c.sync.run(c.source(str(export)))
        assert result.embedded == 3 and time.perf_counter() - t0 < 120
        card = await c.search.profile(profiles[0]["id"])
        assert "jane.doe" not in card.document and len(card.document) < 30_000
        assert len(str(card.traits.get("bio", ""))) <= MAX_VALUE_CHARS
    finally:
        await c.aclose()


def test_question_patterns_are_linear_on_runs_of_spaces_and_marks() -> None:
    """Questions are cut at 1,000 characters before they are read, but the patterns that read them must not rely
    on it: a pattern that starts with spaces and is searched (a window said last, a horizon after a goal, "ever")
    had tried every place of a run of spaces to its end, minutes on 100,000 of them."""
    from app.search.measures import _VERSUS_AVERAGE, _last_window
    from app.search.service import without_asking, without_ranking
    from app.search.understanding import _BOUGHT_FOR, _LONG_WORD, _RATED, _STATE_NOW, _norm_question, _plainly

    texts = [" " * N + "x", " " * N, "this year " * (N // 10) + "?" * N, "in the next " * (N // 12),
             "more than more " * (N // 15) + "x", "how many " * (N // 9) + "x", "1,2" * (N // 3) + ".",
             "who also " * (N // 9), "mas que " * (N // 8) + "average", "rated a b c d " * (N // 14) + "5 stars",
             "gave a rating of below " * (N // 23), "bought a b c for more than " * (N // 27) + "x",
             "100 in total " * (N // 13), "a" * N]
    t0 = time.perf_counter()
    for text in texts:
        _last_window(text, 0)
        without_ranking(text)
        _plainly(text)
        _VERSUS_AVERAGE.search(text)
        _STATE_NOW.search(text)
        _norm_question(text)
        _RATED.search(text)
        _BOUGHT_FOR.search(text)
        list(_LONG_WORD.finditer(text))
        without_asking(text)
    took = time.perf_counter() - t0
    assert took < 30, f"{len(texts)} questions took {took:.1f} s"
