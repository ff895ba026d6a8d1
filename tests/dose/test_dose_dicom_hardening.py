"""Malformed DICOM is refused with the dose engine's error naming the file, the tag and the fix.

One case per crash class the DICOM fuzz target found (tests/fuzz/dicom_target.py), each
a minimal reproducer: one attribute of one phantom file deleted, given a wrong value or
VR, or the file's bytes cut. Before the header checks each of these ended in a
traceback from pydicom, highdicom or NumPy (AttributeError, ValueError, TypeError,
RuntimeError, NotImplementedError, OverflowError, MemoryError, struct errors …) or in a
NaN dose.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.pixels import get_decoder
from pydicom.sequence import Sequence
from pydicom.tag import Tag

from flexmrt.gpu_dose import DoseError, compute_dose, phantom

HTJ2K = "1.2.840.10008.1.2.4.201"
#: HTJ2K pixel data: refused as undecodable where no decoder plugin is installed, and
#: as unreadable (the bytes are not a codestream) where one is.
UNDECODABLE = (
    "unreadable_dicom" if get_decoder(HTJ2K).is_available else "unsupported_transfer_syntax"
)
NM = "spect_24h/nm.dcm"
SLICE = "spect_24h/slice_0003.dcm"
CT0, CT1 = "ct/ct_0000.dcm", "ct/ct_0001.dcm"
SEG, RTSTRUCT = "masks/seg.dcm", "rtstruct/rtstruct.dcm"


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    """Two small phantom studies: NM multi-frame (+ RTSTRUCT) and a PT slice series."""
    root = tmp_path_factory.mktemp("hardening")
    small = {"shape": (12, 16, 20), "voxel_mm": 8.0, "rtstruct": True}
    return {
        "multiframe": phantom.make_phantom(root / "mf", **small).root,
        "slices": phantom.make_phantom(root / "sl", layout="slices", **small).root,
    }


def _raw(ds: Dataset, keyword: str, vr: str, value: bytes) -> None:
    """Put ``keyword`` into ``ds`` exactly as ``value`` bytes with ``vr`` (never converted)."""
    value = value + b"\0" if len(value) % 2 else value
    tag = Tag(keyword)
    ds[tag] = RawDataElement(tag, vr, len(value), value, 0, False, True)


def _save(ds: Dataset, file: Path) -> None:
    ds.save_as(file, enforce_file_format=False)


def edit(change):
    """A mutation that loads the file, applies ``change(ds)`` and writes it back."""

    def apply(file: Path) -> None:
        ds = pydicom.dcmread(file)
        config = pydicom.config.settings
        saved, config.writing_validation_mode = (
            config.writing_validation_mode,
            pydicom.config.IGNORE,
        )
        try:
            change(ds)
            _save(ds, file)
        finally:
            config.writing_validation_mode = saved

    return apply


def cut(fraction: float):
    def apply(file: Path) -> None:
        data = file.read_bytes()
        file.write_bytes(data[: int(len(data) * fraction)])

    return apply


def syntax(uid: str):
    """Claim transfer syntax ``uid`` in the file meta, the dataset left as it is encoded."""

    def apply(file: Path) -> None:
        data = bytearray(file.read_bytes())
        old = b"1.2.840.10008.1.2.1\0"
        at = data.index(old)
        new = uid.encode() + (b"\0" if len(uid) % 2 else b"")
        data[at - 2 : at] = len(new).to_bytes(2, "little")
        data[at : at + len(old)] = new
        group = data.index(b"\x02\x00\x00\x00UL") + 8  # FileMetaInformationGroupLength
        total = int.from_bytes(data[group : group + 4], "little") + len(new) - len(old)
        data[group : group + 4] = total.to_bytes(4, "little")
        file.write_bytes(bytes(data))

    return apply


def _delete_path(*path):
    def change(ds: Dataset) -> None:
        target = ds
        for step in path[:-1]:
            target = target[step][0] if isinstance(step, str) else step
        del target[path[-1]]

    return edit(change)


def _set(keyword, value, within=()):
    def change(ds: Dataset) -> None:
        target = ds
        for step in within:
            target = target[step].value[0]
        setattr(target, keyword, value)

    return edit(change)


def _set_raw(keyword, vr, value, within=()):
    def change(ds: Dataset) -> None:
        target = ds
        for step in within:
            target = target[step].value[0]
        _raw(target, keyword, vr, value)

    return edit(change)


def _as_sequence(keyword, within=()):
    def change(ds: Dataset) -> None:
        target = ds
        for step in within:
            target = target[step].value[0]
        target[Tag(keyword)] = pydicom.DataElement(Tag(keyword), "SQ", Sequence([Dataset()]))

    return edit(change)


def _segment_one_frame_dropped(ds: Dataset) -> None:
    del ds.PerFrameFunctionalGroupsSequence[-1]


def _same_position(ds: Dataset) -> None:
    other = pydicom.dcmread(Path(ds.filename).parent / "ct_0000.dcm")
    ds.ImagePositionPatient = other.ImagePositionPatient


_RWVM = ("RealWorldValueMappingSequence",)
_PIXEL_TAG = "PixelData (7FE0,0010)"
_TS = "TransferSyntaxUID (0002,0010)"

#: (id, layout, masks, file, mutation, code, tag the error names)
CASES = [
    # SPECT: RealWorldValueMapping missing, of the wrong VR, not a sequence
    ("rwvm-slope-missing", "multiframe", "seg", NM,
     edit(lambda ds: delattr(ds.RealWorldValueMappingSequence[0], "RealWorldValueSlope")),
     "missing_attribute", "RealWorldValueSlope (0040,9225)"),
    ("rwvm-slope-wrong-vr", "multiframe", "seg", NM,
     _set_raw("RealWorldValueSlope", "FD", b"abc", _RWVM),
     "bad_attribute", "RealWorldValueSlope (0040,9225)"),
    ("rwvm-slope-nan", "multiframe", "seg", NM,
     _set("RealWorldValueSlope", float("nan"), _RWVM),
     "bad_attribute", "RealWorldValueSlope (0040,9225)"),
    ("rwvm-not-a-sequence", "multiframe", "seg", NM,
     _set_raw("RealWorldValueMappingSequence", "LO", b"not a sequence"),
     "bad_attribute", "RealWorldValueMappingSequence (0040,9096)"),
    ("units-code-empty-item", "multiframe", "seg", NM,
     edit(lambda ds: ds.RealWorldValueMappingSequence[0].MeasurementUnitsCodeSequence.__setitem__(
         0, Dataset())), "missing_units", "RealWorldValueMappingSequence (0040,9096)"),
    # SPECT: truncated, huge, inconsistent pixel data, undecodable encodings
    ("nm-truncated-in-pixels", "multiframe", "seg", NM, cut(0.8),
     "pixel_data_length", _PIXEL_TAG),
    ("nm-huge-dimensions", "multiframe", "seg", NM,
     edit(lambda ds: (setattr(ds, "Rows", 65535), setattr(ds, "Columns", 65535))),
     "image_too_large", "Rows (0028,0010)"),
    ("nm-frames-beyond-pixel-data", "multiframe", "seg", NM, _set("NumberOfFrames", 4095),
     "pixel_data_length", _PIXEL_TAG),
    ("nm-bits-allocated-3", "multiframe", "seg", NM, _set("BitsAllocated", 3),
     "bad_attribute", "BitsAllocated (0028,0100)"),
    ("nm-bits-stored-multi-valued", "multiframe", "seg", NM,
     _set_raw("BitsStored", "US", b"\x10\x00\x10\x00"),
     "bad_attribute", "BitsStored (0028,0101)"),
    ("nm-samples-missing", "multiframe", "seg", NM, _delete_path("SamplesPerPixel"),
     "missing_attribute", "SamplesPerPixel (0028,0002)"),
    ("nm-photometric-as-sequence", "multiframe", "seg", NM,
     _as_sequence("PhotometricInterpretation"),
     "bad_attribute", "PhotometricInterpretation (0028,0004)"),
    ("nm-htj2k-claimed", "multiframe", "seg", NM, syntax(HTJ2K), UNDECODABLE, ""),
    ("nm-rle-claimed", "multiframe", "seg", NM, syntax("1.2.840.10008.1.2.5"),
     "unreadable_dicom", _PIXEL_TAG),
    ("nm-unknown-syntax", "multiframe", "seg", NM, syntax("1.2.3.4"),
     "unsupported_transfer_syntax", _TS),
    ("nm-geometry-missing", "multiframe", "seg", NM,
     _delete_path("DetectorInformationSequence", "ImageOrientationPatient"),
     "missing_geometry", "DetectorInformationSequence (0054,0022)"),
    ("nm-slice-spacing-zero", "multiframe", "seg", NM,
     _set("SpacingBetweenSlices", "0"),
     "bad_attribute", "SpacingBetweenSlices (0018,0088)"),
    ("nm-pixel-spacing-huge", "multiframe", "seg", NM, _set("PixelSpacing", ["500000", "8"]),
     "bad_voxel_size", "PixelSpacing (0028,0030)"),
    # SPECT: dates and times
    ("acquisition-date-impossible", "multiframe", "seg", NM, _set("AcquisitionDate", "20240230"),
     "bad_datetime", "AcquisitionDateTime"),
    ("admin-decay-in-year-1", "multiframe", "seg", NM,
     edit(lambda ds: (setattr(ds, "AcquisitionDate", "00010101"),
                      setattr(ds, "DecayCorrection", "ADMIN"))),
     "scan_outside_window", "AcquisitionDateTime (0008,002A)"),
    ("injected-activity-negative", "multiframe", "seg", NM,
     _set("RadionuclideTotalDose", "-5", ("RadiopharmaceuticalInformationSequence",)),
     "bad_attribute", "RadionuclideTotalDose (0018,1074)"),
    # PT slice series
    ("slice-rescale-nan", "slices", "seg", SLICE, _set("RescaleSlope", "nan"),
     "bad_attribute", "RescaleSlope (0028,1053)"),
    ("slice-rows-zero", "slices", "seg", SLICE, _set("Rows", 0),
     "bad_attribute", "Rows (0028,0010)"),
    ("slice-other-size", "slices", "seg", SLICE,
     edit(lambda ds: (setattr(ds, "Rows", 4), setattr(ds, "PixelData", ds.PixelData[:160]))),
     "slice_size", "Rows (0028,0010)"),
    ("slice-modality-as-sequence", "slices", "seg", SLICE, _as_sequence("Modality"),
     "bad_attribute", "Modality (0008,0060)"),
    # CT: missing position/spacing, duplicate slices, bad orientation, rescale
    ("ct-position-missing", "multiframe", "seg", CT1, _delete_path("ImagePositionPatient"),
     "missing_attribute", "ImagePositionPatient (0020,0032)"),
    ("ct-spacing-missing", "multiframe", "seg", CT0, _delete_path("PixelSpacing"),
     "missing_attribute", "PixelSpacing (0028,0030)"),
    ("ct-duplicate-position", "multiframe", "seg", CT1, edit(_same_position),
     "duplicate_slice_position", "ImagePositionPatient (0020,0032)"),
    ("ct-orientation-as-sequence", "multiframe", "seg", CT0,
     _as_sequence("ImageOrientationPatient"),
     "bad_attribute", "ImageOrientationPatient (0020,0037)"),
    ("ct-orientation-not-unit", "multiframe", "seg", CT0,
     _set("ImageOrientationPatient", ["2", "0", "0", "0", "1", "0"]),
     "bad_orientation", "ImageOrientationPatient (0020,0037)"),
    ("ct-intercept-as-sequence", "multiframe", "seg", CT1, _as_sequence("RescaleIntercept"),
     "bad_attribute", "RescaleIntercept (0028,1052)"),
    ("ct-slope-overflows-float32", "multiframe", "seg", CT1, _set("RescaleSlope", "1e300"),
     "bad_attribute", "RescaleSlope (0028,1053)"),
    ("ct-not-dicom", "multiframe", "seg", CT1, lambda f: f.write_text("not DICOM"),
     "not_dicom", "DICM"),
    ("ct-truncated-in-header", "multiframe", "seg", CT1, cut(0.1),
     "missing_attribute", "Modality (0008,0060)"),
    # SEG
    ("seg-rows-zero", "multiframe", "seg", SEG, _set("Rows", 0),
     "bad_attribute", "Rows (0028,0010)"),
    ("seg-labelmap", "multiframe", "seg", SEG, _set("SegmentationType", "LABELMAP"),
     "unsupported_segmentation", "SegmentationType (0062,0001)"),
    ("seg-pixels-short", "multiframe", "seg", SEG,
     edit(lambda ds: setattr(ds, "PixelData", ds.PixelData[:-64])),
     "pixel_data_length", _PIXEL_TAG),
    ("seg-rle-claimed", "multiframe", "seg", SEG, syntax("1.2.840.10008.1.2.5"),
     "unsupported_transfer_syntax", _TS),
    ("seg-frame-dropped", "multiframe", "seg", SEG, edit(_segment_one_frame_dropped),
     "bad_attribute", "PerFrameFunctionalGroupsSequence (5200,9230)"),
    ("seg-duplicate-segment-number", "multiframe", "seg", SEG,
     edit(lambda ds: setattr(ds.SegmentSequence[1], "SegmentNumber", 1)),
     "duplicate_segment", "SegmentNumber (0062,0004)"),
    ("seg-plane-position-missing", "multiframe", "seg", SEG,
     edit(lambda ds: delattr(ds.PerFrameFunctionalGroupsSequence[3], "PlanePositionSequence")),
     "missing_attribute", "PlanePositionSequence (0020,9113)"),
    # RTSTRUCT: broken contours
    ("rtstruct-contour-four-values", "multiframe", "rtstruct", RTSTRUCT,
     edit(lambda ds: setattr(ds.ROIContourSequence[0].ContourSequence[0], "ContourData",
                             ["1", "2", "3", "4"])),
     "bad_contour", "ContourData (3006,0050)"),
    ("rtstruct-contour-text", "multiframe", "rtstruct", RTSTRUCT,
     edit(lambda ds: _raw(ds.ROIContourSequence[0].ContourSequence[0], "ContourData", "DS",
                          b"1\\2\\x")),
     "bad_attribute", "ContourData (3006,0050)"),
    ("rtstruct-unknown-roi", "multiframe", "rtstruct", RTSTRUCT,
     edit(lambda ds: setattr(ds.ROIContourSequence[0], "ReferencedROINumber", 99)),
     "bad_attribute", "ReferencedROINumber (3006,0084)"),
    ("rtstruct-roi-sequence-missing", "multiframe", "rtstruct", RTSTRUCT,
     _delete_path("StructureSetROISequence"),
     "missing_attribute", "StructureSetROISequence (3006,0020)"),
]  # fmt: skip


def _run(root: Path, layout: str, masks: str):
    return compute_dose(
        [root / "spect_24h"], root / ("rtstruct" if masks == "rtstruct" else "masks"), root / "ct"
    )


@pytest.mark.parametrize(
    ("layout", "masks", "file", "mutate", "code", "tag"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_malformed_dicom_is_refused_naming_file_tag_and_fix(
    studies, tmp_path, layout, masks, file, mutate, code, tag
):
    root = tmp_path / "study"
    shutil.copytree(studies[layout], root)
    mutate(root / file)
    with pytest.raises(DoseError) as raised:
        _run(root, layout, masks)
    error = raised.value
    assert (error.code, Path(error.path).name) == (code, Path(file).name), str(error)
    assert tag in error.tag, str(error)
    assert error.fix, str(error)


def test_the_unmutated_studies_are_accepted(studies):
    for layout, root in studies.items():
        for masks in ("seg", "rtstruct"):
            result = _run(root, layout, masks)
            assert result.structures["kidneys"].mean_gy > 0


def test_the_size_limit_is_documented_and_a_whole_body_ct_fits():
    from flexmrt.gpu_dose.dicom_io.header import MAX_VOXELS

    assert MAX_VOXELS == 512 * 512 * 1024


@pytest.mark.parametrize(
    ("keyword", "code"),
    [("GridFrameOffsetVector", "missing_attribute"), ("DoseGridScaling", "missing_attribute")],
)
def test_rt_dose_without_its_grid_attributes_is_refused(studies, tmp_path, keyword, code):
    """Was: AttributeError from pydicom in read_rt_dose."""
    from flexmrt.gpu_dose.dicom_io import read_rt_dose, read_spect, write_rt_dose

    image = read_spect(studies["multiframe"] / NM)
    path = write_rt_dose(tmp_path / "rd.dcm", image.bq_ml * 0 + 1.0, image.geometry, image)
    ds = pydicom.dcmread(path)
    delattr(ds, keyword)
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(DoseError) as raised:
        read_rt_dose(path)
    assert raised.value.code == code and keyword in raised.value.tag and raised.value.path
