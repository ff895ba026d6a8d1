"""Shared DICOM helpers: loading files, dates and times, slice-series geometry."""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from numpy.typing import NDArray
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian

from flexmrt.gpu_dose.dicom_io.header import (
    check_geometry,
    image_header,
    number,
    numbers,
    orientation,
    reading,
    tag_name,
    text,
)
from flexmrt.gpu_dose.errors import DoseError
from flexmrt.gpu_dose.grid import Geometry

#: pydicom's value validation on reading warns with the value itself (a patient's name
#: into the process log) and then keeps the value anyway. gpu_dose.dicom_io is the only
#: caller of pydicom in flexmrt and checks every attribute it uses itself
#: (:mod:`gpu_dose.dicom_io.header`), so that validation is off for the process.
pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE

__all__ = [
    "Zone",
    "any_value",
    "dicom_zone",
    "ds_number",
    "load_datasets",
    "new_dataset",
    "parse_datetime",
    "series_geometry",
    "site_zone",
    "write",
]


def load_datasets(path: str | Path) -> list[tuple[Path, Dataset]]:
    """Every DICOM file at ``path`` (a file, or a folder searched recursively)."""
    root = Path(path)
    if not root.exists():
        raise DoseError(
            "file_not_found", "no such file or folder", path=str(root), fix="check the path"
        )
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    found = []
    for file in files:
        ds = _read(file)
        if ds is not None:
            found.append((file, ds))
    if not found:
        raise DoseError(
            "no_dicom",
            "no DICOM file found",
            path=str(root),
            fix="point at a DICOM file or a folder of DICOM files",
        )
    return found


def _read(file: Path) -> Dataset | None:
    """One file's dataset; None for a file that is not DICOM (unless it is named ``*.dcm``).

    The bytes are read first and parsed from memory, so that a corrupt element length
    cannot make pydicom reserve gigabytes for a read past the end of the file.
    """
    with reading(file):
        data = file.read_bytes()
        try:
            ds = pydicom.dcmread(io.BytesIO(data))
            ds.buffer = None  # the parsed dataset holds its values; the file's bytes can go
            return ds
        except pydicom.errors.InvalidDicomError:
            if file.suffix.lower() != ".dcm":
                return None
            raise DoseError(
                "not_dicom",
                "the file is named .dcm but is not a DICOM Part 10 file",
                path=str(file),
                tag="DICM prefix / File Meta Information (0002,xxxx)",
                fix="re-export the file, or remove it from the folder",
            ) from None


def modality(file: Path, ds: Dataset) -> str:
    """Modality (0008,0060), checked (a damaged value is an error naming the file)."""
    with reading(file, tag_name("Modality")):
        value = text(ds, "Modality", file)
        meta = getattr(ds, "file_meta", None)
        sop_class = str(meta.get("MediaStorageSOPClassUID", "")) if meta is not None else ""
    if not value and sop_class != _MEDIA_DIRECTORY:
        raise DoseError(
            "missing_attribute",
            "Modality is missing: the file is truncated or not a DICOM image object",
            path=str(file),
            tag=tag_name("Modality"),
            fix="re-export the file, or remove it from the folder",
        )
    return value


#: Media Storage Directory Storage (a DICOMDIR): a file with no Modality, skipped.
_MEDIA_DIRECTORY = "1.2.840.10008.1.3.10"


_TZ_TAG = "TimezoneOffsetFromUTC (0008,0201)"


@dataclass(frozen=True)
class Zone:
    """The time zone DICOM times without an offset are read in, and why."""

    tzinfo: dt.tzinfo | None
    source: str


def dicom_zone(ds: Dataset, site_time_zone: str | None, path: str = "") -> Zone:
    """TimezoneOffsetFromUTC (0008,0201) wins; else the site's IANA zone; else none.

    DICOM PS3.3 C.12.1.1.8: times without an offset are local time where the
    offset attribute says; absent it, they are taken as the site's local time
    (MISSION.md, "Time"), daylight saving included.
    """
    offset = text(ds, "TimezoneOffsetFromUTC", path)
    if offset:
        sign = -1 if offset.startswith("-") else 1
        digits = offset.lstrip("+-")
        if len(digits) != 4 or not digits.isdigit():
            raise DoseError(
                "bad_time_zone_offset",
                f"TimezoneOffsetFromUTC {offset!r} is not ±HHMM",
                path=path,
                tag=_TZ_TAG,
                fix="correct the offset (e.g. -0800), or remove it and give the site time zone",
            )
        delta = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return Zone(dt.timezone(sign * delta), f"{_TZ_TAG} {offset}")
    if site_time_zone:
        return Zone(site_zone(site_time_zone), f"site time zone {site_time_zone}")
    return Zone(None, "")


