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
    "fidelidad": "loyalty", "lealtad": "loyalty", "canal": "channel", "suscripcion": "subscription",
    "categoria": "category", "categorias": "categories", "tarifa": "plan", "planes": "plan",
}
# The same value of a person (or a flag about them) in either language, and its everyday names: a field whose
# value or key is one of these is matched by the others too, by their words ("jubilados" is `retired`, "sin
# hijos" is `dependientes=0`, "retired" is `jubilado`). The multilingual model reads most such pairs by meaning,
# but these fell under its bar (tests/search/test_understanding.py). Words that also name something else in
# customer data stay out: "children" (a film genre), "técnico" (technical support), "mayores" (older than),
# "ventas", "mensual".
_SAME_PERSON = (
    ("retired", "retiree", "jubilado", "jubilada", "jubilados", "jubiladas", "retirado", "retirada", "pensionista"),
    ("homemaker", "housewife", "househusband", "ama de casa", "amas de casa", "amo de casa", "amos de casa"),
    ("salesman", "salesperson", "saleswoman", "vendedor", "vendedora", "vendedores", "vendedoras"),
    ("unemployed", "jobless", "desempleado", "desempleada", "desempleados", "desempleadas", "en paro"),
    ("self employed", "freelancer", "autonomo", "autonoma", "autonomos", "autonomas"),
    ("student", "estudiante", "alumno", "alumna", "alumnos", "alumnas"),
    ("educator", "teacher", "profesor", "profesora", "profesores", "profesoras", "docente", "maestro", "maestra",
     "maestros", "maestras"),
    ("doctor", "physician", "medico", "medica", "medicos", "medicas"),
    ("lawyer", "attorney", "abogado", "abogada", "abogados", "abogadas"),
    ("engineer", "ingeniero", "ingeniera", "ingenieros", "ingenieras"),
    ("programmer", "developer", "programador", "programadora", "programadores", "programadoras",
     "desarrollador", "desarrolladora", "desarrolladores"),
    ("writer", "author", "escritor", "escritora", "escritores", "escritoras"),
    ("scientist", "cientifico", "cientifica", "cientificos", "cientificas"),
    ("librarian", "bibliotecario", "bibliotecaria", "bibliotecarios", "bibliotecarias"),
    ("executive", "ejecutivo", "ejecutiva", "ejecutivos", "ejecutivas", "directivo", "directiva", "directivos"),
    ("administrator", "administrador", "administradora", "administradores", "administradoras"),
    ("nurse", "enfermero", "enfermera", "enfermeros", "enfermeras"),
    ("manager", "gerente", "gerentes"),
    ("married", "casado", "casada", "casados", "casadas"),
    ("single", "soltero", "soltera", "solteros", "solteras"),
    ("divorced", "divorciado", "divorciada", "divorciados", "divorciadas"),
    ("widowed", "widow", "widower", "viudo", "viuda", "viudos", "viudas"),
    ("dependents", "dependientes", "hijos", "personas a cargo"),
    ("partner", "pareja", "spouse", "conyuge"),
    ("free", "gratuito", "gratuita", "gratis"),
    # what a customer is subscribed to or ranked by
    ("newsletter", "boletin", "boletines", "boletin de noticias"),
    ("gold", "oro"), ("silver", "plata"), ("platinum", "platino"), ("bronze", "bronce"),
    # the channels a customer prefers or came through ("prefieren la tienda" is `preferred_channel=store`)
    ("store", "shop", "tienda", "tienda fisica"), ("email", "correo", "correo electronico"),
    ("phone", "telephone", "telefono"), ("mobile", "movil"), ("web", "website", "sitio web", "pagina web"),
    # where a shop keeps what is about to be bought ("added jackets to the cart" over `anadir-al-carrito`)
    ("cart", "basket", "carrito", "cesta", "carro"),
)
SYNONYMS: dict[str, frozenset[str]] = {word: frozenset(group) for group in _SAME_PERSON for word in group}
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


def norm(text: str) -> str:
    """Lower-case ASCII words and numbers, single-spaced: how questions and the data's values are compared
    ("Dirección: Fibra-600" -> "direccion fibra 600")."""
    return " ".join(re.findall(r"[a-z0-9]+", fold(str(text)).lower()))


def split_camel(text: str) -> str:
    """Spaces at camelCase boundaries, acronyms kept whole: "StreamingTV" -> "Streaming TV",
    "IPAddress" -> "IP Address"."""
    return _CAMEL.sub(" ", text)


def number_forms(word: str) -> set[str]:
    """A word in the singular and the plural, in English and Spanish spelling ("comedy" / "comedies", "book" /
    "books", "box" / "boxes", "película" / "películas"): what a question may say for a value the data holds in the
    other number. Over-generates ("boxe"): callers compare it with words that exist."""
    forms = {word, word + "s", word + "es"}
    if word.endswith("s"):
        forms.add(word[:-1])
    if word.endswith("es"):
        forms.add(word[:-2])
    if word.endswith("ies") and len(word) > 4:
        forms.add(word[:-3] + "y")
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "i", "o", "u", ""):
        forms.add(word[:-1] + "ies")
    return forms
