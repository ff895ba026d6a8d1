"""DICOM attributes read with checks, image headers validated before any pixel is decoded.

Every attribute the readers use goes through :func:`integer`, :func:`number`,
:func:`numbers`, :func:`text` or :func:`first_item`: presence, value
representation, value count and range are checked, and a bad value is a
:class:`~gpu_dose.errors.DoseError` naming the file, the attribute with its tag,
and the fix. :func:`image_header` checks an image's pixel description against its
pixel data and bounds its size (:data:`MAX_VOXELS`) from the header alone, before
anything is allocated. :func:`reading` is the last resort at the reader edge: any
other failure inside pydicom or highdicom becomes a DoseError naming the file and,
where known, the tag — never a traceback.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, overload

import numpy as np
import pydicom
from pydicom.datadict import dictionary_keyword, dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

from flexmrt.gpu_dose.errors import DoseError
from flexmrt.gpu_dose.grid import Geometry

__all__ = [
    "MAX_VOXELS",
    "VOXEL_MM_RANGE",
    "ImageHeader",
    "check_geometry",
    "check_volume",
    "copied",
    "decoded",
    "first_item",
    "image_header",
    "integer",
    "number",
    "numbers",
    "orientation",
    "reading",
    "tag_name",
    "text",
]

#: Largest image volume read, in voxels (rows × columns × frames, or × slices for a
#: series): 512 × 512 × 1024, a whole-body CT at 512² with 1,024 slices. Its float32
#: volume is 1 GiB. Checked from the header before any pixel array is allocated.
MAX_VOXELS = 512 * 512 * 1024

#: Voxel edges (mm) outside this range, or positions beyond 100 m, are not an image of a
#: patient [assumed: far outside any clinical reconstruction, 0.1–10 mm].
VOXEL_MM_RANGE = (0.01, 1000.0)
_MAX_POSITION_MM = 1e5
#: Multi-valued geometry attributes (positions, spacings, contour points; mm) beyond this
#: magnitude are refused before any arithmetic on them can overflow.
_MAX_NUMBER = 1e9


class _Required(Enum):
    """The ``default`` of a reader whose attribute must be present."""

    TOKEN = 0


_REQUIRED = _Required.TOKEN
_MONOCHROME = ("MONOCHROME1", "MONOCHROME2")
_QUOTED = re.compile(r"""b?'[^']*'|b?"[^"]*\"""")
_TAG_IN_TEXT = re.compile(r"\(([0-9A-Fa-f]{4}),\s*([0-9A-Fa-f]{4})\)")


def tag_name(keyword: str) -> str:
    """``'Rows (0028,0010)'`` for ``'Rows'`` (the keyword alone when not in the dictionary)."""
    tag = tag_for_keyword(keyword)
    if tag is None:
        return keyword
    return f"{keyword} ({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _fix(keyword: str) -> str:
    return f"re-export the file from the source system with a valid {keyword}"


def decoded(ds: Dataset, keyword: str, path: Path | str) -> Any:
    """The value of ``keyword`` in ``ds`` as pydicom decodes it (None when absent; empty
    values kept); a DoseError naming the file and the tag when its bytes cannot be decoded
    (a damaged VR, say)."""
    try:
        return ds[keyword].value if keyword in ds else None
    except Exception as error:  # pydicom could not decode the element's bytes
        raise DoseError(
            "bad_attribute",
            f"{keyword} cannot be decoded ({type(error).__name__})",
            path=str(path),
            tag=tag_name(keyword),
            fix=_fix(keyword),
        ) from error


def copied(ds: Dataset, keyword: str, path: Path | str) -> Any:
    """The value of ``keyword`` to copy into a file flexmrt writes: decoded as
    :func:`decoded` does, and refused when the element's VR is not the one DICOM gives the
    attribute (a StudyDate stored as FD would be written as a number)."""
    # the VR as written (get_item does not decode: an implicit-VR file gives None)
    vr = ds.get_item(keyword).VR if keyword in ds else None
    if vr is not None and vr != dictionary_VR(keyword):
        raise _bad(keyword, path, f"of VR {dictionary_VR(keyword)} (it has VR {vr})")
    return decoded(ds, keyword, path)


