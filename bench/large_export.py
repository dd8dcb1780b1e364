"""A large, realistic Tracardi export, deterministic by seed: N profiles and about N x mean events, written
streaming (memory does not grow with N) as `profiles.ndjson` + `events.ndjson` in Tracardi 0.9's shape.

Shapes and skew of a real CDP:
- events per profile are log-normal (a long tail of light users with one or two events, a few heavy users with
  thousands), capped at 5,000; activity clusters in sessions over the profile's lifetime;
- event types with properties: page-view (page category), product-view and add-to-cart (product, category,
  price), purchase-order (value, currency, items), email-opened (campaign), content-rated (genre, rating),
  ticket-opened (topic), each with its own share and some customers who never purchase;
- traits: plan, loyalty tier, age band, country, newsletter flag, preferred channel, with skewed frequencies;
  contact data in `data.contact` (the sync must keep it out) as a real export would have it.
Events are written profile by profile (the export reader needs no order). `events_mean=50` at 1M profiles
gives about 50M events (about 17 GB of NDJSON).
Run: .venv/bin/python bench/large_export.py DIR --profiles 1000000 --events-mean 50 [--seed 7]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson

START = datetime(2023, 1, 1, tzinfo=UTC)
SPAN_DAYS = 730
TYPES = ["page-view", "product-view", "add-to-cart", "purchase-order", "email-opened", "content-rated",
         "ticket-opened"]
TYPE_SHARE = np.array([0.42, 0.24, 0.08, 0.05, 0.12, 0.07, 0.02])
CATEGORIES = ["shoes", "jackets", "bags", "watches", "outdoor gear", "books", "kitchen", "toys", "beauty",
              "garden", "electronics", "sports", "music", "stationery", "pets", "jewellery"]
GENRES = ["comedy", "drama", "horror", "documentary", "sci-fi", "romance", "thriller", "animation", "western"]
TOPICS = ["delivery", "refund", "sizing", "payment", "account"]
CAMPAIGNS = [f"newsletter-{i:02d}" for i in range(24)]
PLANS, PLAN_P = ["free", "plus", "pro", "enterprise"], [0.55, 0.25, 0.15, 0.05]
TIERS, TIER_P = ["none", "silver", "gold", "platinum"], [0.6, 0.25, 0.12, 0.03]
AGES, AGE_P = ["18-24", "25-34", "35-44", "45-54", "55-64", "65+"], [0.15, 0.28, 0.22, 0.16, 0.11, 0.08]
COUNTRIES, COUNTRY_P = ["ES", "MX", "AR", "CO", "US", "GB", "DE", "FR"], [0.3, 0.15, 0.1, 0.08, 0.17, 0.08, 0.06, 0.06]
CHANNELS = ["web", "app", "store", "email"]


def _uuid(rng: np.random.Generator) -> str:
    return str(uuid.UUID(bytes=rng.bytes(16), version=4))


def profile_records(profiles: int, events_mean: float, seed: int) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    rng = np.random.default_rng(seed)
    sigma = 1.3  # heavy tail: the median profile has about a fifth of the mean
    mu = np.log(max(events_mean, 1.0)) - sigma**2 / 2
    for i in range(profiles):
        pid = _uuid(rng)
        born = START + timedelta(seconds=float(rng.uniform(0, SPAN_DAYS * 0.8 * 86400)))
        n = int(min(5000, max(1, round(rng.lognormal(mu, sigma)))))
        buyer = rng.random() < 0.6
        share = TYPE_SHARE.copy()
        if not buyer:
            share[3] = 0.0
        share /= share.sum()
        fav = rng.choice(len(CATEGORIES), size=3, replace=False)
        liked = rng.choice(len(GENRES), size=2, replace=False)
        life = max(1.0, (START + timedelta(days=SPAN_DAYS) - born).total_seconds())
        # sessions: events cluster around a few visit times
        visits = np.sort(rng.uniform(0, life, size=max(1, n // 6 + 1)))
        when = visits[rng.integers(0, len(visits), size=n)] + rng.uniform(0, 1800, size=n)
        kinds = rng.choice(len(TYPES), size=n, p=share)
        events = []
        for k, t in zip(kinds, np.sort(when), strict=True):
            etype = TYPES[k]
            cat = CATEGORIES[fav[rng.integers(0, 3)]] if rng.random() < 0.7 else CATEGORIES[rng.integers(0, len(CATEGORIES))]
            props: dict[str, Any]
            if etype == "page-view":
                props = {"category": cat}
            elif etype in ("product-view", "add-to-cart"):
                props = {"product": f"SKU-{rng.integers(1, 5000)}", "category": cat,
                         "price": round(float(rng.lognormal(3.2, 0.8)), 2)}
            elif etype == "purchase-order":
                props = {"value": round(float(rng.lognormal(3.8, 0.9)), 2), "currency": "EUR",
                         "items": int(rng.integers(1, 6)), "category": cat}
            elif etype == "email-opened":
                props = {"campaign": CAMPAIGNS[rng.integers(0, len(CAMPAIGNS))]}
            elif etype == "content-rated":
                g = GENRES[liked[rng.integers(0, 2)]] if rng.random() < 0.75 else GENRES[rng.integers(0, len(GENRES))]
                props = {"genre": g, "rating": int(rng.integers(3, 6) if g in (GENRES[liked[0]], GENRES[liked[1]])
                                                   else rng.integers(1, 4))}
            else:
                props = {"topic": TOPICS[rng.integers(0, len(TOPICS))]}
            at = (born + timedelta(seconds=float(t))).isoformat()
            events.append({"id": _uuid(rng), "type": etype, "metadata": {"time": {"insert": at, "create": at}},
                           "source": {"id": "web"}, "session": {"id": f"s-{pid[:8]}-{int(t) // 86400}"},
                           "profile": {"id": pid}, "properties": props, "context": {},
                           "tags": {"values": [], "count": 0}})
        last = events[-1]["metadata"]["time"]["insert"] if events else born.isoformat()
        profile = {
            "id": pid, "ids": [pid], "active": True,
            "metadata": {"time": {"insert": born.isoformat(), "create": born.isoformat(), "update": last,
                                  "visit": {"last": last, "count": len(visits)}}},
            "stats": {"visits": len(visits), "views": 0, "counters": {}},
            "traits": {"plan": PLANS[rng.choice(4, p=PLAN_P)], "loyalty": {"tier": TIERS[rng.choice(4, p=TIER_P)]},
                       "age_band": AGES[rng.choice(6, p=AGE_P)], "country": COUNTRIES[rng.choice(8, p=COUNTRY_P)],
                       "newsletter": bool(rng.random() < 0.35), "preferred_channel": CHANNELS[rng.integers(0, 4)]},
            "data": {"pii": {"firstname": f"Cliente{i}", "gender": ["female", "male"][int(rng.integers(0, 2))]},
                     "contact": {"email": {"main": f"cliente{i}@example.com"}, "phone": {"main": "+34 612 345 678"}}},
            "segments": [], "interests": {}, "consents": {}, "aux": {}, "trash": {},
        }
        yield profile, events


# The same shop as a Spanish company's Tracardi would hold it: event types, property names and values in Spanish
SPANISH_TYPES = {"page-view": "visita-pagina", "product-view": "vista-producto", "add-to-cart": "anadir-al-carrito",
                 "purchase-order": "compra", "email-opened": "email-abierto", "content-rated": "valoracion-contenido",
                 "ticket-opened": "incidencia-abierta"}
SPANISH_KEYS = {"category": "categoria", "genre": "genero", "topic": "tema", "rating": "puntuacion",
                "value": "importe", "items": "articulos", "product": "producto", "price": "precio",
                "currency": "moneda", "campaign": "campana", "loyalty": "fidelidad", "tier": "nivel",
                "age_band": "franja_edad", "country": "pais"}
SPANISH_VALUES = {"shoes": "zapatos", "jackets": "chaquetas", "bags": "bolsos", "watches": "relojes",
                  "books": "libros", "kitchen": "cocina", "toys": "juguetes", "garden": "jardín", "pets": "mascotas",
                  "jewellery": "joyería", "electronics": "electrónica", "sports": "deportes", "music": "música",
                  "beauty": "belleza", "comedy": "comedia", "horror": "terror", "documentary": "documental",
                  "refund": "reembolso", "delivery": "entrega", "free": "gratuito", "enterprise": "empresa",
                  "gold": "oro", "silver": "plata"}


def en_espanol(d: dict[str, Any]) -> dict[str, Any]:
    """Traits or properties with Spanish keys and values (nested objects too)."""
    return {SPANISH_KEYS.get(k, k): en_espanol(v) if isinstance(v, dict) else SPANISH_VALUES.get(v, v)
            if isinstance(v, str) else v for k, v in d.items()}


def spanish_event(event: dict[str, Any]) -> dict[str, Any]:
    """One event as the Spanish shop sends it."""
    return {**event, "type": SPANISH_TYPES[event["type"]], "properties": en_espanol(event["properties"])}


def write_large_export(directory: Path, profiles: int, events_mean: float = 50.0, seed: int = 7,
                       log_every: int = 0, spanish: bool = False) -> dict[str, int]:
    """`spanish`: as the Spanish shop holds it (`en_espanol`, `spanish_event`), the same records renamed."""
    directory.mkdir(parents=True, exist_ok=True)
    n_events = 0
    t = time.perf_counter()
    with open(directory / "profiles.ndjson", "wb") as pf, open(directory / "events.ndjson", "wb") as ef:
        for i, (profile, events) in enumerate(profile_records(profiles, events_mean, seed), 1):
            if spanish:
                profile, events = {**profile, "traits": en_espanol(profile["traits"])}, list(map(spanish_event, events))
            pf.write(orjson.dumps(profile) + b"\n")
            ef.write(b"".join(orjson.dumps(e) + b"\n" for e in events))
            n_events += len(events)
            if log_every and i % log_every == 0:
                sys.stderr.write(f"{i} profiles, {n_events} events, {time.perf_counter() - t:.0f}s\n")
    return {"profiles": profiles, "events": n_events}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("directory", type=Path)
    ap.add_argument("--profiles", type=int, default=100_000)
    ap.add_argument("--events-mean", type=float, default=50.0)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    t = time.perf_counter()
    counts = write_large_export(a.directory, a.profiles, a.events_mean, a.seed, log_every=100_000)
    print(f"wrote {counts['profiles']} profiles and {counts['events']} events to {a.directory} in "
          f"{time.perf_counter() - t:.0f}s")


if __name__ == "__main__":
    main()
