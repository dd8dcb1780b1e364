"""The words our documents are built from, per wording language (the data itself is never translated).

Numbers and months follow the language: `1,234.50` and "March 2024" in English, `1.234,50` and "marzo de 2024"
in Spanish. Every template takes the same named fields in both languages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "favourite": "Favourite {name}: {values}.",
        "frequent": "Most frequent {name}: {values}.",
        "also": "Also {name}: {values}.",
        "distinctive": "Stands out for {name}: {values}.",
        "about": "About: {facts}.",
        "interests": "interests {values}",
        "segments": "in segments {values}",
        "no_events": "Activity: no events recorded.",
        "activity": "Activity: {n} events from {first} to {last} on {days} days: {kinds}.",
        "rating": " Average rating {mean}/{scale}.",
        "spend": "Spend: {n} purchases totalling {total}{cur}, average {mean}{cur}.",
        "liked": "Liked: {values}.",
        "often": "Most often: {values}.",
        "recently": "Recently: {values}.",
        "notable": "Notable: {values}.",
        "empty": "Customer profile with no recorded activity.",
        "events_of": "{type} events",
        "unknown": "unknown",
        "yes": "yes",
        "no": "no",
    },
    "es": {
        "favourite": "{name} favoritos: {values}.",
        "frequent": "{name} más frecuentes: {values}.",
        "also": "También {name}: {values}.",
        "distinctive": "Destaca por {name}: {values}.",
        "about": "Perfil: {facts}.",
        "interests": "intereses {values}",
        "segments": "en los segmentos {values}",
        "no_events": "Actividad: ningún evento registrado.",
        "activity": "Actividad: {n} eventos de {first} a {last} en {days} días: {kinds}.",
        "rating": " Valoración media {mean}/{scale}.",
        "spend": "Gasto: {n} compras por un total de {total}{cur}, media {mean}{cur}.",
        "liked": "Le gustaron: {values}.",
        "often": "Con más frecuencia: {values}.",
        "recently": "Recientemente: {values}.",
        "notable": "Destacado: {values}.",
        "empty": "Perfil de cliente sin actividad registrada.",
        "events_of": "eventos {type}",
        "unknown": "desconocido",
        "yes": "sí",
        "no": "no",
    },
}
MONTHS = {
    "es": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
           "noviembre", "diciembre"],
}


class Wording:
    def __init__(self, lang: str = "en") -> None:
        if lang not in WORDS:
            raise ValueError(f"unknown wording {lang!r}: use one of {', '.join(WORDS)}")
        self.lang = lang
        self._words = WORDS[lang]

    def __call__(self, key: str, **fields: Any) -> str:
        return self._words[key].format(**fields)

    def month(self, dt: datetime | None) -> str:
        if dt is None:
            return self._words["unknown"]
        if self.lang == "es":
            return f"{MONTHS['es'][dt.month - 1]} de {dt.year}"
        return dt.strftime("%B %Y")

    def money(self, x: float) -> str:
        text = f"{x:,.2f}"
        return text.replace(",", "_").replace(".", ",").replace("_", ".") if self.lang == "es" else text

    def number(self, x: float, fmt: str = ".1f") -> str:
        text = format(x, fmt)
        return text.replace(".", ",") if self.lang == "es" else text