def _value(ds: Dataset, keyword: str, path: Path | str, *, required: bool) -> Any:
    """The value of ``keyword`` in ``ds``; None when absent or empty (an error if
    ``required``)."""
    value = decoded(ds, keyword, path)
    if value is None or value == "" or (isinstance(value, (list, MultiValue)) and not value):
        if required:
            raise DoseError(
                "missing_attribute",
                f"{keyword} is missing",
                path=str(path),
                tag=tag_name(keyword),
                fix=_fix(keyword),
            )
        return None
    return value


def _bad(keyword: str, path: Path | str, expected: str) -> DoseError:
    return DoseError(
        "bad_attribute",
        f"{keyword} is not {expected}",
        path=str(path),
        tag=tag_name(keyword),
        fix=_fix(keyword),
    )


def _single(value: Any, keyword: str, path: Path | str, expected: str) -> Any:
    if isinstance(value, (list, MultiValue)):
        if len(value) != 1:
            raise _bad(keyword, path, expected)
        value = value[0]
    if isinstance(value, (Dataset, Sequence, bytes)):
        raise _bad(keyword, path, expected)
    return value


def _real(value: Any, keyword: str, path: Path | str, expected: str) -> float:
    """``value`` (one value of ``keyword``) as a finite float, else the attribute's error."""
    try:
        result = float(_single(value, keyword, path, expected))
    except (TypeError, ValueError, OverflowError):
        raise _bad(keyword, path, expected) from None
    if not math.isfinite(result):
        raise _bad(keyword, path, expected)
    return result


@overload
def number(
    ds: Dataset,
    keyword: str,
    path: Path | str,
    *,
    default: float | _Required = ...,
    positive: bool = ...,
) -> float: ...


@overload
def number(
    ds: Dataset, keyword: str, path: Path | str, *, default: None, positive: bool = ...
) -> float | None: ...


def number(
    ds: Dataset,
    keyword: str,
    path: Path | str,
    *,
    default: float | _Required | None = _REQUIRED,
    positive: bool = False,
) -> float | None:
    """One finite number (DS, IS, FD, FL, US …); ``positive``: also > 0."""
    value = _value(ds, keyword, path, required=isinstance(default, _Required))
    if value is None and not isinstance(default, _Required):
        return default
    expected = "a positive number" if positive else "a finite number"
    result = _real(value, keyword, path, expected)
    if positive and result <= 0:
        raise _bad(keyword, path, expected)
    return result


def numbers(ds: Dataset, keyword: str, path: Path | str, count: int | None) -> list[float]:
    """Exactly ``count`` finite numbers (e.g. ImagePositionPatient: 3); any count for None."""
    value = _value(ds, keyword, path, required=True)
    values = list(value) if isinstance(value, (list, MultiValue)) else [value]
    expected = f"{count or 'one or more'} finite numbers within ±{_MAX_NUMBER:g}"
    if count is not None and len(values) != count:
        raise _bad(keyword, path, expected)
    result = [_real(v, keyword, path, expected) for v in values]
    if not all(abs(v) <= _MAX_NUMBER for v in result):
        raise _bad(keyword, path, expected)
    return result


def integer(
    ds: Dataset,
    keyword: str,
    path: Path | str,
    *,
    default: int | _Required = _REQUIRED,
    low: int | None = None,
    high: int | None = None,
) -> int:
    """One whole number within [``low``, ``high``]."""
    value = _value(ds, keyword, path, required=isinstance(default, _Required))
    if value is None and not isinstance(default, _Required):
        return default
    span = f" in {low if low is not None else '…'}–{high if high is not None else '…'}"
    expected = "a whole number" + (span if low is not None or high is not None else "")
    real = _real(value, keyword, path, expected)
    if real != int(real):
        raise _bad(keyword, path, expected)
    result = int(real)
    if (low is not None and result < low) or (high is not None and result > high):
        raise _bad(keyword, path, expected)
    return result


@overload
def text(ds: Dataset, keyword: str, path: Path | str, default: str = ...) -> str: ...


@overload
def text(ds: Dataset, keyword: str, path: Path | str, default: None) -> str | None: ...


def text(ds: Dataset, keyword: str, path: Path | str, default: str | None = "") -> str | None:
    """One string value, stripped (``default`` when absent)."""
    value = _value(ds, keyword, path, required=False)
    if value is None:
        return default
    return str(_single(value, keyword, path, "one text value")).strip()


