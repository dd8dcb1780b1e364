"""How keys and values read as words: one reading for documents, redaction and query understanding."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# yes/no words as people and exports write them (Telco-style "Yes"/"No", Spanish "sí")
YES_WORDS = frozenset({"yes", "true", "y", "si", "sí"})
NO_WORDS = frozenset({"no", "false", "n"})
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
