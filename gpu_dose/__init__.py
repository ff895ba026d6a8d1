"""Voxel dose engine: quantitative SPECT/CT → absorbed dose and BED per structure.

CuPy on a CUDA device, NumPy elsewhere (see :mod:`gpu_dose.backend`).
Precision: float32 by default; on the 96³ phantom float32 and float64 dose maps
differ by at most 5e-7 of the maximum dose (tests assert < 1e-5).

    flexmrt dose --spect study/spect_24h --masks study/masks --ct study/ct \
        --protocol flex-mrt --out results/ --cycle 1
"""

from flexmrt.gpu_dose.backend import cuda_available, get_backend
from flexmrt.gpu_dose.batch import run_batch
from flexmrt.gpu_dose.convolve import absorbed_dose, density_from_hu
from flexmrt.gpu_dose.errors import DoseError
from flexmrt.gpu_dose.grid import Geometry
from flexmrt.gpu_dose.kernel import dose_voxel_kernel
from flexmrt.gpu_dose.phantom import make_phantom
from flexmrt.gpu_dose.pipeline import DoseResult, Settings, compute_dose, run_study
from flexmrt.gpu_dose.record import to_record_entry
from flexmrt.gpu_dose.structures import bed
from flexmrt.gpu_dose.tia import LU177_HALF_LIFE_H, fit_mono_exponential, hanscheid, prior_half_life

__all__ = [
    "LU177_HALF_LIFE_H",
    "DoseError",
    "DoseResult",
    "Geometry",
    "Settings",
    "absorbed_dose",
    "bed",
    "compute_dose",
    "cuda_available",
    "density_from_hu",
    "dose_voxel_kernel",
    "fit_mono_exponential",
    "get_backend",
    "hanscheid",
    "make_phantom",
    "prior_half_life",
    "run_batch",
    "run_study",
    "to_record_entry",
]
