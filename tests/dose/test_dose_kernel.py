"""Dose voxel kernels: tables, interpolation, energy balance against local deposition."""

from __future__ import annotations

import math

import numpy as np
import pytest

from flexmrt.gpu_dose import kernel
from flexmrt.gpu_dose.errors import DoseError


def test_tables_are_symmetric_and_peaked():
    table = kernel.load_table(4.0, "soft")
    assert table.shape == (11, 11, 11)
    assert table[5, 5, 5] == pytest.approx(0.302)  # 177Lu4mmsoft.txt, row 0 0 0
    np.testing.assert_array_equal(table, table[::-1, :, :])
    np.testing.assert_array_equal(table, np.transpose(table, (1, 0, 2)))
    assert table.argmax() == np.ravel_multi_index((5, 5, 5), table.shape)


def test_eleven_sizes_per_tissue():
    sizes = kernel.tabulated_sizes("soft")
    assert sizes == kernel.tabulated_sizes("bone")
    assert sizes[0] == 2.21 and sizes[-1] == 9.28 and len(sizes) == 11


@pytest.mark.parametrize("size", kernel.tabulated_sizes("soft"))
@pytest.mark.parametrize("tissue", ["soft", "bone"])
def test_interpolation_at_tabulated_size_reproduces_table(size, tissue):
    np.testing.assert_allclose(
        kernel.interpolated_table(size, tissue), kernel.load_table(size, tissue), rtol=1e-12
    )


@pytest.mark.parametrize("size", kernel.tabulated_sizes("soft"))
def test_soft_kernel_sum_within_10_percent_of_local_electron_deposition(size):
    """Σ S × voxel mass vs 147.92 keV per decay absorbed locally (85.32 mGy·g per MBq·h)."""
    mass_g = kernel.KERNEL_DENSITY_G_ML["soft"] * (size / 10) ** 3
    kernel_sum = kernel.dose_voxel_kernel(size, "soft", "float64").sum()  # Gy/(MBq·h)
    local = kernel.LOCAL_DEPOSITION_GY_G_PER_MBQ_H / mass_g
    per_gram = kernel.LOCAL_DEPOSITION_GY_G_PER_MBQ_H  # Gy·g per MBq·h
    assert per_gram == pytest.approx(0.08532, rel=1e-4)
    assert kernel_sum / local == pytest.approx(1.0, abs=0.10)


@pytest.mark.parametrize("size", [3.59, 4.42])
def test_clinical_sizes_interpolate_energy_between_neighbours(size):
    """Absorbed energy (S·d³ summed) at an untabulated size lies between its neighbours."""
    sizes = kernel.tabulated_sizes()
    lower = max(s for s in sizes if s < size)
    upper = min(s for s in sizes if s > size)
    energy = [kernel.interpolated_table(s).sum() * s**3 for s in (lower, size, upper)]
    assert min(energy[0], energy[2]) <= energy[1] <= max(energy[0], energy[2])
    centre = [kernel.interpolated_table(s)[5, 5, 5] for s in (lower, size, upper)]
    assert centre[0] > centre[1] > centre[2]  # smaller voxels, higher S


_INTERIOR = kernel.tabulated_sizes("soft")[1:-1]  # 2.33 … 6.8 mm: each has two neighbours


@pytest.mark.parametrize("size", _INTERIOR)
def test_leave_one_out_interior_tables(size):
    """Each interior soft-tissue table predicted from its two neighbours alone (issue 12).

    S000 within 1 %, first and second neighbours along an axis within 2 %, and the
    held-out table's kernel sum within 0.5 % of the prediction, whose sum is the
    log–log interpolation of the neighbours' sums. Linear-in-d interpolation fails
    the first-neighbour bound (+3.8 % at 3.0 mm, +2.8 % at 6.8 mm, +2.3 % at 6.0 mm).
    """
    sizes = kernel.tabulated_sizes("soft")
    n = sizes.index(size)
    d1, d2 = sizes[n - 1], sizes[n + 1]
    s1, s2, truth = (kernel.load_table(d) for d in (d1, d2, size))
    predicted = kernel.loglog_between(s1, d1, s2, d2, size)
    for offset, bound in (((5, 5, 5), 0.01), ((5, 5, 6), 0.02), ((5, 5, 7), 0.02)):
        assert predicted[offset] == pytest.approx(truth[offset], rel=bound), offset
    w = math.log(size / d1) / math.log(d2 / d1)
    trend = math.exp((1 - w) * math.log(s1.sum() * d1**3) + w * math.log(s2.sum() * d2**3))
    assert predicted.sum() * size**3 == pytest.approx(trend, rel=1e-9)
    assert truth.sum() * size**3 == pytest.approx(trend, rel=0.005)


def test_first_neighbour_loo_fails_with_linear_interpolation():
    """The defect the log–log rule fixes: linear S·d³ in d overshoots 3.0 mm's neighbour."""
    d1, d, d2 = 2.4, 3.0, 3.9
    s1, truth, s2 = (kernel.load_table(x) for x in (d1, d, d2))
    w = (d - d1) / (d2 - d1)
    linear = ((1 - w) * s1 * d1**3 + w * s2 * d2**3) / d**3
    assert linear[5, 5, 6] / truth[5, 5, 6] - 1 > 0.03
    loglog = kernel.loglog_between(s1, d1, s2, d2, d)
    assert abs(loglog[5, 5, 6] / truth[5, 5, 6] - 1) < 0.01


@pytest.mark.parametrize("size", [1.0, 2.0, 9.5, 12.0])
def test_size_outside_tables_is_an_error(size):
    with pytest.raises(DoseError) as err:
        kernel.dose_voxel_kernel(size)
    assert err.value.code == "voxel_size_out_of_range"


def test_unknown_tissue_is_an_error():
    with pytest.raises(DoseError) as err:
        kernel.dose_voxel_kernel(4.0, "lung")
    assert err.value.code == "unknown_tissue"