def first_item(ds: Dataset, keyword: str, path: Path | str, *, required: bool = True) -> Any:
    """The first item of sequence ``keyword`` (None when absent and not ``required``)."""
    value = _value(ds, keyword, path, required=required)
    if value is None:
        return None
    if not isinstance(value, Sequence):
        raise _bad(keyword, path, "a sequence")
    if not len(value):
        if required:
            raise DoseError(
                "missing_attribute",
                f"{keyword} has no item",
                path=str(path),
                tag=tag_name(keyword),
                fix=_fix(keyword),
            )
        return None
    return value[0]


def orientation(ds: Dataset, path: Path | str) -> list[float]:
    """ImageOrientationPatient: two unit vectors at right angles (PS3.3 C.7.6.2.1.1)."""
    iop = numbers(ds, "ImageOrientationPatient", path, 6)
    row, col = np.asarray(iop[:3]), np.asarray(iop[3:])
    unit = abs(np.linalg.norm(row) - 1) < 1e-3 and abs(np.linalg.norm(col) - 1) < 1e-3
    if not unit or abs(float(row @ col)) > 1e-3:
        raise DoseError(
            "bad_orientation",
            "the row and column directions are not unit vectors at right angles",
            path=str(path),
            tag=tag_name("ImageOrientationPatient"),
            fix=_fix("ImageOrientationPatient"),
        )
    return iop


def check_geometry(geometry: Geometry, path: Path | str) -> None:
    """Voxel sizes within :data:`VOXEL_MM_RANGE` and the origin within 100 m."""
    low, high = VOXEL_MM_RANGE
    with np.errstate(over="ignore", invalid="ignore"):
        spacing = geometry.spacing_mm
    if not np.isfinite(geometry.affine).all() or not all(low <= s <= high for s in spacing):
        raise DoseError(
            "bad_voxel_size",
            "voxel size {} mm is outside {:g}–{:g} mm".format(
                " × ".join(f"{s:.4g}" for s in spacing), low, high
            ),
            path=str(path),
            tag="PixelSpacing (0028,0030) / slice spacing",
            fix="re-export the image with its pixel spacing and slice positions",
        )
    if np.abs(geometry.affine[:3, 3]).max() > _MAX_POSITION_MM:
        raise DoseError(
            "bad_attribute",
            f"the image position is beyond {_MAX_POSITION_MM:g} mm",
            path=str(path),
            tag=tag_name("ImagePositionPatient"),
            fix=_fix("ImagePositionPatient"),
        )


@dataclass(frozen=True)
class ImageHeader:
    """An image's pixel description, checked against its pixel data."""

    rows: int
    columns: int
    frames: int
    bits_allocated: int

    @property
    def voxels(self) -> int:
        return self.rows * self.columns * self.frames


def check_volume(voxels: int, path: Path | str, what: str = "the image") -> None:
    """Refuse a volume of more than :data:`MAX_VOXELS` voxels (before allocating it)."""
    if voxels > MAX_VOXELS:
        raise DoseError(
            "image_too_large",
            f"{what} has {voxels:,} voxels, more than the {MAX_VOXELS:,} (512 × 512 × 1024) read",
            path=str(path),
            tag="Rows (0028,0010) × Columns (0028,0011) × NumberOfFrames (0028,0008)",
            fix="check the image dimensions, or crop/resample the image before dosimetry",
        )


def image_header(ds: Dataset, path: Path | str) -> ImageHeader:
    """Check one grey-scale image's pixel module and pixel data length, and bound its size."""
    rows = integer(ds, "Rows", path, low=1, high=65535)
    columns = integer(ds, "Columns", path, low=1, high=65535)
    frames = integer(ds, "NumberOfFrames", path, default=1, low=1, high=2**31 - 1)
    check_volume(rows * columns * frames, path)
    integer(ds, "SamplesPerPixel", path, low=1, high=1)
    photometric = text(ds, "PhotometricInterpretation", path, default=None)
    if photometric not in _MONOCHROME:
        raise _bad("PhotometricInterpretation", path, "MONOCHROME1 or MONOCHROME2")
    bits = integer(ds, "BitsAllocated", path, low=8, high=64)
    if bits not in (8, 16, 32, 64):
        raise _bad("BitsAllocated", path, "8, 16, 32 or 64")
    stored = integer(ds, "BitsStored", path, low=1, high=bits)
    integer(ds, "HighBit", path, default=stored - 1, low=stored - 1, high=stored - 1)
    integer(ds, "PixelRepresentation", path, low=0, high=1)
    header = ImageHeader(rows, columns, frames, bits)
    _check_pixel_data(ds, path, header)
    return header


