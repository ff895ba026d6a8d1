"""Read quantitative SPECT (NM multi-frame or NM/PT slice series) as activity in Bq/mL.

Units come, in this order, from RealWorldValueMappingSequence (0040,9096)
(MeasurementUnitsCodeSequence: UCUM ``Bq/ml``, ``kBq/ml``, ``MBq/ml``, or counts
with an explicit calibration), then Units (0054,1001) ``BQML`` with
RescaleSlope/Intercept, or ``CNTS`` with an explicit calibration factor
(Bq/mL per count). DecayCorrection (0054,1102) ``ADMIN`` is undone so that the
image holds the activity at acquisition time. Injection time and activity come
from RadiopharmaceuticalInformationSequence (0054,0016) unless given.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from gpu_dose.dicom_io.common import any_value, load_datasets, parse_datetime, series_geometry
from gpu_dose.errors import DoseError
from gpu_dose.grid import Geometry
from gpu_dose.tia import LU177_HALF_LIFE_H

__all__ = ["SpectImage", "read_spect"]

_UCUM_TO_BQ_ML = {"bq/ml": 1.0, "kbq/ml": 1e3, "mbq/ml": 1e6}
_COUNT_UNITS = {"cnts", "counts", "{counts}", "{cnts}", "propcnts"}
_UNITS_TAG = "Units (0054,1001)"
_RWVM_TAG = "RealWorldValueMappingSequence (0040,9096)"


@dataclass
class SpectImage:
    """Activity concentration (Bq/mL) at acquisition time on ``geometry``, with its times."""

    path: str
    bq_ml: np.ndarray
    geometry: Geometry
    acquired: dt.datetime
    injected: dt.datetime
    injected_mbq: float | None
    warnings: list[str] = field(default_factory=list)

    @property
    def hours_post_injection(self) -> float:
        return (self.acquired - self.injected).total_seconds() / 3600.0

    def activity_mbq(self) -> np.ndarray:
        """Activity per voxel, MBq."""
        return self.bq_ml * (self.geometry.voxel_volume_ml / 1e6)


def _frames(
    items: list[tuple[Path, Dataset]],
    calibration: float | None,
) -> tuple[np.ndarray, Geometry, Path, Dataset]:
    """Bq/mL volume and geometry of a multi-frame file or a sorted slice series."""
    path, ds = items[0]
    if len(items) == 1 and int(any_value(ds, "NumberOfFrames", 1)) > 1:
        return _to_bq_ml(path, ds, calibration), _multiframe_geometry(path, ds), path, ds
    ordered, geom = series_geometry(items)
    stack = np.stack([_to_bq_ml(p, d, calibration) for p, d in ordered])
    return stack, geom, path, ds


def _multiframe_geometry(path: Path, ds: Dataset) -> Geometry:
    """NM multi-frame: DetectorInformationSequence position/orientation, SpacingBetweenSlices."""
    try:
        det = ds.DetectorInformationSequence[0]
        iop = [float(v) for v in det.ImageOrientationPatient]
        ipp = det.ImagePositionPatient
    except (AttributeError, IndexError):
        raise DoseError(
            "missing_geometry",
            "no image position/orientation",
            path=str(path),
            tag="DetectorInformationSequence (0054,0022)",
            fix="export the reconstruction with patient geometry",
        ) from None
    spacing = float(any_value(ds, "SpacingBetweenSlices", any_value(ds, "SliceThickness", 0)))
    step = np.cross(iop[:3], iop[3:]) * spacing
    shape = (int(ds.NumberOfFrames), int(ds.Rows), int(ds.Columns))
    return Geometry.from_dicom(
        shape, ipp, iop, ds.PixelSpacing, step, str(any_value(ds, "FrameOfReferenceUID", ""))
    )


def _rwvm_factor(path: Path, ds: Dataset, calibration: float | None) -> tuple[float, float] | None:
    """(slope, intercept) to Bq/mL from RealWorldValueMapping, or None when absent."""
    seq = any_value(ds, "RealWorldValueMappingSequence", None)
    if seq is None and "SharedFunctionalGroupsSequence" in ds:
        seq = any_value(ds.SharedFunctionalGroupsSequence[0], "RealWorldValueMappingSequence")
    if not seq:
        return None
    item = seq[0]
    unit = (
        str(item.MeasurementUnitsCodeSequence[0].CodeValue)
        if any_value(item, "MeasurementUnitsCodeSequence")
        else ""
    )
    scale = _unit_scale(path, unit, calibration, _RWVM_TAG)
    slope, intercept = float(item.RealWorldValueSlope), float(item.RealWorldValueIntercept)
    return slope * scale, intercept * scale


def _unit_scale(path: Path, unit: str, calibration: float | None, tag: str) -> float:
    """Bq/mL per unit of ``unit``; counts need ``calibration`` (Bq/mL per count)."""
    key = unit.strip().lower()
    if key in _UCUM_TO_BQ_ML:
        return _UCUM_TO_BQ_ML[key]
    if key in _COUNT_UNITS and calibration is not None:
        return float(calibration)
    if key in _COUNT_UNITS:
        raise DoseError(
            "counts_without_calibration",
            f"image is in counts ({unit})",
            path=str(path),
            tag=tag,
            fix="give the calibration factor in Bq/mL per count (--calibration)",
        )
    if not key:
        raise DoseError(
            "missing_units",
            "the image has no units",
            path=str(path),
            tag=tag,
            fix="export quantitative SPECT in Bq/mL (Units BQML or a "
            "RealWorldValueMapping), or give a calibration factor for counts",
        )
    raise DoseError(
        "unknown_units",
        f"unknown units {unit!r}",
        path=str(path),
        tag=tag,
        fix="export the image in Bq/mL (BQML) or counts with a calibration factor",
    )


def _to_bq_ml(path: Path, ds: Dataset, calibration: float | None) -> np.ndarray:
    """Pixel values of one dataset in Bq/mL.

    A RealWorldValueMapping applies to the stored values; otherwise Units with
    RescaleSlope/RescaleIntercept (PS3.3 C.8.9.4 for PT, vendor practice for NM).
    """
    stored = ds.pixel_array.astype(np.float64)
    mapping = _rwvm_factor(path, ds, calibration)
    if mapping is not None:
        return stored * mapping[0] + mapping[1]
    units = str(any_value(ds, "Units", ""))
    scale = _unit_scale(path, {"BQML": "Bq/ml"}.get(units, units), calibration, _UNITS_TAG)
    slope = float(any_value(ds, "RescaleSlope", 1.0))
    return (stored * slope + float(any_value(ds, "RescaleIntercept", 0.0))) * scale


def _injection(
    path: Path, ds: Dataset, injected: dt.datetime | None, injected_mbq: float | None
) -> tuple[dt.datetime, float | None]:
    items = any_value(ds, "RadiopharmaceuticalInformationSequence", None) or [Dataset()]
    info = items[0]
    when = injected or parse_datetime(
        ds, "RadiopharmaceuticalStartDateTime", "", "RadiopharmaceuticalStartTime", item=info
    )
    if when is None:
        raise DoseError(
            "missing_injection_time",
            "no injection date/time",
            path=str(path),
            tag="RadiopharmaceuticalStartDateTime (0018,1078)",
            fix="give the injection time explicitly (--injection-time ISO-8601)",
        )
    total_bq = any_value(info, "RadionuclideTotalDose", None)
    mbq = (
        injected_mbq
        if injected_mbq is not None
        else (None if total_bq is None else float(total_bq) / 1e6)
    )
    return when, mbq


def _acquired(path: Path, ds: Dataset) -> dt.datetime:
    when = parse_datetime(ds, "AcquisitionDateTime", "AcquisitionDate", "AcquisitionTime")
    when = when or parse_datetime(ds, "", "SeriesDate", "SeriesTime")
    if when is None:
        raise DoseError(
            "missing_acquisition_time",
            "no acquisition date/time",
            path=str(path),
            tag="AcquisitionDateTime (0008,002A)",
            fix="export the image with AcquisitionDate and AcquisitionTime",
        )
    return when


def _clip_negative(values: np.ndarray, path: Path) -> tuple[np.ndarray, list[str]]:
    negative = int((values < 0).sum())
    if not negative:
        return values, []
    note = (
        f"{path}: {negative} negative voxels (min {values.min():.4g} Bq/mL) "
        "clipped to 0 [negative_voxels]"
    )
    return np.maximum(values, 0.0), [note]


def read_spect(
    path: str | Path,
    *,
    calibration_bq_ml_per_count: float | None = None,
    injection_time: dt.datetime | None = None,
    injected_mbq: float | None = None,
) -> SpectImage:
    """Read one SPECT time point (a multi-frame file or a folder of slices)."""
    items = [it for it in load_datasets(path) if it[1].get("Modality") in ("NM", "PT")]
    if not items:
        raise DoseError(
            "not_spect",
            "no NM or PT image found",
            path=str(path),
            tag="Modality (0008,0060)",
            fix="point --spect at the SPECT series",
        )
    bq_ml, geom, file, ds = _frames(items, calibration_bq_ml_per_count)
    acquired = _acquired(file, ds)
    injected, mbq = _injection(file, ds, injection_time, injected_mbq)
    if str(any_value(ds, "DecayCorrection", "NONE")).upper() == "ADMIN":
        hours = (acquired - injected).total_seconds() / 3600.0
        bq_ml = bq_ml * math.exp(-math.log(2) * hours / LU177_HALF_LIFE_H)
    bq_ml, warnings = _clip_negative(bq_ml, file)
    return SpectImage(str(file), bq_ml, geom, acquired, injected, mbq, warnings)
