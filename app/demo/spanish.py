"""A Spanish rendering of the MovieLens demo, for the Spanish and cross-lingual search evaluation.

What a Spanish-speaking company's Tracardi would hold: genre names, occupations and gender in Spanish, trait
keys in Spanish (`edad`), while event types and property names stay as the integration named them (mixed data,
as in the field). Movie titles are left as they are (most are known by their original title). The ground
truth does not change: relevance is computed from the same ratings (app/demo/evaluation.py).
"""

from __future__ import annotations

import copy
from typing import Any

GENRES_ES = {
    "Action": "Acción", "Adventure": "Aventuras", "Animation": "Animación", "Children's": "Infantil",
    "Comedy": "Comedia", "Crime": "Policíaca", "Documentary": "Documental", "Drama": "Drama",
    "Fantasy": "Fantasía", "Film-Noir": "Cine negro", "Horror": "Terror", "Musical": "Musical",
    "Mystery": "Misterio", "Romance": "Romántica", "Sci-Fi": "Ciencia ficción", "Thriller": "Suspense",
    "War": "Bélica", "Western": "Wéstern", "unknown": "desconocido",
}
OCCUPATIONS_ES = {
    "administrator": "administrativo", "artist": "artista", "doctor": "médico", "educator": "docente",
    "engineer": "ingeniero", "entertainment": "espectáculos", "executive": "directivo", "healthcare": "sanidad",
    "homemaker": "amo de casa", "lawyer": "abogado", "librarian": "bibliotecario", "marketing": "marketing",
    "none": "ninguna", "other": "otra", "programmer": "programador", "retired": "jubilado",
    "salesman": "comercial", "scientist": "científico", "student": "estudiante", "technician": "técnico",
    "writer": "escritor",
}
GENDER_ES = {"male": "hombre", "female": "mujer"}

# The English genre-fan queries of app/demo/evaluation.py, as a Spanish marketer would ask them.
GENRE_QUERIES_ES: dict[str, str] = {
    "aficionados al cine de terror": "Horror",
    "personas a las que les encantan los documentales": "Documentary",
    "entusiastas de la ciencia ficción": "Sci-Fi",
    "clientes que disfrutan de las películas románticas": "Romance",
    "aficionados a los wésterns": "Western",
    "personas a las que les gustan los musicales": "Musical",
    "amantes del cine negro": "Film-Noir",
    "aficionados al cine bélico": "War",
    "personas a las que les encantan las películas de animación": "Animation",
    "aficionados a las películas policíacas y de gánsteres": "Crime",
    "espectadores de películas infantiles y familiares": "Children's",
    "amantes del misterio": "Mystery",
}


def to_spanish(profiles: list[dict[str, Any]], events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]],
                                                                                     list[dict[str, Any]]]:
    """Copies of the MovieLens profiles and events with Spanish values and trait keys."""
    out_p = []
    for p in profiles:
        q = copy.deepcopy(p)
        q["traits"] = {"edad": q["traits"].get("age")}
        pii, job = q["data"].get("pii", {}), q["data"].get("job", {})
        pii["gender"] = GENDER_ES.get(pii.get("gender"), pii.get("gender"))
        job["position"] = OCCUPATIONS_ES.get(job.get("position"), job.get("position"))
        out_p.append(q)
    out_e = []
    for e in events:
        f = copy.deepcopy(e)
        f["properties"]["genres"] = [GENRES_ES.get(g, g) for g in f["properties"].get("genres", [])]
        out_e.append(f)
    return out_p, out_e
