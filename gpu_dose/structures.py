"""Per-structure dose statistics, DVH and biologically effective dose (BED).

Units: dose and BED in Gy, volume in mL, mass in g, half-lives in hours.
BED per voxel (linear-quadratic, mono-exponential dose rate, full repair;
Dale 1985, MIRD Pamphlet 20): BED = D + D²·T_rep / ((α/β)·(T_rep + T_eff)).
Defaults α/β = 2.6 Gy and T_rep = 2.8 h are the kidney's [assumed: Bodei 2008 /
MIRD 20]; the pipeline passes each structure its own group's values
(:mod:`gpu_dose.regions`) and records them on the result. EUBED (O'Donoghue,
Med Phys 26 (1999) 1457) is the uniform BED with the same mean surviving
fraction: EUBED = −ln(mean e^{−α·BED})/α, mass-weighted, with α = 0.3 Gy⁻¹ by
default [assumed].
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from flexmrt.gpu_dose.backend import Array, astype, namespace, to_numpy
from flexmrt.gpu_dose.errors import DoseError

__all__ = [
    "DEFAULT_ALPHA_BETA_GY",
    "DEFAULT_ALPHA_PER_GY",
    "DEFAULT_REPAIR_HALF_TIME_H",
    "StructureResult",
    "add_bed",
    "bed",
    "dvh",
    "eubed",
    "structure_result",
]

DEFAULT_ALPHA_BETA_GY = 2.6
DEFAULT_REPAIR_HALF_TIME_H = 2.8
DEFAULT_ALPHA_PER_GY = 0.3


def bed(
    dose_gy: Array | float,
    teff_h: Array | float,
    alpha_beta_gy: float = DEFAULT_ALPHA_BETA_GY,
    repair_half_time_h: float = DEFAULT_REPAIR_HALF_TIME_H,
) -> Array | float:
    """BED (Gy) = D + D²·T_rep/((α/β)·(T_rep + T_eff)); scalars or arrays."""
    factor = repair_half_time_h / (alpha_beta_gy * (repair_half_time_h + teff_h))
    return dose_gy + dose_gy * dose_gy * factor


def eubed(bed_gy: Array, weights: Array, alpha_per_gy: float = DEFAULT_ALPHA_PER_GY) -> float:
    """Equivalent uniform BED (Gy) of voxel BEDs with (mass) ``weights``."""
    xp = namespace(bed_gy).xp
    b, w = astype(bed_gy, xp.float64), astype(weights, xp.float64)
    survival = xp.sum(w * xp.exp(-alpha_per_gy * b)) / xp.sum(w)
    return float(-xp.log(survival) / alpha_per_gy)


def dvh(dose_gy: np.ndarray, weights: np.ndarray, bins: int = 100) -> dict[str, list[float]]:
    """Cumulative DVH: fraction of the structure (by mass) receiving ≥ each dose level."""
    top = float(dose_gy.max()) if dose_gy.size else 0.0
    levels = np.linspace(0.0, top, bins + 1)
    order = np.argsort(dose_gy)
    cum = np.cumsum(weights[order][::-1])[::-1] / weights.sum()
    idx = np.searchsorted(dose_gy[order], levels, side="left")
    fraction = np.append(cum, 0.0)[idx]
    return {"dose_gy": levels.round(6).tolist(), "fraction": fraction.round(6).tolist()}


def _dose_at_fraction(dose: np.ndarray, weights: np.ndarray, fraction: float) -> float:
    """D_x: minimum dose received by the hottest ``fraction`` of the structure (by mass)."""
    order = np.argsort(dose)[::-1]
    cum = np.cumsum(weights[order]) / weights.sum()
    return float(dose[order][min(int(np.searchsorted(cum, fraction)), dose.size - 1)])


@dataclass
class StructureResult:
    """Dose summary of one structure (Gy, mL, g); BED fields only when asked for."""

    name: str
    voxels: int
    volume_ml: float
    mass_g: float
    mean_gy: float
    max_gy: float
    d2_gy: float
    d50_gy: float
    d98_gy: float
    tia_mbq_h: float
    gy_per_gbq: float | None = None
    teff_h: float | None = None
    teff_source: str | None = None  # fitted | patient_prior | population
    group: str = ""  # kidney | tumour | organ (gpu_dose.regions)
    role: str = ""  # organ_at_risk | tumour | other (gpu_dose.roles)
    organ: str | None = None  # the organ-at-risk id, for role organ_at_risk
    uncertainty: dict[str, Any] = field(default_factory=dict)  # relative, k = 1 (by component)
    tac: dict[str, Any] = field(default_factory=dict)  # the chosen time-activity model (fits)
    alpha_beta_gy: float | None = None
    repair_half_time_h: float | None = None
    parameters: dict[str, Any] = field(default_factory=dict)  # each value's source
    mean_bed_gy: float | None = None
    eubed_gy: float | None = None
    dvh: dict[str, list[float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def bed_of(self, dose_gy: float) -> float:
        """BED (Gy) of a uniform ``dose_gy`` at this structure's T_eff, α/β and T_rep (the
        values :func:`add_bed` recorded)."""
        teff, ab, trep = self.teff_h, self.alpha_beta_gy, self.repair_half_time_h
        if teff is None or ab is None or trep is None:
            raise ValueError(f"structure {self.name!r} has no T_eff, α/β and T_rep yet")
        return float(bed(dose_gy, teff, ab, trep))


def _selected(mask: Array, *arrays: Array) -> list[NDArray[np.float64]]:
    return [to_numpy(a[mask]).astype(np.float64) for a in arrays]


def structure_result(
    name: str,
    dose_gy: Array,
    tia: Array,
    mask: Array,
    voxel_ml: float,
    density: Array | float,
    *,
    injected_gbq: float | None = None,
) -> StructureResult:
    """Mass, mean (mass-weighted), max, D2/D50/D98, DVH and Gy/GBq of one mask.

    ``density`` is g/cm³ per voxel (array) or a single float; ``tia`` MBq·h per voxel.
    """
    if not bool(namespace(mask).xp.any(mask)):
        raise DoseError(
            "empty_mask",
            f"structure {name!r} has no voxel",
            tag=name,
            fix="check the segmentation covers the structure",
        )
    rho = density if not isinstance(density, (int, float)) else dose_gy * 0 + density
    d, t, r = _selected(mask, dose_gy, tia, rho)
    mass = r * voxel_ml
    mean = float((d * mass).sum() / mass.sum())
    return StructureResult(
        name=name,
        voxels=int(d.size),
        volume_ml=float(d.size * voxel_ml),
        mass_g=float(mass.sum()),
        mean_gy=mean,
        max_gy=float(d.max()),
        d2_gy=_dose_at_fraction(d, mass, 0.02),
        d50_gy=_dose_at_fraction(d, mass, 0.50),
        d98_gy=_dose_at_fraction(d, mass, 0.98),
        tia_mbq_h=float(t.sum()),
        gy_per_gbq=None if not injected_gbq else mean / injected_gbq,
        dvh=dvh(d, mass),
    )


def add_bed(
    result: StructureResult,
    dose_gy: Array,
    mask: Array,
    voxel_ml: float,
    density: Array | float,
    teff_h: Array,
    alpha_beta_gy: float = DEFAULT_ALPHA_BETA_GY,
    repair_half_time_h: float = DEFAULT_REPAIR_HALF_TIME_H,
) -> StructureResult:
    """Fill mean BED and EUBED (Gy) from voxel-wise BED with ``teff_h`` (scalar or map)."""
    # BED of the structure's voxels only (the same values as selecting them from a whole
    # BED map, without the map's float temporaries)
    teff = teff_h[mask] if getattr(teff_h, "ndim", 0) else teff_h
    voxel_bed = bed(dose_gy[mask], teff, alpha_beta_gy, repair_half_time_h)
    rho = density[mask] if not isinstance(density, (int, float)) else voxel_bed * 0 + density
    b, r = (to_numpy(a).astype(np.float64) for a in (voxel_bed, rho))
    result.alpha_beta_gy, result.repair_half_time_h = alpha_beta_gy, repair_half_time_h
    result.mean_bed_gy = float((b * r).sum() / r.sum())
    result.eubed_gy = eubed(b, r * voxel_ml)
    return result
