"""The CT is resampled onto the SPECT grid a slab at a time, straight from its files: the
same values as resampling the whole volume (bit for bit), without the whole volume in
memory; and the dose stage's memory savings leave every value as it was."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pydicom
import pytest
import scipy.fft
from hypothesis import given, settings
from hypothesis import strategies as st

from flexmrt.gpu_dose import dicom_io, phantom
from flexmrt.gpu_dose.backend import NUMPY
from flexmrt.gpu_dose.convolve import convolve_kernel, kernel_transform, medium_density
from flexmrt.gpu_dose.errors import DoseError
from flexmrt.gpu_dose.grid import Geometry, resample, resample_slabs
from flexmrt.gpu_dose.pipeline import _density
from flexmrt.gpu_dose.structures import add_bed, bed, structure_result


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return phantom.make_phantom(tmp_path_factory.mktemp("phantom"), shape=(32, 36, 40))


@pytest.fixture(scope="module")
def spect(study):
    return dicom_io.read_spect(study.spect[0])


@pytest.mark.parametrize("slab", [1, 3, 16, 1000])
def test_slabs_from_the_files_equal_the_whole_volume_resampled(study, spect, slab):
    """What the dose pipeline did before: the whole CT read, then resampled at once."""
    ct = dicom_io.read_ct(study.ct)
    before = resample(ct.hu, ct.geometry, spect.geometry, order=1, fill=-1000.0)
    series = dicom_io.open_ct(study.ct)
    assert series.geometry.shape == ct.geometry.shape
    np.testing.assert_array_equal(series.geometry.affine, ct.geometry.affine)
    now = resample_slabs(series.hu, series.geometry, spect.geometry, fill=-1000.0, slab=slab)
    assert now.dtype == before.dtype == np.float32
    np.testing.assert_array_equal(now, before)


def _peak(fn):
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _whole_ct_density(ct_path, spect):
    """The density stage as it was: the whole CT read, resampled, converted."""
    ct = dicom_io.read_ct(ct_path)
    return medium_density(resample(ct.hu, ct.geometry, spect.geometry, order=1, fill=-1000.0))


def test_density_stage_never_holds_the_whole_ct(tmp_path):
    study = phantom.make_phantom(tmp_path, shape=(96, 64, 64))  # CT 96 × 128²
    spect = dicom_io.read_spect(study.spect[0])
    ct_bytes = dicom_io.read_ct(study.ct).hu.nbytes
    before, peak_before = _peak(lambda: _whole_ct_density(study.ct, spect))
    (rho, _), peak = _peak(lambda: _density(NUMPY, study.ct, spect, "float32"))
    np.testing.assert_array_equal(rho, before)
    # reading the whole CT held it (float32) beside its encoded slices; opening the series
    # holds the encoded slices only, and the HU a slab at a time
    assert peak_before - peak > 0.9 * ct_bytes, f"{peak_before:,} then, {peak:,} bytes now"


def test_a_slab_of_another_slice_size_is_refused(study, tmp_path):
    folder = tmp_path / "ct"
    folder.mkdir()
    slices = sorted(
        (pydicom.dcmread(f) for f in study.ct.iterdir()),
        key=lambda ds: float(ds.ImagePositionPatient[2]),
    )
    for i, ds in enumerate(slices):
        ds.save_as(folder / f"{i:03d}.dcm", enforce_file_format=True)
    series = dicom_io.open_ct(folder)
    ds = slices[20]
    ds.Rows, ds.Columns = 8, 8
    ds.PixelData = np.zeros((8, 8), dtype=np.int16).tobytes()
    ds.save_as(folder / "020.dcm", enforce_file_format=True)
    with pytest.raises(DoseError) as err:
        series.hu(16, 24)
    assert err.value.code == "ct_slice_size" and "8×8" in str(err.value)


@st.composite
def _geometries(draw):
    """A source volume and a target grid: other spacing, shifted by whole or part voxels,
    rotated, partly or wholly outside — edges that coincide included."""
    shape = tuple(draw(st.integers(2, 9)) for _ in range(3))
    spacing = [draw(st.sampled_from([0.5, 1.0, 1.3, 2.0, 2.4, 4.8])) for _ in range(3)]
    affine = np.eye(4)
    affine[:3, :3] = np.diag(spacing)
    affine[:3, 3] = [draw(st.integers(-20, 20)) / 4 for _ in range(3)]
    target = affine.copy()
    if draw(st.booleans()):
        angle = draw(st.integers(-30, 30)) * np.pi / 180
        c, s = np.cos(angle), np.sin(angle)
        target[:3, :3] = affine[:3, :3] @ np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    target[:3, :3] *= np.array([draw(st.sampled_from([0.5, 1.0, 2.0, 0.75])) for _ in range(3)])
    target[:3, 3] += [draw(st.integers(-8, 8)) / 2 * spacing[i] for i in range(3)]
    target_shape = tuple(draw(st.integers(1, 12)) for _ in range(3))
    return Geometry(shape, affine), Geometry(target_shape, target)


@settings(max_examples=300, deadline=None)
@given(
    grids=_geometries(),
    slab=st.integers(1, 6),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
def test_slabs_equal_whole_volume_on_any_grid(grids, slab, dtype, seed):
    source, target = grids
    volume = np.random.default_rng(seed).normal(0, 500, source.shape).astype(dtype)
    whole = resample(volume, source, target, order=1, fill=-1000.0)
    slabs = resample_slabs(lambda a, b: volume[a:b], source, target, fill=-1000.0, slab=slab)
    np.testing.assert_array_equal(slabs, whole)


@pytest.mark.parametrize(("shape", "dtype"), [((32, 36, 40), "float32"), ((9, 14, 11), "float64")])
def test_convolution_in_steps_equals_one_inverse_transform(shape, dtype):
    """The inverse FFT taken in its two steps gives scipy's irfftn, bit for bit."""
    tia = np.random.default_rng(3).random(shape).astype(dtype)
    padded = tuple(int(scipy.fft.next_fast_len(n + 10, real=True)) for n in shape)
    spectrum = kernel_transform(NUMPY, shape, 4.8, "soft", dtype)
    inverse = scipy.fft.irfftn(scipy.fft.rfftn(tia, s=padded) * spectrum, s=padded)
    before = np.maximum(inverse[: shape[0], : shape[1], : shape[2]], 0).astype(dtype)
    np.testing.assert_array_equal(convolve_kernel(tia, 4.8), before)


def test_bed_of_the_selected_voxels_equals_the_whole_map_selected():
    rng = np.random.default_rng(5)
    dose = rng.random((12, 13, 14)).astype(np.float32) * 30
    mask = rng.random(dose.shape) > 0.6
    rho = (0.9 + rng.random(dose.shape) * 0.3).astype(np.float32)
    for teff in (40.0, (20 + rng.random(dose.shape) * 40).astype(np.float32)):
        res = structure_result("s", dose, dose, mask, 0.1, rho)
        add_bed(res, dose, mask, 0.1, rho, teff, 2.6, 2.8)
        b = bed(dose, teff, 2.6, 2.8)[mask].astype(np.float64)
        r = rho[mask].astype(np.float64)
        assert res.mean_bed_gy == float((b * r).sum() / r.sum())
