"""Time-activity models for two or more scans: AICc choice, fit quality, refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from flexmrt.gpu_dose.errors import DoseError
from flexmrt.gpu_dose.phantom import make_phantom
from flexmrt.gpu_dose.pipeline import Settings, compute_dose
from flexmrt.gpu_dose.tac import choose_model

T = np.array([4.0, 24.0, 48.0, 96.0, 168.0])
LAM = math.log(2) / 40


def _noisy(values: np.ndarray, seed: int = 0) -> np.ndarray:
    return values * (1 + 0.01 * np.random.default_rng(seed).standard_normal(values.size))


def test_uptake_then_clearance_chooses_the_bi_exponential():
    truth = 100 * (np.exp(-LAM * T) - np.exp(-0.3 * T))
    choice = choose_model(T, _noisy(truth))
    assert choice.chosen.model == "bi_exp_uptake"
    aicc = {c.model: c.aicc for c in choice.candidates}
    assert aicc["bi_exp_uptake"] < aicc["mono_exp"]
    assert choice.chosen.tia_mbq_h == pytest.approx(100 * (1 / LAM - 1 / 0.3), rel=0.02)
    assert choice.chosen.r2 > 0.99 and "chosen by AICc" in choice.notes[-1]


def test_pure_clearance_chooses_the_mono_exponential():
    choice = choose_model(T, _noisy(100 * np.exp(-LAM * T), seed=1))
    assert choice.chosen.model == "mono_exp"
    assert choice.chosen.tia_mbq_h == pytest.approx(100 / LAM, rel=0.02)
    assert choice.chosen.parameters["teff_h"] == pytest.approx(40, rel=0.02)


def test_two_points_fit_one_exponential_without_aicc():
    choice = choose_model([24.0, 96.0], [80.0, 20.0])
    assert choice.chosen.model == "mono_exp" and choice.chosen.aicc is None
    assert any("needs 5 or more time points" in n for n in choice.notes)


def test_rising_activity_falls_back_to_the_trapezoid_with_a_physical_tail():
    choice = choose_model([24.0, 72.0], [10.0, 12.0])
    assert choice.chosen.model == "trapezoid"
    area = 24 * 10 / 2 + 48 * 11  # from 0 at injection, then trapezoids
    tail = 12 / (math.log(2) / 159.53)
    assert choice.chosen.tia_mbq_h == pytest.approx(area + tail)
    assert any("ill-posed" in n for n in choice.notes)


@pytest.mark.parametrize(
    ("times", "activities", "words"),
    [
        ([24.0, 24.0], [5.0, 4.0], "two or more distinct scan times"),
        ([0.0, 24.0], [5.0, 4.0], "not after the injection"),
        ([24.0, 48.0], [0.0, 0.0], "no positive activity"),
    ],
)
def test_ill_posed_fits_are_refused_with_a_message(times, activities, words):
    with pytest.raises(DoseError, match=words) as err:
        choose_model(times, activities, "kidney_left")
    assert err.value.code == "ill_posed_fit"


def test_a_fitted_study_reports_each_structures_model(tmp_path):
    phantom = make_phantom(tmp_path, shape=(24, 24, 24), voxel_mm=8.0, times_h=(24.0, 96.0))
    result = compute_dose(
        phantom.spect, phantom.masks, None, Settings(method="fit", dose_method="local")
    )
    kidney = result.structures["kidney_left"]
    assert kidney.tac["model"] == "mono_exp" and kidney.tac["r2"] == pytest.approx(1.0)
    assert kidney.teff_h == pytest.approx(40.0, rel=1e-3)
