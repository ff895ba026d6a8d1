"""Read a CT series as Hounsfield units with its geometry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gpu_dose.dicom_io.common import any_value, load_datasets, series_geometry
from gpu_dose.errors import DoseError
from gpu_dose.grid import Geometry

__all__ = ["CtImage", "read_ct"]


@dataclass
class CtImage:
    """CT numbers (HU, float32) on ``geometry``."""

    path: str
    hu: np.ndarray
    geometry: Geometry


def read_ct(path: str | Path) -> CtImage:
    """Read the CT slices at ``path``; HU = stored × RescaleSlope + RescaleIntercept."""
    items = [it for it in load_datasets(path) if it[1].get("Modality") == "CT"]
    if not items:
        raise DoseError(
            "not_ct",
            "no CT image found",
            path=str(path),
            tag="Modality (0008,0060)",
            fix="point --ct at the CT series",
        )
    ordered, geom = series_geometry(items)
    slices = [
        ds.pixel_array.astype(np.float32) * float(any_value(ds, "RescaleSlope", 1.0))
        + float(any_value(ds, "RescaleIntercept", 0.0))
        for _, ds in ordered
    ]
    return CtImage(str(ordered[0][0]), np.stack(slices).astype(np.float32), geom)
