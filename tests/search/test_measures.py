"""What a "how much" question measures (app/search/measures.py), over a shop's vocabulary in English (MiniLM)
and Spanish (multilingual-e5): the statistic, the stored number, and the group left to be read."""

from __future__ import annotations

from typing import Any

import pytest

from app.search.measures import read_measure, versus_average
from app.search.understanding import Vocabulary, attach_meaning, build_vocabulary, understand

SHOP = [{"traits": {"age": 18 + i % 60, "monthly_charges": 10.0 + i * 7 % 90, "country": ["ES", "MX"][i % 2]},
         "counts": {"purchase-order": 1 + i % 4, "page-view": 3}, "purchases": 1 + i % 4, "spend_total": 20.0 * i,
         "top": {"category": [["shoes", "bags"][i % 2]]}} for i in range(40)]
TIENDA = [{"traits": {"edad": 18 + i % 60, "pais": ["ES", "MX"][i % 2]},
           "counts": {"compra": 1 + i % 4}, "purchases": 1 + i % 4, "spend_total": 20.0 * i,
           "top": {"categoria": [["zapatos", "bolsos"][i % 2]]}} for i in range(40)]


@pytest.fixture(scope="module")
def shop(encoder: Any) -> Vocabulary:
    return attach_meaning(build_vocabulary(SHOP), encoder)


@pytest.fixture(scope="module")
def tienda(e5: Any) -> Vocabulary:
    return attach_meaning(build_vocabulary(TIENDA), e5, ("en", "es"))


@pytest.mark.parametrize(("question", "stat", "field", "event", "rest"), [
    ("what is the average spend of customers from Spain?", "mean", "spend_total", "", "what is of customers from Spain?"),
    ("what is the total revenue from customers in Mexico?", "total", "spend_total", "", "what is from customers in Mexico?"),
    ("what is the median spend of customers from Spain?", "median", "spend_total", "", "what is the of customers from Spain?"),
    # spend by its verb, with what it was on and its window: the purchases it sums
    ("how much did customers from Spain spend on shoes this year?", "total", "spend_total", "bought shoes this year",
     "did customers from Spain ?"),
    # the asker's own words name no one: everyone's spend in the window
    ("how much revenue did we make this year?", "total", "spend_total", "bought this year", ""),
    ("what is the average order value of customers from Mexico?", "mean", "order_value_mean", "",
     "what is of customers from Mexico?"),
    ("what is the average number of purchases of customers from Spain?", "mean", "purchases", "",
     "what is of customers from Spain?"),
    # a numeric field of the data's own, from as few words as name it ("age | of customers")
    ("what is the average age of customers from Spain?", "mean", "traits.age", "", "what is of customers from Spain?"),
    ("average monthly charges of customers from Mexico", "mean", "traits.monthly_charges", "",
     "of customers from Mexico"),
    # a number whose name holds the statistic: the average rating, not how many ratings
    ("what is the average rating of customers from Spain?", "mean", "rating_mean", "", "what is of customers from Spain?"),
    # "by" before the group is the group's: "the average number of purchases | by customers from Spain"
    ("the average number of purchases by customers from Spain", "mean", "purchases", "", "customers from Spain"),
])
def test_a_statistic_and_what_it_is_of(shop: Vocabulary, question: str, stat: str, field: str, event: str,
                                       rest: str) -> None:
    found = read_measure(question, shop)
    assert found is not None, question
    measure, left = found
    assert (measure.stat, measure.field, measure.event, left) == (stat, field, event, rest)


