"""Named derived measures that rules compare: eGFR, CrCl, PSA change, tumour volume …

Each returns a Measured: a value (None when it cannot be computed), its unit, the
observations used, and either what is missing (→ INDETERMINATE) or why it does
not apply yet (``n/a: …`` → the comparison is NOT_MET, with that note).
CKD-EPI 2021 (race-free) and Cockcroft-Gault (actual body weight) as in MISSION.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any, Final

from flexmrt.protocol.durations import Duration
from flexmrt.protocol.vocabulary import MEASURES, declared

from .answers import Observation
from .bed import kidney_bed
from .context import Context, lab_evidence
from .response import pcwg3, percent_change, psa_status, recip, tumour_change

__all__ = ["MEASURE_HANDLERS", "Measured", "ckd_epi_2021", "cockcroft_gault", "measure"]

_Compute = Callable[[Context, Duration | None, str, date], "Measured"]
_MEASURES: dict[str, _Compute] = {}
#: How each measure (protocol.vocabulary.MEASURES) is computed, by name.
MEASURE_HANDLERS: Final[Mapping[str, _Compute]] = MappingProxyType(_MEASURES)


def _register(name: str) -> Callable[[_Compute], _Compute]:
    """Register the decorated function as how measure ``name`` is computed."""

    def register(compute: _Compute) -> _Compute:
        _MEASURES[declared("measure", name, MEASURES)] = compute
        return compute

    return register


@dataclass
class Measured:
    value: Any
    unit: str
    observed: list[Observation] = field(default_factory=list)
    missing: str = ""

    @property
    def not_applicable(self) -> bool:
        return self.missing.startswith("n/a")


def ckd_epi_2021(scr_mg_dl: float, age: float, female: bool) -> float:
    """eGFR (mL/min/1.73 m²), CKD-EPI 2021 race-free equation."""
    kappa, alpha = (0.7, -0.241) if female else (0.9, -0.302)
    ratio = scr_mg_dl / kappa
    egfr: float = 142 * min(ratio, 1) ** alpha * max(ratio, 1) ** -1.200 * 0.9938**age
    return egfr * 1.012 if female else egfr


def cockcroft_gault(scr_mg_dl: float, age: float, weight_kg: float, female: bool) -> float:
    """Creatinine clearance (mL/min), Cockcroft-Gault with actual body weight."""
    crcl = (140 - age) * weight_kg / (72 * scr_mg_dl)
    return crcl * 0.85 if female else crcl


def measure(ctx: Context, name: str, within: Duration | None, scan: str, at: date) -> Measured:
    """Compute measure ``name`` for ``ctx`` on day ``at`` (look-back windows end there).

    Computed once per context and arguments (``ctx.measured``): the toxicity triggers
    evaluated on every lab day ask for the same CrCl on one day twice, and for the
    baseline CrCl on every day. A Measured is never changed once returned.
    """
    key = (name, within, scan, at)
    found = ctx.measured.get(key)
    if found is None:
        found = ctx.measured[key] = _MEASURES[name](ctx, within, scan, at)
    return found


@_register("age")
def _age(ctx: Context, within: Duration | None, scan: str, at: date) -> Measured:
    age = ctx.age_on(at)
    if age is None:
        return Measured(None, "years", missing="no birth date or age")
    return Measured(age, "years", [Observation("age", age, "years", pointer="/subject")])


@_register("ecog")
def _ecog(ctx: Context, within: Duration | None, scan: str, at: date) -> Measured:
    from .context import window_start

    start = window_start(at, within)
    rows = [e for e in ctx.record.ecog or () if e[0] <= at and (start is None or e[0] >= start)]
    if not rows:
        span = f" within {within.human()} before {at}" if within else ""
        return Measured(None, "score", missing=f"no ECOG assessment{span}")
    day, score, index = rows[-1]
    return Measured(
        score,
        "score",
        [Observation("ECOG", score, "score", date=day.isoformat(), pointer=f"/ecog/{index}")],
    )


def _renal(
    ctx: Context,
    within: Duration | None,
    at: date,
    formula: Callable[..., float],
    needs_weight: bool,
    unit: str,
) -> Measured:
    lab = ctx.latest_lab("CREAT", within, at)
    age = ctx.age_on(at)
    missing = [
        m
        for m, ok in (
            (
                f"no creatinine within {within.human()} before {at}" if within else "no creatinine",
                lab,
            ),
            ("no birth date or age", age is not None),
            ("no body weight", not needs_weight or ctx.record.weight_kg is not None),
        )
        if not ok
    ]
    if lab is not None and lab.value <= 0:
        missing.append(f"creatinine of {lab.day} is {lab.reported}: no clearance can be computed")
    if missing:
        return Measured(None, unit, missing="; ".join(missing))
    assert lab is not None and age is not None
    female = ctx.record.sex == "F"
    args = (
        (lab.value, age, ctx.record.weight_kg, female) if needs_weight else (lab.value, age, female)
    )
    observed = [
        lab_evidence(lab, "creatinine"),
        Observation("age", age, "years", pointer="/subject"),
    ]
    if needs_weight:
        observed.append(
            Observation("weight", ctx.record.weight_kg, "kg", pointer="/subject/weight")
        )
    return Measured(round(formula(*args), 3), unit, observed)


@_register("egfr_ckd_epi_2021")
def _egfr(ctx: Context, within: Duration | None, scan: str, at: date) -> Measured:
    return _renal(ctx, within, at, ckd_epi_2021, False, "mL/min/1.73m2")


@_register("crcl_cockcroft_gault")
def _crcl(ctx: Context, within: Duration | None, scan: str, at: date) -> Measured:
    return _renal(ctx, within, at, cockcroft_gault, True, "mL/min")


@_register("crcl_change_from_baseline")
def _crcl_change(ctx: Context, within: Duration | None, scan: str, at: date) -> Measured:
    now = measure(ctx, "crcl_cockcroft_gault", within, scan, at)
    base_lab = ctx.baseline_lab("CREAT")
    if now.value is None or base_lab is None:
        return Measured(None, "%", now.observed, now.missing or "no baseline creatinine")
    base = measure(ctx, "crcl_cockcroft_gault", None, scan, base_lab.day)
    if base.value is None or base.value <= 0:
        return Measured(None, "%", now.observed, base.missing or "baseline CrCl is zero")
    change = percent_change(now.value, base.value)
    if change is None:
        return Measured(None, "%", now.observed, "baseline CrCl too small to compare with")
    return Measured(
        round(change, 3), "%", [*now.observed, lab_evidence(base_lab, "baseline creatinine")]
    )


def _psa_change(reference: str) -> Callable[..., Measured]:
    def compute(ctx: Context, within: Duration | None, scan: str, at: date) -> Measured:
        status = psa_status(ctx)
        against = status.baseline if reference == "baseline" else status.nadir
        if status.baseline is None:
            return Measured(None, "%", missing="no baseline PSA on or before cycle 1")
        if status.latest is None or status.latest is status.baseline:
            return Measured(None, "%", missing="no PSA after baseline")
        change = status.change(against)
        observed = [lab_evidence(status.baseline, "PSA baseline")]
        if against is not None and against is not status.baseline:
            observed.append(lab_evidence(against, "PSA nadir"))
        assert status.latest is not None
        observed.append(lab_evidence(status.latest, "PSA latest"))
        if change is None:
            return Measured(None, "%", observed, "reference PSA is zero")
        return Measured(round(change, 3), "%", observed)

    return compute


@_register("pcwg3_progression")
def _pcwg3(ctx: Context, within: Duration | None, scan: str, at: date) -> Measured:
    result = pcwg3(ctx)
    if result.missing:
        return Measured(None, "", missing=result.missing)
    m = Measured(result.status, "", list(result.observed))
    if result.confirm_by:
        m.observed.append(
            Observation("confirmatory PSA due by", result.confirm_by.isoformat(), "date")
        )
    return m


def _tumour(reference: str) -> Callable[..., Measured]:
    def compute(ctx: Context, within: Duration | None, scan: str, at: date) -> Measured:
        change, observed, missing = tumour_change(ctx, scan, reference)
        return Measured(None if change is None else round(change, 3), "%", observed, missing)

    return compute


@_register("spect_new_lesions")
def _new_lesions(ctx: Context, within: Duration | None, scan: str, at: date) -> Measured:
    scans = list(ctx.record.spect or ())
    if not scans:
        return Measured(
            None,
            "",
            missing="n/a: no post-cycle SPECT/CT yet"
            if ctx.record.spect is not None or ctx.cycles_given == 0
            else "no post-cycle SPECT/CT",
        )
    latest = scans[-1]
    if latest.new_lesions is None:
        return Measured(
            None, "", missing=f"new lesions not recorded on cycle {latest.cycle} SPECT/CT"
        )
    return Measured(
        latest.new_lesions,
        "",
        [
            Observation(
                f"new lesions (cycle {latest.cycle} SPECT/CT)",
                latest.new_lesions,
                "",
                date=latest.day.isoformat(),
                pointer=f"/spect_ct/{latest.index}",
            )
        ],
    )


@_register("recip")
def _recip(ctx: Context, within: Duration | None, scan: str, at: date) -> Measured:
    r = recip(ctx)
    if r.missing:
        return Measured(None, "", r.observed, r.missing)
    observed = list(r.observed)
    if r.note:
        observed.append(Observation("RECIP 1.0", r.category, "", note=r.note))
    return Measured(r.category, "", observed)


@_register("cumulative_kidney_bed")
def _kidney_bed(ctx: Context, within: Duration | None, scan: str, at: date) -> Measured:
    account = kidney_bed(ctx, ctx.standard_activity)
    if account is None:
        return Measured(None, "Gy", missing="n/a: no kidney BED cap in this protocol arm")
    return Measured(
        round(account.cumulative_gy, 4),
        "Gy",
        [
            Observation(
                "cumulative kidney BED",
                round(account.cumulative_gy, 4),
                "Gy",
                estimated=account.estimated,
            )
        ],
    )


@_register("delay_past_due")
def _delay(ctx: Context, within: Duration | None, scan: str, at: date) -> Measured:
    if ctx.due is None:
        return Measured(None, "d", missing="n/a: no cycle given yet")
    days = (at - ctx.due).days
    return Measured(
        days,
        "d",
        [
            Observation(
                f"days past the due date of cycle {ctx.cycles_given + 1}",
                days,
                "d",
                date=ctx.due.isoformat(),
            )
        ],
    )


@_register("cycles_given")
def _cycles(ctx: Context, within: Duration | None, scan: str, at: date) -> Measured:
    return Measured(
        ctx.cycles_given,
        "count",
        [Observation("cycles given", ctx.cycles_given, "count", pointer="/administrations")],
    )


_register("psa_change_from_baseline")(_psa_change("baseline"))
_register("psa_change_from_nadir")(_psa_change("nadir"))
_register("tumour_volume_change")(_tumour("cycle1"))
_register("tumour_volume_change_from_nadir")(_tumour("nadir"))
