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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from gpu_dose.backend import namespace

__all__ = [
    "LU177_HALF_LIFE_H",
    "MonoExpFit",
    "fit_mono_exponential",
    "hanscheid",
    "prior_half_life",
]

#: Lu-177 physical half-life, h (6.647 d; ICRP 107).
LU177_HALF_LIFE_H = 159.53
_LN2 = math.log(2.0)


def hanscheid(activity: Any, time_h: float) -> Any:
    """TIA (MBq·h) = A(t)·2t/ln 2 for one scan at ``time_h`` hours post-injection."""
    return activity * (2.0 * time_h / _LN2)


def prior_half_life(activity: Any, time_h: float, teff_h: Any) -> Any:
    """TIA (MBq·h) = A(t)·e^{λt}/λ with λ = ln 2/``teff_h`` (scalar or array)."""
    if isinstance(teff_h, (int, float)):
        lam = _LN2 / min(float(teff_h), LU177_HALF_LIFE_H)
        return activity * (math.exp(lam * time_h) / lam)
    xp = namespace(activity, teff_h).xp
    lam = _LN2 / xp.minimum(teff_h, LU177_HALF_LIFE_H)
    return activity * (xp.exp(lam * time_h) / lam)


@dataclass(frozen=True)
class MonoExpFit:
    """Fitted A₀ (MBq), effective half-life (h) and TIA (MBq·h); arrays or floats."""

    a0: Any
    teff_h: Any
    tia: Any


def fit_mono_exponential(times_h: Any, activities: Any) -> MonoExpFit:
    """Fit A(t) = A₀e^{−λt} to ``activities`` of shape (n_times, ...) by log-linear LSQ.

    λ is floored at ln 2/159.53 h (physical decay); where it is, A₀ is refitted
    with λ fixed. Non-positive activities contribute as a tiny positive value;
    an element zero at every time point gets TIA 0.
    """
    be = namespace(activities)
    xp = be.xp
    a = xp.asarray(activities)
    t = xp.asarray(times_h, dtype=a.dtype).reshape((-1,) + (1,) * (a.ndim - 1))
    tiny = xp.finfo(a.dtype).tiny
    log_a = xp.log(xp.maximum(a, tiny))
    t_mean, y_mean = t.mean(axis=0), log_a.mean(axis=0)
    slope = ((t - t_mean) * (log_a - y_mean)).sum(axis=0) / ((t - t_mean) ** 2).sum(axis=0)
    lam = xp.maximum(-slope, _LN2 / LU177_HALF_LIFE_H)
    log_a0 = (log_a + lam * t).mean(axis=0)
    a0 = xp.where((a > 0).any(axis=0), xp.exp(log_a0), 0.0).astype(a.dtype)
    return MonoExpFit(a0=a0, teff_h=(_LN2 / lam).astype(a.dtype), tia=(a0 / lam).astype(a.dtype))
