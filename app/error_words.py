"""What a refusal says, in each wording a person may read it in (the page, the CLI, an agent's tool):
- one headline per error code (`TITLES`), in English and Spanish: what kind of refusal it is;
- the sentences of the refusals people meet most (`SENTENCES`: a missing segment, model, profile, job), as a key
  and parameters: raised with `DomainError.worded(key, ...)`, they carry every wording (`details`), and the
  English one is their message. Other refusals keep the service's own English sentence after the headline.
`tests/test_error_words.py` holds every code the services and the guard can answer to a headline in each wording,
and every sentence to the same parameters in each."""

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


# {name!r} quotes what the caller sent (cut first by the raiser), as the English messages always did
SENTENCES: dict[str, dict[str, str]] = {
    "segment_not_found": {"en": "segment {segment!r} not found", "es": "no existe el segmento {segment!r}"},
    "model_not_found": {"en": "model {model!r} not found", "es": "no existe el modelo {model!r}"},
    "no_active_model": {"en": "no active model for goal {goal!r}: train one first",
                        "es": "no hay ningún modelo activo para el objetivo {goal!r}: entrena uno primero"},
    "no_model_for_goal": {"en": "no active model for goal {goal!r}; train one (profile-ai train --goal ...)",
                          "es": "no hay ningún modelo activo para el objetivo {goal!r}; entrena uno "
                                "(profile-ai train --goal ...)"},
    "no_model_for_goal_but": {"en": "no active model for goal {goal!r}; train one (profile-ai train --goal ...); "
                                    "goals with a model: {goals}",
                              "es": "no hay ningún modelo activo para el objetivo {goal!r}; entrena uno "
                                    "(profile-ai train --goal ...); objetivos con modelo: {goals}"},
    "profile_not_indexed": {"en": "profile {profile} is not in the index (never synced, or deleted)",
                            "es": "el perfil {profile} no está en el índice (nunca se sincronizó, o se borró)"},
    "profile_without_vector": {"en": "profile {profile} has no vector",
                               "es": "el perfil {profile} no tiene vector"},
    "job_not_found": {"en": "job {job} not found", "es": "no existe el trabajo {job}"},
    "unknown_job": {"en": "unknown job {job!r}: one of {names}",
                    "es": "trabajo desconocido {job!r}: uno de {names}"},
    "schedule_not_found": {"en": "schedule {schedule!r} not found", "es": "no existe la programación {schedule!r}"},
    # what a marketer meets on the page: an empty question, a filter written wrong, a field the data lacks
    "query_empty": {"en": "query is empty", "es": "la pregunta está vacía"},
    "invalid_filter": {"en": "invalid filter {expr!r}: expected KEY=VALUE, KEY!=VALUE, KEY>=N, KEY<=N, KEY>N or KEY<N",
                       "es": "filtro no válido {expr!r}: se espera CLAVE=VALOR, CLAVE!=VALOR, CLAVE>=N, CLAVE<=N, "
                             "CLAVE>N o CLAVE<N"},
    "filter_not_number_or_date": {"en": "filter {field}: {raw!r} is neither a number nor an ISO date",
                                  "es": "filtro {field}: {raw!r} no es ni un número ni una fecha ISO"},
    "too_many_filters": {"en": "at most {n} filters", "es": "como máximo {n} filtros"},
    "unknown_fields": {"en": "unknown field(s): {fields}: use a path such as traits.plan, data.pii.gender or event_count",
                       "es": "campo(s) desconocido(s): {fields}: usa una ruta como traits.plan, data.pii.gender o "
                             "event_count"},
    "too_few_to_discover": {"en": "{n} profiles indexed: sync at least 10 before discovering segments",
                            "es": "{n} perfiles indexados: sincroniza al menos 10 antes de descubrir segmentos"},
    "segment_retired": {"en": "segment {segment!r} is retired; discover again or publish a live one",
                        "es": "el segmento {segment!r} está retirado; vuelve a descubrir o publica uno vigente"},
    "holdout_range": {"en": "holdout must be between 0 and {most} (a share of the members)",
                      "es": "el grupo de control debe estar entre 0 y {most} (una parte de los miembros)"},
    # the rest of what a filter or a page of answers can get wrong
    "invalid_filter_field": {"en": "invalid filter field {field!r}: use a dotted path such as traits.plan",
                             "es": "campo de filtro no válido {field!r}: usa una ruta con puntos como traits.plan"},
    "filter_not_finite": {"en": "filter {field}: a range needs a finite number, got {raw!r}",
                          "es": "filtro {field}: un rango necesita un número finito, no {raw!r}"},
    "filter_range_value": {"en": "filter {field}: a range needs a number or a date, got {raw!r}",
                           "es": "filtro {field}: un rango necesita un número o una fecha, no {raw!r}"},
    "filter_range_ops": {"en": "filter {field}: a range takes gte/gt/lte/lt (or 'not' alone), got {ops}",
                         "es": "filtro {field}: un rango admite gte/gt/lte/lt (o solo 'not'), no {ops}"},
    "filter_mixed_range": {"en": "filter {field}: mixes numbers and dates",
                           "es": "filtro {field}: mezcla números y fechas"},
    "filter_not_values": {"en": "filter {field}: 'not' takes a value or a list of values",
                          "es": "filtro {field}: 'not' admite un valor o una lista de valores"},
    "filter_list_values": {"en": "filter {field}: a list must hold strings, numbers or booleans",
                           "es": "filtro {field}: una lista debe contener textos, números o booleanos"},
    "filter_value": {"en": "filter {field}: unsupported value {raw!r}",
                     "es": "filtro {field}: valor no admitido {raw!r}"},
    "filters_shape": {"en": "filters must be an object or a list of 'KEY=VALUE' strings",
                      "es": "los filtros deben ser un objeto o una lista de textos 'CLAVE=VALOR'"},
    "tier_format": {"en": "tier {tier!r}: write GOAL:TIER, e.g. 'churn:top 10%'",
                    "es": "nivel {tier!r}: escribe OBJETIVO:NIVEL, p. ej. 'churn:top 10%'"},
    "limit_range": {"en": "limit must be between 1 and {most}", "es": "el límite debe estar entre 1 y {most}"},
}


def sentences(key: str, **params: object) -> dict[str, str]:
    """A sentence of `SENTENCES` in every wording, its parameters filled in."""
    return {wording: template.format(**params) for wording, template in SENTENCES[key].items()}


def title(code: str, wording: str) -> str:
    """The headline of an error code in a wording (English where the wording is unknown)."""
    words = TITLES.get(code) or TITLES["error"]
    return words.get(wording) or words["en"]


def by_wording() -> dict[str, dict[str, str]]:
    """{wording: {code: headline}}: what the page loads (`GET /static-words/errors.json`)."""
    return {w: {code: words[w] for code, words in TITLES.items()} for w in WORDINGS}
