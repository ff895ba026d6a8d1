"""Read quantitative SPECT (NM multi-frame or NM/PT slice series) as activity in Bq/mL.

Units come, in this order, from RealWorldValueMappingSequence (0040,9096) — every
item is read and the one whose MeasurementUnitsCodeSequence is UCUM ``Bq/ml``,
``kBq/ml`` or ``MBq/ml`` is used (two Bq/mL items that disagree, or no usable item,
are refused naming the tag); an item in counts needs a calibration — then Units
(0054,1001) ``BQML`` with RescaleSlope/Intercept, or ``CNTS``. Counts are turned
into Bq/mL by an explicit factor (Bq/mL per count) or by a camera sensitivity
(cps/MBq: reconstructed counts per second of acquisition per MBq in the field of
view, the tomographic calibration factor of MIRD Pamphlet 23) with the acquisition
time from the DICOM: Σ ActualFrameDuration × NumberOfFramesInRotation over
RotationInformationSequence (0054,0052), else ActualFrameDuration (0018,1242).
DecayCorrection (0054,1102) ``ADMIN`` is undone so that the image holds the
activity at acquisition time.

Injection time: an explicit one (``injection_time``, with its source: the command
line, or the record's administration), else RadiopharmaceuticalStartDateTime
(0018,1078). A RadiopharmaceuticalStartTime (0018,1072) alone is a time without a
date and is refused: the date is never taken from the scan (a scan 24.5 h after
injection would read as 0.5 h). Times without a UTC offset are read in the zone
TimezoneOffsetFromUTC (0008,0201) gives, else the site's time zone; the image
says which it used.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import pixel_array

from flexmrt.gpu_dose.dicom_io.common import (
    Zone,
    dicom_zone,
    load_datasets,
    modality,
    parse_datetime,
    series_geometry,
)
from flexmrt.gpu_dose.dicom_io.header import (
    check_geometry,
    check_volume,
    first_item,
    image_header,
    integer,
    number,
    numbers,
    orientation,
    reading,
    tag_name,
    text,
)
from flexmrt.gpu_dose.errors import DoseError
from flexmrt.gpu_dose.grid import Geometry
from flexmrt.gpu_dose.tia import LU177_HALF_LIFE_H

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
    injection_source: str = ""
    time_zone: str = ""

    @property
    def hours_post_injection(self) -> float:
        return (self.acquired - self.injected).total_seconds() / 3600.0

    def activity_mbq(self) -> np.ndarray:
        """Activity per voxel, MBq."""
        return self.bq_ml * (self.geometry.voxel_volume_ml / 1e6)


def _frames(
    items: list[tuple[Path, Dataset]], counts: _Counts
) -> tuple[np.ndarray, Geometry, Path, Dataset]:
    """Bq/mL volume and geometry of a multi-frame file or a sorted slice series."""
    path, ds = items[0]
    if len(items) == 1 and integer(ds, "NumberOfFrames", path, default=1, low=1) > 1:
        geom = _multiframe_geometry(path, ds)
        return _to_bq_ml(path, ds, counts.factor(path, ds, geom)), geom, path, ds
    ordered, geom = series_geometry(items)
    check_volume(geom.shape[0] * geom.shape[1] * geom.shape[2], path, "the SPECT series")
    stack = np.empty(geom.shape)
    for plane, (p, d) in zip(stack, ordered, strict=True):
        header = image_header(d, p)
        if (header.frames, header.rows, header.columns) != (1, *geom.shape[1:]):
            raise DoseError(
                "slice_size",
                f"a slice is {header.columns}×{header.rows}×{header.frames}, the first is "
                f"{geom.shape[2]}×{geom.shape[1]}×1",
                path=str(p),
                tag="Rows (0028,0010) / Columns (0028,0011) / NumberOfFrames (0028,0008)",
                fix="give one SPECT series of single-frame slices that share one size",
            )
        plane[...] = _to_bq_ml(p, d, counts.factor(p, d, geom))[0]
    return stack, geom, path, ds


@dataclass(frozen=True)
class _Counts:
    """How counts become Bq/mL: a factor (Bq/mL per count) or a camera sensitivity."""

    bq_ml_per_count: float | None = None
    sensitivity_cps_per_mbq: float | None = None

    def factor(self, path: Path, ds: Dataset, geom: Geometry) -> float | None:
        if self.bq_ml_per_count is not None:
            return self.bq_ml_per_count
        if self.sensitivity_cps_per_mbq is None:
            return None
        seconds = _acquisition_seconds(path, ds)
        mbq_per_count = 1.0 / (self.sensitivity_cps_per_mbq * seconds)
        return mbq_per_count * 1e6 / geom.voxel_volume_ml


def _acquisition_seconds(path: Path, ds: Dataset) -> float:
    """Acquisition time (s): Σ frame duration × frames over the rotations, else one frame."""
    first_item(ds, "RotationInformationSequence", path, required=False)
    rotations = ds.get("RotationInformationSequence", None) or []
    total_ms = sum(
        number(r, "ActualFrameDuration", path, default=0.0)
        * integer(r, "NumberOfFramesInRotation", path, default=0, low=0, high=2**31 - 1)
        for r in rotations
    )
    total_ms = total_ms or number(ds, "ActualFrameDuration", path, default=0.0)
    if not 0 < total_ms < 1e12:
        raise DoseError(
            "missing_frame_duration",
            "a camera sensitivity needs the acquisition time, and the image has none",
            path=str(path),
            tag="RotationInformationSequence (0054,0052) / ActualFrameDuration (0018,1242)",
            fix="export the image with its frame duration, or give a Bq/mL-per-count factor",
        )
    return total_ms / 1000.0


def _multiframe_geometry(path: Path, ds: Dataset) -> Geometry:
    """NM multi-frame: DetectorInformationSequence position/orientation, SpacingBetweenSlices."""
    det = first_item(ds, "DetectorInformationSequence", path, required=False)
    if det is None or "ImageOrientationPatient" not in det or "ImagePositionPatient" not in det:
        raise DoseError(
            "missing_geometry",
            "no image position/orientation",
            path=str(path),
            tag="DetectorInformationSequence (0054,0022)",
            fix="export the reconstruction with patient geometry",
        )
    iop = orientation(det, path)
    ipp = numbers(det, "ImagePositionPatient", path, 3)
    thickness = number(ds, "SliceThickness", path, default=None, positive=True)
    spacing = number(ds, "SpacingBetweenSlices", path, default=thickness, positive=True)
    if spacing is None:
        raise DoseError(
            "missing_attribute",
            "the slice spacing is missing",
            path=str(path),
            tag="SpacingBetweenSlices (0018,0088) / SliceThickness (0018,0050)",
            fix="export the reconstruction with its slice spacing",
        )
    step = np.cross(iop[:3], iop[3:]) * spacing
    header = image_header(ds, path)
    geom = Geometry.from_dicom(
        (header.frames, header.rows, header.columns),
        ipp,
        iop,
        numbers(ds, "PixelSpacing", path, 2),
        step,
        text(ds, "FrameOfReferenceUID", path),
    )
    check_geometry(geom, path)
    return geom


def _unit_code(path: Path, item: Dataset) -> str:
    codes = first_item(item, "MeasurementUnitsCodeSequence", path, required=False)
    return "" if codes is None else text(codes, "CodeValue", path)


def _rwvm_items(path: Path, ds: Dataset) -> list[Dataset]:
    """The RealWorldValueMapping items, top level or in the shared functional groups."""
    holder = ds
    if "RealWorldValueMappingSequence" not in ds and "SharedFunctionalGroupsSequence" in ds:
        holder = first_item(ds, "SharedFunctionalGroupsSequence", path, required=False)
    if (
        holder is None
        or first_item(holder, "RealWorldValueMappingSequence", path, required=False) is None
    ):
        return []
    return list(holder.RealWorldValueMappingSequence)


def _mapping(path: Path, item: Dataset) -> tuple[float, float]:
    """(slope, intercept) of one RealWorldValueMapping item, both required and finite."""
    return (
        number(item, "RealWorldValueSlope", path),
        number(item, "RealWorldValueIntercept", path),
    )


def _rwvm_factor(path: Path, ds: Dataset, calibration: float | None) -> tuple[float, float] | None:
    """(slope, intercept) to Bq/mL from the RealWorldValueMapping item in Bq/mL (or counts)."""
    seq = _rwvm_items(path, ds)
    if not seq:
        return None
    units = [_unit_code(path, item) for item in seq]
    mappings = {
        tuple(v * _UCUM_TO_BQ_ML[u.strip().lower()] for v in _mapping(path, item))
        for item, u in zip(seq, units, strict=True)
        if u.strip().lower() in _UCUM_TO_BQ_ML
    }
    if len(mappings) > 1:
        raise DoseError(
            "ambiguous_units",
            f"{len(mappings)} RealWorldValueMapping items in Bq/mL disagree ({units})",
            path=str(path),
            tag=_RWVM_TAG,
            fix="export one Bq/mL mapping, or remove the inconsistent item",
        )
    if mappings:
        slope, intercept = mappings.pop()
        return slope, intercept
    counted = [n for n, u in enumerate(units) if u.strip().lower() in _COUNT_UNITS]
    n = counted[0] if counted else 0
    scale = _unit_scale(path, units[n], calibration, _RWVM_TAG)
    slope, intercept = _mapping(path, seq[n])
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
            fix="give the calibration factor in Bq/mL per count (--calibration) or the "
            "camera sensitivity in cps/MBq (--sensitivity)",
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
    header = image_header(ds, path)
    mapping = _rwvm_factor(path, ds, calibration)
    if mapping is None:
        units = text(ds, "Units", path)
        scale = _unit_scale(path, {"BQML": "Bq/ml"}.get(units, units), calibration, _UNITS_TAG)
        slope = number(ds, "RescaleSlope", path, default=1.0)
        intercept = number(ds, "RescaleIntercept", path, default=0.0)
        mapping = (slope * scale, intercept * scale)
    with reading(path, tag_name("PixelData"), "the image's pixel data"):
        stored = pixel_array(ds).astype(np.float64)
    stored = stored.reshape((-1, *stored.shape[-2:]))
    described = (header.frames, header.rows, header.columns)
    if stored.shape != described:  # e.g. PixelData longer than the frames the header names
        raise DoseError(
            "pixel_data_length",
            f"PixelData decodes to {stored.shape[0]} frame(s) of {stored.shape[2]}×"
            f"{stored.shape[1]}; NumberOfFrames, Rows and Columns describe {header.frames} of "
            f"{header.columns}×{header.rows}",
            path=str(path),
            tag=tag_name("PixelData"),
            fix="the pixel data and the image size disagree: re-export the file",
        )
    with np.errstate(over="ignore", invalid="ignore"):
        values = stored * mapping[0] + mapping[1]
    if not np.isfinite(values).all():
        raise DoseError(
            "bad_attribute",
            "the scaling to Bq/mL gives values that are not finite",
            path=str(path),
            tag=f"{_RWVM_TAG} / RescaleSlope (0028,1053) / RescaleIntercept (0028,1052)",
            fix="re-export the image with its real-world value mapping or rescale",
        )
    return values


_START_DT = "RadiopharmaceuticalStartDateTime (0018,1078)"
_START_TM = "RadiopharmaceuticalStartTime (0018,1072)"


def _injection(
    path: Path, ds: Dataset, zone: Zone, injected: dt.datetime | None, injected_mbq: float | None
) -> tuple[dt.datetime, str, float | None]:
    """(injection time, where it came from, activity MBq); the date is never guessed."""
    info = first_item(ds, "RadiopharmaceuticalInformationSequence", path, required=False)
    info = Dataset() if info is None else info
    total_bq = number(info, "RadionuclideTotalDose", path, default=None, positive=True)
    mbq = (
        injected_mbq if injected_mbq is not None else (None if total_bq is None else total_bq / 1e6)
    )
    if injected is not None:
        return injected, "", mbq
    when = parse_datetime(
        info, "RadiopharmaceuticalStartDateTime", "", "", zone=zone, path=str(path), tag=_START_DT
    )
    if when is not None:
        return when, _START_DT, mbq
    fix = (
        "give the injection date-time (--injection-time 2024-03-04T09:30:00-08:00, or "
        "--record with this cycle's administration date-time), or export "
        "RadiopharmaceuticalStartDateTime (0018,1078)"
    )
    if text(info, "RadiopharmaceuticalStartTime", path):
        raise DoseError(
            "injection_date_missing",
            "the injection has a time but no date; the date is not taken from the scan",
            path=str(path),
            tag=_START_TM,
            fix=fix,
        )
    raise DoseError(
        "missing_injection_time", "no injection date/time", path=str(path), tag=_START_DT, fix=fix
    )


def _acquired(path: Path, ds: Dataset, zone: Zone) -> dt.datetime:
    when = parse_datetime(
        ds, "AcquisitionDateTime", "AcquisitionDate", "AcquisitionTime", zone=zone, path=str(path)
    ) or parse_datetime(ds, "", "SeriesDate", "SeriesTime", zone=zone, path=str(path))
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
    sensitivity_cps_per_mbq: float | None = None,
    injection_time: dt.datetime | None = None,
    injection_source: str = "explicit injection time",
    injected_mbq: float | None = None,
    site_time_zone: str | None = None,
) -> SpectImage:
    """Read one SPECT time point (a multi-frame file or a folder of slices)."""
    items = [it for it in load_datasets(path) if modality(*it) in ("NM", "PT")]
    if not items:
        raise DoseError(
            "not_spect",
            "no NM or PT image found",
            path=str(path),
            tag="Modality (0008,0060)",
            fix="point --spect at the SPECT series",
        )
    if calibration_bq_ml_per_count is not None and sensitivity_cps_per_mbq is not None:
        raise DoseError(
            "ambiguous_calibration",
            "both a Bq/mL-per-count factor and a camera sensitivity were given",
            path=str(path),
            tag="--calibration/--sensitivity",
            fix="give one of them",
        )
    counts = _Counts(calibration_bq_ml_per_count, sensitivity_cps_per_mbq)
    bq_ml, geom, file, ds = _frames(items, counts)
    zone = dicom_zone(ds, site_time_zone, str(file))
    acquired = _acquired(file, ds, zone)
    injected, source, mbq = _injection(file, ds, zone, injection_time, injected_mbq)
    source = source or injection_source
    hours = (acquired - injected).total_seconds() / 3600.0
    # a scan outside 0–1,000 h is refused by the dose pipeline's scan window; not undone here
    if text(ds, "DecayCorrection", file).upper() == "ADMIN" and 0 <= hours <= 1000:
        bq_ml = bq_ml * math.exp(-math.log(2) * hours / LU177_HALF_LIFE_H)
    bq_ml, warnings = _clip_negative(bq_ml, file)
    return SpectImage(
        str(file),
        bq_ml,
        geom,
        acquired,
        injected,
        mbq,
        warnings,
        source,
        zone.source or "UTC offsets in the DICOM values",
    )
