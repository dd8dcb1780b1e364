"""How keys and values read as words: one reading for documents, redaction and query understanding."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# yes/no words as people and exports write them (Telco-style "Yes"/"No", Spanish "sí")
YES_WORDS = frozenset({"yes", "true", "y", "si", "sí"})
NO_WORDS = frozenset({"no", "false", "n"})
# Spanish words for the fields of Tracardi's profile data, which its schema names in English (0.9.0-dev
# tracardi/domain/profile_data.py: pii.gender, pii.language, pii.education.level, pii.civil.status,
# contact.address.town / county / country, job.position / salary / type / department, job.company.name / size /
# segment, preferences.*), and the commonest trait words: "clientes por ocupación" is `data.job.position`
SPANISH_FIELD_WORDS = {
    "ocupacion": "position", "ocupaciones": "position", "profesion": "position", "profesiones": "position",
    "puesto": "position", "puestos": "position", "cargo": "position", "cargos": "position", "oficio": "position",
    "trabajo": "job", "empleo": "job", "genero": "gender", "sexo": "gender", "ciudad": "town", "ciudades": "town",
    "localidad": "town", "municipio": "town", "pais": "country", "paises": "country", "provincia": "county",
    "provincias": "county", "region": "county", "idioma": "language", "idiomas": "language", "lengua": "language",
    "educacion": "education", "estudios": "education", "civil": "civil", "empresa": "company",
    "empresas": "company", "compania": "company", "departamento": "department", "departamentos": "department",
    "salario": "salary", "sueldo": "salary", "segmento": "segment", "tamano": "size", "marcas": "brands",
    "colores": "colors", "tallas": "sizes", "canales": "channels", "dispositivos": "devices",
    "servicios": "services", "edad": "age", "contrato": "contract", "nivel": "level", "tipo": "type",
}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def as_flag(value: Any) -> bool | None:
    """True/False for booleans and yes/no words; None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in YES_WORDS:
            return True
        if word in NO_WORDS:
            return False
    return None


def fold(text: str) -> str:
    """Accents dropped, case kept: "Dirección" -> "Direccion"."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def split_camel(text: str) -> str:
    """Spaces at camelCase boundaries, acronyms kept whole: "StreamingTV" -> "Streaming TV",
    "IPAddress" -> "IP Address"."""
    return _CAMEL.sub(" ", text)
