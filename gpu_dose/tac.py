"""Time-activity curves of one region from two or more scans: models, choice, quality.

Models (times in h after injection, activity in MBq, TIA in MBq·h, integrated to ∞):

- ``mono_exp`` — A(t) = A₀·e^{−λt}, 2 parameters, from two or more time points
  (log-linear least squares); refused when λ comes out slower than physical decay
  (the activity is not clearing: the model is ill-posed for these data).
- ``bi_exp_uptake`` — A(t) = A₀·(e^{−λ_c t} − e^{−λ_u t}), λ_u > λ_c ≥ λ_phys, an uptake
  phase then clearance, 3 parameters; fitted only with five or more time points (AICc
  needs n > k + 1, and a fit with no spare point says nothing of its quality).
- ``trapezoid`` — the measured points joined by straight lines from A = 0 at t = 0,
  with a physical-decay tail A(t_n)/λ_phys after the last scan: no model of clearance,
  so it over-estimates the TIA of a clearing organ (conservative); used when no
  exponential model fits.

Where more than one exponential model fits, the one with the lowest AICc (Akaike's
criterion corrected for small samples, on relative residuals) is chosen, as the EANM
and MIRD guidance on curve fitting recommend (Glatting et al., Med Phys 34 (2007)
4068; Ivashchenko et al. 2021). The chosen fit reports its R² and every candidate's
AICc. Fewer than two distinct scan times, a time not after injection, or no positive
activity at all is refused with a :class:`~gpu_dose.errors.DoseError`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import curve_fit

from flexmrt.gpu_dose.errors import DoseError
from flexmrt.gpu_dose.tia import LU177_HALF_LIFE_H

__all__ = ["MODELS", "TacChoice", "TacFit", "choose_model"]

MODELS = ("mono_exp", "bi_exp_uptake", "trapezoid")
_LAMBDA_PHYS = math.log(2) / LU177_HALF_LIFE_H
_BI_EXP_MIN_POINTS = 5


@dataclass(frozen=True)
class TacFit:
    """One model fitted to a region's curve: TIA (MBq·h) and quality (None where undefined)."""

    model: str
    tia_mbq_h: float
    parameters: dict[str, float]
    k: int
    rss: float | None = None
    aicc: float | None = None
    r2: float | None = None


@dataclass(frozen=True)
class TacChoice:
    """The chosen fit, every candidate, and why models were left out."""

    chosen: TacFit
    candidates: tuple[TacFit, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.chosen.model,
            "tia_mbq_h": self.chosen.tia_mbq_h,
            "r2": self.chosen.r2,
            "aicc": {c.model: c.aicc for c in self.candidates},
            "parameters": self.chosen.parameters,
            "notes": list(self.notes),
            "candidates": [asdict(c) for c in self.candidates],
        }


