"""Absorbed dose from time-integrated activity: kernel convolution or local deposition.

Units: TIA in MBq·h per voxel, dose in Gy, spacing in mm, density in g/cm³.
Convolution is by real FFT on a grid padded by the kernel half-width and rounded
up to a fast FFT length; the kernel's transform is cached per (backend, grid
shape, voxel size, tissue, dtype). On the CPU the FFTs are threaded over every
core this process may run on (SciPy's default is one thread). Non-cubic grids
are resampled to a cubic grid (the smallest spacing, clipped to the tabulated
2.21–9.28 mm) by trilinear interpolation of the activity concentration, convolved
there, and the dose is resampled back trilinearly (dose is an intensive quantity,
so no rescaling).

Density correction (optional, from CT): the kernel holds for its own medium
(ICRP soft tissue, 1.04 g/cm³); energy deposited per voxel is kept and divided by
the voxel's own mass. The HU → ρ table :data:`HU_DENSITY_TABLE` is a generic
two-segment calibration (air, water, cortical bone; after Schneider et al., Phys.
Med. Biol. 41 (1996) 111) [assumed: replace with the scanner's own calibration].
The correction is referenced to the density that same calibration assigns the
kernel's medium — the CT number :data:`KERNEL_MEDIUM_HU` (soft tissue +40 HU
[assumed: typical of kidney, muscle and other soft tissue on CT]) — so that a CT of
uniform soft tissue leaves the kernel dose unchanged, whatever the calibration's
absolute scale: ρ_eff = ρ_k · ρ(HU) / ρ(HU_k) (:func:`medium_density`), and
D = D_kernel · ρ_k / ρ_eff. The same ρ_eff gives structure masses and the
local-deposition dose, so both agree with the no-CT case in soft tissue.

Floor: ρ_eff is floored at :data:`MIN_DENSITY_G_ML` = 0.26 g/cm³ (ICRP lung
[assumed dose parameter]); air voxels outside the body get lung density instead of
a ×100 dose. In lung the soft-tissue kernel keeps the electron range of soft
tissue, so dose near a lung boundary is approximate (electrons travel ~4× further
in lung). In bone the soft-tissue kernel is scaled by ρ_k/ρ_eff (dose falls with
the higher mass); the compact-bone kernel (``tissue="bone"``) is used only when a
whole grid is bone — there is no per-voxel kernel switching, so bone-marrow or
bone-lesion dose is an approximation.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections import OrderedDict
from collections.abc import Callable, Mapping
from types import MappingProxyType, ModuleType
from typing import Any, Final

import numpy as np

from flexmrt.gpu_dose import kernel as _kernel
from flexmrt.gpu_dose.backend import Array, Backend, astype, namespace
from flexmrt.gpu_dose.errors import DoseError
from flexmrt.gpu_dose.grid import Geometry, resample

__all__ = [
    "HU_DENSITY_TABLE",
    "KERNEL_MEDIUM_HU",
    "METHODS",
    "MIN_DENSITY_G_ML",
    "absorbed_dose",
    "convolve_kernel",
    "density_from_hu",
    "kernel_transform",
    "local_deposition",
    "medium_density",
]

#: (HU, g/cm³) knots; linear in between, clamped outside.
HU_DENSITY_TABLE = ((-1000.0, 0.0012), (0.0, 1.0), (1000.0, 1.6), (3000.0, 2.8))
#: CT number of each kernel medium [assumed]: soft tissue +40 HU, compact bone +1500 HU.
KERNEL_MEDIUM_HU = {"soft": 40.0, "bone": 1500.0}
#: Lowest density used for dose and mass, g/cm³ (ICRP lung) [assumed dose parameter].
MIN_DENSITY_G_ML = 0.26
_DoseMethod = Callable[[Any, Geometry, str, Any], Any]
_METHODS: dict[str, _DoseMethod] = {}
#: The absorbed-dose methods, by name (the CLI's --dose-method, DosimetryService's
#: DoseMethod): ``kernel`` (DVK convolution) and ``local`` (local deposition).
METHODS: Final[Mapping[str, _DoseMethod]] = MappingProxyType(_METHODS)
_HALF = 5  # kernel half-width in voxels (11×11×11)
_CACHE: OrderedDict[tuple[str, tuple[int, ...], float, str, str], Array] = OrderedDict()
_CACHE_SIZE = 8


def _table_density(hu: Array, xp: ModuleType) -> Array:
    """Piecewise-linear :data:`HU_DENSITY_TABLE`, clamped, in array-API calls only."""
    (x0, rho), rest = HU_DENSITY_TABLE[0], HU_DENSITY_TABLE[1:]
    out = xp.zeros_like(hu) + rho
    for x1, rho1 in rest:
        slope = (rho1 - rho) / (x1 - x0)
        out = out + slope * xp.clip(hu - x0, 0.0, x1 - x0)
        x0, rho = x1, rho1
    return out


def density_from_hu(hu: Array) -> Array:
    """Mass density (g/cm³) from CT numbers by :data:`HU_DENSITY_TABLE` (the raw table)."""
    return _table_density(hu, namespace(hu).xp)


def medium_density(hu: Array, tissue: str = "soft") -> Array:
    """ρ_eff (g/cm³): the table referenced to the kernel medium, floored (module doc)."""
    xp = namespace(hu).xp
    reference = float(_table_density(np.asarray([KERNEL_MEDIUM_HU[tissue]]), np)[0])
    scaled = _table_density(hu, xp) * (_kernel.KERNEL_DENSITY_G_ML[tissue] / reference)
    return xp.maximum(scaled, xp.asarray(MIN_DENSITY_G_ML, dtype=hu.dtype))


def _fast_shape(be: Backend, shape: tuple[int, ...]) -> tuple[int, ...]:
    fast = getattr(be.fft, "next_fast_len", None) or _scipy_fast_len
    return tuple(int(fast(n + 2 * _HALF, real=True)) for n in shape)


def _scipy_fast_len(n: int, real: bool = True) -> int:
    import scipy.fft

    return int(scipy.fft.next_fast_len(n, real=real))


def _cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS has one)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else os.cpu_count() or 1


def _all_cores(be: Backend) -> contextlib.AbstractContextManager[Any]:
    """FFTs threaded over every core (SciPy's ``set_workers``); a no-op where absent."""
    set_workers = getattr(be.fft, "set_workers", None)
    return set_workers(_cores()) if set_workers else contextlib.nullcontext()


def kernel_transform(
    be: Backend, shape: tuple[int, ...], voxel_mm: float, tissue: str, dtype: str
) -> Array:
    """rFFT of the kernel placed with its centre at index 0 of the padded grid (cached)."""
    key = (be.name, tuple(shape), round(float(voxel_mm), 6), tissue, str(dtype))
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    padded = np.zeros(_fast_shape(be, shape), dtype=dtype)
    k = _kernel.dose_voxel_kernel(voxel_mm, tissue, dtype)
    idx = np.arange(-_HALF, _HALF + 1)
    padded[np.ix_(idx, idx, idx)] = k  # negative indices wrap: centre at 0
    _CACHE[key] = be.fft.rfftn(be.xp.asarray(padded), axes=(0, 1, 2))
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return _CACHE[key]


def convolve_kernel(tia: Array, voxel_mm: float, tissue: str = "soft") -> Array:
    """Dose (Gy) = TIA (MBq·h per voxel) ⊛ DVK on a cubic grid, same shape and dtype.

    Linear convolution (zero outside the grid), clipped at 0 against FFT round-off.
    """
    be = namespace(tia)
    padded_shape = _fast_shape(be, tia.shape)
    with _all_cores(be):
        spectrum = kernel_transform(be, tia.shape, voxel_mm, tissue, _dtype_name(tia))
        product = be.fft.rfftn(tia, s=padded_shape, axes=(0, 1, 2))
        product *= spectrum  # in place: one padded spectrum in memory, not two
        # irfftn in its two steps (what pocketfft does inside, the same values), so that
        # each intermediate is freed as soon as the next exists: at most two in memory
        lines = be.fft.ifftn(product, axes=(0, 1), norm="forward")
        del product
        dose = be.fft.irfft(lines, n=padded_shape[2], axis=2, norm="forward")
        del lines
        dose *= _inverse_size(be, padded_shape, dose.dtype)
    crop = tuple(slice(0, n) for n in tia.shape)
    # FFT round-off leaves values of order 1e-7 × max below zero where there is no dose
    zero = be.xp.asarray(0.0, dtype=tia.dtype)
    return astype(be.xp.maximum(dose[crop], zero), tia.dtype)


def _inverse_size(be: Backend, shape: tuple[int, ...], dtype: Any) -> Array:
    """1 / (number of points) in ``dtype``, rounded once from extended precision, as
    pocketfft scales its inverse transforms."""
    name = str(dtype).rsplit(".", 1)[-1]
    scale = (np.longdouble(1) / np.longdouble(math.prod(shape))).astype(name)
    return be.xp.asarray(float(scale), dtype=dtype)


def _dtype_name(array: Array) -> str:
    """``float32`` or ``float64`` for an array of any backend."""
    return str(array.dtype).rsplit(".", 1)[-1]


def local_deposition(tia: Array, voxel_ml: float, density: Array | None = None) -> Array:
    """Dose (Gy) with all electron energy absorbed in the source voxel (MIRD, 147.92 keV)."""
    if density is None:
        rho: Array | float = _kernel.KERNEL_DENSITY_G_ML["soft"]
    else:
        xp = namespace(density).xp
        rho = xp.maximum(density, xp.asarray(MIN_DENSITY_G_ML, dtype=density.dtype))
    return tia * (_kernel.LOCAL_DEPOSITION_GY_G_PER_MBQ_H / voxel_ml) / rho


def _cubic_size(geometry: Geometry) -> float:
    lo, hi = _kernel.tabulated_sizes()[0], _kernel.tabulated_sizes()[-1]
    return float(np.clip(min(geometry.spacing_mm), lo, hi))


def _convolve_any_grid(tia: Array, geometry: Geometry, tissue: str) -> Array:
    if geometry.is_cubic:
        return convolve_kernel(tia, geometry.spacing_mm[0], tissue)
    cubic = geometry.with_spacing(_cubic_size(geometry))
    concentration = tia / geometry.voxel_volume_ml
    tia_cubic = resample(concentration, geometry, cubic, order=1) * cubic.voxel_volume_ml
    dose_cubic = convolve_kernel(astype(tia_cubic, tia.dtype), cubic.spacing_mm[0], tissue)
    return astype(resample(dose_cubic, cubic, geometry, order=1), tia.dtype)


def _dose_method(name: str) -> Callable[[_DoseMethod], _DoseMethod]:
    """Register the decorated function (TIA, geometry, tissue, density → dose in Gy) as
    dose method ``name``."""

    def register(method: _DoseMethod) -> _DoseMethod:
        _METHODS[name] = method
        return method

    return register


def absorbed_dose(
    tia: Array,
    geometry: Geometry,
    *,
    method: str = "kernel",
    tissue: str = "soft",
    density: Array | None = None,
) -> Array:
    """Absorbed dose (Gy) on ``geometry`` from TIA (MBq·h per voxel).

    ``method`` is ``kernel`` (DVK convolution) or ``local`` (local deposition);
    ``density`` (g/cm³ per voxel, ρ_eff of :func:`medium_density`) scales the dose
    by ρ_kernel/ρ_eff, floored at 0.26 g/cm³ — see the module doc.
    """
    if method not in METHODS:
        raise DoseError(
            "unknown_dose_method",
            f"dose method {method!r} is unknown",
            tag="method",
            fix=f"use one of {', '.join(METHODS)}",
        )
    return METHODS[method](tia, geometry, tissue, density)


@_dose_method("kernel")
def _kernel_dose(tia: Any, geometry: Geometry, tissue: str, density: Any) -> Any:
    dose = _convolve_any_grid(tia, geometry, tissue)
    if density is not None:
        rho_kernel = _kernel.KERNEL_DENSITY_G_ML[tissue]
        xp = namespace(density).xp
        floor = xp.asarray(MIN_DENSITY_G_ML, dtype=density.dtype)
        for start in range(0, dose.shape[0], 16):  # in place, 16 slices at a time
            part = (slice(start, min(start + 16, dose.shape[0])), ...)
            dose[part] *= rho_kernel / xp.maximum(density[part], floor)
    return astype(dose, tia.dtype)


@_dose_method("local")
def _local(tia: Any, geometry: Geometry, tissue: str, density: Any) -> Any:
    return astype(local_deposition(tia, geometry.voxel_volume_ml, density), tia.dtype)
