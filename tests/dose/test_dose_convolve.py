"""Absorbed dose by kernel convolution and local deposition (NumPy and CuPy bodies)."""

from __future__ import annotations

import numpy as np
import pytest
from dose_helpers import RTOL, host

from flexmrt.gpu_dose import kernel
from flexmrt.gpu_dose.convolve import (
    MIN_DENSITY_G_ML,
    absorbed_dose,
    density_from_hu,
    local_deposition,
    medium_density,
)
from flexmrt.gpu_dose.errors import DoseError
from flexmrt.gpu_dose.grid import Geometry


def cubic(shape, size=4.0):
    affine = np.diag([size, size, size, 1.0])
    return Geometry(tuple(shape), affine, "1.2.3")


def test_uniform_interior_equals_tia_times_kernel_sum(xp):
    tia = xp.full((40, 40, 40), 2.5, dtype=xp.float32)  # MBq·h per voxel
    dose = absorbed_dose(tia, cubic(tia.shape))
    expected = 2.5 * kernel.dose_voxel_kernel(4.0, "soft", "float64").sum()
    np.testing.assert_allclose(host(dose)[10:30, 10:30, 10:30], expected, rtol=1e-5)


def test_point_source_reproduces_kernel(xp):
    tia = xp.zeros((33, 33, 33), dtype=xp.float64)
    tia[16, 16, 16] = 1.0
    dose = host(absorbed_dose(tia, cubic(tia.shape, 4.42)))
    k = kernel.dose_voxel_kernel(4.42, "soft", "float64")
    np.testing.assert_allclose(dose[11:22, 11:22, 11:22], k, rtol=1e-9, atol=1e-15)
    outside = dose.copy()
    outside[11:22, 11:22, 11:22] = 0
    assert np.abs(outside).max() < 1e-12


def test_point_source_at_edge_does_not_wrap(xp):
    tia = xp.zeros((32, 32, 32), dtype=xp.float64)
    tia[0, 0, 0] = 1.0
    dose = host(absorbed_dose(tia, cubic(tia.shape)))
    assert np.abs(dose[-6:, :, :]).max() < 1e-12
    assert dose[0, 0, 0] == pytest.approx(kernel.dose_voxel_kernel(4.0, "soft", "float64")[5, 5, 5])


def test_dose_is_linear_and_non_negative(xp):
    rng = np.random.default_rng(7)
    a = xp.asarray(rng.random((32, 32, 32)), dtype=xp.float32)
    b = xp.asarray(rng.random((32, 32, 32)) * (rng.random((32, 32, 32)) > 0.9), dtype=xp.float32)
    geom = cubic(a.shape, 3.59)
    da, db, dab = (host(absorbed_dose(t, geom)) for t in (a, b, 2 * a + 3 * b))
    np.testing.assert_allclose(dab, 2 * da + 3 * db, atol=RTOL["float32"] * dab.max())
    assert da.min() >= 0.0


def test_float32_matches_float64(xp):
    """Documented precision: float32 vs float64 differ by < 1e-5 of the maximum dose."""
    rng = np.random.default_rng(3)
    tia = rng.gamma(2.0, 1.0, size=(48, 48, 48))
    d64 = host(absorbed_dose(xp.asarray(tia, dtype=xp.float64), cubic(tia.shape)))
    d32 = host(absorbed_dose(xp.asarray(tia, dtype=xp.float32), cubic(tia.shape)))
    assert d32.dtype == np.float32
    assert np.abs(d32 - d64).max() / d64.max() < 1e-5


def test_non_cubic_grid_is_resampled(xp):
    """Uniform activity on 4.42 × 4.42 × 3.0 mm voxels: interior dose as for a cubic grid."""
    geom = Geometry((40, 32, 32), np.diag([3.0, 4.42, 4.42, 1.0]), "1.2.3")
    tia = xp.full(geom.shape, 1.0, dtype=xp.float32)  # MBq·h per voxel
    dose = host(absorbed_dose(tia, geom))
    conc = 1.0 / geom.voxel_volume_ml  # MBq·h/mL
    expected = conc * (0.3**3) * kernel.dose_voxel_kernel(3.0, "soft", "float64").sum()
    np.testing.assert_allclose(dose[12:28, 10:22, 10:22], expected, rtol=1e-4)


def test_local_deposition_is_85_32_mgy_per_mbq_h_per_gram(xp):
    tia = xp.full((4, 4, 4), 10.0, dtype=xp.float64)
    geom = cubic(tia.shape, 5.0)  # 0.125 mL, 0.13 g at 1.04 g/mL
    dose = host(absorbed_dose(tia, geom, method="local"))
    np.testing.assert_allclose(dose, 10.0 * 85.32e-3 / (0.125 * 1.04), rtol=1e-4)


def test_kernel_sum_close_to_local_deposition_in_uniform_region(xp):
    tia = xp.full((32, 32, 32), 1.0, dtype=xp.float64)
    geom = cubic(tia.shape, 4.8)
    local = host(local_deposition(tia, 0.48**3))[0, 0, 0]
    ratio = host(absorbed_dose(tia, geom))[16, 16, 16] / local
    assert ratio == pytest.approx(0.96, abs=0.03)


def test_density_from_hu_table(xp):
    hu = xp.asarray([-1000.0, -500.0, 0.0, 500.0, 1000.0, 5000.0], dtype=xp.float32)
    np.testing.assert_allclose(
        host(density_from_hu(hu)), [0.0012, 0.5006, 1.0, 1.3, 1.6, 2.8], rtol=1e-5
    )


def test_density_scales_dose_by_kernel_density_over_voxel_density(xp):
    tia = xp.full((32, 32, 32), 1.0, dtype=xp.float64)
    rho = xp.full(tia.shape, 2.08, dtype=xp.float64)
    plain = host(absorbed_dose(tia, cubic(tia.shape)))
    scaled = host(absorbed_dose(tia, cubic(tia.shape), density=rho))
    np.testing.assert_allclose(scaled, plain * 0.5, rtol=1e-12)


def test_unknown_method(xp):
    with pytest.raises(DoseError) as err:
        absorbed_dose(xp.zeros((4, 4, 4)), cubic((4, 4, 4)), method="mc")
    assert err.value.code == "unknown_dose_method"


def test_density_is_referenced_to_the_kernel_medium_and_floored(xp):
    """Soft tissue (+40 HU) reads 1.04 g/cm³; air is floored at lung density 0.26 g/cm³."""
    hu = xp.asarray([-1000.0, 0.0, 40.0, 1000.0], dtype=xp.float64)
    rho = host(medium_density(hu))
    np.testing.assert_allclose(rho[1:], np.array([1.0, 1.024, 1.6]) * 1.04 / 1.024, rtol=1e-12)
    assert rho[0] == MIN_DENSITY_G_ML == 0.26
    tia = xp.full((24, 24, 24), 1.0, dtype=xp.float64)
    air = xp.full(tia.shape, 0.0012, dtype=xp.float64)
    plain = host(absorbed_dose(tia, cubic(tia.shape)))
    in_air = host(absorbed_dose(tia, cubic(tia.shape), density=air))
    np.testing.assert_allclose(in_air, plain * 1.04 / 0.26, rtol=1e-12)  # was × 104 (floor 0.01)
