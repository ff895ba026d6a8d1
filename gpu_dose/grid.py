"""Voxel grids in patient space and resampling between them.

Arrays are indexed (slice, row, column) = (k, i, j). A :class:`Geometry` maps
those indices to DICOM patient coordinates (LPS, mm) with a 4×4 affine whose
columns are the slice, row and column step vectors (DICOM PS3.3 C.7.6.2.1.1:
ImageOrientationPatient gives the row direction — the step between columns —
then the column direction — the step between rows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from flexmrt.gpu_dose.backend import Array, namespace

__all__ = ["Geometry", "resample", "resample_slabs"]


@dataclass(frozen=True)
class Geometry:
    """Shape (k, i, j), affine (index → patient mm) and frame of reference UID."""

    shape: tuple[int, int, int]
    affine: NDArray[np.float64] = field(repr=False)
    frame_of_reference_uid: str = ""

    @classmethod
    def from_dicom(
        cls,
        shape: tuple[int, int, int],
        first_position: Any,
        orientation: Any,
        pixel_spacing: Any,
        slice_step: Any,
        frame_of_reference_uid: str = "",
    ) -> Geometry:
        """From DICOM tags: position of the first slice, IOP, PixelSpacing, slice step (mm)."""
        row_dir = np.asarray(orientation[:3], float)  # step between columns
        col_dir = np.asarray(orientation[3:], float)  # step between rows
        affine = np.eye(4)
        affine[:3, 0] = np.asarray(slice_step, float)
        affine[:3, 1] = col_dir * float(pixel_spacing[0])
        affine[:3, 2] = row_dir * float(pixel_spacing[1])
        affine[:3, 3] = np.asarray(first_position, float)
        k, i, j = shape
        return cls((int(k), int(i), int(j)), affine, frame_of_reference_uid)

    @property
    def spacing_mm(self) -> tuple[float, float, float]:
        """Voxel size along (slice, row, column), mm."""
        dz, dy, dx = (float(v) for v in np.linalg.norm(self.affine[:3, :3], axis=0))
        return dz, dy, dx

    @property
    def voxel_volume_ml(self) -> float:
        """Voxel volume in mL (cm³)."""
        return abs(float(np.linalg.det(self.affine[:3, :3]))) / 1000.0

    @property
    def is_cubic(self) -> bool:
        dz, dy, dx = self.spacing_mm
        return bool(np.isclose(dz, dy, rtol=1e-4) and np.isclose(dy, dx, rtol=1e-4))

    def with_spacing(self, spacing_mm: float) -> Geometry:
        """Cubic grid of ``spacing_mm`` covering the same box, same directions."""
        scale = spacing_mm / np.asarray(self.spacing_mm)
        extent = np.asarray(self.shape) * np.asarray(self.spacing_mm)
        k, i, j = (max(1, int(np.ceil(e / spacing_mm - 1e-6))) for e in extent)
        affine = self.affine.copy()
        affine[:3, :3] = self.affine[:3, :3] * scale
        # keep the box's outer corner (index −½) where it was
        corner = self.affine[:3, :3] @ np.full(3, -0.5) + self.affine[:3, 3]
        affine[:3, 3] = corner + affine[:3, :3] @ np.full(3, 0.5)
        return Geometry((k, i, j), affine, self.frame_of_reference_uid)

    def index_to_patient(self, kij: ArrayLike) -> NDArray[np.float64]:
        """(N, 3) voxel indices → (N, 3) patient coordinates, mm."""
        return np.asarray(kij, float) @ self.affine[:3, :3].T + self.affine[:3, 3]

    def patient_to_index(self, xyz: ArrayLike) -> NDArray[np.float64]:
        """(N, 3) patient coordinates (mm) → fractional (k, i, j) indices."""
        inverse = np.linalg.inv(self.affine)
        kij: NDArray[np.float64] = np.asarray(xyz, float) @ inverse[:3, :3].T + inverse[:3, 3]
        return kij


def resample(
    volume: Array, source: Geometry, target: Geometry, *, order: int = 1, fill: float = 0.0
) -> Array:
    """Sample ``volume`` (on ``source``) at the voxel centres of ``target``.

    Trilinear for ``order=1``, nearest for ``order=0``; points outside the source
    get ``fill``. Works on NumPy and CuPy arrays alike.
    """
    be = namespace(volume)
    to_source = np.linalg.inv(source.affine) @ target.affine
    return be.ndimage.affine_transform(
        volume,
        be.xp.asarray(to_source[:3, :3]),
        offset=be.xp.asarray(to_source[:3, 3]),
        output_shape=tuple(target.shape),
        order=order,
        mode="constant",
        cval=fill,
    )


def resample_slabs(
    read: Callable[[int, int], Array],
    source: Geometry,
    target: Geometry,
    *,
    fill: float = 0.0,
    slab: int = 16,
) -> Array:
    """:func:`resample` (trilinear) of a volume read a slab at a time: the same values.

    ``read(start, stop)`` returns source slices [start, stop) (axis 0) on the backend and
    in the dtype wanted. The target is made ``slab`` slices at a time from the source
    slices its points fall between (one more on each side), so the whole source is
    never in memory. Each point's source coordinates are computed as
    ``scipy.ndimage.affine_transform`` computes them (offset, then each output index
    times its matrix column, in order) and moved by a whole number of slices, which is
    exact, so the values and the points that fall outside (``fill``) are those of
    :func:`resample`.
    """
    to_source = np.linalg.inv(source.affine) @ target.affine
    matrix, shift = to_source[:3, :3], to_source[:3, 3]
    out = None
    for start in range(0, target.shape[0], slab):
        stop = min(start + slab, target.shape[0])
        coords = _source_coordinates(matrix, shift, (start, stop), target.shape)
        lo = max(0, int(np.floor(coords[0].min())) - 1)
        hi = min(source.shape[0], int(np.floor(coords[0].max())) + 3)
        lo, hi = min(lo, hi - 1), max(hi, 1)  # at least one slice, even when all are outside
        part = read(lo, hi)
        be = namespace(part)
        if out is None:
            out = be.xp.empty(tuple(target.shape), dtype=part.dtype)
        coords[0] -= lo  # exact: lo is a whole number no larger than these coordinates
        out[start:stop, ...] = be.ndimage.map_coordinates(
            part, be.xp.asarray(coords), order=1, mode="constant", cval=fill
        )
    return out


def _source_coordinates(
    matrix: NDArray[np.float64],
    shift: NDArray[np.float64],
    slices: tuple[int, int],
    shape: tuple[int, ...],
) -> NDArray[np.float64]:
    """(3, k, i, j) source indices of target slices [start, stop), float64, summed in
    scipy's order: shift, + k·m0, + i·m1, + j·m2."""
    k = np.arange(*slices, dtype=np.float64)[:, None, None]
    i = np.arange(shape[1], dtype=np.float64)[None, :, None]
    j = np.arange(shape[2], dtype=np.float64)[None, None, :]
    coords = np.empty((3, slices[1] - slices[0], shape[1], shape[2]))
    for h in range(3):
        coords[h] = shift[h] + k * matrix[h, 0]
        coords[h] += i * matrix[h, 1]
        coords[h] += j * matrix[h, 2]
    return coords
