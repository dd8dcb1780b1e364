"""Model features in words, in the deployment's wording: "days since the last purchase" / "días desde la última
compra" for `purchase_recency_days`. Drivers keep `feature` (the stable key, an API contract) and gain `label`.
Every feature the library makes has a phrase in every wording (a test walks `FeatureSpec.names()`); a trait
feature reads as its path, and an unknown name stays as it is rather than being guessed."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from prediction.features import WINDOWS

WORDINGS = ("en", "es")

_BASE: dict[str, dict[str, str]] = {
    "events": {"en": "number of events", "es": "número de eventos"},
    "recency_days": {"en": "days since the last event", "es": "días desde el último evento"},
    "tenure_days": {"en": "days since the first event", "es": "días desde el primer evento"},
    "active_span_days": {"en": "days between the first and the last event",
                         "es": "días entre el primer y el último evento"},
    "events_per_30d": {"en": "events per 30 days", "es": "eventos cada 30 días"},
    "events_prev_90d": {"en": "events in the 90 days before the last 90", "es": "eventos en los 90 días anteriores a "
                        "los últimos 90"},
    "trend_90d": {"en": "change in events, last 90 days against the 90 before",
                  "es": "cambio de eventos, últimos 90 días frente a los 90 anteriores"},
    "purchases": {"en": "number of purchases", "es": "número de compras"},
    "purchase_recency_days": {"en": "days since the last purchase", "es": "días desde la última compra"},
    "spend": {"en": "total spend", "es": "gasto total"},
    "spend_mean": {"en": "average purchase value", "es": "importe medio por compra"},
    "bgnbd_expected_purchases": {"en": "expected purchases (BG/NBD forecast)",
                                 "es": "compras esperadas (previsión BG/NBD)"},
    "bgnbd_expected_spend": {"en": "expected spend (BG/NBD x Gamma-Gamma forecast)",
                             "es": "gasto esperado (previsión BG/NBD x Gamma-Gamma)"},
}
for _w in WINDOWS:
    _BASE[f"events_{_w}d"] = {"en": f"events in the last {_w} days", "es": f"eventos en los últimos {_w} días"}
    _BASE[f"spend_{_w}d"] = {"en": f"spend in the last {_w} days", "es": f"gasto en los últimos {_w} días"}

_PER_TYPE: dict[str, dict[str, str]] = {
    "count": {"en": "number of “{t}” events", "es": "número de eventos «{t}»"},
    "recency_days": {"en": "days since the last “{t}”", "es": "días desde el último «{t}»"},
    "count_90d": {"en": "“{t}” events in the last 90 days", "es": "eventos «{t}» en los últimos 90 días"},
}
_TYPED = re.compile(r"(count|recency_days|count_90d)\[(.+)\]", re.S)
_TRAIT = {"en": "trait {path}", "es": "rasgo {path}"}


def feature_label(name: str, wording: str = "en") -> str:
    lang = wording if wording in WORDINGS else "en"
    if name in _BASE:
        return _BASE[name][lang]
    if (m := _TYPED.fullmatch(name)) is not None:
        return _PER_TYPE[m[1]][lang].format(t=m[2])
    if name.startswith(("traits.", "data.")):
        return _TRAIT[lang].format(path=name)
    return name


def label_drivers(drivers: Iterable[dict[str, Any]], wording: str = "en") -> list[dict[str, Any]]:
    """Each driver with its `label` (kept where one is already there)."""
    return [{**d, "label": d.get("label") or feature_label(str(d.get("feature", "")), wording)}
            if isinstance(d, dict) else d for d in drivers]
