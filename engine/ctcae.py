"""CTCAE v5.0 grades of laboratory results (Investigations and Blood sections).

Values in canonical units (g/dL, 10^9/L, multiples of ULN). Ranges read as the
CTCAE text: "G2 < 10.0–8.0 g/dL" means 8.0 ≤ value < 10.0. Grade 1 needs the
reference range (LLN/ULN); without it a value that would be grade 1 or 0 is
graded 0 and the note says so.
"""

from __future__ import annotations

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

# Decreases: (test, [(grade, upper bound exclusive)]) from most to least severe.
_LOW = {
    "HGB": [(3, 8.0), (2, 10.0)],
    "NEUT": [(4, 0.5), (3, 1.0), (2, 1.5)],
    "PLAT": [(4, 25.0), (3, 50.0), (2, 75.0)],
    "WBC": [(4, 1.0), (3, 2.0), (2, 3.0)],
}
# Increases as multiples of ULN: [(grade, lower bound exclusive)].
_HIGH = {
    "CREAT": [(4, 6.0), (3, 3.0), (2, 1.5)],
    "AST": [(4, 20.0), (3, 5.0), (2, 3.0)],
    "ALT": [(4, 20.0), (3, 5.0), (2, 3.0)],
    "BILI": [(4, 10.0), (3, 3.0), (2, 1.5)],
}


def grade_lab(
    test: str, value: float, low: float | None, high: float | None, baseline: float | None = None
) -> tuple[int, str]:
    """CTCAE grade of one result, with a note when the reference range limited it."""
    if test in _LOW:
        return _grade_low(test, value, low)
    if test in _HIGH:
        return _grade_high(test, value, high, baseline)
    return 0, f"{test} has no CTCAE laboratory grade"


def _grade_low(test: str, value: float, low: float | None) -> tuple[int, str]:
    for grade, bound in _LOW[test]:
        if value < bound:
            return grade, ""
    if low is None:
        return 0, "no lower reference limit reported: grade 1 cannot be told from grade 0"
    return (1, "") if value < low else (0, "")


def _grade_high(
    test: str, value: float, high: float | None, baseline: float | None
) -> tuple[int, str]:
    grade_b = 0
    if test == "CREAT" and baseline:
        ratio_b = value / baseline
        grade_b = 3 if ratio_b > 3.0 else 2 if ratio_b > 1.5 else 0
    if high is None or high <= 0:
        note = (
            "no upper reference limit reported: graded against baseline only"
            if grade_b
            else "no upper reference limit reported"
        )
        return grade_b, note
    ratio = value / high
    for grade, bound in _HIGH[test]:
        if ratio > bound:
            return max(grade, grade_b), ""
    return max(1 if ratio > 1.0 else 0, grade_b), ""
