"""Privacy by default: contact details and identifiers never enter documents or payloads.

Three layers, because each alone leaks: (1) `data` (Tracardi's personal-data tree) is read through an
allow-list of descriptive fields; (2) trait and property keys that name contact details or identifiers are
dropped; (3) values that look like an e-mail, a phone number, a UUID or a card/IBAN number are dropped
(in structured data) or masked (in free text). `allow` adds dotted paths back by configuration.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# Descriptive parts of Tracardi's `data` (0.8.1+ layout; 0.7/0.8.0 `pii` is mapped into it).
DESCRIPTIVE_DATA = (
    "pii.gender", "pii.language", "pii.education", "pii.civil.status",
    "job.position", "job.type", "job.department", "job.company.size", "job.company.segment",
    "preferences", "loyalty.card.name", "metrics.ltv",
)

_PII_KEY = re.compile(
    r"(^|[._-])(e-?mail|mail|phone|mobile|telephone|tel|fax|whatsapp|telegram|signal|wechat|viber|discord|"
    r"slack|twitter|facebook|instagram|linkedin|social|address|street|postcode|post_code|zip|zip_code|"
    r"zipcode|town|city|county|geo|lat|lon|latitude|longitude|ip|ip_address|name|firstname|lastname|surname|"
    r"display_name|full_name|username|login|birthday|birth_date|birthdate|dob|ssn|passport|badge|iban|"
    r"credit_card|card_number|card|token|password|secret|coupons?|identifier|id|uuid|pk|device_id|"
    r"cookie|session)([._-]|$)",
    re.IGNORECASE,
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
PHONE = re.compile(r"(?<![\w/])\+?\(?\d[\d ().-]{6,}\d(?![\w/])")
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE)
LONG_NUMBER = re.compile(r"\b(?:\d[ -]?){12,19}\b")  # cards, IBAN-like digit runs
HEX_ID = re.compile(r"\b[0-9a-f]{24,}\b", re.IGNORECASE)


class Redactor:
    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.allow = tuple(allow)

    def _allowed(self, path: str) -> bool:
        return any(path == a or path.startswith(a + ".") for a in self.allow)

    def key_is_pii(self, path: str) -> bool:
        if self._allowed(path):
            return False
        return bool(_PII_KEY.search(path.rsplit(".", 1)[-1])) or bool(_PII_KEY.search(path))

    @staticmethod
    def value_is_pii(value: Any) -> bool:
        if not isinstance(value, str):
            return False
        return bool(EMAIL.search(value) or UUID.search(value) or LONG_NUMBER.search(value)
                    or HEX_ID.search(value)
                    or (PHONE.fullmatch(value.strip()) is not None and sum(c.isdigit() for c in value) >= 9))

    def clean(self, value: Any, path: str = "") -> Any:
        """A copy of `value` without PII keys or PII-looking values (None when nothing is left)."""
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                sub = f"{path}.{k}" if path else str(k)
                if self.key_is_pii(sub):
                    continue
                cleaned = self.clean(v, sub)
                if cleaned not in (None, {}, [], ""):
                    out[str(k)] = cleaned
            return out or None
        if isinstance(value, list):
            items = [self.clean(v, path) for v in value]
            items = [v for v in items if v not in (None, {}, [], "")]
            return items or None
        if isinstance(value, str):
            if self._allowed(path):
                return value
            return None if self.value_is_pii(value) else value
        return value

    def describing_data(self, data: dict[str, Any]) -> dict[str, Any]:
        """The descriptive subset of `data` (gender, language, job, preferences...), plus allowed paths."""
        out: dict[str, Any] = {}
        for path in DESCRIPTIVE_DATA + self.allow:
            parts = path.split(".")
            if parts[0] == "data":
                parts = parts[1:]
            cur: Any = data
            for p in parts:
                cur = cur.get(p) if isinstance(cur, dict) else None
            if cur in (None, "", [], {}):
                continue
            cleaned = cur if self._allowed(path) else self.clean(cur, "")
            if cleaned in (None, "", [], {}):
                continue
            node = out
            for p in parts[:-1]:
                node = node.setdefault(p, {})
            node[parts[-1]] = cleaned
        return out

    def scrub_text(self, text: str) -> str:
        """Last line of defence for free text: mask anything that still looks like contact data."""
        text = EMAIL.sub("[e-mail]", text)
        text = UUID.sub("[id]", text)
        text = HEX_ID.sub("[id]", text)
        text = LONG_NUMBER.sub("[number]", text)
        return PHONE.sub(_mask_phone, text)


def _mask_phone(match: re.Match[str]) -> str:
    # Nine or more digits in one run of phone punctuation: a phone number, not a year or a score.
    return "[phone]" if sum(c.isdigit() for c in match.group(0)) >= 9 else match.group(0)
