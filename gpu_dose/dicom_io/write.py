"""Write DICOM: NM multi-frame and PT/NM/CT slice series (phantoms), SEG, RTSTRUCT.

These writers exist so that tests and demos run on real DICOM files; RT Dose
(the product's output) is in :mod:`gpu_dose.dicom_io.rtdose`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes
from pydicom.uid import CTImageStorage, NuclearMedicineImageStorage, generate_uid

from flexmrt.gpu_dose.dicom_io.common import ds_number, new_dataset, write
from flexmrt.gpu_dose.grid import Geometry

__all__ = [
    "Study",
    "write_ct_series",
    "write_nm_multiframe",
    "write_rtstruct",
    "write_seg",
    "write_slice_series",
]

_RTSTRUCT = "1.2.840.10008.5.1.4.1.1.481.3"
_PET = "1.2.840.10008.5.1.4.1.1.128"


@dataclass
class Study:
    """Patient and study identity shared by the files of one phantom study."""

    patient_id: str = "PHANTOM-001"
    patient_name: str = "Phantom^Kidney"
    study_uid: str = field(default_factory=generate_uid)
    frame_uid: str = field(default_factory=generate_uid)
    study_datetime: dt.datetime = dt.datetime(2024, 3, 4, 9, 0, tzinfo=dt.UTC)


def _base(ds: Dataset, study: Study, modality: str, series_uid: str, number: int) -> None:
    ds.PatientID, ds.PatientName = study.patient_id, study.patient_name
    ds.PatientBirthDate, ds.PatientSex = "19500101", "M"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study.study_uid, series_uid
    ds.FrameOfReferenceUID, ds.PositionReferenceIndicator = study.frame_uid, ""
    ds.StudyDate = study.study_datetime.strftime("%Y%m%d")
    ds.StudyTime = study.study_datetime.strftime("%H%M%S")
    ds.StudyID, ds.AccessionNumber, ds.ReferringPhysicianName = "1", "", ""
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = modality, number, 1
    ds.Manufacturer = "flexmrt phantom"
    ds.TimezoneOffsetFromUTC = study.study_datetime.strftime("%z") or "+0000"


def _image_series(ds: Dataset) -> None:
    """General Series/Image attributes an image IOD needs (dciodvfy-clean; Type 2 empty)."""
    ds.BodyPartExamined = "ABDOMEN"  # unpaired: Laterality (Type 2C) is then absent
    ds.OperatorsName = ""


def _nm_pet(ds: Dataset) -> None:
    """NM/PET Patient Orientation module (Type 2 sequences, empty: not recorded)."""
    ds.PatientOrientationCodeSequence = Sequence([])
    ds.PatientGantryRelationshipCodeSequence = Sequence([])


def _when(ds: Dataset, prefix: str, when: dt.datetime) -> None:
    setattr(ds, f"{prefix}Date", when.strftime("%Y%m%d"))
    setattr(ds, f"{prefix}Time", when.strftime("%H%M%S"))


def _pixels(ds: Dataset, stored: np.ndarray) -> None:
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = int(stored.shape[-2]), int(stored.shape[-1])
    bits = stored.dtype.itemsize * 8
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits, bits, bits - 1
    ds.PixelRepresentation = 1 if stored.dtype.kind == "i" else 0
    ds.PixelData = np.ascontiguousarray(stored).tobytes()


def _orientation(geometry: Geometry) -> tuple[list[str], list[str]]:
    a = geometry.affine
    _dz, dy, dx = geometry.spacing_mm
    iop = [*(a[:3, 2] / dx), *(a[:3, 1] / dy)]
    return [ds_number(v) for v in iop], [ds_number(dy), ds_number(dx)]


def _radiopharmaceutical(injected: dt.datetime, injected_mbq: float) -> Sequence:
    item = Dataset()
    item.Radiopharmaceutical = "Lu-177 PSMA-617"
    item.RadionuclideCodeSequence = Sequence([])  # Type 2: not coded here
    item.RadiopharmaceuticalStartDateTime = injected.strftime("%Y%m%d%H%M%S%z")
    item.RadionuclideTotalDose = ds_number(injected_mbq * 1e6)  # Bq
    item.RadionuclideHalfLife = ds_number(159.53 * 3600)  # s
    return Sequence([item])


def _rwvm(slope: float) -> Sequence:
    item = Dataset()
    unit = Dataset()
    unit.CodeValue, unit.CodingSchemeDesignator, unit.CodeMeaning = "Bq/ml", "UCUM", "Bq/ml"
    item.MeasurementUnitsCodeSequence = Sequence([unit])
    item.LUTExplanation, item.LUTLabel = "Bq/ml", "BQML"
    item.RealWorldValueFirstValueMapped, item.RealWorldValueLastValueMapped = 0, 65535
    item.RealWorldValueSlope, item.RealWorldValueIntercept = float(slope), 0.0
    return Sequence([item])


#: Lu-177 208 keV photopeak, ±10 % window, keV (the usual quantitative SPECT window).
_WINDOW_KEV = (187.2, 228.8)
#: A 60-view, 15 s per view rotation (900 s): the acquisition time camera sensitivity needs.
_FRAME_MS, _VIEWS = 15000, 60


def _nm_acquisition(ds: Dataset) -> None:
    """NM Multi-frame, NM Image, Isotope and Tomo Acquisition attributes (one detector)."""
    ds.NumberOfEnergyWindows, ds.NumberOfDetectors, ds.NumberOfRotations = 1, 1, 1
    ds.CountsAccumulated = ""
    window, limits = Dataset(), Dataset()
    limits.EnergyWindowLowerLimit, limits.EnergyWindowUpperLimit = (
        ds_number(v) for v in _WINDOW_KEV
    )
    window.EnergyWindowRangeSequence = Sequence([limits])
    window.EnergyWindowName = "Lu177 208keV"
    ds.EnergyWindowInformationSequence = Sequence([window])
    rotation = Dataset()
    rotation.StartAngle, rotation.AngularStep, rotation.ScanArc = "0", "6", "360"
    rotation.RotationDirection = "CW"
    rotation.ActualFrameDuration, rotation.NumberOfFramesInRotation = _FRAME_MS, _VIEWS
    ds.RotationInformationSequence = Sequence([rotation])


def _scale16(values: np.ndarray) -> tuple[np.ndarray, float]:
    slope = float(values.max()) / 65535 if values.max() > 0 else 1.0
    return np.round(values / slope).astype(np.uint16), slope


def write_nm_multiframe(
    path: Path,
    bq_ml: np.ndarray,
    geometry: Geometry,
    study: Study,
    *,
    acquired: dt.datetime,
    injected: dt.datetime | None,
    injected_mbq: float = 7400.0,
    units: str = "rwvm",
) -> Path:
    """NM multi-frame reconstruction in Bq/mL (``units``: ``rwvm``, ``none`` or a Units value)."""
    ds = new_dataset(NuclearMedicineImageStorage, generate_uid())
    _base(ds, study, "NM", generate_uid(), 10)
    _image_series(ds)
    _nm_pet(ds)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "RECON TOMO", "EMISSION"]
    _nm_acquisition(ds)
    _when(ds, "Series", acquired)
    _when(ds, "Acquisition", acquired)
    stored, slope = _scale16(bq_ml)
    _pixels(ds, stored)
    ds.NumberOfFrames = int(stored.shape[0])
    ds.FrameIncrementPointer = [0x00540080]  # SliceVector
    ds.SliceVector = list(range(1, stored.shape[0] + 1))
    ds.NumberOfSlices = int(stored.shape[0])
    iop, spacing = _orientation(geometry)
    det = Dataset()
    det.CollimatorType = "PARA"
    det.ImagePositionPatient = [ds_number(v) for v in geometry.affine[:3, 3]]
    det.ImageOrientationPatient = iop
    ds.DetectorInformationSequence = Sequence([det])
    ds.PixelSpacing, ds.SpacingBetweenSlices = spacing, ds_number(geometry.spacing_mm[0])
    ds.SliceThickness = ds_number(geometry.spacing_mm[0])
    if injected is not None:
        ds.RadiopharmaceuticalInformationSequence = _radiopharmaceutical(injected, injected_mbq)
    if units == "rwvm":
        ds.RealWorldValueMappingSequence = _rwvm(slope)
    elif units != "none":
        ds.Units, ds.RescaleSlope, ds.RescaleIntercept = units, ds_number(slope), "0"
    return write(ds, path)


def _slice_dataset(
    kind: str,
    study: Study,
    series_uid: str,
    geometry: Geometry,
    k: int,
    position: np.ndarray | None = None,
) -> Dataset:
    sop_class = {"CT": CTImageStorage, "PT": _PET, "NM": NuclearMedicineImageStorage}[kind]
    ds = new_dataset(sop_class, generate_uid())
    _base(ds, study, kind, series_uid, 20 if kind == "CT" else 11)
    ds.InstanceNumber = k + 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    iop, spacing = _orientation(geometry)
    pos = geometry.index_to_patient([[k, 0, 0]])[0] if position is None else position
    ds.ImagePositionPatient = [ds_number(v) for v in pos]
    ds.ImageOrientationPatient, ds.PixelSpacing = iop, spacing
    ds.SliceThickness = ds_number(geometry.spacing_mm[0])
    return ds


def _pet_series(ds: Dataset, slices: int, k: int) -> None:
    """PET Series and PET Image attributes of a static SPECT reconstruction stored as PT."""
    _image_series(ds)
    _nm_pet(ds)
    ds.CountsSource, ds.SeriesType = "EMISSION", ["STATIC", "IMAGE"]
    ds.NumberOfSlices, ds.ImageIndex = slices, k + 1
    ds.CorrectedImage = ["ATTN", "SCAT"]
    ds.CollimatorType = ""  # Type 2: a SPECT collimator has no PET term
    ds.FrameReferenceTime, ds.ActualFrameDuration = "0", _FRAME_MS * _VIEWS


def write_slice_series(
    folder: Path,
    values: np.ndarray,
    geometry: Geometry,
    study: Study,
    *,
    kind: str = "PT",
    acquired: dt.datetime,
    injected: dt.datetime | None,
    injected_mbq: float = 7400.0,
    units: str = "BQML",
    positions: np.ndarray | None = None,
) -> list[Path]:
    """One PT file per slice (Units + Rescale); ``positions`` may override IPP.

    NM images are multi-frame by their IOD: write them with :func:`write_nm_multiframe`.
    """
    if kind != "PT":
        raise ValueError(f"slice series are written as PT, not {kind}")
    series_uid, paths = generate_uid(), []
    for k in range(values.shape[0]):
        ds = _slice_dataset(
            kind, study, series_uid, geometry, k, None if positions is None else positions[k]
        )
        _when(ds, "Series", acquired)
        _when(ds, "Acquisition", acquired)
        _pet_series(ds, values.shape[0], k)
        stored, slope = _scale16(values[k])
        _pixels(ds, stored)
        ds.Units, ds.DecayCorrection = units, "NONE"
        ds.RescaleSlope, ds.RescaleIntercept = ds_number(slope), "0"
        if injected is not None:
            ds.RadiopharmaceuticalInformationSequence = _radiopharmaceutical(injected, injected_mbq)
        paths.append(write(ds, folder / f"slice_{k:04d}.dcm"))
    return paths


def write_ct_series(
    folder: Path, hu: np.ndarray, geometry: Geometry, study: Study, acquired: dt.datetime
) -> list[Dataset]:
    """CT slices (int16, RescaleIntercept −1024); returns the datasets (SEG sources)."""
    series_uid, written = generate_uid(), []
    for k in range(hu.shape[0]):
        ds = _slice_dataset("CT", study, series_uid, geometry, k)
        _when(ds, "Series", acquired)
        _when(ds, "Acquisition", acquired)
        ds.ContentDate, ds.ContentTime = ds.SeriesDate, ds.SeriesTime
        _image_series(ds)
        ds.PatientPosition, ds.AcquisitionNumber = "HFS", 1
        ds.KVP, ds.RescaleType = "120", "HU"
        ds.RescaleSlope, ds.RescaleIntercept = "1", "-1024"
        _pixels(ds, np.round(hu[k] + 1024).astype(np.int16))
        write(ds, folder / f"ct_{k:04d}.dcm")
        written.append(ds)
    return written


def write_seg(path: Path, masks: dict[str, np.ndarray], sources: list[Dataset]) -> Path:
    """Binary DICOM SEG of ``masks`` (each shaped like the source series), via highdicom."""
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=n,
            segment_label=name,
            segmented_property_category=codes.SCT.Organ
            if "kidney" in name
            else codes.SCT.MorphologicallyAbnormalStructure,
            segmented_property_type=codes.SCT.Kidney if "kidney" in name else codes.SCT.Tumor,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
        for n, name in enumerate(masks, start=1)
    ]
    stack = np.stack([m.astype(np.uint8) for m in masks.values()], axis=-1)
    seg = hd.seg.Segmentation(
        source_images=sources,
        pixel_array=stack,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=generate_uid(),
        series_number=30,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="flexmrt phantom",
        manufacturer_model_name="gpu_dose.phantom",
        software_versions="0.1.0",
        device_serial_number="0",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    seg.save_as(path)
    return path


def _roi(number: int, name: str, frame_uid: str) -> Dataset:
    roi = Dataset()
    roi.ROINumber, roi.ROIName, roi.ROIGenerationAlgorithm = number, name, "MANUAL"
    roi.ReferencedFrameOfReferenceUID = frame_uid
    return roi


def _roi_contour(number: int, polygons: list[np.ndarray]) -> Dataset:
    item = Dataset()
    item.ReferencedROINumber, item.ROIDisplayColor = number, [255, 0, 0]
    contours = []
    for polygon in polygons:
        contour = Dataset()
        contour.ContourGeometricType, contour.NumberOfContourPoints = "CLOSED_PLANAR", len(polygon)
        contour.ContourData = [ds_number(v) for v in np.asarray(polygon).ravel()]
        contours.append(contour)
    item.ContourSequence = Sequence(contours)
    return item


def _observation(number: int, name: str) -> Dataset:
    item = Dataset()
    item.ObservationNumber, item.ReferencedROINumber = number, number
    item.RTROIInterpretedType = "ORGAN" if "kidney" in name.lower() else "GTV"
    item.ROIInterpreter = ""
    return item


def write_rtstruct(path: Path, contours: dict[str, list[np.ndarray]], study: Study) -> Path:
    """RT Structure Set of closed planar contours ((N, 3) patient mm) by ROI name."""
    ds = new_dataset(_RTSTRUCT, generate_uid())
    _base(ds, study, "RTSTRUCT", generate_uid(), 40)
    ds.StructureSetLabel, ds.OperatorsName = "phantom", ""
    _when(ds, "StructureSet", study.study_datetime)
    frame = Dataset()
    frame.FrameOfReferenceUID = study.frame_uid
    ds.ReferencedFrameOfReferenceSequence = Sequence([frame])
    ds.StructureSetROISequence = Sequence(
        [_roi(n, name, study.frame_uid) for n, name in enumerate(contours, start=1)]
    )
    ds.ROIContourSequence = Sequence(
        [_roi_contour(n, polys) for n, polys in enumerate(contours.values(), start=1)]
    )
    ds.RTROIObservationsSequence = Sequence(
        [_observation(n, name) for n, name in enumerate(contours, start=1)]
    )
    return write(ds, path)
