"""Model cards in the deployment's wording. The card's keys and numbers stay as they are (an API contract).
Notes are made as codes with parameters (`note`) and written from a template per wording (`NOTES`), so a note
cannot silently stay English: a code without a template in every wording fails its test. The other sentences
(quality band, warning, sufficiency reasons, what was excluded) are translated from the library's English
templates; one with no known template stays English rather than being guessed."""

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
    (re.compile(r"(\d+) examples in the rarer class: metrics are uncertain \(wide confidence intervals\)"),
     lambda m: f"{m[1]} ejemplos en la clase minoritaria: métricas inciertas (intervalos de confianza amplios)"),
]


NOTES: dict[str, dict[str, str]] = {
    "snapshot_moved": {
        "en": "training snapshot moved to {when} with a {days}-day label window, because fewer than half of the "
              "customers existed {horizon} days before as_of",
        "es": "instantánea de entrenamiento movida a {when} con una ventana de {days} días, porque menos de la mitad "
              "de los clientes existían {horizon} días antes de as_of"},
    "sparse_features": {
        "en": "{count} features are present for fewer than {minimum} profiles (or 5%): their 'never' is written as a "
              "value below their range instead of left missing",
        "es": "{count} rasgos están presentes en menos de {minimum} perfiles (o el 5%): su 'nunca' se escribe como un "
              "valor por debajo de su rango en lugar de dejarse vacío"},
    "fit_sample": {
        "en": "the boosting is fitted on a random sample of {sample} profiles per snapshot (of {train} and {holdout}); "
              "baselines, stacking and the holdout use everyone",
        "es": "el boosting se ajusta con una muestra aleatoria de {sample} perfiles por instantánea (de {train} y "
              "{holdout}); las referencias, el apilado y la validación usan a todos"},
    "stacked_probability": {
        "en": "probability = a logistic blend of the boosting, logistic regression on recency, frequency, spend and "
              "tenure, weighed on out-of-fold predictions of the training snapshot",
        "es": "probabilidad = una mezcla logística del boosting, la regresión logística sobre recencia, frecuencia, "
              "gasto y antigüedad, ponderada con predicciones fuera de pliegue de la instantánea de entrenamiento"},
    "stacked_probability_forecast": {
        "en": "probability = a logistic blend of the boosting, logistic regression on recency, frequency, spend and "
              "tenure, and the BG/NBD forecast, weighed on out-of-fold predictions of the training snapshot",
        "es": "probabilidad = una mezcla logística del boosting, la regresión logística sobre recencia, frecuencia, "
              "gasto y antigüedad y la previsión BG/NBD, ponderada con predicciones fuera de pliegue de la "
              "instantánea de entrenamiento"},
    "spend_blend": {
        "en": "spend = {boosting:g} x boosting + {forecast:g} x the BG/NBD x Gamma-Gamma forecast (the weight with "
              "the lowest validation RMSE on the training snapshot)",
        "es": "gasto = {boosting:g} x boosting + {forecast:g} x la previsión BG/NBD x Gamma-Gamma (el peso con menor "
              "RMSE de validación en la instantánea de entrenamiento)"},
}


def note(code: str, **params: Any) -> dict[str, Any]:
    if code not in NOTES:
        raise KeyError(f"no template for note {code!r}")
    return {"code": code, "params": params}


def render_note(entry: dict[str, Any], wording: str) -> str:
    templates = NOTES[entry["code"]]
    return templates.get(wording, templates["en"]).format(**entry.get("params") or {})


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
    out = dict(card)
    if "note_codes" in out:
        out["notes"] = [render_note(n, wording) for n in out["note_codes"]]
    if wording == "en":
        return out
    if isinstance(out.get("quality"), str):
        out["quality"] = _band(out["quality"])
    for key in ("warning", "excluded"):
        if isinstance(out.get(key), str):
            out[key] = _sentence(out[key])
    out["notes"] = [render_note(n, wording) for n in out["note_codes"]] if "note_codes" in out \
        else [_sentence(n) for n in out.get("notes") or []]
    if isinstance(out.get("sufficiency"), dict):
        out["sufficiency"] = {**out["sufficiency"],
                              "reasons": [_sentence(r) for r in out["sufficiency"].get("reasons") or []]}
    out["language"] = wording
    return out
