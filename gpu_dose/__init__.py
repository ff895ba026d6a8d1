"""Voxel dose engine: quantitative SPECT/CT → absorbed dose and BED per structure.

CuPy on a CUDA device, NumPy elsewhere (see :mod:`gpu_dose.backend`).
"""

from gpu_dose.backend import cuda_available, get_backend
from gpu_dose.convolve import absorbed_dose, density_from_hu
from gpu_dose.errors import DoseError
from gpu_dose.grid import Geometry
from gpu_dose.kernel import dose_voxel_kernel
from gpu_dose.structures import bed
from gpu_dose.tia import LU177_HALF_LIFE_H, fit_mono_exponential, hanscheid, prior_half_life

__all__ = [
    "LU177_HALF_LIFE_H",
    "DoseError",
    "Geometry",
    "absorbed_dose",
    "bed",
    "cuda_available",
    "density_from_hu",
    "dose_voxel_kernel",
    "fit_mono_exponential",
    "get_backend",
    "hanscheid",
    "prior_half_life",
]
