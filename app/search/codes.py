"""Country and language codes as people name them: "customers from Mexico" is `country=MX`, "clientes que hablan
catalán" `language=ca`.

CDPs store both as ISO codes (Tracardi's `data.contact.address.country`, `data.pii.language`; exports' `country`
traits), which no question says and which are too short to be read as words. A field whose key names a country
or a language gets each of its code values' names in both wordings, from the Unicode CLDR (Babel), to be
matched by their words."""

from __future__ import annotations

import re
from functools import cache

from profiles.words import norm

# a field's key words that say its values are country or language codes
COUNTRY_KEYS = frozenset({"country", "countries", "pais", "paises", "nationality", "nacionalidad"})
LANGUAGE_KEYS = frozenset({"language", "languages", "lang", "idioma", "idiomas", "lengua", "locale"})
WORDINGS = ("en", "es")


@cache
def _names(kind: str) -> dict[str, tuple[str, ...]]:
    """code (lower case) -> its names in every wording, folded ("mx" -> ("mexico",), "es" -> ("spain", "espana"))."""
    from babel import Locale  # CLDR's tables load on first use, not at import

    out: dict[str, list[str]] = {}
    for wording in WORDINGS:
        table = getattr(Locale.parse(wording), kind)
        for code, name in table.items():
            # ISO 3166 alpha-2 regions only ("001" is the world, "EU" a union); ISO 639 languages of 2-3 letters
            if not code.isalpha() or len(code) not in ((2,) if kind == "territories" else (2, 3)):
                continue
            if (phrase := norm(name)) and phrase not in out.setdefault(code.lower(), []):
                out[code.lower()].append(phrase)
    return {code: tuple(names) for code, names in out.items()}


def code_names(key_words: set[str], value: str) -> tuple[str, ...]:
    """The names of `value` when the field's key (`key_words`) says it holds country or language codes and
    `value` is one (a locale's region counts: "es-MX" is Mexico's, "es_ES" Spain's); () otherwise."""
    value = value.strip()
    if len(value) > 8:
        return ()
    if key_words & COUNTRY_KEYS:
        code = re.split(r"[-_]", value)[-1] if len(value) > 3 else value
        return _names("territories").get(code.lower(), ()) if len(code) == 2 else ()
    if key_words & LANGUAGE_KEYS:
        code = re.split(r"[-_]", value)[0]
        return _names("languages").get(code.lower(), ()) if 2 <= len(code) <= 3 else ()
    return ()


# territories that are no one's country in customer data (pseudo-locales, unions, Spain's own Canarias and Ceuta
# y Melilla, which a Spanish company's data codes ES) and names that are everyday words or places within other
# countries before they are countries ("Granada", "Georgia", "Jersey", "reunión")
_NO_COUNTRY = frozenset({"xa", "xb", "ez", "un", "eu", "qo", "zz", "ic", "ea", "dg", "ta", "cp", "ac"})
_NOT_BY_NAME = frozenset({"reunion", "granada", "georgia", "jersey", "guadalupe", "dominica", "chad", "jordan"})
MAX_NAME_WORDS = 4  # "islas turcas y caicos"


@cache
def _countries() -> dict[str, str]:
    """A country's folded name in either wording -> its code (lower case)."""
    return {name: code for code, names in _names("territories").items() if code not in _NO_COUNTRY
            for name in names if name not in _NOT_BY_NAME}


def countries_named(words: list[str]) -> list[tuple[int, int, str]]:
    """(first word, after the last word, code) of each country named in `words` (folded), the longest name at
    each place first: a dictionary lookup of at most MAX_NAME_WORDS words a place, so linear in the question."""
    names = _countries()
    out: list[tuple[int, int, str]] = []
    i = 0
    while i < len(words):
        for n in range(min(MAX_NAME_WORDS, len(words) - i), 0, -1):
            code = names.get(" ".join(words[i:i + n]))
            if code is not None:
                out.append((i, i + n, code))
                i += n - 1
                break
        i += 1
    return out
