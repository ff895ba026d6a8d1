"""Lu-177 dose voxel kernels (DVK) from the Lanconelli 2012 voxel S-value tables.

Units: S in mGy/(MBq·s) as tabulated; :func:`dose_voxel_kernel` returns
Gy/(MBq·h) so that dose [Gy] = TIA [MBq·h] ⊛ kernel. Kernels are 11×11×11,
centred on index (5, 5, 5). Reference: Lanconelli et al., Phys. Med. Biol. 57
(2012) 517, doi:10.1088/0031-9155/57/2/517; MIRD Pamphlet 17 (voxel S-values).

Interpolation to a cubic voxel size d between two tabulated sizes d₁ < d < d₂:
for each voxel offset (i, j, k), the quantity S·d³ — proportional to S × voxel
mass, i.e. the fraction of the decay energy absorbed in that voxel — is
interpolated linearly in ln d on ln(S·d³) between the two tables at the same
offset (a power law S·d³ ∝ d^p locally), then divided by d³. Offsets are in
voxel units, so the physical radius scales with d and both tables are sampled at
the same radius-to-voxel-size ratio. S·d³ falls convexly with d at a fixed offset
(the neighbours' share of the energy drops as voxels grow), so linear-in-d
interpolation came out up to 3.4 % high between tables; log–log follows the
curvature. The kernel's total, Σ S·d³ (energy absorbed within the 11³ block), is
set to the log–log interpolation of the two tables' totals. Tabulated sizes are
reproduced exactly. Leave-one-out over the interior
tables (2.33–6.8 mm, each predicted from its two neighbours): see
tests/dose/test_dose_kernel.py and bench/RESULTS.md for the measured errors.
"""

from __future__ import annotations

import functools
import math
import re
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

from flexmrt.gpu_dose.errors import DoseError

__all__ = [
    "ELECTRON_ENERGY_KEV",
    "KERNEL_DENSITY_G_ML",
    "LOCAL_DEPOSITION_GY_G_PER_MBQ_H",
    "TISSUES",
    "dose_voxel_kernel",
    "interpolated_table",
    "load_table",
    "loglog_between",
    "tabulated_sizes",
]

#: Mean electron energy per Lu-177 decay, keV (β⁻ 133.27 + CE 13.52 + Auger 1.13; ICRP 107).
ELECTRON_ENERGY_KEV = 147.92
_J_PER_KEV = 1.602176634e-16
#: Local deposition: dose [Gy] = TIA [MBq·h] × this / mass [g]  (= 0.08532, i.e. 85.32 mGy).
LOCAL_DEPOSITION_GY_G_PER_MBQ_H = ELECTRON_ENERGY_KEV * _J_PER_KEV * 3.6e9 / 1e-3
#: Densities of the kernel media, g/cm³ (ICRP soft tissue; compact bone) as in the tables.
KERNEL_DENSITY_G_ML = {"soft": 1.04, "bone": 1.92}
TISSUES = tuple(KERNEL_DENSITY_G_ML)
_S_PER_H = 3600.0
_MGY_PER_GY = 1000.0
_NAME = re.compile(r"177Lu(?P<size>[0-9.]+)mm(?P<tissue>soft|bone)\.txt$")


def _table_files() -> dict[tuple[str, float], str]:
    folder = resources.files("flexmrt.gpu_dose") / "data" / "vsv"
    found = {}
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found[(match["tissue"], float(match["size"]))] = entry.name
    return found


def _check_tissue(tissue: str) -> None:
    if tissue not in TISSUES:
        raise DoseError(
            "unknown_tissue",
            f"no kernel for tissue {tissue!r}",
            tag="tissue",
            fix=f"use one of {TISSUES}",
        )


def tabulated_sizes(tissue: str = "soft") -> tuple[float, ...]:
    """Cubic voxel sizes (mm) with a table for ``tissue``, ascending."""
    _check_tissue(tissue)
    return tuple(sorted(size for t, size in _table_files() if t == tissue))


