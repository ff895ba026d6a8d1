"""Checks of a SEG or RTSTRUCT before its masks are read (DICOM PS3.3 C.8.20, C.8.8.5–6).

Everything the mask readers and highdicom rely on is checked up front — segment and ROI
numbers and names, the segmentation's size against :data:`~gpu_dose.dicom_io.header.MAX_VOXELS`
and its pixel data length, plane positions and orientation, and every contour's points —
so a damaged structure file is refused naming the attribute (and the item) to fix.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from flexmrt.gpu_dose.dicom_io.header import (
    check_volume,
    first_item,
    integer,
    number,
    numbers,
    orientation,
    tag_name,
    text,
)
from flexmrt.gpu_dose.errors import DoseError

__all__ = ["check_rtstruct", "check_seg"]

#: Contour coordinates beyond this (mm, 100 m) are not a patient's.
_MAX_COORDINATE_MM = 1e5
_SEG_TYPES = ("BINARY", "FRACTIONAL")


def _items(ds: Dataset, keyword: str, path: Path) -> list[Any]:
    first_item(ds, keyword, path)  # present, a sequence, not empty
    return list(ds[keyword].value)


def _error(code: str, message: str, path: Path, tag: str, fix: str) -> DoseError:
    return DoseError(code, message, path=str(path), tag=tag, fix=fix)


def check_seg(path: Path, ds: Dataset) -> None:
    """A SEG's segments, size, pixel data and plane geometry."""
    numbers_seen = set()
    for n, item in enumerate(_items(ds, "SegmentSequence", path)):
        number_ = integer(item, "SegmentNumber", path, low=1, high=65535)
        if number_ in numbers_seen:
            raise _error(
                "duplicate_segment",
                f"segment number {number_} is used twice",
                path,
                f"SegmentSequence[{n}] > {tag_name('SegmentNumber')}",
                "give every segment its own number",
            )
        numbers_seen.add(number_)
        text(item, "SegmentLabel", path, default=None) or _missing_label(path, n)
    kind = text(ds, "SegmentationType", path, default=None)
    if kind not in _SEG_TYPES:
        raise _error(
            "unsupported_segmentation",
            f"SegmentationType {str(kind)[:16]!r} is not BINARY or FRACTIONAL",
            path,
            tag_name("SegmentationType"),
            "export the segmentation as a BINARY or FRACTIONAL SEG",
        )
    rows, columns, frames = _seg_pixels(ds, path, kind)
    planes = _seg_planes(ds, path, frames, numbers_seen)
    # one segment's volume spans the distinct plane positions (frames are per segment)
    check_volume(rows * columns * planes, path, "a segment's volume")


def _missing_label(path: Path, n: int) -> str:
    raise _error(
        "missing_attribute",
        "a segment has no label",
        path,
        f"SegmentSequence[{n}] > {tag_name('SegmentLabel')}",
        "label every segment (its label names the structure)",
    )


def _seg_pixels(ds: Dataset, path: Path, kind: str) -> tuple[int, int, int]:
    rows = integer(ds, "Rows", path, low=1, high=65535)
    columns = integer(ds, "Columns", path, low=1, high=65535)
    frames = integer(ds, "NumberOfFrames", path, low=1, high=2**31 - 1)
    bits = integer(ds, "BitsAllocated", path, low=1, high=8)
    if bits != (1 if kind == "BINARY" else 8):
        raise _error(
            "bad_attribute",
            f"BitsAllocated {bits} does not fit a {kind} segmentation",
            path,
            tag_name("BitsAllocated"),
            "re-export the SEG (BINARY: 1 bit, FRACTIONAL: 8 bits)",
        )
    meta = getattr(ds, "file_meta", None)
    syntax = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    if syntax not in ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1"):
        raise _error(
            "unsupported_transfer_syntax",
            f"the SEG is stored as {syntax[:64]!r}; only uncompressed SEGs are read",
            path,
            "TransferSyntaxUID (0002,0010)",
            "re-export the SEG uncompressed (explicit VR little endian)",
        )
    data = ds["PixelData"].value if "PixelData" in ds else b""
    need = math.ceil(rows * columns * frames * bits / 8)
    if not isinstance(data, bytes) or len(data) < need:
        found = len(data) if isinstance(data, bytes) else 0
        raise _error(
            "pixel_data_length",
            f"PixelData holds {found:,} bytes; {frames} frames of {rows} × {columns} at "
            f"{bits} bit(s) need {need:,}",
            path,
            tag_name("PixelData"),
            "the SEG is truncated or its size is wrong: re-export it",
        )
    return rows, columns, frames


