"""Time-integrated activity (TIA) from one or more quantitative scans.

Units: activity in MBq (per voxel or per region), times in hours after
injection, TIA in MBq·h, half-lives in hours. All functions broadcast, so the
same code serves one region (scalars) and every voxel (arrays, NumPy or CuPy).

- :func:`hanscheid` — single time point, TIA ≈ A(t)·2t/ln 2 (Hänscheid et al.,
  J Nucl Med 59 (2018) 75); exact for mono-exponential kinetics when t = T_eff.
- :func:`prior_half_life` — single time point with a known effective half-life,
  TIA = A(t)·e^{λt}/λ, λ = ln 2/T_eff (Madsen et al., Med Phys 45 (2018) 2318).
- :func:`fit_mono_exponential` — two or more scans: log-linear least squares
  A(t) = A₀e^{−λt}, integrated to infinity (A₀/λ), with λ floored at the
  physical decay constant of Lu-177 (clearance can't be slower than decay).
  Used for region sums, where every value is positive.
- :func:`fit_with_rate` — per voxel with the clearance rate λ given (the region's
  fitted λ): A₀ by linear least squares Σ(A_i − A₀e^{−λt_i})², so a voxel whose
  late value is 0 (noise, partial volume) keeps the activity its other scans show
  instead of being driven to almost nothing by log(tiny), as a per-voxel
  log-linear fit does.
- :func:`single_time_point_ratio` — how far a single-scan TIA can be from the truth
  when the true T_eff lies in a range: the ratio true/estimate at its extremes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from numpy.typing import ArrayLike

from flexmrt.gpu_dose.backend import Array, namespace

__all__ = [
    "LU177_HALF_LIFE_H",
    "MonoExpFit",
    "fit_mono_exponential",
    "fit_with_rate",
    "hanscheid",
    "prior_half_life",
    "single_time_point_ratio",
]

#: Lu-177 physical half-life, h (6.647 d; ICRP 107).
LU177_HALF_LIFE_H = 159.53
_LN2 = math.log(2.0)


def hanscheid(activity: Array, time_h: float) -> Array:
    """TIA (MBq·h) = A(t)·2t/ln 2 for one scan at ``time_h`` hours post-injection."""
    return activity * (2.0 * time_h / _LN2)


def prior_half_life(activity: Array, time_h: float, teff_h: Array | float) -> Array:
    """TIA (MBq·h) = A(t)·e^{λt}/λ with λ = ln 2/``teff_h`` (scalar or array)."""
    if isinstance(teff_h, (int, float)):
        lam = _LN2 / min(float(teff_h), LU177_HALF_LIFE_H)
        return activity * (math.exp(lam * time_h) / lam)
    xp = namespace(activity, teff_h).xp
    lam = _LN2 / xp.minimum(teff_h, xp.asarray(LU177_HALF_LIFE_H, dtype=teff_h.dtype))
    return activity * (xp.exp(lam * time_h) / lam)


@dataclass(frozen=True)
class MonoExpFit:
    """Fitted A₀ (MBq), effective half-life (h) and TIA (MBq·h); arrays or floats."""

    a0: Array
    teff_h: Array
    tia: Array


def fit_mono_exponential(times_h: ArrayLike, activities: Array) -> MonoExpFit:
    """Fit A(t) = A₀e^{−λt} to ``activities`` of shape (n_times, ...) by log-linear LSQ.

    λ is floored at ln 2/159.53 h (physical decay); where it is, A₀ is refitted
    with λ fixed. Non-positive activities contribute as a tiny positive value
    (use :func:`fit_with_rate` for voxels); an element zero at every time point
    gets TIA 0.
    """
    xp = namespace(activities).xp
    a = xp.asarray(activities)
    t = xp.reshape(xp.asarray(times_h, dtype=a.dtype), (-1,) + (1,) * (a.ndim - 1))
    log_a = xp.log(xp.maximum(a, xp.asarray(xp.finfo(a.dtype).smallest_normal, dtype=a.dtype)))
    t_mean, y_mean = xp.mean(t, axis=0), xp.mean(log_a, axis=0)
    slope = xp.sum((t - t_mean) * (log_a - y_mean), axis=0) / xp.sum((t - t_mean) ** 2, axis=0)
    lam = xp.maximum(-slope, xp.asarray(_LN2 / LU177_HALF_LIFE_H, dtype=a.dtype))
    a0 = xp.exp(xp.mean(log_a + lam * t, axis=0))
    a0 = xp.where(xp.any(a > 0, axis=0), a0, xp.zeros_like(a0))
    return MonoExpFit(a0=a0, teff_h=_LN2 / lam, tia=a0 / lam)


def fit_with_rate(times_h: ArrayLike, activities: Array, lam_per_h: Array | float) -> MonoExpFit:
    """A₀ per element by linear least squares with the clearance rate ``lam_per_h`` fixed.

    ``activities`` has shape (n_times, ...); ``lam_per_h`` broadcasts against one
    time point (a scalar or a map of the regions' fitted λ). Negative values are
    kept (they are noise around a positive truth); a negative A₀ becomes 0.
    """
    xp = namespace(activities, lam_per_h).xp
    a = xp.asarray(activities)
    lam = xp.asarray(lam_per_h, dtype=a.dtype)
    t = xp.reshape(xp.asarray(times_h, dtype=a.dtype), (-1,) + (1,) * (a.ndim - 1))
    basis = xp.exp(-lam * t)
    a0 = xp.sum(a * basis, axis=0) / xp.sum(basis * basis, axis=0)
    a0 = xp.maximum(a0, xp.zeros_like(a0))
    return MonoExpFit(a0=a0, teff_h=_LN2 / lam + xp.zeros_like(a0), tia=a0 / lam)


def single_time_point_ratio(
    method: str, time_h: float, prior_teff_h: float, teff_range_h: tuple[float, float]
) -> tuple[float, float]:
    """(lowest, highest) true/estimated TIA for a scan at ``time_h`` over true T_eff in range.

    Mono-exponential kinetics after the scan. Hänscheid: true/est = T·e^{ln2·t/T}/(2t);
    prior half-life T_p: true/est = (T/T_p)·e^{ln2·t·(1/T − 1/T_p)}. A highest ratio
    above 1 is an under-estimate of TIA (and dose) by up to ratio − 1.
    """
    lo, hi = teff_range_h
    ratios = []
    for n in range(201):
        teff = min(lo * (hi / lo) ** (n / 200), LU177_HALF_LIFE_H)
        if method == "hanscheid":
            ratios.append(teff * math.exp(_LN2 * time_h / teff) / (2.0 * time_h))
        else:
            tp = min(prior_teff_h, LU177_HALF_LIFE_H)
            ratios.append(teff / tp * math.exp(_LN2 * time_h * (1 / teff - 1 / tp)))
    return min(ratios), max(ratios)
