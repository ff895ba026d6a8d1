"""Every organ at risk accumulated across cycles: dose and BED per cycle, cumulative,
projected after the next cycle, margin to its limit, each with its uncertainty.

The organs, their radiobiology and limits are protocol data
(``organ_limits.organs_at_risk``, :mod:`protocol.organs`). Per cycle an organ's dose
is the post-cycle SPECT/CT's (``spect_ct[].organs_at_risk``; the kidneys also from
``kidney_dose_gy``), else estimated from this patient's mean Gy/GBq for that organ
(the protocol's population value before any measured cycle) and flagged. BED per
cycle is the LQ model with the organ's α/β, repair half-time and the cycle's T_eff
(else the population value, flagged estimated): BED = D + D²·T_rep/((α/β)(T_rep + T_eff)).
The next cycle is projected at the activity it would really have, with the patient's
mean Gy/GBq and mean recorded T_eff.

Uncertainty (:mod:`engine.uncertainty`) is carried only where every measured cycle
of the organ records it (``uncertainty`` components or ``dose_u_gy``): a record
without uncertainty data gives the same answers as before, with ``None`` for every
``u``. A dose estimated from the patient's mean Gy/GBq (a missing cycle, the next
cycle) carries the calibration part of the measured cycles (correlated) and, as
independent parts, the spread of the patient's own Gy/GBq (two or more measured
cycles; else the population spread, ``dose_per_activity_sd``) and the measured
cycles' independent relative uncertainty over √n (the uncertainty of their mean).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flexmrt.protocol import OrganAtRisk, organs_at_risk

from .answers import OrganAtRiskView, OrganCycleView, OrganLimit, OrganNextCycle, Source
from .bed import bed_per_cycle
from .context import Context
from .exact import compare
from .record import Administration, Spect
from .uncertainty import COVERAGE_K, Uncertain, bed_sensitivity, total

__all__ = [
    "OrganAccount",
    "OrganCycle",
    "cycles_fitting_range",
    "organ_accounts",
    "settling_measurement",
]


@dataclass(frozen=True)
class _Measured:
    dose_gy: float
    teff_h: float | None
    teff_source: str | None
    parts: tuple[float, float, float] | None  # relative u: calibration, time, volume
    dose_u_gy: float | None
    scan_h: float | None


@dataclass(frozen=True)
class OrganCycle:
    """One given cycle of one organ; ``u`` (of BED) is None without uncertainty data."""

    cycle: int
    activity_gbq: float
    dose_gy: float
    teff_h: float
    bed_gy: float
    dose_estimated: bool
    teff_estimated: bool
    teff_source: str | None
    dose_u: Uncertain | None
    bed_u: Uncertain | None
    parts: tuple[float, float, float] | None
    scan_h: float | None

    def view(self) -> OrganCycleView:
        """The cycle as the decision shows it (Gy, GBq rounded to 4 places, h to 3)."""
        return OrganCycleView(
            cycle=self.cycle,
            activity_gbq=round(self.activity_gbq, 4),
            dose_gy=round(self.dose_gy, 4),
            dose_u_gy=None if self.dose_u is None else round(self.dose_u.u, 4),
            teff_h=round(self.teff_h, 3),
            teff_source=self.teff_source,
            bed_gy=round(self.bed_gy, 4),
            bed_u_gy=None if self.bed_u is None else round(self.bed_u.u, 4),
            dose_estimated=self.dose_estimated,
            teff_estimated=self.teff_estimated,
        )


@dataclass(frozen=True)
class OrganAccount:
    """One organ's account; sums and projections in Gy, ``*_u`` standard uncertainties."""

    organ: OrganAtRisk
    cycles: tuple[OrganCycle, ...]
    gy_per_gbq: float
    gy_per_gbq_from: str  # patient | population
    next_activity_gbq: float
    next_teff_h: float
    next_dose_gy: float
    next_bed_gy: float
    next_u: Uncertain | None  # of the next cycle's BED
    next_dose_u: Uncertain | None
    estimated: bool

    @property
    def has_uncertainty(self) -> bool:
        return self.next_u is not None

    @property
    def cumulative_dose_gy(self) -> float:
        return sum(c.dose_gy for c in self.cycles)

    @property
    def cumulative_bed_gy(self) -> float:
        return sum(c.bed_gy for c in self.cycles)

    def cumulative_u(self, quantity: str) -> float | None:
        if not self.has_uncertainty:
            return None
        return total(_u_of(c, quantity) for c in self.cycles)

    def projected(self, quantity: str) -> float:
        if quantity == "dose":
            return self.cumulative_dose_gy + self.next_dose_gy
        return self.cumulative_bed_gy + self.next_bed_gy

    def projected_u(self, quantity: str, n: int = 1) -> float | None:
        """u of the cumulative value after ``n`` more cycles like the next one."""
        nxt = self.next_dose_u if quantity == "dose" else self.next_u
        if nxt is None:
            return None
        parts = [_u_of(c, quantity) for c in self.cycles] + [nxt] * n
        return total(parts)

    def interval(self, quantity: str) -> tuple[float, float] | None:
        u = self.projected_u(quantity)
        if u is None:
            return None
        value = self.projected(quantity)
        return value - COVERAGE_K * u, value + COVERAGE_K * u

    def view(self, with_projection: bool = True) -> OrganAtRiskView:
        """The account as the decision shows it; the projection over the next cycle only
        ``with_projection`` (a next cycle is possible)."""
        o = self.organ
        limit = None
        if o.limit_gy is not None and o.limit_quantity and o.limit_action:
            limit = OrganLimit(o.limit_quantity, o.limit_gy, o.limit_action)
        q = o.limit_quantity or "bed"
        interval = self.interval(q) if with_projection else None
        projected = self.projected(q) if with_projection else None
        return OrganAtRiskView(
            organ=o.id,
            name=o.words,
            cycles=tuple(c.view() for c in self.cycles),
            cumulative_dose_gy=round(self.cumulative_dose_gy, 4),
            cumulative_dose_u_gy=_r(self.cumulative_u("dose")),
            cumulative_bed_gy=round(self.cumulative_bed_gy, 4),
            cumulative_bed_u_gy=_r(self.cumulative_u("bed")),
            gy_per_gbq=round(self.gy_per_gbq, 4),
            gy_per_gbq_from=self.gy_per_gbq_from,
            next=self._next() if with_projection else None,
            limit=limit,
            projected_gy=_r(projected),
            projected_u_gy=_r(self.projected_u(q)) if with_projection else None,
            projected_interval_gy=None
            if interval is None
            else (round(interval[0], 4), round(interval[1], 4)),
            margin_gy=None
            if o.limit_gy is None or projected is None
            else round(o.limit_gy - projected, 4),
            estimated=self.estimated,
            alpha_beta_gy=o.alpha_beta_gy,
            repair_half_time_h=o.repair_half_time_h,
            source=Source.of(o.source),
            verification=o.verification,
        )

    def _next(self) -> OrganNextCycle:
        return OrganNextCycle(
            activity_gbq=round(self.next_activity_gbq, 4),
            dose_gy=round(self.next_dose_gy, 4),
            bed_gy=round(self.next_bed_gy, 4),
            teff_h=round(self.next_teff_h, 3),
        )


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _u_of(c: OrganCycle, quantity: str) -> Uncertain:
    u = c.dose_u if quantity == "dose" else c.bed_u
    return u if u is not None else Uncertain()


