"""RT Dose in and out (DICOM PS3.3 A.18, C.8.8.3): dose grid in Gy.

Pixel values are uint32; dose [Gy] = value × DoseGridScaling. Frames are planes
along the slice axis, ImagePositionPatient is the first frame and
GridFrameOffsetVector gives each frame's offset (mm) along the normal of
ImageOrientationPatient (so it decreases when slices run against the normal).

DoseSummationType (3004,000A) is :data:`DOSE_SUMMATION_TYPE` ``RADIOPHARM_ADMIN``:
the absorbed dose of one radiopharmaceutical administration (one cycle). Every
standard Defined Term names an RT Plan (PLAN, BRACHY, FRACTION …, which then need
a Referenced RT Plan Sequence) or an RT Treatment Record (RECORD, which needs a
Referenced Treatment Record Sequence); a systemic administration has neither, so
the Defined Terms are extended as PS3.3 allows (dciodvfy: a warning, not an error).
Operators' Name (RT Series, Type 2) is written empty.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from numpy.typing import NDArray
from pydicom.uid import generate_uid

from flexmrt.gpu_dose.dicom_io.common import ds_number, load_datasets, new_dataset, write
from flexmrt.gpu_dose.dicom_io.header import (
    check_geometry,
    copied,
    image_header,
    number,
    numbers,
    orientation,
    reading,
    tag_name,
    text,
)
from flexmrt.gpu_dose.dicom_io.spect import SpectImage
from flexmrt.gpu_dose.errors import DoseError
from flexmrt.gpu_dose.grid import Geometry

__all__ = ["read_rt_dose", "write_rt_dose"]

RT_DOSE_STORAGE = "1.2.840.10008.5.1.4.1.1.481.2"
DOSE_SUMMATION_TYPE = "RADIOPHARM_ADMIN"
_COPIED = (
    "PatientID",
    "PatientName",
    "PatientBirthDate",
    "PatientSex",
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "StudyID",
    "AccessionNumber",
    "ReferringPhysicianName",
    "FrameOfReferenceUID",
    "TimezoneOffsetFromUTC",
)


def _copy_study(ds: pydicom.Dataset, spect: SpectImage) -> None:
    """The SPECT's patient and study attributes, each checked before it is copied (an element
    whose bytes pydicom cannot decode, or with another VR than DICOM's, is refused naming its
    tag). The file is read as the readers read it (bytes first, parsed from memory)."""
    ((_, source),) = load_datasets(spect.path)
    for keyword in _COPIED:
        if keyword in source:
            setattr(ds, keyword, copied(source, keyword, spect.path))
    ds.FrameOfReferenceUID = spect.geometry.frame_of_reference_uid or generate_uid()
    ds.PositionReferenceIndicator = ""


def _set_geometry(ds: pydicom.Dataset, geometry: Geometry) -> None:
    a = geometry.affine
    _dz, dy, dx = geometry.spacing_mm
    row_dir, col_dir = a[:3, 2] / dx, a[:3, 1] / dy
    normal = np.cross(row_dir, col_dir)
    ds.ImagePositionPatient = [ds_number(v) for v in a[:3, 3]]
    ds.ImageOrientationPatient = [ds_number(v) for v in (*row_dir, *col_dir)]
    ds.PixelSpacing = [ds_number(dy), ds_number(dx)]
    step = float(np.dot(a[:3, 0], normal))
    ds.GridFrameOffsetVector = [ds_number(step * k) for k in range(geometry.shape[0])]
    ds.SliceThickness = ds_number(abs(step))
    ds.FrameIncrementPointer = 0x3004000C


def write_rt_dose(
    path: str | Path,
    dose_gy: np.ndarray,
    geometry: Geometry,
    spect: SpectImage,
    *,
    dose_type: str = "PHYSICAL",
    comment: str = "",
) -> Path:
    """Write ``dose_gy`` (on ``geometry``) as RT Dose in the SPECT's study and frame."""
    peak = max(float(np.max(dose_gy)), 0.0)  # the maximum of the dose clipped at 0
    scaling = peak / (2**32 - 1) if peak > 0 else 1.0
    ds = new_dataset(RT_DOSE_STORAGE, generate_uid())
    _copy_study(ds, spect)
    ds.Modality, ds.SeriesInstanceUID, ds.SeriesNumber = "RTDOSE", generate_uid(), 50
    ds.InstanceNumber, ds.Manufacturer = 1, "flexmrt gpu_dose"
    ds.DoseUnits, ds.DoseType, ds.DoseSummationType = "GY", dose_type, DOSE_SUMMATION_TYPE
    ds.OperatorsName = ""
    ds.DoseComment = comment[:64]
    ds.DoseGridScaling = ds_number(scaling)
    scaling = float(ds.DoseGridScaling)  # the value as written (DS has 16 characters)
    _set_geometry(ds, geometry)
    stored: NDArray[np.uint32] = np.empty(np.shape(dose_gy), np.uint32)
    for k, plane in enumerate(dose_gy):  # a slice at a time: no float64 copy of the volume
        dose = np.maximum(np.asarray(plane, np.float64), 0.0)
        stored[k] = np.minimum(np.round(dose / scaling), 2**32 - 1)
    ds.NumberOfFrames, (ds.Rows, ds.Columns) = stored.shape[0], stored.shape[1:]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 32, 32, 31, 0
    ds.PixelData = stored.tobytes()
    return write(ds, Path(path))


def read_rt_dose(path: str | Path) -> tuple[np.ndarray, Geometry]:
    """Dose (Gy, float64) and geometry of an RT Dose file."""
    with reading(path):
        ds = pydicom.dcmread(path)
        if text(ds, "SOPClassUID", path) != RT_DOSE_STORAGE:
            raise DoseError(
                "not_rt_dose",
                "not an RT Dose object",
                path=str(path),
                tag="SOPClassUID (0008,0016)",
                fix="point at an RT Dose file",
            )
        iop = orientation(ds, path)
        header = image_header(ds, path)
        offsets = numbers(ds, "GridFrameOffsetVector", path, header.frames)
        normal = np.cross(iop[:3], iop[3:])
        gap = (offsets[-1] - offsets[0]) / (len(offsets) - 1) if len(offsets) > 1 else 1.0
        geom = Geometry.from_dicom(
            (header.frames, header.rows, header.columns),
            numbers(ds, "ImagePositionPatient", path, 3),
            iop,
            numbers(ds, "PixelSpacing", path, 2),
            normal * gap,
            text(ds, "FrameOfReferenceUID", path),
        )
        check_geometry(geom, path)
        scaling = number(ds, "DoseGridScaling", path)
        with reading(path, tag_name("PixelData"), "the dose grid's pixel data"):
            pixels = ds.pixel_array.reshape(geom.shape)
        return pixels.astype(np.float64) * scaling, geom