@pytest.mark.parametrize(("question", "stat", "field", "window"), [
    ("¿cuál es el gasto medio de los clientes de España?", "mean", "spend_total", False),
    ("¿cuánto gastaron los clientes de México este año?", "total", "spend_total", True),  # the window said last
    ("¿cuál es la edad media de los clientes de México?", "mean", "traits.edad", False),
    ("¿cuál es el ticket medio de los clientes de España?", "mean", "order_value_mean", False),
    ("¿cuántas compras hicieron de media los clientes de España?", "mean", "purchases", False),
])
def test_a_statistic_in_spanish(tienda: Vocabulary, question: str, stat: str, field: str, window: bool) -> None:
    found = read_measure(question, tienda)
    assert found is not None, question
    measure, left = found
    assert (measure.stat, measure.field) == (stat, field)
    assert ("este ano" in measure.event) == window and "este año" not in left
    assert ("de España" in left or "de México" in left) and "medi" not in left


def test_an_age_said_over_age_bands_is_the_band_field(e5: Any) -> None:
    """Where the data holds age bands, not ages, "la edad media" is the bands' field (its answer estimates the mean
    from the bands' middle ages; it had been an estimate of some customers by meaning)."""
    from app.search.understanding import band_midpoints

    banded = [{**p, "traits": {"franja_edad": ["18-24", "25-34", "65+"][i % 3], "pais": ["ES", "MX"][i % 2]}}
              for i, p in enumerate(TIENDA)]
    vocab = attach_meaning(build_vocabulary(banded), e5, ("en", "es"))
    for question in ("¿cuál es la edad media de los clientes de España?", "what is the average age of customers"):
        found = read_measure(question, vocab)
        assert found is not None and found[0].field == "traits.franja_edad", question
    # an open band is as wide as the closed ones: "65+" about 70, not halfway to 100
    assert band_midpoints([("18-24", 18, 25), ("25-34", 25, 35), ("65+", 65, 100)]) == [21.5, 30.0, 70.0]


@pytest.mark.parametrize("question", [
    "how many customers spent more than 100 in total?",  # a count, whatever else it says
    "¿cuántos clientes gastaron más de 100 euros en total?",
    "what share of customers bought shoes?",
    "customers who bought shoes",  # no statistic
    "the average customer from Spain",  # a statistic of nothing stored
])
def test_no_measure_where_none_is_asked(shop: Vocabulary, question: str) -> None:
    assert read_measure(question, shop) is None


@pytest.mark.parametrize(("vocab", "question", "said", "bound"), [
    ("shop", "customers who spent more than the average", "more than the average", "spend_total>42.5"),
    ("shop", "how many customers from Spain spent less than the average?", "less than the average",
     "spend_total<42.5"),
    ("shop", "customers older than average", "older than average", "traits.age>42.5"),
    ("shop", "customers above the average age", "above the average age", "traits.age>42.5"),
    ("shop", "customers with more page views than average", "more page views than average", "counts.page-view>42.5"),
    ("shop", "above-average spenders", "above-average", "spend_total>42.5"),
    ("tienda", "¿cuántos clientes gastaron más que la media?", "más que la media", "spend_total>42.5"),
    ("tienda", "clientes que gastan más que el cliente medio", "más que el cliente medio", "spend_total>42.5"),
    ("tienda", "clientes con un gasto por encima de la media", "por encima de la media", "spend_total>42.5"),
    ("tienda", "clientes con una edad superior al promedio", "superior al promedio", "traits.edad>42.5"),
])
def test_a_comparison_with_the_average_puts_a_number_in_its_place(request: pytest.FixtureRequest, vocab: str,
                                                                  question: str, said: str, bound: str) -> None:
    """"spent more than the average" had been read as the statistic "average" (or left to meaning: an estimate
    of 1 for 277): it is a bound, at everyone's mean of the number compared (the caller puts it in `{n}`), and
    no statistic is asked."""
    words: Vocabulary = request.getfixturevalue(vocab)
    found = versus_average(question, words)
    assert found is not None, question
    template, said_as = found
    assert said_as == said and "{n}" in template
    assert bound in understand(template.format(n=42.5), words).filters, template
    assert read_measure(question, words) is None
    assert versus_average("what is the average spend of customers from Spain?", words) is None