def organ_accounts(ctx: Context, next_activity_gbq: float) -> tuple[OrganAccount, ...]:
    """One account per organ at risk of the protocol (() when it lists none)."""
    return tuple(_account(ctx, o, next_activity_gbq) for o in organs_at_risk(ctx.protocol))


def _measured(scan: Spect | None, organ: str) -> _Measured | None:
    if scan is None:
        return None
    od = scan.organ(organ)
    dose = scan.kidney_dose_gy if organ == "kidneys" else None
    if dose is None and od is not None:
        dose = od.dose_gy
    if dose is None:
        return None
    teff = scan.kidney_teff_h if organ == "kidneys" else None
    source = scan.teff_source if organ == "kidneys" and teff else None
    if teff is None and od is not None:
        teff, source = od.teff_h, od.teff_source
    parts = None
    if od is not None and None not in (od.u_calibration, od.u_time_integration, od.u_volume):
        parts = (od.u_calibration or 0.0, od.u_time_integration or 0.0, od.u_volume or 0.0)
    u_gy = od.dose_u_gy if od is not None else None
    return _Measured(dose, teff, source, parts, u_gy, scan.hours_post_injection)


def _scans(ctx: Context, organ: str) -> dict[int, _Measured]:
    out = {}
    for s in ctx.record.spect or ():
        m = _measured(s, organ)
        if m is not None:
            out[s.cycle] = m
    return out