def site_zone(name: str) -> dt.tzinfo:
    """The IANA zone ``name`` (e.g. America/Los_Angeles), or a DoseError."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise DoseError(
            "unknown_time_zone",
            f"{name!r} is not an IANA time zone",
            tag="site_time_zone",
            fix="give an IANA name such as America/Los_Angeles",
        ) from None


def parse_datetime(
    src: Dataset,
    datetime_kw: str,
    date_kw: str,
    time_kw: str,
    *,
    zone: Zone,
    path: str = "",
    tag: str = "",
) -> dt.datetime | None:
    """A timezone-aware datetime from a DT attribute, else a DA + TM pair, both in ``src``.

    None when absent. The date is never borrowed from another attribute. An offset
    written in the DT value wins; otherwise ``zone`` applies, and without one this
    is an error naming (0008,0201).
    """
    value_text = text(src, datetime_kw, path) if datetime_kw else ""
    if not value_text:
        time = text(src, time_kw, path) if time_kw else ""
        date = text(src, date_kw, path) if date_kw else ""
        if not time or not date:
            return None
        value_text = date + time
    value = _dt(
        value_text, path, tag or " / ".join(k for k in (datetime_kw, date_kw, time_kw) if k)
    )
    tzinfo = value.tzinfo or zone.tzinfo
    if tzinfo is None:
        raise DoseError(
            "missing_time_zone",
            f"{tag or datetime_kw or time_kw} has no UTC offset and neither "
            "TimezoneOffsetFromUTC nor a site time zone is known",
            path=path,
            tag=_TZ_TAG,
            fix="give the site time zone (--site-time-zone, or a protocol with site_time_zone)",
        )
    return dt.datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        tzinfo=tzinfo,
    )


def _dt(value: str, path: str, tag: str) -> pydicom.valuerep.DT:
    """A DICOM DT (YYYYMMDDHHMMSS.FFFFFF&ZZXX) or a DoseError naming the attribute."""
    try:
        return pydicom.valuerep.DT(value)
    except (ValueError, OverflowError):
        raise DoseError(
            "bad_datetime",
            "the date/time is not a valid DICOM date and time",
            path=path,
            tag=tag,
            fix="re-export the file with a valid date (YYYYMMDD) and time (HHMMSS)",
        ) from None


def _slice_step(
    items: list[tuple[Path, Dataset]], normal: NDArray[np.float64]
) -> NDArray[np.float64]:
    positions = np.array([numbers(ds, "ImagePositionPatient", p, 3) for p, ds in items])
    gaps = np.diff(positions @ normal)
    if len(gaps) and np.abs(gaps).min() < 1e-3:
        worst = int(np.argmin(np.abs(gaps)))
        raise DoseError(
            "duplicate_slice_position",
            "two slices lie at the same position along the slice normal",
            path=str(items[worst + 1][0]),
            tag=tag_name("ImagePositionPatient"),
            fix="give one series with one slice per position",
        )
    if len(gaps) and not np.allclose(gaps, gaps.mean(), rtol=1e-3, atol=0.01):
        worst = int(np.argmax(np.abs(gaps - gaps.mean())))
        raise DoseError(
            "nonuniform_slice_spacing",
            f"slice gaps vary from {gaps.min():.3f} to {gaps.max():.3f} mm",
            path=str(items[worst + 1][0]),
            tag="ImagePositionPatient (0020,0032)",
            fix="resample the series to uniform slice spacing before dosimetry",
        )
    if len(positions) < 2:
        return normal * number(
            items[0][1], "SliceThickness", items[0][0], default=1.0, positive=True
        )
    step: NDArray[np.float64] = (positions[-1] - positions[0]) / (len(positions) - 1)
    return step


def series_geometry(
    items: list[tuple[Path, Dataset]],
) -> tuple[list[tuple[Path, Dataset]], Geometry]:
    """Sort single-frame slices along their normal; check spacing; return (sorted, geometry)."""
    path, first = items[0]
    iop = orientation(first, path)
    for other_path, other in items[1:]:
        if not np.allclose(orientation(other, other_path), iop, atol=1e-4):
            raise DoseError(
                "mixed_orientation",
                "the slices of the series have different orientations",
                path=str(other_path),
                tag=tag_name("ImageOrientationPatient"),
                fix="give one series whose slices share one orientation",
            )
    normal = np.cross(iop[:3], iop[3:])
    ordered = sorted(
        items,
        key=lambda it: float(np.dot(numbers(it[1], "ImagePositionPatient", it[0], 3), normal)),
    )
    step = _slice_step(ordered, normal)
    header = image_header(first, path)
    geom = Geometry.from_dicom(
        (len(ordered), header.rows, header.columns),
        numbers(ordered[0][1], "ImagePositionPatient", ordered[0][0], 3),
        iop,
        numbers(first, "PixelSpacing", path, 2),
        step,
        text(first, "FrameOfReferenceUID", path),
    )
    check_geometry(geom, path)
    return ordered, geom


def ds_number(value: float) -> str:
    """A DS string of at most 16 characters (10 significant digits)."""
    text = f"{float(value):.10g}"
    return text if len(text) <= 16 else f"{float(value):.9g}"


def new_dataset(sop_class_uid: str, sop_instance_uid: str) -> Dataset:
    """An empty dataset with file meta for explicit VR little endian."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = UID(sop_class_uid)
    ds.file_meta.MediaStorageSOPInstanceUID = UID(sop_instance_uid)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class_uid, sop_instance_uid
    return ds


def write(ds: Dataset, path: Path) -> Path:
    """Save ``ds`` as a DICOM Part 10 file, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def any_value(ds: Dataset, keyword: str, default: Any = None) -> Any:
    """``ds.keyword`` or ``default`` when absent or empty."""
    value = ds.get(keyword, None)
    return default if value in (None, "") else value
