"""Units: which quantity each unit measures, and conversion to one canonical unit.

Two kinds of table: quantity kinds for protocol values (activity, dose, time …)
and analyte tables for laboratory results, where the same unit text (mmol/L)
converts differently per analyte. Relative units (``xULN``, ``xLLN``,
``xBaseline``) are multiples of a reference and never convert to absolute ones.
Haemoglobin 1 mmol/L = 1.611 g/dL (monomer, 16.11 g/mmol); creatinine
88.42 µmol/L = 1 mg/dL; bilirubin 17.1 µmol/L = 1 mg/dL; testosterone
1 nmol/L = 28.84 ng/dL; 1 mCi = 0.037 GBq.
"""

from __future__ import annotations

__all__ = [
    "ANALYTES",
    "QUANTITIES",
    "RANGES",
    "RELATIVE_UNITS",
    "UnitError",
    "analyte_to_canonical",
    "quantity_of",
    "to_canonical",
]


class UnitError(ValueError):
    """A unit that is unknown, or that does not fit the quantity or analyte."""


# quantity kind -> (canonical unit, {unit: factor to canonical})
QUANTITIES: dict[str, tuple[str, dict[str, float]]] = {
    "activity": ("GBq", {"GBq": 1.0, "MBq": 1e-3, "kBq": 1e-6, "mCi": 0.037, "Ci": 37.0}),
    "dose": ("Gy", {"Gy": 1.0, "mGy": 1e-3, "cGy": 1e-2}),
    "dose_per_activity": ("Gy/GBq", {"Gy/GBq": 1.0, "mGy/MBq": 1.0}),
    "time": ("h", {"h": 1.0, "min": 1 / 60, "s": 1 / 3600, "d": 24.0}),
    "length": ("mm", {"mm": 1.0, "cm": 10.0}),
    "volume": ("mL", {"mL": 1.0, "cm3": 1.0, "L": 1000.0}),
    "percent": ("%", {"%": 1.0}),
    "fraction": ("1", {"1": 1.0}),
    "count": ("count", {"count": 1.0}),
    "years": ("years", {"years": 1.0}),
    "score": ("score", {"score": 1.0}),
    "grade": ("grade", {"grade": 1.0}),
    "mass": ("kg", {"kg": 1.0, "g": 1e-3, "lb": 0.45359237}),
    "clearance": ("mL/min", {"mL/min": 1.0}),
    "egfr": ("mL/min/1.73m2", {"mL/min/1.73m2": 1.0}),
}

RELATIVE_UNITS = ("xULN", "xLLN", "xBaseline")

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
    "10^9/L": 1.0,
    "10^3/uL": 1.0,
    "10^3/µL": 1.0,
    "/uL": 1e-3,
    "/µL": 1e-3,
    "/mm3": 1e-3,
    "cells/uL": 1e-3,
    "G/L": 1.0,
}

# SDTM LBTESTCD -> (name, canonical unit, {unit: factor to canonical})
ANALYTES: dict[str, tuple[str, str, dict[str, float]]] = {
    "HGB": ("haemoglobin", "g/dL", {"g/dL": 1.0, "g/L": 0.1, "mmol/L": 1.611}),
    "PLAT": ("platelets", "10^9/L", _COUNT),
    "WBC": ("white blood cells", "10^9/L", _COUNT),
    "NEUT": ("absolute neutrophil count", "10^9/L", _COUNT),
    "CREAT": ("creatinine", "mg/dL", {"mg/dL": 1.0, "umol/L": 1 / 88.42, "µmol/L": 1 / 88.42}),
    "BILI": ("total bilirubin", "mg/dL", {"mg/dL": 1.0, "umol/L": 1 / 17.1, "µmol/L": 1 / 17.1}),
    "AST": ("aspartate aminotransferase", "U/L", {"U/L": 1.0, "IU/L": 1.0}),
    "ALT": ("alanine aminotransferase", "U/L", {"U/L": 1.0, "IU/L": 1.0}),
    "ALB": ("albumin", "g/dL", {"g/dL": 1.0, "g/L": 0.1}),
    "TESTO": ("testosterone", "ng/dL", {"ng/dL": 1.0, "nmol/L": 28.84, "ng/mL": 100.0}),
    "PSA": ("prostate-specific antigen", "ng/mL", {"ng/mL": 1.0, "ug/L": 1.0, "µg/L": 1.0}),
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
    return value * factors[unit]


def analyte_to_canonical(test: str, value: float, unit: str) -> float:
    """Convert a lab result of SDTM test code ``test`` to its canonical unit."""
    if test not in ANALYTES:
        raise UnitError(f"unknown lab test code {test!r}; known: {', '.join(ANALYTES)}")
    name, _canonical, factors = ANALYTES[test]
    if unit not in factors:
        raise UnitError(
            f"unit {unit!r} does not fit {name} ({test}); use one of {', '.join(factors)}"
        )
    return value * factors[unit]
