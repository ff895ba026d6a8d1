"""Time-integrated activity against closed-form mono-exponential kinetics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from dose_helpers import host

from flexmrt.gpu_dose.tia import (
    LU177_HALF_LIFE_H,
    fit_mono_exponential,
    fit_with_rate,
    hanscheid,
    prior_half_life,
    single_time_point_ratio,
)

A0, TEFF = 100.0, 40.0  # MBq, h
LAM = math.log(2) / TEFF


def activity(t):
    return A0 * math.exp(-LAM * t)


def test_hanscheid_formula_and_exact_at_t_equal_teff():
    assert hanscheid(activity(24.0), 24.0) == pytest.approx(activity(24.0) * 48 / math.log(2))
    assert hanscheid(activity(TEFF), TEFF) == pytest.approx(A0 / LAM, rel=1e-12)


def test_hanscheid_within_10_percent_in_its_window():
    for t in (0.8 * TEFF, 1.5 * TEFF, 2.0 * TEFF):
        assert hanscheid(activity(t), t) == pytest.approx(A0 / LAM, rel=0.10)


@pytest.mark.parametrize("t", [4.0, 24.0, 48.0, 168.0])
def test_prior_half_life_is_exact(t):
    assert prior_half_life(activity(t), t, TEFF) == pytest.approx(A0 / LAM, rel=1e-12)


def test_prior_half_life_per_voxel(xp):
    teff = xp.asarray([20.0, 40.0, 80.0])
    a = xp.asarray([A0 * math.exp(-math.log(2) / h * 48.0) for h in (20.0, 40.0, 80.0)])
    tia = host(prior_half_life(a, 48.0, teff))
    np.testing.assert_allclose(tia, [A0 * h / math.log(2) for h in (20.0, 40.0, 80.0)], rtol=1e-12)


def test_prior_half_life_never_slower_than_decay():
    assert prior_half_life(1.0, 0.0, 1000.0) == pytest.approx(LU177_HALF_LIFE_H / math.log(2))


def test_fit_recovers_mono_exponential_per_voxel(xp):
    times = [4.0, 24.0, 96.0]
    teff = np.array([[10.0, 40.0], [100.0, 150.0]])
    a0 = np.array([[5.0, 50.0], [1.0, 0.0]])
    acts = np.stack([a0 * np.exp(-np.log(2) / teff * t) for t in times])
    fit = fit_mono_exponential(times, xp.asarray(acts))
    np.testing.assert_allclose(host(fit.tia), a0 * teff / np.log(2), rtol=1e-9)
    np.testing.assert_allclose(host(fit.teff_h)[a0 > 0], teff[a0 > 0], rtol=1e-9)


def test_fit_floors_clearance_at_physical_decay(xp):
    times = [24.0, 96.0]
    acts = xp.asarray([[10.0], [12.0]])  # rising: uptake, no visible clearance
    fit = fit_mono_exponential(times, acts)
    assert float(host(fit.teff_h)[0]) == pytest.approx(LU177_HALF_LIFE_H)
    lam = math.log(2) / LU177_HALF_LIFE_H
    a0 = math.exp((math.log(10.0) + lam * 24 + math.log(12.0) + lam * 96) / 2)
    assert float(host(fit.tia)[0]) == pytest.approx(a0 / lam, rel=1e-9)


def test_fit_per_region_scalars():
    fit = fit_mono_exponential([24.0, 72.0], np.array([activity(24.0), activity(72.0)]))
    assert float(fit.tia) == pytest.approx(A0 / LAM, rel=1e-12)
    assert float(fit.teff_h) == pytest.approx(TEFF, rel=1e-12)


def test_voxel_fit_with_region_rate_keeps_a_voxel_whose_late_value_is_zero(xp):
    """Was: log(tiny) for a zero late value made that voxel's fit meaningless."""
    times = [24.0, 96.0]
    lam = math.log(2) / TEFF
    acts = np.array([[activity(24.0), activity(24.0)], [activity(96.0), 0.0]])
    fit = fit_with_rate(times, xp.asarray(acts), lam)
    tia = host(fit.tia)
    assert tia[0] == pytest.approx(A0 / LAM, rel=1e-9)  # exact for clean data
    e = np.exp(-lam * np.array(times))
    a0 = activity(24.0) * e[0] / (e**2).sum()  # the least-squares amplitude of one value
    assert tia[1] == pytest.approx(a0 / lam, rel=1e-9) and tia[1] > 0.5 * tia[0]
    log_fit = host(fit_mono_exponential(times, xp.asarray(acts)).tia)
    assert not 0.5 < log_fit[1] / log_fit[0] < 2.0  # what the per-voxel log-linear fit does


def test_voxel_fit_takes_a_rate_map(xp):
    lam = xp.asarray([math.log(2) / 20.0, math.log(2) / 80.0])
    times = [24.0, 72.0]
    acts = np.stack([[A0 * 2 ** (-t / 20.0), A0 * 2 ** (-t / 80.0)] for t in times])
    tia = host(fit_with_rate(times, xp.asarray(acts), lam).tia)
    np.testing.assert_allclose(tia, [A0 * 20 / math.log(2), A0 * 80 / math.log(2)], rtol=1e-9)


@pytest.mark.parametrize(
    ("method", "hours", "under"),
    [("prior-half-life", 24.0, 0.396), ("prior-half-life", 48.0, 0.165), ("hanscheid", 24.0, 0.65)],
)
def test_single_time_point_error_range(method, hours, under):
    """True/estimated TIA over true T_eff 20–60 h (prior 35.5 h): worst under-estimate."""
    low, high = single_time_point_ratio(method, hours, 35.5, (20.0, 60.0))
    assert high - 1 == pytest.approx(under, abs=0.005)
    assert low <= 1.0 <= high
