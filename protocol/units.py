"""Units: which quantity each unit measures, and conversion to one canonical unit.

Two kinds of table: quantity kinds for protocol values (activity, dose, time …)
and analyte tables for laboratory results, where the same unit text (mmol/L)
converts differently per analyte. Relative units (``xULN``, ``xLLN``,
``xBaseline``) are multiples of a reference and never convert to absolute ones.
Haemoglobin 1 mmol/L = 1.611 g/dL (monomer, 16.11 g/mmol); creatinine
88.42 µmol/L = 1 mg/dL; bilirubin 17.1 µmol/L = 1 mg/dL; testosterone
1 nmol/L = 28.84 ng/dL; 1 mCi = 0.037 GBq.

Every factor is written once as an exact decimal (``_exact``); the float tables
are derived from it. Threshold comparisons convert with the decimal factors
(:func:`analyte_convert`, :func:`quantity_convert`), so 90 g/L is 9 g/dL exactly.
"""

from __future__ import annotations

from decimal import Context, Decimal

__all__ = [
    "ANALYTES",
    "FIELD_UNITS",
    "QUANTITIES",
    "RANGES",
    "RELATIVE_UNITS",
    "UnitError",
    "analyte_convert",
    "analyte_to_canonical",
    "exact_factor",
    "quantity_convert",
    "quantity_of",
    "to_canonical",
]

# Division by a factor such as 88.42 is carried to 40 significant digits.
_CONTEXT = Context(prec=40)


def _exact(text: str) -> tuple[Decimal, Decimal]:
    """A factor written as a decimal (``"1.611"``) or a ratio (``"1/88.42"``): (numerator,
    denominator), so that a conversion divides last and stays exact where it can."""
    num, _, den = text.partition("/")
    return Decimal(num), Decimal(den or "1")


def _float(factor: tuple[Decimal, Decimal]) -> float:
    return float(_CONTEXT.divide(*factor))


class UnitError(ValueError):
    """A unit that is unknown, or that does not fit the quantity or analyte."""


# quantity kind -> (canonical unit, {unit: factor to canonical, exact})
_QUANTITIES: dict[str, tuple[str, dict[str, str]]] = {
    "activity": (
        "GBq",
        {"GBq": "1", "MBq": "0.001", "kBq": "0.000001", "mCi": "0.037", "Ci": "37"},
    ),
    "dose": ("Gy", {"Gy": "1", "mGy": "0.001", "cGy": "0.01"}),
    "dose_per_activity": ("Gy/GBq", {"Gy/GBq": "1", "mGy/MBq": "1"}),
    "time": ("h", {"h": "1", "min": "1/60", "s": "1/3600", "d": "24"}),
    "length": ("mm", {"mm": "1", "cm": "10"}),
    "volume": ("mL", {"mL": "1", "cm3": "1", "L": "1000"}),
    "percent": ("%", {"%": "1"}),
    "fraction": ("1", {"1": "1"}),
    "count": ("count", {"count": "1"}),
    "years": ("years", {"years": "1"}),
    "score": ("score", {"score": "1"}),
    "grade": ("grade", {"grade": "1"}),
    "mass": ("kg", {"kg": "1", "g": "0.001", "lb": "0.45359237"}),
    "clearance": ("mL/min", {"mL/min": "1"}),
    "egfr": ("mL/min/1.73m2", {"mL/min/1.73m2": "1"}),
}
_QUANTITY_EXACT = {
    kind: {u: _exact(f) for u, f in factors.items()} for kind, (_, factors) in _QUANTITIES.items()
}
QUANTITIES: dict[str, tuple[str, dict[str, float]]] = {
    kind: (canonical, {u: _float(f) for u, f in _QUANTITY_EXACT[kind].items()})
    for kind, (canonical, _) in _QUANTITIES.items()
}

RELATIVE_UNITS = ("xULN", "xLLN", "xBaseline")

# Numeric record fields a ``count … where`` may compare: field -> (its unit, quantity kind).
FIELD_UNITS: dict[str, tuple[str, str]] = {"short_axis_mm": ("mm", "length")}

# The physical range of a protocol value, by what it measures, in the canonical unit:
# (lowest, highest, whole numbers only). A value outside is a typo or a unit slip (39
# entered as 3.9e10), never a protocol's choice; protocol.checks refuses it. Wide on
# purpose: the bounds keep the engine's arithmetic finite and its counters in int32,
# they do not second-guess a clinical threshold.
RANGES: dict[str, tuple[float, float, bool]] = {
    "activity": (0.0, 100.0, False),  # GBq per administration
    "dose": (0.0, 1000.0, False),  # Gy
    "dose_per_activity": (0.0, 100.0, False),  # Gy/GBq
    "time": (0.0, 100_000.0, False),  # h
    "length": (0.0, 10_000.0, False),  # mm
    "volume": (0.0, 1e6, False),  # mL
    "percent": (-100.0, 10_000.0, False),  # a change falls by at most 100 %
    "fraction": (0.0, 1.0, False),
    "count": (0.0, 1000.0, True),
    "years": (0.0, 150.0, False),
    "score": (0.0, 100.0, True),
    "grade": (0.0, 5.0, True),
    "mass": (0.0, 1000.0, False),  # kg
    "clearance": (0.0, 1000.0, False),  # mL/min
    "egfr": (0.0, 1000.0, False),  # mL/min/1.73m2
    "relative": (0.0, 1000.0, False),  # multiples of ULN, LLN or baseline
    "concentration": (0.0, 1e6, False),  # a lab value in any of its units
}