def _dose_u(m: _Measured) -> Uncertain | None:
    if m.parts is not None:
        c, t, v = m.parts
        return Uncertain(m.dose_gy * c, m.dose_gy * math.hypot(t, v))
    return None if m.dose_u_gy is None else Uncertain(0.0, m.dose_u_gy)


def _account(ctx: Context, organ: OrganAtRisk, next_gbq: float) -> OrganAccount:
    scans = _scans(ctx, organ.id)
    admins = {a.cycle: a for a in ctx.administrations}
    ratios = [m.dose_gy / admins[c].activity_gbq for c, m in scans.items() if _gbq(admins, c)]
    gy_per_gbq = sum(ratios) / len(ratios) if ratios else organ.gy_per_gbq
    teffs = [m.teff_h for m in scans.values() if m.teff_h]
    next_teff = sum(teffs) / len(teffs) if teffs else organ.teff_h
    us = [_dose_u(m) for m in scans.values()]
    with_u = bool(scans) and all(u is not None for u in us)
    est_rel = _estimate_rel(organ, ratios, scans, us) if with_u else None
    cycles = tuple(
        _cycle(organ, a, scans.get(a.cycle), gy_per_gbq, est_rel) for a in ctx.administrations
    )
    next_dose = next_gbq * gy_per_gbq
    next_bed = bed_per_cycle(next_dose, next_teff, organ.alpha_beta_gy, organ.repair_half_time_h)
    sens = bed_sensitivity(next_dose, next_teff, organ.alpha_beta_gy, organ.repair_half_time_h)
    next_dose_u = None if est_rel is None else est_rel.scaled(next_dose)
    estimated = not ratios or any(c.dose_estimated or c.teff_estimated for c in cycles)
    return OrganAccount(
        organ,
        cycles,
        gy_per_gbq,
        "patient" if ratios else "population",
        next_gbq,
        next_teff,
        next_dose,
        next_bed,
        None if next_dose_u is None else next_dose_u.scaled(sens),
        next_dose_u,
        estimated,
    )


def _gbq(admins: dict[int, Administration], cycle: int) -> bool:
    a = admins.get(cycle)
    return a is not None and a.activity_gbq > 0


def _estimate_rel(
    organ: OrganAtRisk,
    ratios: list[float],
    scans: dict[int, _Measured],
    us: list[Uncertain | None],
) -> Uncertain | None:
    """Relative u of a dose estimated from the mean Gy/GBq: the measurements' calibration
    (correlated), and the Gy/GBq spread with the mean's independent part."""
    if len(ratios) >= 2:
        mean = sum(ratios) / len(ratios)
        spread = math.sqrt(sum((r - mean) ** 2 for r in ratios) / (len(ratios) - 1)) / mean
    elif organ.gy_per_gbq_sd is not None and organ.gy_per_gbq > 0:
        spread = organ.gy_per_gbq_sd / organ.gy_per_gbq
    else:
        return None
    pairs = [(u, m.dose_gy) for u, m in zip(us, scans.values(), strict=True) if u and m.dose_gy]
    if not pairs:
        return Uncertain(0.0, spread)
    corr = sum(u.correlated / d for u, d in pairs) / len(pairs)
    ind = sum(u.independent / d for u, d in pairs) / len(pairs) / math.sqrt(len(pairs))
    return Uncertain(corr, math.hypot(spread, ind))


