"""Units read from field names and from questions, in English and Spanish, so that "more than five years" can be
compared with `tenure_months` and "120,000 a year" with `MonthlyIncome`.

A field's unit comes from the words of its key (`tenure_months`, `YearsAtCompany`, `cargo_mensual_eur`): a time
unit makes it a duration, a money word makes it an amount (per month, per year or in total). A question's number
comes with its own unit ("five years", "100 a month", "90 al mes"); the comparison converts the number into the
field's unit before it becomes a filter. All text here is already `norm()`-ed (lower case, accents folded).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# days in each time unit: conversion between them only ever divides or multiplies by these
TIME_UNITS: dict[str, float] = {
    "day": 1, "days": 1, "dia": 1, "dias": 1, "daily": 1, "diario": 1, "diaria": 1,
    "week": 7, "weeks": 7, "semana": 7, "semanas": 7, "weekly": 7, "semanal": 7,
    "month": 30.4375, "months": 30.4375, "mes": 30.4375, "meses": 30.4375, "monthly": 30.4375,
    "mensual": 30.4375, "mensuales": 30.4375,
    "year": 365.25, "years": 365.25, "ano": 365.25, "anos": 365.25, "yearly": 365.25, "annual": 365.25,
    "anual": 365.25, "anuales": 365.25,
}
DISTANCE = frozenset({"km", "kms", "kilometers", "kilometres", "kilometros", "mile", "miles", "millas", "meters",
                      "metres", "metros", "distance", "distancia"})
HOURS = frozenset({"hour", "hours", "hora", "horas", "hourly"})
MONEY_WORDS = frozenset({
    "eur", "euro", "euros", "usd", "dollar", "dollars", "gbp", "pound", "pounds", "price", "cost", "costs", "fee",
    "fees", "charge", "charges", "income", "salary", "wage", "wages", "revenue", "spend", "spent", "spending", "paid",
    "payment", "bill", "amount", "rate", "cargo", "cargos", "precio", "coste", "costo", "cuota", "ingresos",
    "ingreso", "salario", "sueldo", "gasto", "importe", "pago", "factura"})
CURRENCY = frozenset({"eur", "euro", "euros", "usd", "dollar", "dollars", "gbp", "pound", "pounds", "k"})
# a question's words that say its number is money even without a currency: "paying more than 100"
MONEY_VERBS = frozenset({"pay", "pays", "paying", "earn", "earns", "earning", "spend", "spends",
                         "spending", "charged", "pagan", "paga", "pagar", "ganan", "gana", "cobran", "gastan",
                         "gasta", "factura", "facturan"})
NUMBER_WORDS: dict[str, float] = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "twice": 2, "thrice": 3,
    "un": 1, "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7, "ocho": 8,
    "nueve": 9, "diez": 10, "once": 11, "doce": 12, "quince": 15, "veinte": 20, "treinta": 30, "cuarenta": 40,
    "cincuenta": 50, "sesenta": 60, "setenta": 70, "ochenta": 80, "noventa": 90, "cien": 100,
}


@dataclass(frozen=True)
class FieldUnit:
    """What a numeric field's key says it holds: a duration in `days` per unit, or money over a `period`."""

    days: float | None = None  # a duration field: days per unit (30.44 for `tenure_months`)
    money: bool = False
    period: float | None = None  # money per period, in days (30.44 for `monthly_charges`); None: a total
    distance: bool = False

    @property
    def kind(self) -> str:
        return "money" if self.money else "time" if self.days else "distance" if self.distance else "plain"


def field_unit(key_words: list[str]) -> FieldUnit:
    """`["tenure", "months"]` -> a duration in months; `["monthly", "charges"]` -> money per month."""
    money = any(w in MONEY_WORDS for w in key_words)
    time_words = [w for w in key_words if w in TIME_UNITS]
    if money:
        return FieldUnit(money=True, period=TIME_UNITS[time_words[0]] if time_words else None)
    if time_words:
        return FieldUnit(days=TIME_UNITS[time_words[0]])
    return FieldUnit(distance=any(w in DISTANCE for w in key_words))


