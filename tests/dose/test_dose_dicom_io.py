"""DICOM in and out on real files written by pydicom/highdicom, and every bad-input error."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pydicom
import pytest

from flexmrt.gpu_dose import dicom_io, phantom
from flexmrt.gpu_dose.errors import DoseError
from flexmrt.gpu_dose.grid import Geometry

SHAPE = (24, 32, 32)


def small_study(tmp_path):
    study = dicom_io.Study(study_datetime=phantom.INJECTION)
    geom = phantom.spect_geometry(SHAPE, 4.42, study.frame_uid)
    values = np.zeros(SHAPE)
    values[8:16, 10:20, 10:20] = 5.0e5
    return study, geom, values


def write_nm(tmp_path, **kw):
    study, geom, values = small_study(tmp_path)
    args = {
        "acquired": phantom.INJECTION + dt.timedelta(hours=48),
        "injected": phantom.INJECTION,
        **kw,
    }
    return dicom_io.write_nm_multiframe(tmp_path / "nm.dcm", values, geom, study, **args)


def code_of(call, *args, **kw) -> DoseError:
    with pytest.raises(DoseError) as err:
        call(*args, **kw)
    return err.value


def test_nm_multiframe_round_trip(tmp_path):
    image = dicom_io.read_spect(write_nm(tmp_path))
    assert image.hours_post_injection == pytest.approx(48.0)
    assert image.injected_mbq == pytest.approx(7400.0)
    assert image.bq_ml.max() == pytest.approx(5.0e5, rel=1e-6)
    assert image.geometry.spacing_mm == pytest.approx((4.42, 4.42, 4.42))
    assert image.acquired.utcoffset() == dt.timedelta(hours=1)
    assert image.activity_mbq().sum() == pytest.approx(800 * 0.5 * 4.42**3 / 1000, rel=1e-6)


def test_pt_slice_series_with_units_and_rescale(tmp_path):
    study, geom, values = small_study(tmp_path)
    dicom_io.write_slice_series(
        tmp_path / "pt",
        values[::-1],
        geom,
        study,
        acquired=phantom.INJECTION + dt.timedelta(hours=24),
        injected=phantom.INJECTION,
    )
    image = dicom_io.read_spect(tmp_path / "pt")
    assert image.bq_ml.shape == SHAPE
    assert image.bq_ml.sum() == pytest.approx(values.sum(), rel=1e-6)


def test_counts_need_and_use_a_calibration(tmp_path):
    path = write_nm(tmp_path, units="CNTS")
    assert code_of(dicom_io.read_spect, path).code == "counts_without_calibration"
    image = dicom_io.read_spect(path, calibration_bq_ml_per_count=2.0)
    assert image.bq_ml.max() == pytest.approx(1.0e6, rel=1e-6)


@pytest.mark.parametrize(("units", "code"), [("none", "missing_units"), ("GML", "unknown_units")])
def test_bad_units(tmp_path, units, code):
    err = code_of(dicom_io.read_spect, write_nm(tmp_path, units=units))
    assert err.code == code
    assert str(tmp_path / "nm.dcm") in str(err) and "(0054,1001)" in str(err)


def test_missing_injection_time_and_explicit_one(tmp_path):
    path = write_nm(tmp_path, injected=None)
    err = code_of(dicom_io.read_spect, path)
    assert err.code == "missing_injection_time" and "(0018,1078)" in err.tag
    image = dicom_io.read_spect(path, injection_time=phantom.INJECTION, injected_mbq=6000.0)
    assert image.hours_post_injection == pytest.approx(48.0)
    assert image.injected_mbq == 6000.0


def test_nonuniform_slice_spacing(tmp_path):
    study, geom, values = small_study(tmp_path)
    positions = geom.index_to_patient([[k, 0, 0] for k in range(SHAPE[0])])
    positions[12:, 2] += 2.0
    dicom_io.write_slice_series(
        tmp_path / "pt",
        values,
        geom,
        study,
        positions=positions,
        acquired=phantom.INJECTION + dt.timedelta(hours=24),
        injected=phantom.INJECTION,
    )
    err = code_of(dicom_io.read_spect, tmp_path / "pt")
    assert err.code == "nonuniform_slice_spacing" and "ImagePositionPatient" in err.tag
    assert "slice_0012.dcm" in err.path


def test_negative_voxels_are_clipped_with_a_warning(tmp_path):
    study, geom, values = small_study(tmp_path)
    dicom_io.write_slice_series(
        tmp_path / "pt",
        values,
        geom,
        study,
        acquired=phantom.INJECTION + dt.timedelta(hours=24),
        injected=phantom.INJECTION,
    )
    file = tmp_path / "pt" / "slice_0003.dcm"
    ds = pydicom.dcmread(file)
    ds.RescaleIntercept = "-100"
    ds.save_as(file, enforce_file_format=True)
    image = dicom_io.read_spect(tmp_path / "pt")
    assert image.bq_ml.min() == 0.0
    assert len(image.warnings) == 1 and "negative_voxels" in image.warnings[0]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return phantom.make_phantom(
        tmp_path_factory.mktemp("phantom"), shape=(32, 36, 40), rtstruct=True
    )


def test_seg_and_rtstruct_masks_on_the_spect_grid(study):
    image = dicom_io.read_spect(study.spect[0])
    seg = dicom_io.read_masks(study.masks, image.geometry)
    rts = dicom_io.read_masks(study.root / "rtstruct", image.geometry)
    for name, truth in study.truth.items():
        assert int(seg[name].sum()) == truth["voxels"]
        assert rts[name].sum() == pytest.approx(truth["voxels"], rel=0.05)


def test_ct_is_read_in_hu(study):
    ct = dicom_io.read_ct(study.ct)
    assert ct.hu.shape == (32, 72, 80) and ct.hu.max() == 40.0 and ct.hu.min() == 0.0
    assert ct.geometry.spacing_mm == pytest.approx((4.42, 2.21, 2.21))


def test_masks_in_another_frame_of_reference(study, tmp_path):
    other = phantom.make_phantom(tmp_path, shape=(32, 36, 40))
    image = dicom_io.read_spect(study.spect[0])
    err = code_of(dicom_io.read_masks, other.masks, image.geometry)
    assert err.code == "frame_of_reference_mismatch" and "(0020,0052)" in err.tag


def test_mask_outside_the_image(study):
    image = dicom_io.read_spect(study.spect[0])
    far = image.geometry.affine.copy()
    far[:3, 3] += 2000.0
    moved = Geometry(image.geometry.shape, far, image.geometry.frame_of_reference_uid)
    assert code_of(dicom_io.read_masks, study.masks, moved).code == "mask_outside_image"
    rts = study.root / "rtstruct"
    assert code_of(dicom_io.read_masks, rts, moved).code == "mask_outside_image"


def test_empty_structure(study, tmp_path):
    dicom_io.write_rtstruct(
        tmp_path / "rs.dcm",
        {"tumour_9": []},
        dicom_io.Study(
            frame_uid=dicom_io.read_spect(study.spect[0]).geometry.frame_of_reference_uid
        ),
    )
    image = dicom_io.read_spect(study.spect[0])
    err = code_of(dicom_io.read_masks, tmp_path / "rs.dcm", image.geometry)
    assert err.code == "empty_mask" and err.tag == "tumour_9"


def test_not_dicom_and_missing_paths(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    assert code_of(dicom_io.read_spect, tmp_path).code == "no_dicom"
    assert code_of(dicom_io.read_spect, tmp_path / "nope").code == "file_not_found"


def test_rt_dose_round_trip(study, tmp_path):
    image = dicom_io.read_spect(study.spect[0])
    dose = np.random.default_rng(1).random(image.geometry.shape) * 5.0
    path = dicom_io.write_rt_dose(tmp_path / "rd.dcm", dose, image.geometry, image)
    back, geom = dicom_io.read_rt_dose(path)
    ds = pydicom.dcmread(path)
    assert ds.DoseUnits == "GY" and ds.FrameOfReferenceUID == image.geometry.frame_of_reference_uid
    assert ds.StudyInstanceUID == pydicom.dcmread(study.spect[0]).StudyInstanceUID
    np.testing.assert_allclose(back, dose, atol=float(ds.DoseGridScaling))
    np.testing.assert_allclose(geom.affine, image.geometry.affine, atol=1e-6)


def _unit_item(code: str, slope: float):
    from pydicom.dataset import Dataset

    item, unit = Dataset(), Dataset()
    unit.CodeValue, unit.CodingSchemeDesignator, unit.CodeMeaning = code, "UCUM", code
    item.MeasurementUnitsCodeSequence = [unit]
    item.RealWorldValueFirstValueMapped, item.RealWorldValueLastValueMapped = 0, 65535
    item.RealWorldValueSlope, item.RealWorldValueIntercept = slope, 0.0
    return item


def test_rwvm_item_is_picked_by_its_units_code(tmp_path):
    """Was: the first item was used whatever its units (here counts → an error)."""
    path = write_nm(tmp_path)
    ds = pydicom.dcmread(path)
    bq = ds.RealWorldValueMappingSequence[0]
    ds.RealWorldValueMappingSequence = [_unit_item("{counts}", 1.0), bq]
    ds.save_as(path, enforce_file_format=True)
    assert dicom_io.read_spect(path).bq_ml.max() == pytest.approx(5.0e5, rel=1e-6)
    kbq = _unit_item("kBq/ml", float(bq.RealWorldValueSlope) / 1000)
    ds.RealWorldValueMappingSequence = [bq, kbq]  # the same mapping twice: fine
    ds.save_as(path, enforce_file_format=True)
    assert dicom_io.read_spect(path).bq_ml.max() == pytest.approx(5.0e5, rel=1e-6)
    ds.RealWorldValueMappingSequence = [bq, _unit_item("kBq/ml", 1.0)]  # disagreeing
    ds.save_as(path, enforce_file_format=True)
    err = code_of(dicom_io.read_spect, path)
    assert err.code == "ambiguous_units" and "(0040,9096)" in err.tag


def test_camera_sensitivity_with_frame_duration(tmp_path):
    """Counts → Bq/mL = counts / (S [cps/MBq] × T [s]) × 10⁶ / voxel mL."""
    from pydicom.dataset import Dataset

    path = write_nm(tmp_path, units="CNTS")
    ds = pydicom.dcmread(path)
    del ds.RotationInformationSequence
    ds.save_as(path, enforce_file_format=True)
    err = code_of(dicom_io.read_spect, path, sensitivity_cps_per_mbq=10.0)
    assert err.code == "missing_frame_duration" and "(0018,1242)" in err.tag
    rotation = Dataset()
    rotation.ActualFrameDuration, rotation.NumberOfFramesInRotation = 15000, 60  # 900 s
    ds.RotationInformationSequence = [rotation]
    ds.save_as(path, enforce_file_format=True)
    counts = dicom_io.read_spect(path, calibration_bq_ml_per_count=1.0).bq_ml.max()
    image = dicom_io.read_spect(path, sensitivity_cps_per_mbq=10.0)
    voxel_ml = image.geometry.voxel_volume_ml
    assert image.bq_ml.max() == pytest.approx(counts / (10.0 * 900.0) * 1e6 / voxel_ml, rel=1e-9)
    both = {"sensitivity_cps_per_mbq": 10.0, "calibration_bq_ml_per_count": 1.0}
    assert code_of(dicom_io.read_spect, path, **both).code == "ambiguous_calibration"
