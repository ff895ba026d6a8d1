"""Fixtures for the dose engine: the same test bodies on NumPy and, when present, CuPy."""

from __future__ import annotations

import numpy as np
import pytest

from gpu_dose.backend import cuda_available, get_backend

_BACKENDS = [pytest.param("numpy", id="numpy")]
if cuda_available():
    _BACKENDS.append(pytest.param("cupy", id="cupy", marks=pytest.mark.gpu))


@pytest.fixture(params=_BACKENDS)
def xp(request):
    """The array namespace under test: numpy, or cupy when it imports with a device."""
    return np if request.param == "numpy" else get_backend("gpu").xp


@pytest.fixture
def device(xp) -> str:
    """The --device value matching ``xp``."""
    return "cpu" if xp is np else "gpu"
