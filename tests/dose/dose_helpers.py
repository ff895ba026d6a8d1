"""Helpers shared by the dose tests (tolerances, host copies)."""

from __future__ import annotations

import numpy as np

from flexmrt.gpu_dose.backend import to_numpy

#: Relative tolerance (of the maximum) for comparing results per dtype.
RTOL = {"float32": 1e-5, "float64": 1e-12}


def host(array) -> np.ndarray:
    """NumPy copy of a NumPy, array-api-strict or CuPy array (or a Python number)."""
    return np.asarray(array) if isinstance(array, (int, float)) else to_numpy(array)