_COUNT = {
    "10^9/L": "1",
    "10^3/uL": "1",
    "10^3/µL": "1",
    "/uL": "0.001",
    "/µL": "0.001",
    "/mm3": "0.001",
    "cells/uL": "0.001",
    "G/L": "1",
}

# SDTM LBTESTCD -> (name, canonical unit, {unit: factor to canonical, exact})
_ANALYTES: dict[str, tuple[str, str, dict[str, str]]] = {
    "HGB": ("haemoglobin", "g/dL", {"g/dL": "1", "g/L": "0.1", "mmol/L": "1.611"}),
    "PLAT": ("platelets", "10^9/L", _COUNT),
    "WBC": ("white blood cells", "10^9/L", _COUNT),
    "NEUT": ("absolute neutrophil count", "10^9/L", _COUNT),
    "CREAT": ("creatinine", "mg/dL", {"mg/dL": "1", "umol/L": "1/88.42", "µmol/L": "1/88.42"}),
    "BILI": ("total bilirubin", "mg/dL", {"mg/dL": "1", "umol/L": "1/17.1", "µmol/L": "1/17.1"}),
    "AST": ("aspartate aminotransferase", "U/L", {"U/L": "1", "IU/L": "1"}),
    "ALT": ("alanine aminotransferase", "U/L", {"U/L": "1", "IU/L": "1"}),
    "ALB": ("albumin", "g/dL", {"g/dL": "1", "g/L": "0.1"}),
    "TESTO": ("testosterone", "ng/dL", {"ng/dL": "1", "nmol/L": "28.84", "ng/mL": "100"}),
    "PSA": ("prostate-specific antigen", "ng/mL", {"ng/mL": "1", "ug/L": "1", "µg/L": "1"}),
}
_ANALYTE_EXACT = {
    test: {u: _exact(f) for u, f in factors.items()} for test, (_, _, factors) in _ANALYTES.items()
}
ANALYTES: dict[str, tuple[str, str, dict[str, float]]] = {
    test: (name, canonical, {u: _float(f) for u, f in _ANALYTE_EXACT[test].items()})
    for test, (name, canonical, _) in _ANALYTES.items()
}


def quantity_of(unit: str) -> str:
    """The quantity kind a unit measures (``GBq`` → ``activity``); UnitError if unknown."""
    for kind, (_, factors) in QUANTITIES.items():
        if unit in factors:
            return kind
    if unit in RELATIVE_UNITS:
        return "relative"
    for _, _canonical, factors in ANALYTES.values():
        if unit in factors:
            return "concentration"
    raise UnitError(f"unknown unit {unit!r}")


def to_canonical(value: float, unit: str, kind: str) -> float:
    """Convert ``value`` in ``unit`` to the canonical unit of quantity ``kind``."""
    factors = QUANTITIES[kind][1]
    if unit not in factors:
        raise UnitError(f"unit {unit!r} does not measure {kind}; use one of {', '.join(factors)}")
    return float(quantity_convert(_decimal(value), unit, QUANTITIES[kind][0], kind))


def analyte_to_canonical(test: str, value: float, unit: str) -> float:
    """Convert a lab result of SDTM test code ``test`` to its canonical unit."""
    if test not in ANALYTES:
        raise UnitError(f"unknown lab test code {test!r}; known: {', '.join(ANALYTES)}")
    name, _canonical, factors = ANALYTES[test]
    if unit not in factors:
        raise UnitError(
            f"unit {unit!r} does not fit {name} ({test}); use one of {', '.join(factors)}"
        )
    return float(analyte_convert(test, _decimal(value), unit, _canonical))


def _decimal(value: float) -> Decimal:
    """A number as the decimal it was written as (a float through its shortest repr)."""
    return Decimal(repr(value) if isinstance(value, float) else str(value))


def exact_factor(
    unit: str, *, test: str | None = None, kind: str | None = None
) -> tuple[Decimal, Decimal]:
    """The exact factor (numerator, denominator) from ``unit`` to the canonical unit of
    ``test`` (a lab) or ``kind`` (a quantity)."""
    table = _ANALYTE_EXACT.get(test) if test else _QUANTITY_EXACT.get(kind or "")
    if table is None or unit not in table:
        raise UnitError(f"unit {unit!r} does not fit {test or kind}")
    return table[unit]


def _convert(value: Decimal, src: tuple[Decimal, Decimal], dst: tuple[Decimal, Decimal]) -> Decimal:
    numerator = _CONTEXT.multiply(_CONTEXT.multiply(value, src[0]), dst[1])
    return _CONTEXT.divide(numerator, _CONTEXT.multiply(src[1], dst[0]))


def analyte_convert(test: str, value: Decimal, unit: str, to_unit: str) -> Decimal:
    """``value`` of lab ``test`` from ``unit`` to ``to_unit``, in exact decimals."""
    if unit == to_unit:
        return value
    return _convert(value, exact_factor(unit, test=test), exact_factor(to_unit, test=test))


def quantity_convert(value: Decimal, unit: str, to_unit: str, kind: str) -> Decimal:
    """``value`` of quantity ``kind`` from ``unit`` to ``to_unit``, in exact decimals."""
    if unit == to_unit:
        return value
    return _convert(value, exact_factor(unit, kind=kind), exact_factor(to_unit, kind=kind))
