"""Kidney biologically effective dose (BED) across cycles, and what the cap allows.

Linear-quadratic model, mono-exponential clearance, full repair between cycles:
BED = D + D² · T_rep / ((α/β) · (T_rep + T_eff)) per cycle; cumulative BED is the
sum over cycles (Bodei 2008; MIRD Pamphlet 20). A cycle without a measured kidney
dose is estimated from the patient's mean Gy/GBq (else the protocol's population
value) and flagged; a cycle without its own T_eff uses the protocol default. A T_eff
recorded with ``teff_source: population`` is a population value, not a measurement:
that cycle's BED is flagged estimated like a cycle without one.
"""

from __future__ import annotations

from dataclasses import dataclass

from flexmrt.protocol import KidneyLQ

from .answers import KidneyBedCycle, KidneyBedView
from .context import Context
from .exact import compare
from .record import Administration, Spect

__all__ = ["KidneyBed", "bed_per_cycle", "kidney_bed"]


def bed_per_cycle(dose_gy: float, teff_h: float, alpha_beta_gy: float, t_rep_h: float) -> float:
    """BED (Gy) of one cycle's absorbed dose ``dose_gy`` delivered with half-life ``teff_h``."""
    return dose_gy + dose_gy * dose_gy * t_rep_h / (alpha_beta_gy * (t_rep_h + teff_h))


@dataclass
class KidneyBed:
    cycles: tuple[KidneyBedCycle, ...]
    cumulative_gy: float
    projected_gy: float
    next_activity_gbq: float
    cap_gy: float
    cycles_remaining: int
    estimated: bool
    reduced_fits: bool

    @property
    def exceeded(self) -> bool:
        """The next cycle would take the cumulative BED strictly above the cap."""
        return compare(self.projected_gy, ">", self.cap_gy)

    def view(self, next_cycle: bool) -> KidneyBedView:
        """The account as answers show it; the projection over the next cycle only where
        ``next_cycle`` is possible."""
        return KidneyBedView(
            cycles=self.cycles,
            cumulative_gy=round(self.cumulative_gy, 4),
            projected_gy=round(self.projected_gy, 4) if next_cycle else None,
            next_activity_gbq=round(self.next_activity_gbq, 4) if next_cycle else None,
            cap_gy=self.cap_gy,
            cycles_remaining=self.cycles_remaining if next_cycle else None,
            estimated=self.estimated,
            reduced_activity_fits=self.reduced_fits if next_cycle else None,
        )


def kidney_bed(ctx: Context, next_activity_gbq: float) -> KidneyBed | None:
    """The kidney BED account, or None when the protocol sets no cap for this arm."""
    lq = ctx.protocol.kidney_lq()
    if lq.cap_gy is None or ctx.record.arm not in lq.arms:
        return None
    gy_per_gbq, own = _patient_gy_per_gbq(ctx, lq)
    teff_next = _mean_teff(ctx, lq)
    cycles = tuple(_cycle(ctx, a, gy_per_gbq, lq) for a in ctx.administrations)
    cumulative = sum(c.bed_gy for c in cycles)
    per_next = bed_per_cycle(
        next_activity_gbq * gy_per_gbq, teff_next, lq.alpha_beta_gy, lq.repair_half_time_h
    )
    per_reduced = bed_per_cycle(
        ctx.reduced_activity * gy_per_gbq, teff_next, lq.alpha_beta_gy, lq.repair_half_time_h
    )
    left = max(ctx.max_cycles - ctx.cycles_given, 0)
    fit = _cycles_fitting(cumulative, per_next, lq.cap_gy, left)
    estimated = not own or any(c.dose_estimated or c.teff_estimated for c in cycles)
    return KidneyBed(
        cycles,
        cumulative,
        cumulative + per_next,
        next_activity_gbq,
        lq.cap_gy,
        fit,
        estimated,
        compare(cumulative + per_reduced, "<=", lq.cap_gy),
    )


def _cycles_fitting(cumulative: float, per_cycle: float, cap: float, left: int) -> int:
    n = 0
    while n < left and compare(cumulative + (n + 1) * per_cycle, "<=", cap):
        n += 1
    return n


def _patient_gy_per_gbq(ctx: Context, lq: KidneyLQ) -> tuple[float, bool]:
    """Mean measured Gy/GBq over this patient's cycles; the population value if none."""
    ratios = []
    for a in ctx.administrations:
        scan = _scan(ctx, a.cycle)
        if scan is not None and scan.kidney_dose_gy is not None and a.activity_gbq > 0:
            ratios.append(scan.kidney_dose_gy / a.activity_gbq)
    if not ratios:
        return lq.gy_per_gbq, False
    return sum(ratios) / len(ratios), True


def _mean_teff(ctx: Context, lq: KidneyLQ) -> float:
    values = [s.kidney_teff_h for s in ctx.record.spect or () if s.kidney_teff_h]
    return sum(values) / len(values) if values else lq.effective_half_life_h


def _scan(ctx: Context, cycle: int) -> Spect | None:
    return next((s for s in ctx.record.spect or () if s.cycle == cycle), None)


def _cycle(ctx: Context, admin: Administration, gy_per_gbq: float, lq: KidneyLQ) -> KidneyBedCycle:
    scan = _scan(ctx, admin.cycle)
    measured_gy = scan.kidney_dose_gy if scan is not None else None
    measured = measured_gy is not None
    dose = measured_gy if measured_gy is not None else admin.activity_gbq * gy_per_gbq
    teff = scan.kidney_teff_h if scan is not None and scan.kidney_teff_h else None
    population = scan is not None and scan.teff_source == "population"
    bed = bed_per_cycle(
        dose, teff or lq.effective_half_life_h, lq.alpha_beta_gy, lq.repair_half_time_h
    )
    return KidneyBedCycle(
        cycle=admin.cycle,
        activity_gbq=round(admin.activity_gbq, 4),
        dose_gy=round(dose, 4),
        teff_h=teff or lq.effective_half_life_h,
        bed_gy=bed,
        dose_estimated=not measured,
        teff_estimated=teff is None or population,
    )
