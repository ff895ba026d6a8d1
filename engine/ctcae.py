"""CTCAE v5.0 grades of laboratory results (Investigations and Blood sections).

Values in canonical units (g/dL, 10^9/L, multiples of ULN). Ranges read as the
CTCAE text: "G2 < 10.0–8.0 g/dL" means 8.0 ≤ value < 10.0. Grade 1 needs the
reference range (LLN/ULN); without it a value that would be grade 1 or 0 is
graded 0 and the note says so.
"""

from __future__ import annotations

from decimal import Decimal

from flexmrt.protocol.units import ANALYTES

from .exact import compare, first_met, lab_in, reference_in
from .record import Lab

__all__ = ["LAB_TERMS", "grade_lab"]

# Lab test -> CTCAE v5 term, so adverse events and labs grade the same toxicity.
LAB_TERMS = {
    "HGB": "anemia",
    "NEUT": "neutrophil count decreased",
    "PLAT": "platelet count decreased",
    "WBC": "white blood cell decreased",
    "CREAT": "creatinine increased",
    "AST": "aspartate aminotransferase increased",
    "ALT": "alanine aminotransferase increased",
    "BILI": "blood bilirubin increased",
}

# Decreases: (test, [(grade, upper bound exclusive)]) from most to least severe,
# in the canonical unit (protocol.units.ANALYTES), written as the CTCAE writes them.
_LOW = {
    "HGB": [(3, "8.0"), (2, "10.0")],
    "NEUT": [(4, "0.5"), (3, "1.0"), (2, "1.5")],
    "PLAT": [(4, "25"), (3, "50"), (2, "75")],
    "WBC": [(4, "1.0"), (3, "2.0"), (2, "3.0")],
}
# Increases as multiples of ULN: [(grade, lower bound exclusive)].
_HIGH = {
    "CREAT": [(4, "6.0"), (3, "3.0"), (2, "1.5")],
    "AST": [(4, "20.0"), (3, "5.0"), (2, "3.0")],
    "ALT": [(4, "20.0"), (3, "5.0"), (2, "3.0")],
    "BILI": [(4, "10.0"), (3, "3.0"), (2, "1.5")],
}
# Creatinine increases as multiples of the baseline: [(grade, lower bound exclusive)].
_BASELINE = [(3, "3.0"), (2, "1.5")]


def _decimals(bounds: list[tuple[int, str]]) -> tuple[tuple[int, ...], tuple[Decimal, ...]]:
    """(grades, bounds as the decimals they are written as), read once, not per result."""
    return tuple(g for g, _ in bounds), tuple(Decimal(b) for _, b in bounds)


_LOW_BOUNDS = {test: _decimals(bounds) for test, bounds in _LOW.items()}
_HIGH_BOUNDS = {test: _decimals([*bounds, (1, "1.0")]) for test, bounds in _HIGH.items()}
_BASELINE_BOUNDS = _decimals(_BASELINE)


def grade_lab(lab: Lab, baseline: Lab | None = None) -> tuple[int, str]:
    """CTCAE grade of one result, with a note when the reference range limited it.

    Exact decimals (engine.exact): a bound of 3.0 × ULN 1.4 is 4.20, so 4.2 is grade 2.
    """
    if lab.test in _LOW:
        return _grade_low(lab)
    if lab.test in _HIGH:
        return _grade_high(lab, baseline)
    return 0, f"{lab.test} has no CTCAE laboratory grade"


def _grade_low(lab: Lab) -> tuple[int, str]:
    value = lab_in(lab, ANALYTES[lab.test][1])
    grades, bounds = _LOW_BOUNDS[lab.test]
    first = first_met(value, "<", bounds)
    if first is not None:
        return grades[first], ""
    low = reference_in(lab, "low", lab.written_unit)
    if low is None:
        return 0, "no lower reference limit reported: grade 1 cannot be told from grade 0"
    return (1, "") if compare(lab_in(lab, lab.written_unit), "<", low) else (0, "")


def _grade_high(lab: Lab, baseline: Lab | None) -> tuple[int, str]:
    value = lab_in(lab, lab.written_unit)
    grade_b = 0
    base = None if baseline is None else lab_in(baseline, lab.written_unit)
    if lab.test == "CREAT" and base:
        grade_b = _above(value, base, _BASELINE_BOUNDS)
    high = reference_in(lab, "high", lab.written_unit)
    if high is None or high <= 0:
        note = (
            "no upper reference limit reported: graded against baseline only"
            if grade_b
            else "no upper reference limit reported"
        )
        return grade_b, note
    grade = _above(value, high, _HIGH_BOUNDS[lab.test])
    return max(grade, grade_b), ""


def _above(
    value: Decimal, reference: Decimal, table: tuple[tuple[int, ...], tuple[Decimal, ...]]
) -> int:
    """The first grade whose bound × ``reference`` the value exceeds (0 if none)."""
    grades, bounds = table
    first = first_met(value, ">", (bound * reference for bound in bounds))
    return 0 if first is None else grades[first]
