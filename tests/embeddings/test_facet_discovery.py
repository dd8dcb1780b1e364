"""Facets read from the data (profiles/facet_discovery.py): a deployment's own property names for categories."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from embeddings.documents import DocumentBuilder
from profiles.dictionary import EventDictionary
from profiles.facet_discovery import learn, learn_facets, learn_money, learn_ratings
from profiles.model import Event, Profile, ProfileWithEvents
from profiles.population import FacetPopulation

CATEGORIAS = ["zapatos", "chaquetas", "bolsos", "libros", "cocina", "juguetes", "jardín", "mascotas"]
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _shop(profiles: int = 60, seed: int = 3) -> list[list[Event]]:
    """A Spanish shop's histories: categories under `categoria`, plus what is no category (SKUs, prices, order
    ids, free text, dates, campaign codes, a single currency)."""
    rnd = random.Random(seed)
    out = []
    for p in range(profiles):
        events = []
        for k in range(rnd.randint(3, 12)):
            props: dict[str, Any] = {
                "categoria": rnd.choice(CATEGORIAS), "producto": f"SKU-{rnd.randint(1, 5000)}",
                "importe": round(rnd.uniform(5, 200), 2), "moneda": "EUR", "pedido_id": f"o-{p}-{k}",
                "comentario": " ".join(rnd.choice(["muy", "bien", "llegó", "tarde", "perfecto", "roto"])
                                       for _ in range(8)),
                "fecha": (T0 + timedelta(days=rnd.randint(0, 300))).date().isoformat(),
                "campana": f"verano-{rnd.randint(1, 30):02d}", "envio": {"metodo": rnd.choice(["tienda", "casa"])}}
            events.append(Event(id=f"e-{p}-{k}", type="compra", time=T0 + timedelta(days=k), properties=props))
        out.append(events)
    return out


def test_a_deployments_own_names_for_categories_are_learned_and_nothing_else() -> None:
    learned = learn_facets(_shop(), EventDictionary.load(None, "es"))
    assert learned == {"compra": ["categoria", "envio.metodo"]}


def test_what_the_dictionary_reads_already_is_not_learned_again() -> None:
    histories = [[e.model_copy(update={"properties": {"category": e.properties["categoria"]}}) for e in h]
                 for h in _shop()]
    assert learn_facets(histories, EventDictionary.load()) == {}


def test_a_few_senders_cannot_make_a_facet() -> None:
    """Anyone can send events: labels that fewer than MIN_HOLDERS profiles hold are no category, however many
    events they send."""
    histories = [[Event(id=f"x-{p}-{k}", type="compra", time=T0, properties={"oferta": ["gratis", "ya"][k % 2]})
                  for k in range(200)] for p in range(4)]
    histories += [[Event(id=f"y-{p}", type="compra", time=T0, properties={})] for p in range(50)]
    assert learn_facets(histories, EventDictionary.load()) == {}


def test_too_many_values_is_no_category_and_the_scan_stays_bounded() -> None:
    """Distinct values past MAX_DISTINCT (names, titles) stop the path; thousands of keys in one event are read up
    to MAX_KEYS_READ."""
    histories = [[Event(id=f"t-{p}-{k}", type="view", time=T0, properties={"titulo": f"pelicula {p} {k}"})
                  for k in range(5)] for p in range(60)]
    wide = {f"k{i}": "a" for i in range(10_000)}
    histories.append([Event(id="wide", type="view", time=T0, properties=wide)])
    assert learn_facets(histories, EventDictionary.load()) == {}


def _item(pid: str, events: list[Event]) -> ProfileWithEvents:
    return ProfileWithEvents(profile=Profile(id=pid, traits={}), events=events)


def test_learned_facets_are_frozen_with_the_statistics_and_read_by_documents() -> None:
    """The sample a sync freezes its statistics from also gives the facets; the statistics carry them, so a
    builder in another process reads the same ones: the documents' frequent categories and the payload's `top`."""
    items = [_item(f"p{i}", h) for i, h in enumerate(_shop())]
    builder = DocumentBuilder(EventDictionary.load(None, "es"))
    population = builder.population_of(items)
    assert population.learned == {"compra": {"facets": ["categoria", "envio.metodo"], "value": "importe",
                                             "currency": "moneda"}}
    assert set(population.shares) == {"categoria", "metodo"} and "zapatos" in population.shares["categoria"]
    assert builder.dictionary.learned == {}  # nothing is read until the statistics are kept

    other = DocumentBuilder(EventDictionary.load(None, "es"))
    before = other.build(items[0])
    other.population = FacetPopulation.from_json(population.to_json())
    assert other.dictionary.learned == population.learned
    after = other.build(items[0])
    top = after.summary.top_values()
    favourite = max(set(e.properties["categoria"] for e in items[0].events),
                    key=lambda c: (sum(e.properties["categoria"] == c for e in items[0].events), c))
    assert favourite in top["categoria"]
    line = next(ln for ln in after.text.split("\n") if ln.startswith("categoria más frecuentes:"))
    assert favourite in line and "más frecuentes" not in before.text
    assert other.config_key != DocumentBuilder(EventDictionary.load(None, "es")).config_key
    other.population = None  # statistics dropped: their facets with them
    assert other.dictionary.learned == {} and "categoria" not in other.build(items[0]).summary.facets


def test_statistics_frozen_before_facets_were_learned_keep_their_version() -> None:
    old = FacetPopulation({"genres": {"Drama": 0.3}}, 500)
    assert "learned" not in old.to_json()
    assert FacetPopulation.from_json(old.to_json()).version == old.version


def test_a_purchase_the_dictionary_does_not_know_gets_its_value_and_currency() -> None:
    """`compra` with `importe`: its spend, lifetime value and purchases count (the purchase model had found "only 0
    positives"); a product view's price, a refund's amount and a purchase type whose events mostly lack a number
    are no purchase value."""
    histories = _shop()
    for k, h in enumerate(histories):
        h.append(Event(id=f"v{k}", type="vista-producto", time=T0, properties={"precio": 10.0}))
        h.append(Event(id=f"r{k}", type="compra-reembolso", time=T0, properties={"importe": 5.0}))
        h.append(Event(id=f"o{k}", type="order-placed", time=T0, properties={"value": "n/a" if k % 3 else 12}))
    dictionary = EventDictionary.load(None, "es")
    assert learn_money(histories, dictionary) == {"compra": {"value": "importe", "currency": "moneda"}}
    dictionary.learn(learn(histories, dictionary))
    spec = dictionary.spec("compra")
    assert (spec.value, spec.currency, "categoria" in spec.facets) == ("importe", "moneda", True)
    assert dictionary.spec("vista-producto").value is None
    # what the dictionary says stays: a known purchase's value is not replaced
    assert learn_money([[Event(id=f"p{i}", type="purchase-order", time=T0, properties={"importe": 3.0})
                         for i in range(30)]], dictionary) == {}


def test_a_rating_the_dictionary_does_not_know_gets_its_score_and_scale() -> None:
    """`valoracion-contenido` with `puntuacion` (1-5): its average, liked items and "valoraron con 5 estrellas" read it
    as the dictionary's own `content-rated`; a 10-point score is on a scale of 10; a type whose name says no rating
    (a purchase's `importe`), whose scores mostly lack a number, or that the dictionary rates already, is none."""
    rnd = random.Random(5)
    histories = _shop()
    for k, h in enumerate(histories):
        h.append(Event(id=f"v{k}", type="valoracion-contenido", time=T0,
                       properties={"genero": rnd.choice(["drama", "comedia"]), "puntuacion": rnd.randint(1, 5)}))
        h.append(Event(id=f"r{k}", type="product-review", time=T0, properties={"score": rnd.randint(0, 10)}))
        h.append(Event(id=f"o{k}", type="opinion-tienda", time=T0, properties={"nota": "buena" if k % 3 else 4}))
        h.append(Event(id=f"c{k}", type="content-rated", time=T0, properties={"puntuacion": 3}))
    dictionary = EventDictionary.load(None, "es")
    assert learn_ratings(histories, dictionary) == {
        "valoracion-contenido": {"property": "puntuacion", "scale": 5, "liked": 4},
        "product-review": {"property": "score", "scale": 10, "liked": 8}}
    dictionary.learn(learn(histories, dictionary))
    assert dictionary.spec("valoracion-contenido").rating == {"property": "puntuacion", "scale": 5, "liked": 4}
    assert dictionary.spec("compra").rating is None and dictionary.spec("opinion-tienda").rating is None
    assert dictionary.spec("content-rated").rating == {"property": "rating", "scale": 5, "liked": 4}  # its own
