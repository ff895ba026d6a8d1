"""Standard uncertainty of a structure's mean absorbed dose, by component.

Following the EANM practical guidance on uncertainty analysis (Gear et al., Eur J
Nucl Med Mol Imaging 45 (2018) 2456): the mean dose is proportional to the
calibration factor and to the time-integrated activity, so their relative standard
uncertainties add in quadrature (uncorrelated within one cycle), with the volume /
partial-volume term beside them. Components (relative, k = 1):

- ``calibration`` — the SPECT calibration factor; :data:`CALIBRATION_U_REL` unless the
  caller gives the site's own [assumed: 5 %, the order Gear 2018 reports for a
  calibrated SPECT/CT].
- ``time_integration`` — a fit: from the covariance of the log-linear fit (delta
  method on TIA = A₀/λ), with each time point's activity uncertain by at least
  :data:`ACTIVITY_U_REL` (so two points, which leave no residual, still carry their
  measurement noise); a single scan: the spread of true/estimated TIA over the
  plausible true T_eff (:func:`gpu_dose.tia.single_time_point_ratio`) at that scan
  time, taken as a rectangular distribution, u = (high − low)/√12. The plausible
  range is the population T_eff × :data:`POPULATION_TEFF_SPREAD` (the kidney's
  20–60 h around 35.5 h), or the patient's own prior T_eff × (1 ±
  :data:`PATIENT_PRIOR_SPREAD`) [both assumed].
- ``volume`` — partial volume and delineation: the fraction of the structure's voxels
  on its surface, each uncertain by ± half a voxel (rectangular): u = f_surface/√12.

Across cycles (in the rules engine) the calibration component is fully correlated
(one camera, one calibration) and the others independent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from flexmrt.gpu_dose import tia

__all__ = [
    "ACTIVITY_U_REL",
    "CALIBRATION_U_REL",
    "PATIENT_PRIOR_SPREAD",
    "POPULATION_TEFF_SPREAD",
    "DoseUncertainty",
    "fit_u_rel",
    "single_time_point_u_rel",
    "surface_fraction",
    "volume_u_rel",
]

#: Relative standard uncertainty of the SPECT calibration factor [assumed, Gear 2018].
CALIBRATION_U_REL = 0.05
#: Independent relative uncertainty of one time point's regional activity (counts,
#: registration, recovery differences between scans) [assumed, Gear 2018 order].
ACTIVITY_U_REL = 0.05
#: Plausible true T_eff around a population value, as factors (20–60 h around 35.5 h).
POPULATION_TEFF_SPREAD = (20.0 / 35.5, 60.0 / 35.5)
#: Cycle-to-cycle variation of a patient's own T_eff [assumed: ± 20 %].
PATIENT_PRIOR_SPREAD = 0.2
_SQRT12 = math.sqrt(12.0)


@dataclass(frozen=True)
class DoseUncertainty:
    """Relative standard uncertainties (k = 1) of one mean dose, and their combination."""

    calibration: float
    time_integration: float
    volume: float
    basis: str  # how time_integration was obtained

    @property
    def combined(self) -> float:
        return math.sqrt(self.calibration**2 + self.time_integration**2 + self.volume**2)

    def to_dict(self) -> dict[str, Any]:
        return {
            "calibration": round(self.calibration, 4),
            "time_integration": round(self.time_integration, 4),
            "volume": round(self.volume, 4),
            "combined": round(self.combined, 4),
            "basis": self.basis,
        }


def single_time_point_u_rel(
    method: str, time_h: float, prior_teff_h: float, teff_source: str
) -> tuple[float, str]:
    """(u_rel of the TIA, basis) for a single scan at ``time_h`` with this prior T_eff."""
    if teff_source == "patient_prior" and method != "hanscheid":
        lo_f, hi_f = 1 - PATIENT_PRIOR_SPREAD, 1 + PATIENT_PRIOR_SPREAD
        basis = f"patient prior T_eff ± {100 * PATIENT_PRIOR_SPREAD:g} %"
    else:
        lo_f, hi_f = POPULATION_TEFF_SPREAD
        basis = "population T_eff range"
    teff_range = (prior_teff_h * lo_f, prior_teff_h * hi_f)
    low, high = tia.single_time_point_ratio(method, time_h, prior_teff_h, teff_range)
    return (high - low) / _SQRT12, (
        f"single scan at {time_h:.1f} h ({method}), true T_eff "
        f"{teff_range[0]:.0f}–{teff_range[1]:.0f} h ({basis}), rectangular"
    )


def fit_u_rel(
    times_h: ArrayLike, activities: ArrayLike, activity_u_rel: float = ACTIVITY_U_REL
) -> float:
    """u_rel of TIA = A₀/λ from a log-linear fit's covariance (delta method).

    With y = ln A = ln A₀ − λt: ln TIA = ln A₀ − ln λ, so
    u²(ln TIA) = var(ln A₀) + var(λ)/λ² + 2·cov(ln A₀, λ)/λ, with the variance of
    each ln A the larger of the fit's residual variance and ``activity_u_rel``².
    """
    t = np.asarray(times_h, dtype=float)
    y = np.log(np.maximum(np.asarray(activities, dtype=float), 1e-300))
    n = t.size
    design = np.column_stack([np.ones(n), -t])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coef
    dof = n - 2
    s2 = max(float(residual @ residual) / dof if dof > 0 else 0.0, activity_u_rel**2)
    cov = s2 * np.linalg.inv(design.T @ design)
    lam = max(float(coef[1]), math.log(2) / tia.LU177_HALF_LIFE_H)
    var = cov[0, 0] + cov[1, 1] / lam**2 + 2 * cov[0, 1] / lam
    return math.sqrt(max(float(var), 0.0))


def surface_fraction(mask: np.ndarray) -> float:
    """Fraction of a mask's voxels with a 6-neighbour outside it (or on the image edge)."""
    m = np.asarray(mask, dtype=bool)
    if not m.any():
        return 0.0
    padded = np.pad(m, 1)
    inner = padded[1:-1, 1:-1, 1:-1].copy()
    for axis in range(3):
        for shift in (1, -1):
            inner &= np.roll(padded, shift, axis=axis)[1:-1, 1:-1, 1:-1]
    return float((m & ~inner).sum() / m.sum())


def volume_u_rel(mask: np.ndarray) -> float:
    """u_rel of the mean dose from delineation and partial volume: f_surface/√12."""
    return surface_fraction(mask) / _SQRT12
