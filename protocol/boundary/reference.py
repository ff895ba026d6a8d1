"""The boundary generator's own arithmetic: unit factors, comparison, calendar, formulas.

Written apart from the engine on purpose (nothing here imports protocol.units or
engine): the expected outcome of a boundary case comes from these tables, so an error
in the engine's unit factors or comparisons shows up as a disagreement.

Unit factors (to the unit on the left of each table): creatinine 1 mg/dL = 88.42 µmol/L
and bilirubin 1 mg/dL = 17.1 µmol/L (SI conversion factors as laboratories publish
them); haemoglobin 1 mmol/L (monomer) = 1.611 g/dL; testosterone 1 nmol/L = 28.84 ng/dL;
counts 10^9/L = 10^3/µL = 1000/µL. CTCAE v5.0 laboratory bounds as MISSION.md quotes
them. Comparison: the value in the threshold's unit, rounded half-even to the
threshold's written decimals + 1 (MISSION.md, "Arithmetic at thresholds").
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any

from flexmrt.protocol.numbers import written as _written

__all__ = [
    "CTCAE_HIGH",
    "CTCAE_LOW",
    "LAB_UNITS",
    "REFERENCE_RANGES",
    "back",
    "cockcroft_gault",
    "convert",
    "decimals",
    "holds",
    "reference_range",
    "step_of",
    "written",
]

_CTX = Context(prec=60)

# Lab test -> {unit: how many of that unit make one of the first unit}.
LAB_UNITS: dict[str, dict[str, str]] = {
    "HGB": {"g/dL": "1", "g/L": "10", "mmol/L": "1/1.611"},
    "PLAT": {
        "10^9/L": "1",
        "10^3/uL": "1",
        "10^3/µL": "1",
        "G/L": "1",
        "/uL": "1000",
        "/µL": "1000",
        "/mm3": "1000",
        "cells/uL": "1000",
    },
    "CREAT": {"mg/dL": "1", "umol/L": "88.42", "µmol/L": "88.42"},
    "BILI": {"mg/dL": "1", "umol/L": "17.1", "µmol/L": "17.1"},
    "AST": {"U/L": "1", "IU/L": "1"},
    "ALT": {"U/L": "1", "IU/L": "1"},
    "ALB": {"g/dL": "1", "g/L": "10"},
    "TESTO": {"ng/dL": "1", "nmol/L": "1/28.84", "ng/mL": "0.01"},
    "PSA": {"ng/mL": "1", "ug/L": "1", "µg/L": "1"},
}
LAB_UNITS["WBC"] = LAB_UNITS["NEUT"] = LAB_UNITS["PLAT"]

# Protocol quantities: {unit: how many of it make one of the first unit}.
QUANTITY_UNITS: dict[str, dict[str, str]] = {
    "mL/min": {"mL/min": "1"},
    "mL/min/1.73m2": {"mL/min/1.73m2": "1"},
    "%": {"%": "1"},
    "score": {"score": "1"},
    "count": {"count": "1"},
    "years": {"years": "1"},
    "mm": {"mm": "1", "cm": "0.1"},
    "Gy": {"Gy": "1", "mGy": "1000", "cGy": "100"},
    "GBq": {"GBq": "1", "MBq": "1000", "mCi": "1/0.037"},  # 1 mCi = 37 MBq
}

# Reference ranges [(unit, (low, high))] per test, chosen so that multiples of them are
# traps for binary floating point (1.5 × 1.2 = 1.7999999999999998; 4.2 / 1.4 = 3.0000000000000004).
REFERENCE_RANGES: dict[str, list[tuple[str, tuple[str, str]]]] = {
    "CREAT": [("mg/dL", ("0.7", "1.2")), ("mg/dL", ("0.7", "1.4")), ("umol/L", ("62", "106.1"))],
    "BILI": [("mg/dL", ("0.1", "1.2")), ("mg/dL", ("0.1", "1.1")), ("umol/L", ("1.7", "20.5"))],
    "AST": [("U/L", ("10", "33")), ("IU/L", ("10", "40"))],
    "ALT": [("U/L", ("7", "56")), ("IU/L", ("7", "35"))],
    "HGB": [("g/dL", ("13.0", "17.0")), ("g/L", ("130", "170"))],
    "PLAT": [("10^9/L", ("150", "400")), ("/uL", ("150000", "400000"))],
    "WBC": [("10^9/L", ("4.0", "10.0")), ("/uL", ("4000", "10000"))],
    "NEUT": [("10^9/L", ("1.8", "7.5")), ("/uL", ("1800", "7500"))],
}


def reference_range(test: str, unit: str) -> tuple[str, str] | None:
    """The first reference range the generator has for ``test`` reported in ``unit``."""
    return next((limits for u, limits in REFERENCE_RANGES.get(test, []) if u == unit), None)


# CTCAE v5.0: decreases, (grade, "below this" in the first unit of LAB_UNITS).
CTCAE_LOW: dict[str, list[tuple[int, str]]] = {
    "HGB": [(3, "8.0"), (2, "10.0")],
    "NEUT": [(4, "0.5"), (3, "1.0"), (2, "1.5")],
    "PLAT": [(4, "25"), (3, "50"), (2, "75")],
    "WBC": [(4, "1.0"), (3, "2.0"), (2, "3.0")],
}
# CTCAE v5.0: increases, (grade, "above this multiple of ULN").
CTCAE_HIGH: dict[str, list[tuple[int, str]]] = {
    "CREAT": [(4, "6.0"), (3, "3.0"), (2, "1.5")],
    "AST": [(4, "20.0"), (3, "5.0"), (2, "3.0")],
    "ALT": [(4, "20.0"), (3, "5.0"), (2, "3.0")],
    "BILI": [(4, "10.0"), (3, "3.0"), (2, "1.5")],
}


def _ratio(text: str) -> Decimal:
    num, _, den = text.partition("/")
    return _CTX.divide(Decimal(num), Decimal(den or "1"))


def _table(unit: str, test: str | None) -> dict[str, str]:
    if test is not None:
        return LAB_UNITS[test]
    for table in QUANTITY_UNITS.values():
        if unit in table:
            return table
    raise KeyError(unit)


def convert(value: Decimal, unit: str, to_unit: str, test: str | None = None) -> Decimal:
    """``value`` from ``unit`` to ``to_unit`` (of lab ``test``, else a protocol quantity)."""
    if unit == to_unit:
        return value
    table = _table(unit, test)
    return _CTX.divide(_CTX.multiply(value, _ratio(table[to_unit])), _ratio(table[unit]))


def written(number: Any) -> Decimal:
    """A protocol number as the decimal it is written with (``1.50`` keeps two decimals; the
    loader keeps the text, ``protocol.numbers``)."""
    return _written(number)


def decimals(number: Decimal) -> int:
    """How many decimals ``number`` is written with (0 for an integer)."""
    return max(-int(number.as_tuple().exponent), 0)


def step_of(threshold: Decimal) -> Decimal:
    """The last written decimal place of a threshold: 9 → 1, 2.5 → 0.1, 1.80 → 0.01."""
    return Decimal(1).scaleb(-decimals(threshold))


def holds(value: Decimal, op: str, threshold: Decimal) -> bool:
    """``value op threshold`` after rounding the value to the threshold's decimals + 1."""
    rounded = value.quantize(
        Decimal(1).scaleb(-decimals(threshold) - 1), rounding=ROUND_HALF_EVEN, context=_CTX
    )
    return {
        "<": rounded < threshold,
        "<=": rounded <= threshold,
        ">": rounded > threshold,
        ">=": rounded >= threshold,
        "==": rounded == threshold,
        "!=": rounded != threshold,
    }[op]


def back(day: date, iso: str) -> date:
    """``day`` minus an ISO 8601 duration of one unit (P14D, P6W, P6M, P1Y), calendar-wise."""
    number, unit = int(iso[1:-1]), iso[-1]
    if unit == "D":
        return day - timedelta(days=number)
    if unit == "W":
        return day - timedelta(weeks=number)
    months = number * (12 if unit == "Y" else 1)
    if unit not in "MY":
        raise ValueError(f"duration {iso!r} is not one the generator counts")
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def cockcroft_gault(age: int, weight_kg: Decimal, scr_mg_dl: Decimal) -> Decimal:
    """Creatinine clearance (mL/min), Cockcroft-Gault, male, actual body weight."""
    return _CTX.divide(_CTX.multiply(Decimal(140 - age), weight_kg), 72 * scr_mg_dl)