def _seg_planes(ds: Dataset, path: Path, frames: int, segments: set[int]) -> int:
    """Check the functional groups; the number of distinct plane positions."""
    shared = first_item(ds, "SharedFunctionalGroupsSequence", path)
    measures = first_item(shared, "PixelMeasuresSequence", path)
    numbers(measures, "PixelSpacing", path, 2)
    if min(numbers(measures, "PixelSpacing", path, 2)) <= 0:
        raise _error(
            "bad_attribute",
            "PixelSpacing is not positive",
            path,
            tag_name("PixelSpacing"),
            "re-export the SEG with its pixel spacing",
        )
    number(measures, "SliceThickness", path, positive=True, default=1.0)
    number(measures, "SpacingBetweenSlices", path, positive=True, default=1.0)
    orientation(first_item(shared, "PlaneOrientationSequence", path), path)
    per_frame = _items(ds, "PerFrameFunctionalGroupsSequence", path)
    if len(per_frame) != frames:
        raise _error(
            "bad_attribute",
            f"{len(per_frame)} per-frame items for {frames} frames",
            path,
            tag_name("PerFrameFunctionalGroupsSequence"),
            "re-export the SEG (one functional group item per frame)",
        )
    positions = set()
    for n, item in enumerate(per_frame):
        plane = first_item(item, "PlanePositionSequence", path)
        positions.add(tuple(numbers(plane, "ImagePositionPatient", path, 3)))
        ident = first_item(item, "SegmentIdentificationSequence", path)
        if integer(ident, "ReferencedSegmentNumber", path, low=1) not in segments:
            raise _error(
                "bad_attribute",
                f"frame {n + 1} refers to a segment that is not in SegmentSequence",
                path,
                f"PerFrameFunctionalGroupsSequence[{n}] > {tag_name('ReferencedSegmentNumber')}",
                "re-export the SEG (each frame names one of its segments)",
            )
    return len(positions)


def check_rtstruct(path: Path, ds: Dataset) -> None:
    """An RTSTRUCT's ROIs and every contour's points (closed planar, ≥ 3 points, finite)."""
    rois = set()
    for item in _items(ds, "StructureSetROISequence", path):
        rois.add(integer(item, "ROINumber", path))
        text(item, "ROIName", path, default=None)
        text(item, "ReferencedFrameOfReferenceUID", path)
    for n, roi in enumerate(_items(ds, "ROIContourSequence", path)):
        where = f"ROIContourSequence[{n}]"
        if integer(roi, "ReferencedROINumber", path) not in rois:
            raise _error(
                "bad_attribute",
                "a contour refers to an ROI that is not in StructureSetROISequence",
                path,
                f"{where} > {tag_name('ReferencedROINumber')}",
                "re-export the structure set (each contour names one of its ROIs)",
            )
        contours = first_item(roi, "ContourSequence", path, required=False)
        if contours is not None:
            for m, contour in enumerate(roi.ContourSequence):
                _check_contour(path, contour, f"{where} > ContourSequence[{m}]")


def _check_contour(path: Path, contour: Dataset, where: str) -> None:
    points = numbers(contour, "ContourData", path, None)
    tag = f"{where} > {tag_name('ContourData')}"
    fix = "re-export the structure set (closed planar contours of x\\y\\z triplets in mm)"
    closed = text(contour, "ContourGeometricType", path, default="CLOSED_PLANAR")
    least = 9 if closed == "CLOSED_PLANAR" else 3
    if len(points) % 3 or len(points) < least:
        raise _error(
            "bad_contour",
            f"ContourData holds {len(points)} values, not {least // 3} or more x\\y\\z points",
            path,
            tag,
            fix,
        )
    if not all(abs(v) <= _MAX_COORDINATE_MM for v in points):
        raise _error(
            "bad_contour",
            f"ContourData has a coordinate beyond {_MAX_COORDINATE_MM:g} mm",
            path,
            tag,
            fix,
        )
