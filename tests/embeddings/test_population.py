"""Distinctive interests: documents name what sets a profile apart from the population, from statistics that
are frozen (same statistics, same text) and that change only the texts they touch."""

from __future__ import annotations

from collections import Counter

from embeddings.documents import DocumentBuilder
from profiles.aggregates import ProfileSummary
from profiles.dictionary import EventDictionary
from profiles.population import FacetPopulation
from tests.embeddings.test_documents import event, person


def summary(**genres: int) -> ProfileSummary:
    s = ProfileSummary()
    s.facets["genres"] = Counter(genres)
    return s


def test_population_shares_are_profile_weighted_and_rare_values_are_not_kept() -> None:
    # one heavy user with 1,000 horror events does not make horror "usual": each profile weighs the same
    people = [summary(Drama=9, Comedy=1) for _ in range(9)] + [summary(Horror=1000)]
    pop = FacetPopulation.from_summaries(people + [summary(Western=5)], min_profiles=1)
    assert pop.shares["genres"]["Drama"] == round(9 * 0.9 / 11, 6)
    assert pop.shares["genres"]["Horror"] == round(1 / 11, 6)
    assert pop.profiles == 11
    # a value held by fewer than 5 profiles says more about a few people than about the population
    kept = FacetPopulation.from_summaries(people + [summary(Western=5)])
    assert "Western" not in kept.shares["genres"] and "Horror" not in kept.shares["genres"]
    assert "Drama" in kept.shares["genres"]


def test_distinctive_values_need_lift_and_events_and_come_most_distinctive_first() -> None:
    pop = FacetPopulation({"genres": {"Drama": 0.6, "Comedy": 0.3, "Documentary": 0.01, "Western": 0.05}}, 100)
    fan = summary(Drama=50, Comedy=20, Documentary=6, Western=4)  # 6.25% docs (6x), 5% westerns (1x)
    assert fan.facets["genres"]["Documentary"] == 6
    assert pop.distinctive(fan) == [("genres", "Documentary")]
    # two documentaries are not an interest (fewer than 3 events), whatever the share
    assert pop.distinctive(summary(Documentary=2, Drama=1)) == []
    # an unknown value (not in the frozen statistics) is never judged
    assert pop.distinctive(summary(Musical=10)) == []
    both = pop.distinctive(summary(Documentary=10, Western=30, Drama=10))
    assert both == [("genres", "Western"), ("genres", "Documentary")]  # share x log lift: 0.6*2.5 > 0.2*3


def test_a_document_names_a_rare_interest_only_with_population_statistics() -> None:
    evs = [event(i, "purchase-order", {"value": 10, "category": "books" if i < 4 else "shoes"}, days=i)
           for i in range(40)]
    profile = person(evs)
    others = [person([event(i, "purchase-order", {"value": 10, "category": "shoes" if i % 40 else "books"}, days=i)
                      for i in range(40)]) for _ in range(6)]
    plain = DocumentBuilder()
    assert "Stands out" not in plain.build(profile).text
    population = plain.population_of([profile, *others])
    informed = DocumentBuilder(population=population)
    text = informed.build(profile).text
    assert "Stands out for category: books." in text  # 10% books against the population's ~3.6%
    assert informed.build(profile).text == text  # frozen statistics: deterministic
    # the statistics are part of the key: new statistics re-render every profile (the hash re-embeds changes)
    assert informed.config_key != plain.config_key and informed.layout_key == plain.layout_key
    assert FacetPopulation.from_json(population.to_json()) == population
    assert FacetPopulation.from_json(population.to_json()).version == population.version


def test_spanish_documents_say_it_in_spanish() -> None:
    evs = [event(i, "purchase-order", {"value": 10, "category": "libros" if i < 4 else "zapatos"}, days=i)
           for i in range(40)]
    population = FacetPopulation({"category": {"libros": 0.02, "zapatos": 0.9}}, 50)
    builder = DocumentBuilder(EventDictionary.load(wording="es"), population=population)
    assert "Destaca por category: libros." in builder.build(person(evs)).text