@functools.cache
def load_table(size_mm: float, tissue: str = "soft") -> NDArray[np.float64]:
    """The tabulated 11×11×11 kernel, S in mGy/(MBq·s), float64, read-only."""
    name = _table_files()[(tissue, float(size_mm))]
    text = (resources.files("flexmrt.gpu_dose") / "data" / "vsv" / name).read_text()
    rows = np.loadtxt(text.splitlines()[2:], dtype=np.float64)
    octant = np.zeros((6, 6, 6))
    ijk = rows[:, :3].astype(int)
    octant[ijk[:, 0], ijk[:, 1], ijk[:, 2]] = rows[:, 3]
    full = _mirror(octant)
    full.setflags(write=False)
    return full


def _mirror(octant: NDArray[np.float64]) -> NDArray[np.float64]:
    """Full symmetric kernel from the octant i, j, k ≥ 0."""
    idx = np.abs(np.arange(-5, 6))
    full: NDArray[np.float64] = octant[np.ix_(idx, idx, idx)]
    return full


def _bracket(size_mm: float, tissue: str) -> tuple[float, float]:
    sizes = tabulated_sizes(tissue)
    if not sizes[0] <= size_mm <= sizes[-1]:
        raise DoseError(
            "voxel_size_out_of_range",
            f"voxel size {size_mm:g} mm is outside the tabulated {sizes[0]}–{sizes[-1]} mm",
            tag="PixelSpacing/SpacingBetweenSlices",
            fix="reconstruct or resample the SPECT to a voxel size in that range",
        )
    upper = next(s for s in sizes if s >= size_mm)
    lower = max(s for s in sizes if s <= size_mm)
    return lower, upper


def interpolated_table(size_mm: float, tissue: str = "soft") -> NDArray[np.float64]:
    """S in mGy/(MBq·s) for any cubic size in the tabulated range (see module doc)."""
    _check_tissue(tissue)
    lower, upper = _bracket(float(size_mm), tissue)
    if lower == upper:
        return load_table(lower, tissue).copy()
    return loglog_between(
        load_table(lower, tissue), lower, load_table(upper, tissue), upper, size_mm
    )


def loglog_between(
    s1: NDArray[np.float64], d1: float, s2: NDArray[np.float64], d2: float, size_mm: float
) -> NDArray[np.float64]:
    """S at ``size_mm`` from tables ``s1`` (size ``d1``) and ``s2`` (``d2``), log–log.

    Per offset, ln(S·d³) is linear in ln d; the result is then scaled so that its
    absorbed energy Σ S·d³ is the log–log interpolation of the two tables' sums. An
    offset where either table is 0 (none in the shipped tables) is interpolated
    linearly in d there, so no logarithm of zero is taken.
    """
    w = math.log(size_mm / d1) / math.log(d2 / d1)
    e1, e2 = s1 * d1**3, s2 * d2**3
    positive = (e1 > 0) & (e2 > 0)
    log_e = (1 - w) * np.log(np.where(positive, e1, 1.0)) + w * np.log(np.where(positive, e2, 1.0))
    w_lin = (size_mm - d1) / (d2 - d1)
    energy = np.where(positive, np.exp(log_e), (1 - w_lin) * e1 + w_lin * e2)
    total = math.exp((1 - w) * math.log(e1.sum()) + w * math.log(e2.sum()))
    table: NDArray[np.float64] = energy * (total / energy.sum()) / size_mm**3
    return table


def dose_voxel_kernel(
    size_mm: float, tissue: str = "soft", dtype: str = "float32"
) -> NDArray[np.floating[Any]]:
    """Kernel in Gy/(MBq·h) for a cubic voxel of ``size_mm`` (NumPy, host memory)."""
    table = interpolated_table(size_mm, tissue)
    kernel: NDArray[np.floating[Any]] = (table * _S_PER_H / _MGY_PER_GY).astype(dtype)
    return kernel