def _check_pixel_data(ds: Dataset, path: Path | str, header: ImageHeader) -> None:
    """Native pixel data holds the bytes the header describes; encapsulated data can be decoded."""
    data = _value(ds, "PixelData", path, required=True)
    syntax = _transfer_syntax(ds, path)
    if syntax.is_encapsulated:
        _check_decoder(syntax, path)
        return
    expected = header.voxels * header.bits_allocated // 8
    if not isinstance(data, bytes) or len(data) < expected:
        found = len(data) if isinstance(data, bytes) else 0
        raise DoseError(
            "pixel_data_length",
            f"PixelData holds {found:,} bytes; Rows × Columns × NumberOfFrames × "
            f"BitsAllocated/8 = {header.rows} × {header.columns} × {header.frames} × "
            f"{header.bits_allocated // 8} needs {expected:,}",
            path=str(path),
            tag=tag_name("PixelData"),
            fix="the file is truncated or its image size is wrong: re-export it",
        )


def _transfer_syntax(ds: Dataset, path: Path | str) -> pydicom.uid.UID:
    meta = getattr(ds, "file_meta", None)
    uid = pydicom.uid.UID(str(meta.get("TransferSyntaxUID", "") if meta is not None else ""))
    if not uid or not uid.is_transfer_syntax:
        raise DoseError(
            "unsupported_transfer_syntax",
            f"transfer syntax {str(uid)[:64]!r} is not a known DICOM transfer syntax",
            path=str(path),
            tag="TransferSyntaxUID (0002,0010)",
            fix="re-export the file in explicit VR little endian (uncompressed)",
        )
    return uid


def _check_decoder(syntax: pydicom.uid.UID, path: Path | str) -> None:
    from pydicom.pixels import get_decoder

    try:
        available = get_decoder(syntax).is_available
    except NotImplementedError:
        available = False
    if not available:
        raise DoseError(
            "unsupported_transfer_syntax",
            f"pixel data compressed as {syntax.name} cannot be decoded here",
            path=str(path),
            tag="TransferSyntaxUID (0002,0010)",
            fix="re-export the file uncompressed (explicit VR little endian)",
        )


def _redacted(message: str) -> str:
    """A library message with quoted values removed (they may be patient data), bounded."""
    return _QUOTED.sub("…", message).replace("\n", " ")[:200]


def _tag_in(message: str) -> str:
    found = _TAG_IN_TEXT.search(message)
    if not found:
        return ""
    tag = int(found.group(1) + found.group(2), 16)
    keyword = keyword_for_tag(tag) or ""
    if not keyword:
        try:
            keyword = dictionary_keyword(tag)
        except KeyError:
            keyword = ""
    return f"{keyword} ({found.group(1).upper()},{found.group(2).upper()})".strip()


@contextmanager
def reading(path: Path | str, tag: str = "", what: str = "the DICOM file") -> Iterator[None]:
    """Turn any failure inside pydicom/highdicom into a DoseError naming ``path`` and the tag.

    The last resort at the reader edge, for what the checks above do not foresee
    (corrupt element lengths, undecodable pixel data, highdicom's own checks). The
    library's message is kept with quoted values removed.
    """
    try:
        yield
    except DoseError:
        raise
    except MemoryError as error:
        raise DoseError(
            "image_too_large",
            f"{what} needs more memory than is available",
            path=str(path),
            tag=tag,
            fix="check the image dimensions, or crop/resample the image before dosimetry",
        ) from error
    except Exception as error:
        message = _redacted(str(error))
        raise DoseError(
            "unreadable_dicom",
            f"{what} cannot be read: {type(error).__name__}: {message}",
            path=str(path),
            tag=_tag_in(str(error)) or tag,
            fix="re-export the file from the source system (it is damaged or not valid DICOM)",
        ) from error
