"""Phantom end to end: DICOM written → read → dose → kidney dose and BED vs analytic."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from flexmrt.gpu_dose import dicom_io, phantom
from flexmrt.gpu_dose.backend import cuda_available
from flexmrt.gpu_dose.batch import run_batch
from flexmrt.gpu_dose.errors import DoseError
from flexmrt.gpu_dose.pipeline import Settings, compute_dose, run_study
from flexmrt.gpu_dose.record import to_record_entry
from flexmrt.gpu_dose.structures import bed

SHAPE = (32, 36, 40)
TEFF = {"kidney": 40.0, "tumour_1": 60.0, "tumour_2": 80.0}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return phantom.make_phantom(tmp_path_factory.mktemp("p"), shape=SHAPE, times_h=(24.0, 96.0))


def kidney_truth(study):
    return study.truth["kidney_left"]


@pytest.mark.parametrize("method", ["prior-half-life", "fit"])
def test_local_deposition_kidney_dose_and_bed_match_analytic(study, device, method):
    spect = study.spect if method == "fit" else study.spect[:1]
    settings = Settings(method=method, teff_h=TEFF, dose_method="local", device=device)
    result = compute_dose(spect, study.masks, settings=settings)
    kidneys, truth = result.structures["kidneys"], kidney_truth(study)
    assert kidneys.mean_gy == pytest.approx(truth["local_dose_gy"], rel=1e-4)
    assert kidneys.teff_h == pytest.approx(40.0, rel=1e-4)
    assert kidneys.mean_bed_gy == pytest.approx(bed(truth["local_dose_gy"], 40.0), rel=1e-4)
    assert kidneys.eubed_gy == pytest.approx(kidneys.mean_bed_gy, rel=1e-4)
    assert kidneys.volume_ml == pytest.approx(2 * truth["volume_ml"])
    assert kidneys.gy_per_gbq == pytest.approx(kidneys.mean_gy / 7.4)
    tumour = result.structures["tumour_1"]
    assert tumour.mean_gy == pytest.approx(study.truth["tumour_1"]["local_dose_gy"], rel=1e-4)


def test_kernel_dose_close_to_local_deposition(study, device):
    """DVK dose of a uniform kidney: 88–100 % of local deposition (kernel sum ≈ 0.96, edges)."""
    settings = Settings(teff_h=TEFF, device=device)
    result = compute_dose(study.spect[:1], study.masks, settings=settings)
    ratio = result.structures["kidneys"].mean_gy / kidney_truth(study)["local_dose_gy"]
    assert 0.88 < ratio < 1.0
    assert result.dose_gy.min() >= 0.0


def test_hanscheid_at_teff_equals_closed_form(study, tmp_path):
    """A scan at t = T_eff (40 h) makes Hänscheid exact for the kidneys."""
    p = phantom.make_phantom(tmp_path, shape=SHAPE, times_h=(40.0,))
    result = compute_dose(
        p.spect, p.masks, settings=Settings(method="hanscheid", dose_method="local")
    )
    assert result.structures["kidneys"].mean_gy == pytest.approx(
        kidney_truth(p)["local_dose_gy"], rel=1e-4
    )


def test_ct_density_changes_mass_and_dose(study):
    """Background water (0 HU) reads less dense than the kernel's soft tissue (+40 HU)."""
    plain = compute_dose(study.spect[:1], study.masks, settings=Settings(teff_h=TEFF))
    with_ct = compute_dose(study.spect[:1], study.masks, study.ct, Settings(teff_h=TEFF))
    kid_plain, kid_ct = plain.structures["kidneys"], with_ct.structures["kidneys"]
    assert kid_ct.mass_g == pytest.approx(kid_plain.mass_g, rel=1e-6)  # kidneys at +40 HU
    assert kid_ct.mean_gy == pytest.approx(kid_plain.mean_gy, rel=2e-3)
    corner = (0, 0, 0)  # 0 HU: ρ_eff = 1.04 × 1.000/1.024
    assert with_ct.dose_gy[corner] == pytest.approx(plain.dose_gy[corner] * 1.024, rel=1e-4)


def test_uniform_soft_tissue_ct_leaves_dose_unchanged(tmp_path):
    """A CT of uniform soft tissue changes no voxel's dose (was +1.6 % everywhere)."""
    regions = tuple(replace(r, hu=40.0) for r in phantom.REGIONS)
    p = phantom.make_phantom(tmp_path, shape=(24, 28, 32), regions=regions, background_hu=40.0)
    settings = Settings(teff_h=TEFF, dtype="float64")
    plain = compute_dose(p.spect, p.masks, settings=settings)
    with_ct = compute_dose(p.spect, p.masks, p.ct, settings)
    np.testing.assert_allclose(with_ct.dose_gy, plain.dose_gy, rtol=1e-9, atol=1e-12)
    kid_plain, kid_ct = plain.structures["kidneys"], with_ct.structures["kidneys"]
    assert kid_ct.mass_g == pytest.approx(kid_plain.mass_g, rel=1e-9)


