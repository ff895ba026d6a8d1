"""Fixtures for the dose engine: the same test bodies on NumPy, array-api-strict and CuPy.

``array_api_strict`` (the array API standard's reference implementation, CPU) runs in
CI where there is no GPU: code that works only because NumPy is lenient — array
methods outside the standard, Python ``bool`` as a dtype, FFT sizes without axes —
fails there as it would on CuPy. CuPy joins when it imports with a CUDA device.
"""

from __future__ import annotations

import numpy as np
import pytest

from flexmrt.gpu_dose.backend import cuda_available, get_backend

_BACKENDS = [
    pytest.param("numpy", id="numpy"),
    pytest.param("array_api_strict", id="strict"),
]
if cuda_available():
    _BACKENDS.append(pytest.param("cupy", id="cupy", marks=pytest.mark.gpu))


@pytest.fixture(params=_BACKENDS)
def xp(request):
    """The array namespace under test: numpy, array_api_strict, or cupy with a device."""
    if request.param == "numpy":
        return np
    if request.param == "array_api_strict":
        return pytest.importorskip("array_api_strict")
    return get_backend("gpu").xp


@pytest.fixture
def device(xp) -> str:
    """The --device value matching ``xp`` (a whole study runs on a device backend)."""
    if xp.__name__ == "array_api_strict":
        pytest.skip("whole studies run on numpy or cupy; array-api-strict covers the kernels")
    return "cpu" if xp is np else "gpu"
