"""What kind of refusal an error is, in each wording a person may read it in (the page, the CLI): one headline
per error code, in English and Spanish. The detail stays the service's own sentence (it names the data and the
next step, and is logged and tested as written); the headline tells a Spanish reader, in Spanish, what happened.
`tests/test_error_words.py` holds every code the services and the guard can answer to a headline in each wording."""

from __future__ import annotations

WORDINGS = ("en", "es")

TITLES: dict[str, dict[str, str]] = {
    "error": {"en": "something failed", "es": "algo ha fallado"},
    "not_found": {"en": "not found", "es": "no encontrado"},
    "invalid_request": {"en": "invalid request", "es": "petición no válida"},
    "unavailable": {"en": "not available", "es": "no disponible"},
    "conflict": {"en": "conflict", "es": "conflicto"},
    "sync_running": {"en": "a sync is already running", "es": "ya hay una sincronización en curso"},
    "rate_limited": {"en": "too many requests", "es": "demasiadas peticiones"},
    "source_not_allowed": {"en": "source not allowed", "es": "origen no permitido"},
    "unauthorized": {"en": "a valid API key is needed", "es": "hace falta una clave de API válida"},
    "forbidden": {"en": "not allowed with this key", "es": "no permitido con esta clave"},
    "misdirected_request": {"en": "wrong host for this server", "es": "host equivocado para este servidor"},
    "payload_too_large": {"en": "request too large", "es": "petición demasiado grande"},
    "webhook_disabled": {"en": "webhook not enabled", "es": "webhook no activado"},
    "model_exists": {"en": "that model already exists", "es": "ese modelo ya existe"},
    "model_unusable": {"en": "model can no longer be used: retrain it",
                       "es": "el modelo ya no se puede usar: vuelve a entrenarlo"},
    "insufficient_data": {"en": "not enough data", "es": "no hay datos suficientes"},
    "invalid_cron": {"en": "invalid schedule", "es": "programación no válida"},
    "tracardi": {"en": "Tracardi failed", "es": "Tracardi ha fallado"},
}


def title(code: str, wording: str) -> str:
    """The headline of an error code in a wording (English where the wording is unknown)."""
    words = TITLES.get(code) or TITLES["error"]
    return words.get(wording) or words["en"]


def by_wording() -> dict[str, dict[str, str]]:
    """{wording: {code: headline}}: what the page loads (`GET /static-words/errors.json`)."""
    return {w: {code: words[w] for code, words in TITLES.items()} for w in WORDINGS}
