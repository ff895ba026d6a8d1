"""Response measures: PSA against baseline and nadir (PCWG3), tumour volume, RECIP 1.0.

PCWG3 (Scher 2016): progression is a rise ≥ rise_pct and ≥ rise_abs above the
nadir, confirmed by a later value ≥ confirm_after (21 days) after the first rise
that still meets both thresholds; the progression date is the first rise. The
nadir is the lowest PSA since baseline and is not reset by a holiday. Without a
prior decline the rule applies only from no_decline_from (12 weeks) after cycle 1.
RECIP 1.0 (Gafita 2022): CR no uptake; PR PSMA-VOL ≤ −30 % without new lesions;
PD PSMA-VOL ≥ +20 % with new lesions; SD otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flexmrt.protocol.durations import Duration, add_duration

from .answers import Observation
from .context import Context, lab_evidence
from .exact import as_decimal, compare
from .record import Lab, Pet, Spect

__all__ = [
    "Pcwg3",
    "PsaStatus",
    "Recip",
    "pcwg3",
    "percent_change",
    "psa_status",
    "recip",
    "tumour_change",
]


@dataclass
class PsaStatus:
    baseline: Lab | None
    latest: Lab | None
    nadir: Lab | None

    def change(self, against: Lab | None) -> float | None:
        if against is None or self.latest is None:
            return None
        return percent_change(self.latest.value, against.value)


def percent_change(value: float, reference: float) -> float | None:
    """(value − reference) / reference in %; None when the reference is zero or so small
    that the change has no finite value."""
    if reference <= 0:
        return None
    exact = (as_decimal(value) - as_decimal(reference)) / as_decimal(reference) * 100
    change = float(exact)  # the decimal result, so that 1.0 from 10 is -90 exactly
    return change if math.isfinite(change) else None


def psa_status(ctx: Context) -> PsaStatus:
    baseline = ctx.baseline_lab("PSA")
    series = _since_baseline(ctx, baseline)
    latest = series[-1] if series else None
    nadir = min(series, key=lambda x: (x.value, x.when)) if series else None
    return PsaStatus(baseline, latest, nadir)


def _since_baseline(ctx: Context, baseline: Lab | None) -> list[Lab]:
    if baseline is None:
        return []
    return [x for x in ctx.labs("PSA") if x.when >= baseline.when]


@dataclass
class Pcwg3:
    """PCWG3 status: 'none', 'unconfirmed' or 'confirmed', with dates and evidence."""

    status: str
    observed: list[Observation] = field(default_factory=list)
    first_rise: date | None = None
    confirm_by: date | None = None
    missing: str = ""


def pcwg3(ctx: Context) -> Pcwg3:
    params = ctx.protocol.doc["response"]["pcwg3"]
    rise_pct = ctx.protocol.quantity(params["rise_pct"], "percent")
    rise_abs, _ = ctx.protocol.raw(params["rise_abs"])  # as written: 2 ng/mL, not 2.0
    confirm_days = ctx.protocol.duration(params["confirm_after"]).days
    no_decline_days = ctx.protocol.duration(params["no_decline_from"]).days
    baseline = ctx.baseline_lab("PSA")
    if baseline is None:
        return Pcwg3("none", missing="no baseline PSA on or before cycle 1")
    series = _since_baseline(ctx, baseline)
    nadir = series[0] if series else baseline
    for i, value in enumerate(series[1:], start=1):
        # the running minimum of series[:i]: the first lowest, as min() would pick it
        nadir = series[i - 1] if series[i - 1].value < nadir.value else nadir
        if not _meets(value, nadir, rise_pct, rise_abs):
            continue
        declined = nadir.value < baseline.value
        if not declined and (value.day - ctx.baseline_day).days < no_decline_days:
            continue
        status, confirm = _confirm(series[i + 1 :], value, nadir, rise_pct, rise_abs, confirm_days)
        if status == "refuted":
            continue
        observed = [lab_evidence(nadir, "PSA nadir"), lab_evidence(value, "PSA first rise")]
        if confirm is not None:
            observed.append(lab_evidence(confirm, "PSA confirmation"))
        confirm_by = value.day + timedelta(days=confirm_days)
        return Pcwg3(status, observed, value.day, None if confirm else confirm_by)
    return Pcwg3("none", [lab_evidence(series[-1], "PSA latest")] if series else [])


def _meets(value: Lab, nadir: Lab, rise_pct: float, rise_abs: float) -> bool:
    change = percent_change(value.value, nadir.value)
    rise = as_decimal(value.value) - as_decimal(nadir.value)
    pct_met = compare(change, ">=", rise_pct) if change is not None else rise > 0
    return pct_met and compare(rise, ">=", rise_abs)


def _confirm(
    later: list[Lab], rise: Lab, nadir: Lab, rise_pct: float, rise_abs: float, confirm_days: float
) -> tuple[str, Lab | None]:
    """Every later value must still meet the thresholds until one ≥ confirm_days after."""
    for value in later:
        if not _meets(value, nadir, rise_pct, rise_abs):
            return "refuted", None
        if (value.day - rise.day).days >= confirm_days:
            return "confirmed", value
    return "unconfirmed", None


def tumour_change(
    ctx: Context, scan: str, reference: str
) -> tuple[float | None, list[Observation], str]:
    """% change of PSMA-avid tumour volume on SPECT/CT against cycle 1's or the nadir.

    Returns (change or None, evidence, missing-or-not-applicable message).
    """
    scans = [s for s in ctx.record.spect or () if s.tumour_volume_ml is not None]
    if ctx.record.spect is None or not scans:
        if ctx.cycles_given == 0:
            return None, [], "n/a: no cycle given yet"
        return None, [], "no post-cycle SPECT/CT with a tumour volume"
    current = _current_scan(ctx, scans, scan)
    if current is None:
        return None, [], f"no SPECT/CT tumour volume for cycle {ctx.cycles_given}"
    since = ctx.restarted_on if ctx.open_holiday is None else None
    earlier = [s for s in scans if s.when < current.when and (since is None or s.day >= since)]
    if reference == "cycle1":
        ref = next((s for s in scans if s.cycle == 1), None)
        if ref is None:
            return None, [], "no cycle-1 SPECT/CT tumour volume (the baseline)"
    else:
        if not earlier:
            return None, [], "n/a: fewer than two post-cycle SPECT/CT scans"
        ref = min(earlier, key=lambda s: (s.tumour_volume_ml, s.when))
    assert ref.tumour_volume_ml is not None and current.tumour_volume_ml is not None
    change = percent_change(current.tumour_volume_ml, ref.tumour_volume_ml)
    if change is None:
        return None, [], "reference tumour volume is zero"
    label = "cycle-1 SPECT/CT" if reference == "cycle1" else "SPECT/CT nadir"
    return change, [_spect_evidence(ref, label), _spect_evidence(current, "SPECT/CT current")], ""


def _current_scan(ctx: Context, scans: list[Spect], scan: str) -> Spect | None:
    if scan == "last_cycle":
        return next((s for s in reversed(scans) if s.cycle == ctx.cycles_given), None)
    return scans[-1]


def _spect_evidence(s: Spect, what: str) -> Observation:
    return Observation(
        f"{what} tumour volume (cycle {s.cycle})",
        s.tumour_volume_ml,
        "mL",
        date=s.day.isoformat(),
        pointer=f"/spect_ct/{s.index}",
    )


@dataclass
class Recip:
    category: str  # CR PR SD PD, or NE (no scan in scope)
    observed: list[Observation]
    missing: str = ""
    note: str = ""


def recip(ctx: Context) -> Recip:
    """RECIP 1.0 on the latest PSMA PET/CT in scope.

    On holiday, where the protocol sets ``holidays.baseline_window``, see
    :func:`_holiday_recip`; without it (flex-mrt 1.0) the scope starts at the holiday's start
    and the reference is the lowest PSMA-VOL since then. On treatment after a restart the
    scope starts after the restart (the PET that caused it does not stop treatment) and the
    last PET before it is the reference until a later one is lower; before any holiday the
    screening PET may serve.
    """
    if ctx.record.pets is None:
        return Recip("NE", [], note="no PSMA PET/CT follow-up recorded")
    window = (ctx.protocol.doc.get("holidays") or {}).get("baseline_window")
    if ctx.open_holiday is not None and window is not None:
        return _holiday_recip(ctx, ctx.open_holiday.start, ctx.protocol.duration(window))
    start = ctx.open_holiday.start if ctx.open_holiday else None
    restart = None if start else ctx.restarted_on
    scope = [p for p in ctx.record.pets if _in_scope(p.day, start, restart)]
    if not scope:
        return Recip("NE", [], note="no PSMA PET/CT in scope yet")
    latest = scope[-1]
    if latest.recip is not None:
        return Recip(latest.recip, [_pet_evidence(latest, "RECIP read")])
    earlier = [p for p in scope[:-1] if p.psma_vol_ml is not None]
    if not earlier and restart is not None:
        before = [p for p in ctx.record.pets if p.day <= restart and p.psma_vol_ml is not None]
        earlier = before[-1:]
    screening = None if start or restart else (ctx.record.screening_pet or {}).get("psma_vol_ml")
    if (not earlier and screening is None) or latest.psma_vol_ml is None:
        return Recip(
            "NE",
            [_pet_evidence(latest, "PSMA PET/CT")],
            note="no reference PSMA-VOL to compare with",
        )
    return _categorise(ctx, latest, earlier, screening, start is not None)


def _holiday_recip(ctx: Context, start: date, window: Duration) -> Recip:
    """RECIP 1.0 on a holiday against its baseline.

    The baseline is the first PSMA PET/CT with a PSMA-VOL within ``window`` before or after
    the holiday start (inclusive); the reference is the lowest PSMA-VOL among it and the later
    holiday PETs. An explicit RECIP read on the latest PET wins and is used as is. Without a
    baseline (and without a read) RECIP is indeterminate — never "no progression".
    """
    opens, closes = add_duration(start, window, -1), add_duration(start, window)
    scope = [p for p in ctx.record.pets or () if p.day >= opens]
    if not scope:
        return Recip("NE", [], note="no PSMA PET/CT on this holiday yet")
    latest = scope[-1]
    if latest.recip is not None:
        return Recip(latest.recip, [_pet_evidence(latest, "RECIP read")])
    baseline = next((p for p in scope if p.day <= closes and p.psma_vol_ml is not None), None)
    if baseline is None:
        return Recip(
            "NE",
            [_pet_evidence(latest, "PSMA PET/CT")],
            missing=f"no holiday baseline PSMA PET/CT (a PSMA-VOL within {window.human()} "
            f"before or after the holiday start {start}) and no explicit RECIP read on the "
            f"PSMA PET/CT of {latest.day}",
        )
    if latest is baseline:
        return Recip(
            "NE",
            [_pet_evidence(baseline, "PSMA-VOL holiday baseline")],
            note="the holiday's baseline PSMA PET/CT: RECIP from the next one",
        )
    if latest.psma_vol_ml is None:
        return Recip(
            "NE",
            [_pet_evidence(latest, "PSMA PET/CT")],
            missing=f"no PSMA-VOL and no RECIP read on the PSMA PET/CT of {latest.day}",
        )
    earlier = [p for p in scope[:-1] if p.when >= baseline.when and p.psma_vol_ml is not None]
    return _categorise(ctx, latest, earlier, None, True, baseline)


def _in_scope(day: date, holiday_start: date | None, restart: date | None) -> bool:
    if holiday_start is not None:
        return day >= holiday_start
    return restart is None or day > restart


def _categorise(
    ctx: Context,
    latest: Pet,
    earlier: list[Pet],
    screening: float | None,
    on_holiday: bool,
    baseline: Pet | None = None,
) -> Recip:
    params = ctx.protocol.doc["response"]["recip"]
    pr = ctx.protocol.quantity(params["pr_change"], "percent")
    pd = ctx.protocol.quantity(params["pd_change"], "percent")
    if earlier:
        ref = min(earlier, key=lambda p: (p.psma_vol_ml, p.when))
        ref_vol: float = ref.psma_vol_ml or 0.0
        label = "holiday nadir" if on_holiday else "nadir"
        if baseline is not None and ref is baseline:
            label = "holiday baseline"
        observed = [_pet_evidence(ref, f"PSMA-VOL reference ({label})")]
    else:
        ref_vol = float(screening or 0.0)
        observed = [
            Observation(
                "PSMA-VOL reference (screening PET)",
                ref_vol,
                "mL",
                pointer="/screening_pet/psma_vol_ml",
            )
        ]
    observed.append(_pet_evidence(latest, "PSMA-VOL current"))
    vol = latest.psma_vol_ml or 0.0
    if vol == 0:
        return Recip("CR", observed)
    change = percent_change(vol, ref_vol) if ref_vol > 0 else None
    change = float("inf") if change is None else change
    progressed = compare(change, ">=", pd)
    if progressed and latest.new_lesions is None:
        return Recip("NE", observed, missing="new lesions not recorded on the latest PSMA PET/CT")
    if progressed and latest.new_lesions:
        return Recip("PD", observed, note=f"PSMA-VOL {change:+.1f} % with new lesions")
    if compare(change, "<=", pr) and latest.new_lesions is False:
        return Recip("PR", observed, note=f"PSMA-VOL {change:+.1f} %")
    return Recip("SD", observed, note=f"PSMA-VOL {change:+.1f} %")


def _pet_evidence(p: Pet, what: str) -> Observation:
    value: Any = p.recip if p.recip is not None and what == "RECIP read" else p.psma_vol_ml
    unit = "" if what == "RECIP read" else "mL"
    return Observation(what, value, unit, date=p.day.isoformat(), pointer=f"/pet_ct/{p.index}")
