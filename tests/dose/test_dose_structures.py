"""Structure statistics, DVH and BED (MISSION.md worked example)."""

from __future__ import annotations

import pytest

from flexmrt.gpu_dose.errors import DoseError
from flexmrt.gpu_dose.structures import add_bed, bed, eubed, structure_result


def test_bed_worked_example():
    """0.43 Gy/GBq × 7.4 GBq = 3.18 Gy, T_eff 40 h → 3.44 Gy BED; ×6 cycles = 20.6 Gy."""
    dose = 0.43 * 7.4
    assert dose == pytest.approx(3.18, abs=0.005)
    assert bed(dose, 40.0) == pytest.approx(3.44, abs=0.005)
    assert 6 * bed(dose, 40.0) == pytest.approx(20.6, abs=0.05)


def test_eubed_of_uniform_bed_is_that_bed(xp):
    b = xp.full(100, 7.0)
    assert eubed(b, xp.ones(100)) == pytest.approx(7.0)


def test_eubed_below_mean_for_heterogeneous_bed(xp):
    b = xp.asarray([2.0, 4.0, 30.0])
    assert eubed(b, xp.ones(3)) < 12.0


def test_uniform_structure_statistics(xp):
    dose = xp.full((10, 10, 10), 2.0, dtype=xp.float32)
    dose[0, ...] = 4.0  # 10 % of voxels hotter
    mask = xp.ones(dose.shape) > 0
    res = structure_result("k", dose, dose * 0 + 1.0, mask, 0.1, 1.05, injected_gbq=7.4)
    assert res.voxels == 1000 and res.volume_ml == pytest.approx(100.0)
    assert res.mass_g == pytest.approx(105.0)
    assert res.mean_gy == pytest.approx(2.2, rel=1e-6)
    assert res.max_gy == 4.0 and res.d2_gy == 4.0 and res.d50_gy == 2.0 and res.d98_gy == 2.0
    assert res.gy_per_gbq == pytest.approx(2.2 / 7.4, rel=1e-6)
    assert res.tia_mbq_h == pytest.approx(1000.0)
    assert res.dvh["fraction"][0] == 1.0 and res.dvh["fraction"][-1] == pytest.approx(0.1)


def test_mean_is_mass_weighted(xp):
    dose = xp.asarray([[[1.0, 3.0]]])
    rho = xp.asarray([[[1.0, 3.0]]])
    res = structure_result("k", dose, dose, xp.ones(dose.shape) > 0, 1.0, rho)
    assert res.mean_gy == pytest.approx((1 * 1 + 3 * 3) / 4)


def test_voxel_bed_mean_and_eubed(xp):
    dose = xp.full((5, 5, 5), 3.182, dtype=xp.float64)
    mask = xp.ones(dose.shape) > 0
    res = structure_result("kidneys", dose, dose, mask, 0.1, 1.04)
    add_bed(res, dose, mask, 0.1, 1.04, 40.0)
    assert res.mean_bed_gy == pytest.approx(bed(3.182, 40.0))
    assert res.eubed_gy == pytest.approx(res.mean_bed_gy)


def test_empty_mask_is_an_error(xp):
    dose = xp.zeros((3, 3, 3))
    with pytest.raises(DoseError) as err:
        structure_result("tumour_1", dose, dose, xp.zeros(dose.shape) > 0, 1.0, 1.0)
    assert err.value.code == "empty_mask"
