"""Array backend: CuPy on a CUDA device, else NumPy — the only module importing cupy.

Every algorithm in gpu_dose is written once against the namespace returned here
(``Backend.xp`` with its ``fft`` and ``ndimage`` companions). The choice is
``auto`` (CuPy when it imports and a CUDA device is present, else NumPy), ``cpu``
or ``gpu``; the environment variable ``FLEXMRT_DEVICE`` sets the default and a
``device=`` argument (the CLI's ``--device``) overrides it.

Arrays of ``array_api_strict`` (the reference implementation of the Python array
API standard) are recognised too, so that the tests can run the algorithms on a
namespace with none of NumPy's leniency (methods like ``.sum()``, Python ``bool``
as a dtype, ``s`` without ``axes``) — what works there works on CuPy. It has no
ndimage: resampling goes through SciPy on the host for it. Algorithms use
:func:`astype` and the ``xp`` functions, never array methods beyond the standard.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol, TypeAlias

import numpy as np
import scipy.fft
import scipy.ndimage
from numpy.typing import NDArray

from flexmrt.gpu_dose.errors import DoseError

__all__ = [
    "DEVICES",
    "PRECISIONS",
    "Array",
    "Backend",
    "Ndimage",
    "astype",
    "cuda_available",
    "get_backend",
    "namespace",
    "to_numpy",
]

DEVICES = ("auto", "cpu", "gpu")
#: The floating-point types dose maps are computed in (the CLI's --precision).
PRECISIONS = ("float32", "float64")

#: An array of a backend's namespace (NumPy, CuPy or array-api-strict). The three share no
#: static type and CuPy and array-api-strict ship none, so it is ``Any`` under a name that
#: says which values are arrays on the backend (host-only arrays are ``NDArray``).
Array: TypeAlias = Any


class Ndimage(Protocol):
    """The ndimage functions the algorithms use (SciPy's, CuPy's, or :class:`_HostNdimage`),
    called as ``scipy.ndimage`` documents them."""

    def affine_transform(self, *args: Any, **kwargs: Any) -> Array: ...

    def map_coordinates(self, *args: Any, **kwargs: Any) -> Array: ...


@dataclass(frozen=True)
class Backend:
    """An array namespace with its FFT and ndimage modules."""

    name: str  # "numpy", "cupy" or "array_api_strict"
    xp: ModuleType
    fft: ModuleType
    ndimage: Ndimage  # a module, or a host-side stand-in (_HostNdimage)

    def asnumpy(self, array: Array) -> NDArray[Any]:
        """Copy an array of this backend to host memory (a no-op for NumPy)."""
        if self.name == "cupy":
            host: NDArray[Any] = array.get()
            return host
        return np.from_dlpack(array) if self.name == "array_api_strict" else np.asarray(array)


NUMPY = Backend("numpy", np, scipy.fft, scipy.ndimage)


class _HostNdimage:
    """``affine_transform`` and ``map_coordinates`` for a namespace without ndimage: SciPy
    on a host copy."""

    def __init__(self, xp: ModuleType) -> None:
        self._xp = xp

    def affine_transform(
        self, volume: Array, matrix: Array, /, offset: Array = 0.0, **kw: Any
    ) -> Array:
        host = np.from_dlpack(volume)
        result = scipy.ndimage.affine_transform(host, _host64(matrix), _host64(offset), **kw)
        return self._xp.asarray(result)

    def map_coordinates(self, volume: Array, coordinates: Array, /, **kw: Any) -> Array:
        host = np.from_dlpack(volume)
        return self._xp.asarray(scipy.ndimage.map_coordinates(host, _host64(coordinates), **kw))


def _host64(array: Array) -> NDArray[np.float64]:
    """A host view (DLPack) of a float64 array: the matrices and coordinates of resampling."""
    return np.asarray(np.from_dlpack(array), dtype=np.float64)


@functools.cache
def _strict_backend() -> Backend:
    import array_api_strict

    return Backend(
        "array_api_strict", array_api_strict, array_api_strict.fft, _HostNdimage(array_api_strict)
    )


@functools.cache
def _cupy_backend() -> Backend | None:
    """CuPy, when it imports and sees at least one CUDA device; else None."""
    try:
        import cupy
        import cupyx.scipy.fft
        import cupyx.scipy.ndimage

        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
    except Exception:  # no cupy, no driver, no device: all mean "no GPU here"
        return None
    return Backend("cupy", cupy, cupyx.scipy.fft, cupyx.scipy.ndimage)


def cuda_available() -> bool:
    """True when CuPy imports and a CUDA device is present."""
    return _cupy_backend() is not None


def get_backend(device: str | None = None) -> Backend:
    """Resolve ``device`` (auto|cpu|gpu; default ``$FLEXMRT_DEVICE`` or auto)."""
    choice = (device or os.environ.get("FLEXMRT_DEVICE") or "auto").lower()
    if choice not in DEVICES:
        raise DoseError(
            "unknown_device",
            f"device {choice!r} is not one of {', '.join(DEVICES)}",
            tag="FLEXMRT_DEVICE/--device",
            fix=f"use one of {', '.join(DEVICES)}",
        )
    if choice == "cpu":
        return NUMPY
    gpu = _cupy_backend()
    if gpu is None and choice == "gpu":
        raise DoseError(
            "no_gpu",
            "device gpu was asked for but no CUDA device is usable",
            tag="FLEXMRT_DEVICE/--device",
            fix="install flexmrt[gpu] on a machine with a CUDA device, or use cpu",
        )
    return gpu or NUMPY


def namespace(*arrays: Array) -> Backend:
    """The backend that owns ``arrays`` (CuPy if any of them is a CuPy array)."""
    for array in arrays:
        module = type(array).__module__.split(".")[0]
        if module == "cupy":
            gpu = _cupy_backend()
            assert gpu is not None
            return gpu
        if module == "array_api_strict":
            return _strict_backend()
    return NUMPY


def astype(array: Array, dtype: Any) -> Array:
    """``array`` as ``dtype`` (no copy when it already is): the standard's ``xp.astype``."""
    xp = namespace(array).xp
    if hasattr(xp, "astype"):
        return xp.astype(array, dtype, copy=False)
    return array.astype(dtype, copy=False)  # CuPy before the standard's function


def to_numpy(array: Array) -> NDArray[Any]:
    """Host copy of a NumPy or CuPy array."""
    return namespace(array).asnumpy(array)