def test_run_study_writes_rt_dose_and_json(study, tmp_path):
    result, files = run_study(
        study.spect[:1], study.masks, tmp_path / "out", settings=Settings(teff_h=TEFF)
    )
    dose, geom = dicom_io.read_rt_dose(files["rtdose"])
    np.testing.assert_allclose(dose, result.dose_gy, atol=result.dose_gy.max() * 1e-6)
    assert geom.shape == SHAPE
    payload = json.loads(files["results"].read_text())
    assert payload["structures"]["kidneys"]["mean_gy"] == pytest.approx(
        result.structures["kidneys"].mean_gy
    )
    assert payload["alpha_beta_gy"] == 2.6 and payload["repair_half_time_h"] == 2.8


def test_record_entry(study):
    result = compute_dose(study.spect[:1], study.masks, settings=Settings(teff_h=TEFF))
    entry = to_record_entry(result, cycle=2)
    assert set(entry) == {
        "cycle",
        "dtc",
        "hours_post_injection",
        "tumour_volume_ml",
        "kidney_dose_gy",
        "kidney_teff_h",
        "teff_source",
        "organs_at_risk",
    }
    assert set(entry["organs_at_risk"]) == {"kidneys"}  # the phantom's one organ at risk
    assert entry["organs_at_risk"]["kidneys"]["dose_gy"] == entry["kidney_dose_gy"]
    assert entry["teff_source"] == "patient_prior"  # given with --teff-h kidney=40
    assert entry["cycle"] == 2 and entry["dtc"] == "2024-03-05T09:30:00+01:00"
    assert entry["hours_post_injection"] == 24.0 and entry["kidney_teff_h"] == 40.0
    tumour_ml = study.truth["tumour_1"]["volume_ml"] + study.truth["tumour_2"]["volume_ml"]
    assert entry["tumour_volume_ml"] == pytest.approx(tumour_ml, abs=1e-3)
    assert entry["kidney_dose_gy"] == pytest.approx(result.structures["kidneys"].mean_gy, 1e-4)


def test_pipeline_errors(study, tmp_path):
    cases = [
        (dict(settings=Settings(method="fit")), "too_few_time_points", study.spect[:1]),
        (dict(settings=Settings(method="hanscheid")), "too_many_time_points", study.spect),
        (dict(settings=Settings(method="guess")), "unknown_tia_method", study.spect[:1]),
        (dict(settings=Settings(device="tpu")), "unknown_device", study.spect[:1]),
    ]
    if not cuda_available():
        cases.append((dict(settings=Settings(device="gpu")), "no_gpu", study.spect[:1]))
    for kw, code, spect in cases:
        with pytest.raises(DoseError) as err:
            compute_dose(spect, study.masks, **kw)
        assert err.value.code == code


def test_ct_in_another_frame(study, tmp_path):
    other = phantom.make_phantom(tmp_path, shape=SHAPE)
    with pytest.raises(DoseError) as err:
        compute_dose(study.spect[:1], study.masks, other.ct, Settings(teff_h=TEFF))
    assert err.value.code == "frame_of_reference_mismatch"


def test_batch_over_study_folders(tmp_path):
    import io

    for name in ("a", "b"):
        phantom.make_phantom(tmp_path / "in" / name, shape=(24, 28, 32))
    (tmp_path / "in" / "c").mkdir()
    (tmp_path / "in" / "c" / "spect_24h").mkdir()  # no masks: an error, not a crash
    stream = io.StringIO()
    summaries = run_batch(tmp_path / "in", tmp_path / "out", Settings(), progress=stream)
    assert [s["status"] for s in summaries] == ["ok", "ok", "error"]
    assert summaries[2]["error"]["code"] == "bad_study_folder"
    assert "3/3" in stream.getvalue()
    assert math.isfinite(summaries[0]["kidneys_mean_gy"])
    assert (tmp_path / "out" / "a" / "rtdose.dcm").exists()


def test_single_scan_before_48_h_warns_and_reports_the_cap_margin(study, tmp_path):
    from flexmrt.gpu_dose.dose_settings import dose_settings
    from flexmrt.protocol import resolve

    settings = dose_settings(resolve("flex-mrt@1.0"))
    early = compute_dose(study.spect[:1], study.masks, settings=settings)
    assert any("single_time_point_early" in w for w in early.warnings)
    stp = early.single_time_point
    assert stp["scan_h"] == 24.0 and stp["max_underestimate"] == pytest.approx(0.396, abs=0.005)
    kidney = stp["kidney"]
    mean = early.structures["kidneys"].mean_gy
    assert kidney["bed_gy"] == pytest.approx(bed(mean, 35.5), rel=1e-4)
    assert kidney["bed_gy_if_underestimated"] == pytest.approx(
        bed(mean * (1 + stp["max_underestimate"]), 35.5), rel=1e-4
    )
    assert kidney["cap_gy"] == 39.0
    assert kidney["cycles_within_cap"] == int(39.0 // kidney["bed_gy"])
    assert kidney["cycles_within_cap_if_underestimated"] < kidney["cycles_within_cap"]
    late = phantom.make_phantom(tmp_path, shape=SHAPE, times_h=(48.0,))
    result = compute_dose(late.spect, late.masks, settings=settings)
    assert not any("single_time_point_early" in w for w in result.warnings)
    assert result.single_time_point["max_underestimate"] < stp["max_underestimate"]
