"""Model cards in the deployment's wording. The card's keys and numbers stay as they are (an API contract);
its sentences (quality band, warning, notes, sufficiency reasons, what was excluded) are translated from the
library's English templates. A sentence with no known template stays English rather than being guessed."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

BANDS_ES = {
    "strong": "fuerte", "good": "bueno", "fair": "aceptable", "weak": "débil",
    "no better than chance": "no mejor que el azar", "unknown": "desconocido",
}
PHRASES_ES = {
    "ranks customers very well": "ordena muy bien a los clientes",
    "ranks customers well": "ordena bien a los clientes",
    "ranks customers somewhat better than chance": "ordena a los clientes algo mejor que el azar",
    "only slightly better than chance": "apenas mejor que el azar",
    "do not use for decisions": "no lo use para decidir",
    "the holdout has a single class": "la validación tiene una sola clase",
    "results look too good: check for leakage (a trait or event that records the outcome itself, or events "
    "timestamped after they happened)": "resultados demasiado buenos: compruebe si hay fugas (un rasgo o evento "
    "que registra el propio resultado, o eventos fechados después de ocurrir)",
    "profile vectors (they summarise the whole history, label window included)": "vectores de perfil (resumen todo "
    "el historial, incluida la ventana de la etiqueta)",
}
PATTERNS_ES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"training snapshot moved to (\S+) with a (\d+)-day label window, because fewer than half of the "
                r"customers existed (\S+) days before as_of"),
     lambda m: f"instantánea de entrenamiento movida a {m[1]} con una ventana de {m[2]} días, porque menos de la "
               f"mitad de los clientes existían {m[3]} días antes de as_of"),
    (re.compile(r"spend = (\S+) x boosting \+ (\S+) x the BG/NBD x Gamma-Gamma forecast \(the weight with the lowest "
                r"validation RMSE on the training snapshot\)"),
     lambda m: f"gasto = {m[1]} x boosting + {m[2]} x la previsión BG/NBD x Gamma-Gamma (el peso con menor RMSE de "
               "validación en la instantánea de entrenamiento)"),
    (re.compile(r"(\d+) features are present for fewer than (\d+) profiles \(or 5%\): their 'never' is written as "
                r"a value below their range instead of left missing"),
     lambda m: f"{m[1]} rasgos están presentes en menos de {m[2]} perfiles (o el 5%): su 'nunca' se escribe como un "
               "valor por debajo de su rango en lugar de dejarse vacío"),
    (re.compile(r"probability = a logistic blend of the boosting, logistic regression on recency, frequency, spend "
                r"and tenure(, and the BG/NBD forecast)?, weighed on out-of-fold predictions of the training "
                r"snapshot"),
     lambda m: "probabilidad = una mezcla logística del boosting, la regresión logística sobre recencia, frecuencia, "
               "gasto y antigüedad" + (" y la previsión BG/NBD" if m[1] else "") + ", ponderada con predicciones "
               "fuera de pliegue de la instantánea de entrenamiento"),
    (re.compile(r"the boosting is fitted on a random sample of (\d+) profiles per snapshot \(of (\d+) and (\d+)\); "
                r"baselines, stacking and the holdout use everyone"),
     lambda m: f"el boosting se ajusta con una muestra aleatoria de {m[1]} perfiles por instantánea (de {m[2]} y "
               f"{m[3]}); las referencias, el apilado y la validación usan a todos"),
    (re.compile(r"(\d+) examples in the rarer class: metrics are uncertain \(wide confidence intervals\)"),
     lambda m: f"{m[1]} ejemplos en la clase minoritaria: métricas inciertas (intervalos de confianza amplios)"),
]


def _sentence(text: str) -> str:
    if text in PHRASES_ES:
        return PHRASES_ES[text]
    for pattern, render in PATTERNS_ES:
        if (m := pattern.fullmatch(text)) is not None:
            return render(m)
    return text


def _band(text: str) -> str:
    band, _, words = text.partition(": ")
    return f"{BANDS_ES.get(band, band)}: {_sentence(words)}" if words else BANDS_ES.get(band, text)


def localise_card(card: dict[str, Any], wording: str) -> dict[str, Any]:
    if wording == "en":
        return card
    out = dict(card)
    if isinstance(out.get("quality"), str):
        out["quality"] = _band(out["quality"])
    for key in ("warning", "excluded"):
        if isinstance(out.get(key), str):
            out[key] = _sentence(out[key])
    out["notes"] = [_sentence(n) for n in out.get("notes") or []]
    if isinstance(out.get("sufficiency"), dict):
        out["sufficiency"] = {**out["sufficiency"],
                              "reasons": [_sentence(r) for r in out["sufficiency"].get("reasons") or []]}
    out["language"] = wording
    return out