def _cycle(
    organ: OrganAtRisk,
    admin: Administration,
    m: _Measured | None,
    gy_per_gbq: float,
    est_rel: Uncertain | None,
) -> OrganCycle:
    dose = m.dose_gy if m is not None else admin.activity_gbq * gy_per_gbq
    teff = m.teff_h if m is not None and m.teff_h else None
    population = m is not None and m.teff_source == "population"
    t = teff or organ.teff_h
    ab, trep = organ.alpha_beta_gy, organ.repair_half_time_h
    if m is not None:
        dose_u = _dose_u(m) if est_rel is not None else None
    else:
        dose_u = None if est_rel is None else est_rel.scaled(dose)
    sens = bed_sensitivity(dose, t, ab, trep)
    return OrganCycle(
        cycle=admin.cycle,
        activity_gbq=admin.activity_gbq,
        dose_gy=dose,
        teff_h=t,
        bed_gy=bed_per_cycle(dose, t, ab, trep),
        dose_estimated=m is None,
        teff_estimated=teff is None or population,
        teff_source=None if m is None else (m.teff_source if teff else "population"),
        dose_u=dose_u,
        bed_u=None if dose_u is None else dose_u.scaled(sens),
        parts=None if m is None else m.parts,
        scan_h=None if m is None else m.scan_h,
    )


def cycles_fitting_range(account: OrganAccount, cap_gy: float, left: int) -> tuple[int, int] | None:
    """(cycles that fit at the upper bound, at the lower bound) of cumulative BED ± k·u."""
    if not account.has_uncertainty:
        return None

    def fits(n: int, sign: float) -> bool:
        u = account.projected_u("bed", n) or 0.0
        value = account.cumulative_bed_gy + n * account.next_bed_gy + sign * COVERAGE_K * u
        return compare(value, "<=", cap_gy)

    def count(sign: float) -> int:
        n = 0
        while n < left and fits(n + 1, sign):
            n += 1
        return n

    return count(+1.0), count(-1.0)


def settling_measurement(account: OrganAccount) -> str:
    """The measurement that would most narrow the projected BED: its largest variance term."""
    words = account.organ.words
    terms: list[tuple[float, str]] = []
    calibration = sum(_u_of(c, "bed").correlated for c in account.cycles)
    calibration += 0.0 if account.next_u is None else account.next_u.correlated
    terms.append(
        (calibration**2, f"a check of the SPECT/CT calibration factor used for the {words}")
    )
    for c in reversed(account.cycles):  # the latest first, so it wins a tie
        if c.dose_estimated:
            terms.append(
                (
                    _u_of(c, "bed").u ** 2,
                    f"the cycle {c.cycle} post-cycle SPECT/CT {words} dose "
                    "(now estimated from Gy/GBq)",
                )
            )
        elif c.parts is not None:
            sens = c.bed_u.u / c.dose_u.u if c.bed_u and c.dose_u and c.dose_u.u else 1.0
            _, t, v = c.parts
            terms.append(((sens * c.dose_gy * t) ** 2, _time_words(c, words)))
            terms.append(
                (
                    (sens * c.dose_gy * v) ** 2,
                    f"a CT-based {words} delineation for cycle {c.cycle} (partial volume)",
                )
            )
    if account.next_u is not None:
        terms.append(
            (
                account.next_u.independent**2,
                f"a measured {words} dose of this patient at the next cycle's activity "
                "(the projection uses the patient's mean Gy/GBq)",
            )
        )
    return max(terms, key=lambda t: t[0])[1]


def _time_words(c: OrganCycle, words: str) -> str:
    at = "" if c.scan_h is None else f" (single scan at {c.scan_h:g} h)"
    if c.teff_source == "fitted":
        return f"a further SPECT/CT time point for cycle {c.cycle}'s {words} fit"
    if c.scan_h is not None and c.scan_h < 48.0:
        return (
            f"a 48 h SPECT/CT or a second scan for cycle {c.cycle}{at}: the best single time "
            f"point is about 48 h (Hou 2021), two scans fit the {words} T_eff"
        )
    return (
        f"a second SPECT/CT for cycle {c.cycle}{at} (e.g. at 96–168 h), so the {words} "
        "T_eff is fitted rather than assumed"
    )
