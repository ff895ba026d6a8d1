"""Dose and BED uncertainty across cycles (EANM uncertainty guidance, Gear et al. 2018).

A cycle's absorbed dose D carries a standard uncertainty (k = 1) split into a part
correlated across cycles — the calibration factor, one camera and one calibration
for the whole treatment — and an independent part (time integration, volume /
partial volume). Through the LQ model, BED = D + D²·g with
g = T_rep / ((α/β)·(T_rep + T_eff)), so u(BED) = (1 + 2·D·g)·u(D) (first-order; the
T_eff term is left to the time-integration component, which already carries it).
Sums over cycles add correlated parts linearly and independent parts in quadrature:
u² = (Σ u_corr,i)² + Σ u_ind,i². Intervals are value ± k·u with k = 2 (MISSION.md,
"Dose uncertainty and the cap").
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["COVERAGE_K", "Uncertain", "bed_sensitivity", "total"]

#: Coverage factor of every interval (≈ 95 %).
COVERAGE_K = 2.0


@dataclass(frozen=True)
class Uncertain:
    """A standard uncertainty (k = 1) in two parts: correlated across cycles, and not."""

    correlated: float = 0.0
    independent: float = 0.0

    @property
    def u(self) -> float:
        return math.hypot(self.correlated, self.independent)

    def scaled(self, factor: float) -> Uncertain:
        return Uncertain(self.correlated * factor, self.independent * factor)


def bed_sensitivity(dose_gy: float, teff_h: float, alpha_beta_gy: float, t_rep_h: float) -> float:
    """dBED/dD = 1 + 2·D·T_rep / ((α/β)·(T_rep + T_eff))."""
    return 1.0 + 2.0 * dose_gy * t_rep_h / (alpha_beta_gy * (t_rep_h + teff_h))


def total(parts: Iterable[Uncertain]) -> float:
    """u of a sum: correlated parts linearly, independent ones in quadrature."""
    corr, ind2 = 0.0, 0.0
    for p in parts:
        corr += p.correlated
        ind2 += p.independent**2
    return math.sqrt(corr**2 + ind2)
