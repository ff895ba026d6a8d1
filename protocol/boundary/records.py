"""Minimal patient records for boundary cases: one fact varied, everything else neutral.

The subject is a 68-year-old man of 80 kg on every case's evaluation date; a case
adds the labs, scans, therapies or cycles its rule reads. Numbers are written into
the record as JSON numbers (floats print as the decimal they were made from).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

__all__ = ["AGE", "AS_OF", "WEIGHT_KG", "base", "lab", "number"]

AS_OF = date(2025, 6, 16)  # mid-month, so month windows need no end-of-month clamping
AGE = 68
WEIGHT_KG = Decimal(80)


def number(value: Decimal) -> int | float:
    """A decimal as a JSON number: an int when whole, else the float that prints as it."""
    return int(value) if value == value.to_integral_value() else float(value)


def base(as_of: date = AS_OF, arm: str | None = None) -> dict[str, Any]:
    """The neutral record: age ``AGE`` on ``as_of`` (birthday in January), ``WEIGHT_KG`` kg."""
    doc: dict[str, Any] = {
        "record_version": 1,
        "subject": {
            "id": "BOUNDARY",
            "sex": "M",
            "birth_date": date(as_of.year - AGE, 1, 10).isoformat(),
            "weight": {"value": number(WEIGHT_KG), "unit": "kg"},
        },
    }
    if arm is not None:
        doc["randomisation"] = {"arm": arm, "date": (as_of - timedelta(days=400)).isoformat()}
    return doc


def lab(
    test: str, value: Decimal, unit: str, day: date, ref: tuple[str, str] | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "testcd": test,
        "value": number(value),
        "unit": unit,
        "dtc": day.isoformat(),
    }
    if ref is not None:
        entry["ref_low"] = number(Decimal(ref[0]))
        entry["ref_high"] = number(Decimal(ref[1]))
    return entry


def cycles(doc: dict[str, Any], days: list[date], gbq: str = "7.4") -> None:
    """Administrations on ``days`` (cycle 1, 2, …)."""
    doc["administrations"] = [
        {"cycle": i, "dtc": day.isoformat(), "activity": {"value": float(gbq), "unit": "GBq"}}
        for i, day in enumerate(days, start=1)
    ]