# "100 a month", "90 al mes", "50 el mes"; not "100 euros el año pasado" (last year: a window, `understanding._PREVIOUS`)
_PERIOD = re.compile(r"^(?:a|an|per|each|every|al|por|cada|the|el)?\s*(day|week|month|year|dia|semana|mes|ano)\b"
                     r"(?!\s+(?:pasad[oa]|anterior|previo|before|last)\b)")


@dataclass(frozen=True)
class QuestionUnit:
    """The unit that follows a question's number: "five years" (time), "100 euros al mes" (money per month)."""

    days: float | None = None  # a duration ("years")
    money: bool = False
    period: float | None = None  # "a month", "al año"
    distance: bool = False  # "20 km"
    end: int = 0  # where the unit's words end, in the normalised question


def question_unit(q: str, start: int, money_context: bool) -> QuestionUnit:
    """Read the unit words right after a number at `start` ("years", "euros a month", "al mes")."""
    rest = q[start:]
    words = rest.split()[:4]
    pos = start
    money = money_context
    i = 0
    if words and words[0] in CURRENCY:
        money = True
        pos = q.index(words[0], pos) + len(words[0])
        i = 1
    tail = q[pos:].lstrip()
    period = _PERIOD.match(tail)
    if period is not None and (money or (i == 0 and tail.split()[0] in ("a", "an", "per", "al", "por", "each",
                                                                        "cada"))):
        # "100 a month", "90 al mes", "120,000 per year": money over a period
        end = pos + (len(q[pos:]) - len(tail)) + period.end()
        return QuestionUnit(money=True, period=TIME_UNITS[period.group(1)], end=end)
    if i == 0 and words and words[0] in TIME_UNITS and words[0] not in ("monthly", "mensual", "annual", "anual"):
        end = q.index(words[0], pos) + len(words[0])
        return QuestionUnit(days=TIME_UNITS[words[0]], end=end)
    if i == 0 and words and words[0] in DISTANCE:
        return QuestionUnit(distance=True, end=q.index(words[0], pos) + len(words[0]))
    if i == 0 and words and words[0] in ("monthly", "mensual", "mensuales", "annual", "anual", "yearly"):
        end = q.index(words[0], pos) + len(words[0])
        return QuestionUnit(money=True, period=TIME_UNITS[words[0]], end=end)
    return QuestionUnit(money=money, end=pos)


def convert(value: float, said: QuestionUnit, unit: FieldUnit) -> float | None:
    """The question's number in the field's unit, or None when they cannot be compared (money against time)."""
    if said.days is not None:
        if unit.days is None:
            return None
        return value * said.days / unit.days
    if said.money and unit.money and said.period and unit.period:
        return value * unit.period / said.period  # 120,000 a year against a monthly field: 10,000
    return value


_NUMBER = re.compile(r"\b(\d{1,3}(?:[ ,.]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?)(\s*k\b)?")


def parse_number(text: str) -> tuple[float, int] | None:
    """The number at the start of `text` and where it ends: "120,000", "10.000", "2.5", "40,16", "1,234.5",
    "1.234,56", "60k", "five", "a"."""
    m = _NUMBER.match(text)
    if m is not None:
        raw = m.group(1)
        if re.fullmatch(r"\d{1,3}(?:([ ,.])\d{3})(?:\1\d{3})*", raw):  # thousands grouped: 120,000 / 10.000 / 10 000
            value = float(re.sub(r"[ ,.]", "", raw))
        else:  # the last separator is the decimal one ("1.234,56", "40.16"); any before it group thousands
            last = max(raw.rfind(","), raw.rfind("."))
            value = float(re.sub(r"[ ,.]", "", raw[:last]) + "." + raw[last + 1:]) if last >= 0 else float(raw)
        return (value * 1000 if m.group(2) else value), m.end()
    word = text.split(" ", 1)[0]
    if word in NUMBER_WORDS:
        return NUMBER_WORDS[word], len(word)
    return None
