"""What a refusal says, in each wording a person may read it in (the page, the CLI, an agent's tool):
- one headline per error code (`TITLES`), in English and Spanish: what kind of refusal it is;
- the sentences of the refusals people meet most (`SENTENCES`: a missing segment, model, profile, job), as a key
  and parameters: raised with `DomainError.worded(key, ...)`, they carry every wording (`details`), and the
  English one is their message. `tests/test_error_words.py` fails on a service refusal raised with an English-only
  literal, so a new one cannot silently stay English (Tracardi's webhook and the agents' tools are for machines).
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
    "event_log_too_slow": {"en": "reading who had {type} events about that took longer than {seconds} s: ask without "
                                 "what the events were about, or with a filter",
                           "es": "leer quién tuvo eventos {type} sobre eso tardó más de {seconds} s: pregunta sin "
                                 "aquello de lo que trataban los eventos, o con un filtro"},
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
    "page_range": {"en": "limit must be 1..{most} and offset >= 0",
                   "es": "el límite debe estar entre 1 y {most} y el desplazamiento ser >= 0"},
    "offset_negative": {"en": "offset must be >= 0", "es": "el desplazamiento debe ser >= 0"},
    "profile_id_length": {"en": "profile id must be 1-200 characters",
                          "es": "el id de perfil debe tener entre 1 y 200 caracteres"},
    # predictions: what training, scoring and importing refuse
    "time_not_iso": {"en": "{field} {text!r} is not an ISO time (e.g. 1997-09-30T00:00:00Z)",
                     "es": "{field} {text!r} no es una hora ISO (p. ej. 1997-09-30T00:00:00Z)"},
    "quality_not_kept": {"en": "live model quality is not kept in this deployment",
                         "es": "este despliegue no guarda la calidad de los modelos en uso"},
    "unknown_goal": {"en": "unknown goal {goal!r}: use {goals}, event:TYPE or event:TYPE[key=value]",
                     "es": "objetivo desconocido {goal!r}: usa {goals}, event:TIPO o event:TIPO[clave=valor]"},
    "no_events_of_type": {"en": "no {type!r} events in the synced data; known types: {types}",
                          "es": "no hay eventos {type!r} en los datos sincronizados; tipos conocidos: {types}"},
    "no_events": {"en": "no events: sync a source first", "es": "no hay eventos: sincroniza primero un origen"},
    "label_window_after_end": {
        "en": "the label window ({as_of} + {days} days) ends after the last event ({end}): choose an earlier "
              "--as-of or a shorter --horizon-days",
        "es": "la ventana de la etiqueta ({as_of} + {days} días) termina después del último evento ({end}): elige "
              "un --as-of anterior o un --horizon-days más corto"},
    "as_of_before_start": {"en": "as_of {as_of} is before the first event ({start})",
                           "es": "as_of {as_of} es anterior al primer evento ({start})"},
    "not_enough_data": {"en": "not enough data: {reason}", "es": "no hay datos suficientes: {reason}"},
    "no_purchase_types": {
        "en": "no event type counts as a purchase, so {goal} cannot be learned: name them in "
              "PROFILE_AI_PREDICTION__PURCHASE_TYPES or give the type a value in the event dictionary "
              "(PROFILE_AI_SYNC__EVENT_DICTIONARY); event types in the data: {types}",
        "es": "ningún tipo de evento cuenta como compra, así que no se puede aprender {goal}: nómbralos en "
              "PROFILE_AI_PREDICTION__PURCHASE_TYPES o da al tipo un importe en el diccionario de eventos "
              "(PROFILE_AI_SYNC__EVENT_DICTIONARY); tipos de evento en los datos: {types}"},
    "not_enough_to_train": {"en": "not enough data to train {goal}: {reasons}",
                            "es": "no hay datos suficientes para entrenar {goal}: {reasons}"},
    "too_few_rows": {"en": "only {n} profiles in the training snapshot (need {need})",
                     "es": "solo {n} perfiles en la instantánea de entrenamiento (hacen falta {need})"},
    "too_few_positives": {"en": "only {n} positives in the label window (need {need})",
                          "es": "solo {n} positivos en la ventana de la etiqueta (hacen falta {need})"},
    "too_few_with_spend": {"en": "only {n} profiles with spend in the label window (need {need})",
                           "es": "solo {n} perfiles con gasto en la ventana de la etiqueta (hacen falta {need})"},
    "too_few_negatives": {"en": "only {n} negatives in the label window (need {need})",
                          "es": "solo {n} negativos en la ventana de la etiqueta (hacen falta {need})"},
    "model_exists_train": {"en": "model {model} already exists (goal {goal!r}): rename or retire that model, then "
                                 "train again",
                           "es": "el modelo {model} ya existe (objetivo {goal!r}): renómbralo o retíralo y vuelve a "
                                 "entrenar"},
    "model_exists_import": {"en": "model {model} already exists (goal {goal!r}): the import's goal {new!r} names the "
                                  "same model id; nothing was stored. Use a goal name that differs in letters, not "
                                  "only in case or punctuation",
                            "es": "el modelo {model} ya existe (objetivo {goal!r}): el objetivo importado {new!r} da el "
                                  "mismo id de modelo; no se guardó nada. Usa un nombre de objetivo con otras letras, "
                                  "no solo otras mayúsculas o signos"},
    "order_needed": {"en": "say what to rank customers by: --by spend_total | purchases | event_count | last_seen | "
                           "first_seen | a numeric trait | counts.TYPE, or in the question ('who spent the most', "
                           "'the newest customers', 'with the most page views')",
                     "es": "indica por qué ordenar a los clientes: --by spend_total | purchases | event_count | last_seen "
                           "| first_seen | un rasgo numérico | counts.TIPO, o en la pregunta ('los que más gastaron', "
                           "'los clientes más nuevos', 'con más visitas')"},
    "unknown_ranking": {"en": "customers cannot be ranked by {field!r}: no customer holds it as a number",
                        "es": "no se puede ordenar a los clientes por {field!r}: ningún cliente lo tiene como número"},
    "goal_needed": {"en": "say which goal to rank by: --goal purchase | churn | ltv | event:TYPE, or in the question "
                          "('most likely to churn')",
                    "es": "indica por qué objetivo ordenar: --goal purchase | churn | ltv | event:TIPO, o en la "
                          "pregunta ('con más riesgo de irse')"},
    "model_or_goal": {"en": "pass a model id or a goal", "es": "indica un id de modelo o un objetivo"},
    "model_imported": {"en": "model {model!r} was imported: its scores come from where it runs "
                             "(POST /v1/predictions/import), it cannot score here",
                       "es": "el modelo {model!r} es importado: sus puntuaciones vienen de donde se ejecuta "
                             "(POST /v1/predictions/import), aquí no puede puntuar"},
    "model_unusable": {"en": "model {model!r} cannot be loaded: {reason}",
                       "es": "el modelo {model!r} no se puede cargar: {reason}"},
    "prediction_needs_value": {"en": "every prediction needs a probability or a value",
                               "es": "cada predicción necesita una probabilidad o un valor"},
    "predictions_mixed": {"en": "mix of probabilities and values: send one kind per model",
                          "es": "mezcla de probabilidades y valores: envía un solo tipo por modelo"},
    "no_known_profiles": {"en": "none of the profile ids is known here: sync first",
                          "es": "ninguno de los ids de perfil se conoce aquí: sincroniza primero"},
    "never_scored": {"en": "model {model!r} was never scored: nothing to check yet (profile-ai score --goal ...)",
                     "es": "el modelo {model!r} nunca ha puntuado: aún no hay nada que comprobar "
                           "(profile-ai score --goal ...)"},
    "retention_too_short": {"en": "snapshot retention of {days} days is shorter than the longest horizon ({longest} "
                                  "days): predictions would be deleted before they can be checked",
                            "es": "conservar las instantáneas {days} días es menos que el horizonte más largo "
                                  "({longest} días): las predicciones se borrarían antes de poder comprobarlas"},
    # segments and audiences
    "k_range": {"en": "k_min {k_min} > k_max {k_max}", "es": "k_min {k_min} > k_max {k_max}: el mínimo supera al "
                                                              "máximo"},
    "too_many_clusters": {"en": "n_clusters={n} is too many for {profiles} profiles",
                          "es": "n_clusters={n} son demasiados grupos para {profiles} perfiles"},
    "weights_zero": {"en": "vector_weight and behaviour_weight cannot both be 0",
                     "es": "vector_weight y behaviour_weight no pueden ser ambos 0"},
    "cannot_discover": {"en": "cannot discover segments: {reason}",
                        "es": "no se pueden descubrir segmentos: {reason}"},
    "holdout_fixed": {"en": "segment {segment!r} keeps its holdout of {share} for its life (arms never reshuffle); "
                            "create a new segment for another split",
                      "es": "el segmento {segment!r} mantiene su grupo de control del {share} para siempre (los grupos "
                            "nunca se rebarajan); crea un segmento nuevo para otro reparto"},
    "no_members_to_look_alike": {"en": "segment {segment!r} has no members to look alike",
                                 "es": "el segmento {segment!r} no tiene miembros a los que parecerse"},
    "goal_without_scores": {"en": "goal {goal!r} has no scores: train and score a model for it first "
                                  "(profile-ai train, profile-ai score)",
                            "es": "el objetivo {goal!r} no tiene puntuaciones: entrena y puntúa antes un modelo "
                                  "(profile-ai train, profile-ai score)"},
    "model_not_scored": {"en": "model {model!r} for goal {goal!r} has scored no one yet: score it first "
                               "(profile-ai score --goal {goal})",
                         "es": "el modelo {model!r} del objetivo {goal!r} aún no ha puntuado a nadie: puntúalo "
                               "primero (profile-ai score --goal {goal})"},
    "one_audience_rule": {"en": "give exactly one of tier, top_percent, min_score, capture",
                          "es": "indica exactamente uno de tier, top_percent, min_score, capture"},
    "outcome_unseen": {"en": "outcome {outcome!r} names no event type seen in the data ({n} known, e.g. {types})",
                       "es": "el resultado {outcome!r} no nombra ningún tipo de evento de los datos ({n} conocidos, "
                             "p. ej. {types})"},
    "unknown_outcome": {"en": "unknown outcome {outcome!r}: use purchase (the event types the purchase goal counts), "
                              "spend (the sum of money amounts), or event:TYPE (any event type seen in the data)",
                        "es": "resultado desconocido {outcome!r}: usa purchase (los tipos de evento que cuenta el "
                              "objetivo de compra), spend (la suma de importes) o event:TIPO (cualquier tipo de "
                              "evento de los datos)"},
    "uplift_needs_conversion": {"en": "uplift rules need a conversion outcome: purchase or event:TYPE",
                                "es": "las reglas de uplift necesitan un resultado de conversión: purchase o "
                                      "event:TIPO"},
    "days_range": {"en": "days must be 1-{most}", "es": "los días deben estar entre 1 y {most}"},
    "no_holdout": {"en": "segment {segment!r} has no holdout, so there is nothing to compare with: publish it with a "
                         "holdout (e.g. --holdout 0.1) to measure lift",
                   "es": "el segmento {segment!r} no tiene grupo de control, así que no hay con qué comparar: "
                         "publícalo con uno (p. ej. --holdout 0.1) para medir el efecto"},
    # schedules and jobs
    "cron_parse": {"en": "cron expression {cron!r} does not parse: five fields, minute hour day month weekday "
                         "(e.g. '*/5 * * * *' every 5 minutes, '0 3 * * *' at 03:00 UTC)",
                   "es": "la expresión cron {cron!r} no se entiende: cinco campos, minuto hora día mes día-de-la-"
                         "semana (p. ej. '*/5 * * * *' cada 5 minutos, '0 3 * * *' a las 03:00 UTC)"},
    "cron_never": {"en": "cron expression {cron!r} never fires", "es": "la expresión cron {cron!r} nunca se cumple"},
    "job_args": {"en": "job {job!r} takes {takes}, not {extra}", "es": "el trabajo {job!r} admite {takes}, no {extra}"},
    "job_no_args": {"en": "job {job!r} takes no arguments, not {extra}",
                    "es": "el trabajo {job!r} no admite argumentos, no {extra}"},
    "partitions_range": {"en": "partitions: an integer from 1 to 1024", "es": "partitions: un entero de 1 a 1024"},
    "full_flag": {"en": "full: true or false", "es": "full: true o false"},
    "too_frequent": {"en": "{job} may run at most every {minutes} minutes; {cron!r} fires {gap} minutes apart",
                     "es": "{job} puede ejecutarse como mucho cada {minutes} minutos; {cron!r} se cumple cada "
                           "{gap} minutos"},
    "schedule_name": {"en": "schedule name: 1-63 lowercase letters, digits, '-', '_' or '.'",
                      "es": "nombre de programación: de 1 a 63 minúsculas, dígitos, '-', '_' o '.'"},
    # answers, requests, keys, erasure, syncs
    "max_tokens_range": {"en": "max_tokens must be 1..{most}", "es": "max_tokens debe estar entre 1 y {most}"},
    "max_tokens_too_small": {"en": "max_tokens {max_tokens} is below what this answer needs with one row: {need} "
                                   "(tokens = ceil(characters of the compact JSON answer / 4))",
                             "es": "max_tokens {max_tokens} es menos de lo que esta respuesta necesita con una fila: "
                                   "{need} (tokens = techo(caracteres de la respuesta JSON compacta / 4))"},
    "body_not_json": {"en": "request body is not valid JSON (NaN and Infinity are not JSON): {reason}",
                      "es": "el cuerpo de la petición no es JSON válido (NaN e Infinity no son JSON): {reason}"},
    "body_too_deep": {"en": "request body nests deeper than {most} levels",
                      "es": "el cuerpo de la petición anida más de {most} niveles"},
    "no_live_key": {"en": "no live key {key_id!r}", "es": "no hay ninguna clave vigente {key_id!r}"},
    "profile_not_held": {"en": "profile {profile} is not held", "es": "el perfil {profile} no está guardado aquí"},
    "profile_already_erased": {"en": "profile {profile} is not held (already erased)",
                               "es": "el perfil {profile} no está guardado aquí (ya se borró)"},
    "sync_running_here": {"en": "a sync is already running in this process; GET /v1/sync shows its progress",
                          "es": "ya hay una sincronización en curso en este proceso; GET /v1/sync muestra su avance"},
    "sync_running_elsewhere": {"en": "a sync is running in another process ({holder}); try again when it ends",
                               "es": "hay una sincronización en curso en otro proceso ({holder}); vuelve a intentarlo "
                                     "cuando termine"},
    "source_not_configured": {"en": "source {source!r} is not one of this deployment's configured sources ({n} "
                                    "configured: PROFILE_AI_SYNC__SOURCE, PROFILE_AI_TRACARDI__URL); sources are "
                                    "configuration, not request data",
                              "es": "el origen {source!r} no es uno de los configurados en este despliegue ({n} "
                                    "configurados: PROFILE_AI_SYNC__SOURCE, PROFILE_AI_TRACARDI__URL); los orígenes "
                                    "son configuración, no datos de la petición"},
    "jobs_rate_limited": {"en": "more than {most} jobs queued by this key: retry in {wait} s",
                          "es": "más de {most} trabajos en cola con esta clave: reintenta en {wait} s"},
    "filters_list_strings": {"en": "filters: a list must hold strings like 'traits.plan=gold'",
                             "es": "filtros: una lista debe contener textos como 'traits.plan=gold'"},
    "source_unreadable": {"en": "cannot sync from this source: {reason}",
                          "es": "no se puede sincronizar desde este origen: {reason}"},
    "expiry_format": {"en": "expiry {text!r} is not a duration such as 30m, 12h, 90d or 8w",
                      "es": "la caducidad {text!r} no es una duración como 30m, 12h, 90d u 8w"},
    "expiry_max": {"en": "expiry: at most {most} days", "es": "caducidad: como máximo {most} días"},
    "webhook_rate_limited": {"en": "too many failed webhook credentials from this address: retry in {wait} s",
                             "es": "demasiadas credenciales de webhook fallidas desde esta dirección: reintenta en "
                                   "{wait} s"},
}


# a request that breaks its schema (FastAPI's validation, pydantic's error types): what each type says in the other
# wordings, from pydantic's own parameters (`ctx`); a type not listed keeps pydantic's English
VALIDATION: dict[str, dict[str, str]] = {
    "missing": {"es": "falta este campo"},
    "extra_forbidden": {"es": "este campo no se admite"},
    "less_than_equal": {"es": "debe ser como máximo {le}"},
    "less_than": {"es": "debe ser menor que {lt}"},
    "greater_than_equal": {"es": "debe ser como mínimo {ge}"},
    "greater_than": {"es": "debe ser mayor que {gt}"},
    "string_too_long": {"es": "como máximo {max_length} caracteres"},
    "string_too_short": {"es": "al menos {min_length} caracteres"},
    "too_long": {"es": "como máximo {max_length} elementos"},
    "too_short": {"es": "al menos {min_length} elementos"},
    "literal_error": {"es": "debe ser {expected}"},
    "enum": {"es": "debe ser {expected}"},
    "string_type": {"es": "debe ser un texto"},
    "int_type": {"es": "debe ser un número entero"},
    "int_parsing": {"es": "debe ser un número entero"},
    "int_from_float": {"es": "debe ser un número entero, sin decimales"},
    "float_type": {"es": "debe ser un número"},
    "float_parsing": {"es": "debe ser un número"},
    "finite_number": {"es": "debe ser un número finito"},
    "bool_type": {"es": "debe ser verdadero o falso"},
    "bool_parsing": {"es": "debe ser verdadero o falso"},
    "dict_type": {"es": "debe ser un objeto"},
    "list_type": {"es": "debe ser una lista"},
    "model_attributes_type": {"es": "debe ser un objeto"},
    "json_invalid": {"es": "no es JSON válido"},
    "string_pattern_mismatch": {"es": "no tiene la forma esperada ({pattern})"},
    "datetime_parsing": {"es": "debe ser una fecha y hora ISO"},
    "datetime_from_date_parsing": {"es": "debe ser una fecha y hora ISO"},
}


def validation_words(where: str, kind: str, english: str, ctx: dict[str, object] | None) -> dict[str, str] | None:
    """A schema error's sentence in every wording ("limit: debe ser como máximo 100"), or None where its type has
    no words here (its English stays alone)."""
    words = VALIDATION.get(kind)
    if words is None:
        return None
    try:
        out = {w: template.format(**{k: str(v)[:60] for k, v in (ctx or {}).items()}) for w, template in words.items()}
    except (KeyError, IndexError, ValueError):  # a ctx without the parameter: say it in English only
        return None
    return {"en": f"{where}: {english}" if where else english, **{w: f"{where}: {t}" if where else t
                                                                   for w, t in out.items()}}


class PerWording(dict[str, str]):
    """A parameter that is itself worded (a list of reasons): each wording's sentence takes its own text."""


def sentences(key: str, /, **params: object) -> dict[str, str]:
    """A sentence of `SENTENCES` in every wording, its parameters filled in."""
    return {wording: template.format(**{k: v.get(wording, v.get("en", "")) if isinstance(v, PerWording) else v
                                        for k, v in params.items()})
            for wording, template in SENTENCES[key].items()}


def title(code: str, wording: str) -> str:
    """The headline of an error code in a wording (English where the wording is unknown)."""
    words = TITLES.get(code) or TITLES["error"]
    return words.get(wording) or words["en"]


def by_wording() -> dict[str, dict[str, str]]:
    """{wording: {code: headline}}: what the page loads (`GET /static-words/errors.json`)."""
    return {w: {code: words[w] for code, words in TITLES.items()} for w in WORDINGS}
