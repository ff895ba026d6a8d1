"""Dose voxel kernels: tables, interpolation, energy balance against local deposition."""

from __future__ import annotations

import numpy as np
import pytest

from gpu_dose import kernel
from gpu_dose.errors import DoseError


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


def test_leave_one_out_interpolation_of_5mm_is_close():
    """5 mm from the 4.8 and 6 mm tables: centre voxel within 2 %, kernel sum within 2 %."""
    w = (5.0 - 4.8) / (6.0 - 4.8)
    energy = (1 - w) * kernel.load_table(4.8) * 4.8**3 + w * kernel.load_table(6.0) * 6.0**3
    estimate = energy / 5.0**3
    truth = kernel.load_table(5.0)
    assert estimate[5, 5, 5] == pytest.approx(truth[5, 5, 5], rel=0.02)
    assert estimate.sum() == pytest.approx(truth.sum(), rel=0.02)


@pytest.mark.parametrize("size", [1.0, 2.0, 9.5, 12.0])
def test_size_outside_tables_is_an_error(size):
    with pytest.raises(DoseError) as err:
        kernel.dose_voxel_kernel(size)
    assert err.value.code == "voxel_size_out_of_range"


def test_unknown_tissue_is_an_error():
    with pytest.raises(DoseError) as err:
        kernel.dose_voxel_kernel(4.0, "lung")
    assert err.value.code == "unknown_tissue"
