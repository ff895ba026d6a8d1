"""Read a CT series as Hounsfield units with its geometry: whole (:func:`read_ct`), or
slab by slab from its files (:func:`open_ct`), so that a CT need never be in memory
whole."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom import Dataset
from pydicom.pixels import pixel_array

from flexmrt.gpu_dose.dicom_io.common import load_datasets, modality, series_geometry
from flexmrt.gpu_dose.dicom_io.header import check_volume, image_header, number, reading, tag_name
from flexmrt.gpu_dose.errors import DoseError
from flexmrt.gpu_dose.grid import Geometry

__all__ = ["CtImage", "CtSeries", "open_ct", "read_ct"]


@dataclass
class CtImage:
    """CT numbers (HU, float32) on ``geometry``."""

    path: str
    hu: np.ndarray
    geometry: Geometry


def read_ct(path: str | Path) -> CtImage:
    """Read the CT slices at ``path``; HU = stored × RescaleSlope + RescaleIntercept."""
    items = [it for it in load_datasets(path) if modality(*it) == "CT"]
    if not items:
        raise DoseError(
            "not_ct",
            "no CT image found",
            path=str(path),
            tag="Modality (0008,0060)",
            fix="point --ct at the CT series",
        )
    ordered, geom = series_geometry(items)
    return CtImage(str(ordered[0][0]), _hounsfield(ordered), geom)


def _hounsfield(ordered: list[tuple[Path, Dataset]]) -> np.ndarray:
    """The slices as one float32 volume, filled in place (one volume in memory, not four).

    Every slice's header is checked and the volume's size bounded before it is
    allocated; each slice is then decoded without pydicom's cache, scaled into its
    plane of the preallocated volume, and its encoded pixel data dropped, so the peak
    is the float32 volume plus one decoded slice.
    """
    first_path, first = ordered[0]
    size = image_header(first, first_path)
    for path, ds in ordered:
        header = image_header(ds, path)
        if (header.rows, header.columns, header.frames) != (size.rows, size.columns, 1):
            raise DoseError(
                "ct_slice_size",
                f"a CT slice is {header.columns}×{header.rows}×{header.frames}, the first is "
                f"{size.columns}×{size.rows}×1",
                path=str(path),
                tag="Rows (0028,0010) / Columns (0028,0011) / NumberOfFrames (0028,0008)",
                fix="give one CT series of single-frame slices that share one size",
            )
    check_volume(len(ordered) * size.rows * size.columns, first_path, "the CT series")
    volume = np.empty((len(ordered), size.rows, size.columns), dtype=np.float32)
    for plane, (path, ds) in zip(volume, ordered, strict=True):
        slope = number(ds, "RescaleSlope", path, default=1.0)
        intercept = number(ds, "RescaleIntercept", path, default=0.0)
        with reading(path, tag_name("PixelData"), "the CT slice's pixel data"):
            plane[...] = pixel_array(ds)  # float32 arithmetic, as HU always were computed here
        with np.errstate(over="ignore", invalid="ignore"):
            plane *= slope
            plane += intercept
        if not np.isfinite(plane).all():
            raise DoseError(
                "bad_attribute",
                "RescaleSlope/RescaleIntercept make CT numbers beyond float32",
                path=str(path),
                tag="RescaleSlope (0028,1053) / RescaleIntercept (0028,1052)",
                fix="re-export the CT with its rescale slope and intercept",
            )
        del ds.PixelData
    return volume


@dataclass(frozen=True)
class CtSeries:
    """A CT series known by its geometry and its slice files (in slice order); its HU are
    read a slab at a time."""

    path: str
    geometry: Geometry
    files: tuple[Path, ...]

    def hu(self, start: int, stop: int) -> np.ndarray:
        """HU of slices [start, stop) as float32, read from their files as
        :func:`read_ct` reads them (the same values)."""
        # read as open_ct read them (bytes first, parsed from memory: a corrupt element length
        # cannot make pydicom reserve gigabytes; failures named with the file)
        slab = _hounsfield([load_datasets(f)[0] for f in self.files[start:stop]])
        if slab.shape[1:] != self.geometry.shape[1:]:
            raise DoseError(
                "ct_slice_size",
                f"a CT slice is {slab.shape[2]}×{slab.shape[1]}, the first is "
                f"{self.geometry.shape[2]}×{self.geometry.shape[1]}",
                path=str(self.files[start]),
                tag="Rows (0028,0010) / Columns (0028,0011)",
                fix="give one CT series whose slices share one size",
            )
        return slab


def open_ct(path: str | Path) -> CtSeries:
    """The CT series at ``path``: its geometry and slice files, no pixel data kept."""
    items = [it for it in load_datasets(path) if modality(*it) == "CT"]
    if not items:
        return CtSeries(str(path), read_ct(path).geometry, ())  # read_ct says what is wrong
    ordered, geom = series_geometry(items)
    return CtSeries(str(ordered[0][0]), geom, tuple(Path(f) for f, _ in ordered))
