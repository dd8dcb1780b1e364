"""A word spelled another way than the data spells a value ("jewelry" / `jewellery`) or mistyped is that value;
a word one letter away by any other letter is another word ("boots" is not "books")."""

from __future__ import annotations

import pytest

from app.search.spelling import spelled_like, spelling_distance

SHOP = ["bags", "electronics", "jewellery", "sports", "kitchen", "toys", "stationery", "pets", "books", "jackets",
        "music", "shoes", "watches", "garden", "beauty", "colour", "theatre", "games", "zapatos", "juguetes"]


@pytest.mark.parametrize(("word", "value"), [
    ("jewelry", "jewellery"), ("jewelery", "jewellery"), ("jewlery", "jewellery"),  # British / American, mistyped
    ("color", "colour"), ("theater", "theatre"), ("stationary", "stationery"),
    ("electronis", "electronics"), ("jackts", "jackets"), ("kitchn", "kitchen"), ("beuty", "beauty"),
    ("zapatso", "zapatos"), ("jugetes", "juguetes"),
])
def test_a_spelling_of_a_value_is_the_value(word: str, value: str) -> None:
    assert spelled_like(word, SHOP) == value


@pytest.mark.parametrize("word", [
    "watched",  # "d" for "s": another word, though two edits (drop one, add one) would reach "watches"
    "boots", "kitten", "viewed", "garten",  # one consonant for another
    "bugs", "toy",  # under five letters: too near to everything
    "books", "music",  # the value itself: nothing to correct
    "jewels", "shopping", "123456",
])
def test_another_word_is_not_corrected(word: str) -> None:
    assert spelled_like(word, SHOP) is None


def test_two_values_as_near_are_neither() -> None:
    assert spelled_like("baker", ["bakery", "bakers"]) is None  # one letter to add either way
    assert spelled_like("baker", ["bakers", "bakes"]) == "bakers"  # "s" for "r": another word


def test_distance_counts_only_spellings() -> None:
    assert spelling_distance("theater", "theatre") == 1  # neighbours swapped
    assert spelling_distance("jewelry", "jewellery") == 2
    assert spelling_distance("watched", "watches") == 3  # past the limit: a letter for another
    assert spelling_distance("a" * 40, "b" * 40) == 3
    assert spelling_distance("short", "a much longer word") == 3  # lengths too far apart: no table at all