def _checked(
    times_h: ArrayLike, activities: ArrayLike, where: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    t, a = np.asarray(times_h, dtype=float), np.asarray(activities, dtype=float)
    if t.size != a.size or np.unique(t).size < 2:
        raise DoseError(
            "ill_posed_fit",
            f"{where}: a time-activity fit needs two or more distinct scan times",
            tag="--spect",
            fix="give scans at different times after injection, or a single-scan method",
        )
    if (t <= 0).any():
        raise DoseError(
            "ill_posed_fit",
            f"{where}: a scan time is not after the injection",
            tag="--spect",
            fix="check the injection and acquisition times",
        )
    if not (a > 0).any():
        raise DoseError(
            "ill_posed_fit",
            f"{where}: no positive activity at any time point",
            tag=where,
            fix="check the structure lies on the SPECT and the calibration",
        )
    order = np.argsort(t)
    return t[order], a[order]


def _quality(model: str, t: np.ndarray, a: np.ndarray, f: np.ndarray, k: int) -> dict[str, Any]:
    """RSS on relative residuals, AICc (None where n ≤ k + 1), R²."""
    n = t.size
    weight = np.where(a > 0, a, a[a > 0].min())
    rss = float((((a - f) / weight) ** 2).sum())
    aicc = None
    if n > k + 1:
        aicc = n * math.log(max(rss, 1e-300) / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)
    total = float(((a - a.mean()) ** 2).sum())
    r2 = None if total == 0 else 1 - float(((a - f) ** 2).sum()) / total
    return {"rss": rss, "aicc": aicc, "r2": r2}


def _mono(t: np.ndarray, a: np.ndarray) -> TacFit | str:
    pos = a > 0
    if pos.sum() < 2 or np.unique(t[pos]).size < 2:
        return "mono_exp: fewer than two positive time points"
    slope, intercept = np.polyfit(t[pos], np.log(a[pos]), 1)
    lam = -float(slope)
    if lam <= _LAMBDA_PHYS:
        return "mono_exp: the activity does not clear faster than physical decay (ill-posed)"
    a0 = math.exp(float(intercept))
    f = a0 * np.exp(-lam * t)
    params = {"a0_mbq": a0, "lambda_per_h": lam, "teff_h": math.log(2) / lam}
    return TacFit("mono_exp", a0 / lam, params, 2, **_quality("mono_exp", t, a, f, 2))


def _bi_uptake(t: np.ndarray, a: np.ndarray) -> TacFit | str:
    if t.size < _BI_EXP_MIN_POINTS:
        return f"bi_exp_uptake: needs {_BI_EXP_MIN_POINTS} or more time points, has {t.size}"

    def model(x: np.ndarray, a0: float, lc: float, du: float) -> np.ndarray:
        return np.asarray(a0 * (np.exp(-lc * x) - np.exp(-(lc + du) * x)))

    start = (float(a.max()) * 1.5, max(_LAMBDA_PHYS * 2, math.log(2) / 40), 0.5)
    weight = np.where(a > 0, a, a[a > 0].min())
    try:
        p, _ = curve_fit(
            model,
            t,
            a,
            p0=start,
            sigma=weight,
            bounds=([0, _LAMBDA_PHYS, 1e-4], [np.inf, 5.0, 50.0]),
            maxfev=5000,
        )
    except (RuntimeError, ValueError) as err:
        return f"bi_exp_uptake: the fit did not converge ({err})"
    a0, lc, du = (float(v) for v in p)
    lu = lc + du
    params = {"a0_mbq": a0, "lambda_c_per_h": lc, "lambda_u_per_h": lu, "teff_h": math.log(2) / lc}
    f = model(t, a0, lc, du)
    tia = a0 * (1 / lc - 1 / lu)
    return TacFit("bi_exp_uptake", tia, params, 3, **_quality("bi_exp_uptake", t, a, f, 3))


def _trapezoid(t: np.ndarray, a: np.ndarray) -> TacFit:
    ts, as_ = np.concatenate([[0.0], t]), np.concatenate([[0.0], a])
    area = float(((as_[1:] + as_[:-1]) / 2 * np.diff(ts)).sum())
    tail = float(a[-1]) / _LAMBDA_PHYS
    params = {"area_mbq_h": area, "tail_mbq_h": tail}
    return TacFit("trapezoid", area + tail, params, 0)


def choose_model(times_h: ArrayLike, activities: ArrayLike, where: str = "region") -> TacChoice:
    """Fit every model the data allow; the lowest AICc wins, else the one that fits."""
    t, a = _checked(times_h, activities, where)
    candidates, notes = [], []
    for fitted in (_mono(t, a), _bi_uptake(t, a)):
        if isinstance(fitted, str):
            notes.append(fitted)
        else:
            candidates.append(fitted)
    scored = [c for c in candidates if c.aicc is not None]
    if scored:
        chosen = min(scored, key=lambda c: c.aicc if c.aicc is not None else math.inf)
        if len(scored) > 1:
            notes.append(f"{chosen.model} chosen by AICc")
    elif candidates:
        chosen = candidates[0]
        notes.append(f"{chosen.model}: too few points for AICc; the only model that fits")
    else:
        chosen = _trapezoid(t, a)
        candidates.append(chosen)
        notes.append("trapezoid with a physical-decay tail: no exponential model fits")
    return TacChoice(chosen, tuple(candidates), tuple(notes))
