"""Records that put one derived measure or one collection count at a chosen value.

Measure builders take the target value (in the measure's canonical unit) and the day
of the observation that varies, and return (record, as_of) or None when no valid record
has that value. Collection builders put items that match a count's ``where`` into a
record.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import reference as ref
from .records import AGE, AS_OF, base, cycles, lab, number

if TYPE_CHECKING:
    from .generate import _Generator

__all__ = ["DATED", "ITEMS", "MEASURES", "MEASURE_UNITS", "VARIANTS", "WHOLE"]


# -- measure records: (generator, target value) -> (record, as_of) or None -------------
def _ecog(gen: _Generator, value: Decimal, day: date) -> tuple[dict[str, Any], date] | None:
    if not 0 <= value <= 5 or value != value.to_integral_value():
        return None
    doc = base()
    doc["ecog"] = [{"dtc": day.isoformat(), "score": int(value)}]
    return doc, AS_OF


def _crcl(
    gen: _Generator, value: Decimal, day: date, unit: str = "mg/dL"
) -> tuple[dict[str, Any], date] | None:
    """Creatinine 1.0 mg/dL (88.42 µmol/L) at 68 years: Cockcroft-Gault CrCl equals the
    weight in kg."""
    if value <= 0:
        return None
    scr = Decimal("1.0")
    weight = value * 72 * scr / (140 - AGE)
    assert ref.cockcroft_gault(AGE, weight, scr) == value
    doc = base()
    doc["subject"]["weight"] = {"value": number(weight), "unit": "kg"}
    doc["labs"] = [lab("CREAT", ref.convert(scr, "mg/dL", unit, "CREAT"), unit, day)]
    return doc, AS_OF


def _crcl_change(gen: _Generator, value: Decimal, day: date) -> tuple[dict[str, Any], date] | None:
    """Baseline creatinine B, now 1.0 mg/dL: CrCl change = (B / 1.0 − 1) × 100 %."""
    baseline = Decimal("1.0") * (1 + value / 100)
    if baseline <= 0:
        return None
    doc = base(arm=gen.arm)
    cycles(doc, [AS_OF - timedelta(days=28)])
    doc["labs"] = [
        lab("CREAT", baseline, "mg/dL", AS_OF - timedelta(days=30)),
        lab("CREAT", Decimal("1.0"), "mg/dL", AS_OF),
    ]
    return doc, AS_OF


def _psa_change(gen: _Generator, value: Decimal, day: date) -> tuple[dict[str, Any], date] | None:
    """Baseline PSA 10 ng/mL before cycle 1; the latest PSA 10 × (1 + change/100)."""
    latest = Decimal(10) * (1 + value / 100)
    if latest < 0:
        return None
    doc = base(arm=gen.arm)
    cycles(doc, [AS_OF - timedelta(days=84), AS_OF - timedelta(days=42)])
    doc["labs"] = [
        lab("PSA", Decimal(10), "ng/mL", AS_OF - timedelta(days=86)),
        lab("PSA", latest, "ng/mL", AS_OF - timedelta(days=1)),
    ]
    return doc, AS_OF


def _tumour(reference: str) -> Callable[[_Generator, Decimal, date], Any]:
    """Cycle-1 SPECT/CT 100 mL (and 50 mL at cycle 2 as the nadir); the last scan varies."""

    def build(gen: _Generator, value: Decimal, day: date) -> tuple[dict[str, Any], date] | None:
        start = AS_OF - timedelta(days=90)
        days = [start + timedelta(days=42 * i) for i in range(3 if reference == "nadir" else 2)]
        volumes = [Decimal(100), Decimal(50)] if reference == "nadir" else [Decimal(100)]
        ref_volume = volumes[-1]
        volumes.append(ref_volume * (1 + value / 100))
        if volumes[-1] < 0:
            return None
        doc = base(arm=gen.arm)
        cycles(doc, days)
        doc["spect_ct"] = [
            {
                "cycle": i,
                "dtc": (day + timedelta(days=1)).isoformat(),
                "tumour_volume_ml": number(vol),
                "new_lesions": False,
            }
            for i, (day, vol) in enumerate(zip(days, volumes, strict=True), start=1)
        ]
        return doc, days[-1] + timedelta(days=2)

    return build


def _delay(gen: _Generator, value: Decimal, day: date) -> tuple[dict[str, Any], date] | None:
    """Cycle 1 given; as_of = its due date (+ the arm's interval) + ``value`` days."""
    interval = str(gen.resolve(gen.doc["arms"][0]["interval"])[0])
    given = AS_OF - timedelta(days=200)
    due = given + (given - ref.back(given, interval))
    doc = base(as_of=due + timedelta(days=int(value)), arm=gen.arm)
    cycles(doc, [given])
    return doc, due + timedelta(days=int(value))


def _age(gen: _Generator, value: Decimal, day: date) -> tuple[dict[str, Any], date] | None:
    if value != value.to_integral_value() or value < 0:
        return None
    doc = base()
    doc["subject"]["birth_date"] = date(AS_OF.year - int(value), 1, 10).isoformat()
    return doc, AS_OF


MEASURES: dict[str, Callable[[_Generator, Decimal, date], Any]] = {
    "ecog": _ecog,
    "age": _age,
    "crcl_cockcroft_gault": _crcl,
    "crcl_change_from_baseline": _crcl_change,
    "psa_change_from_baseline": _psa_change,
    "tumour_volume_change": _tumour("cycle1"),
    "tumour_volume_change_from_nadir": _tumour("nadir"),
    "delay_past_due": _delay,
}
MEASURE_UNITS = {
    "crcl_cockcroft_gault": "mL/min",
    "egfr_ckd_epi_2021": "mL/min/1.73m2",
    "cumulative_kidney_bed": "Gy",
}
VARIANTS = {"crcl_cockcroft_gault": ["mg/dL", "umol/L"]}  # creatinine units
DATED = {"ecog": "ECOG", "crcl_cockcroft_gault": "creatinine"}  # dated by ``day``
WHOLE = {"ecog", "age", "delay_past_due", "cycles_given"}


# -- collection items: (record, [field values per item], day) -> record ----------------
def _therapies(doc: dict[str, Any], items: list[dict[str, Any]], day: date) -> dict[str, Any]:
    doc.setdefault("history", {})["prior_therapies"] = [
        {
            "class": str(item.get("class", "other_systemic")),
            "agent": "boundary",
            "start": (day - timedelta(days=60)).isoformat(),
            "end": day.isoformat(),
        }
        for item in items
    ]
    return doc


def _lesions(which: str) -> Callable[[dict[str, Any], list[dict[str, Any]], date], dict[str, Any]]:
    def build(doc: dict[str, Any], items: list[dict[str, Any]], day: date) -> dict[str, Any]:
        pet: dict[str, Any] = {
            "dtc": day.isoformat(),
            "psma_positive_lesions": [],
            "psma_negative_lesions": [],
        }
        defaults = (
            {"site": "bone", "above_liver": True}
            if which == "psma_positive_lesions"
            else {"site": "lymph_node", "short_axis_mm": 1}
        )
        pet[which] = [
            {k: number(v) if isinstance(v, Decimal) else v for k, v in {**defaults, **i}.items()}
            for i in items
        ]
        doc["screening_pet"] = pet
        return doc

    return build


ITEMS: dict[str, Callable[[dict[str, Any], list[dict[str, Any]], date], dict[str, Any]]] = {
    "prior_therapies": _therapies,
    "psma_positive_lesions": _lesions("psma_positive_lesions"),
    "psma_negative_lesions": _lesions("psma_negative_lesions"),
}
