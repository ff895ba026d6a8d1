"""Helpers shared by the dose tests (tolerances, host copies)."""

from __future__ import annotations

import numpy as np

#: Relative tolerance (of the maximum) for comparing results per dtype.
RTOL = {"float32": 1e-5, "float64": 1e-12}


def host(array) -> np.ndarray:
    """NumPy copy of a NumPy or CuPy array."""
    return array.get() if hasattr(array, "get") else np.asarray(array)
