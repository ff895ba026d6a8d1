"""A digital phantom written as real DICOM: SPECT (Bq/mL), CT, SEG (and RTSTRUCT).

Two kidneys (ellipsoids) and two tumours (spheres) with uniform activity and
mono-exponential kinetics A(t) = A₀·e^{−ln2·t/T_eff}; nothing elsewhere. With
``organs_at_risk`` also the other organs at risk (:data:`OAR_REGIONS`): parotid and
submandibular glands, lacrimal glands, a lumbar-vertebra VOI (L2–L4, for image-based
marrow dosimetry) and the liver, at activities near their published Gy/GBq. The
SPECT grid is 4.42 mm cubic (a common clinical size, between two tables); the
CT has half the in-plane pixel size on the same slices, so the SEG (drawn on
the CT) maps back onto the SPECT grid exactly. ``truth`` gives the analytic
expectations: TIA per region and the local-deposition dose (Gy).

Study folder layout (as ``flexmrt dose-batch`` expects): ``spect_<hours>h/``,
``ct/``, ``masks/seg.dcm`` (and ``masks/rtstruct.dcm`` when asked for).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from flexmrt.gpu_dose import dicom_io
from flexmrt.gpu_dose.grid import Geometry
from flexmrt.gpu_dose.kernel import KERNEL_DENSITY_G_ML, LOCAL_DEPOSITION_GY_G_PER_MBQ_H

__all__ = ["OAR_REGIONS", "REGIONS", "Phantom", "Region", "make_phantom"]

INJECTION = dt.datetime(2024, 3, 4, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))


@dataclass(frozen=True)
class Region:
    """An ellipsoid: centre and semi-axes (x, y, z) in mm, activity at injection, T_eff."""

    name: str
    centre_mm: tuple[float, float, float]
    semi_axes_mm: tuple[float, float, float]
    a0_bq_ml: float
    teff_h: float
    hu: float = 40.0


#: Kidneys dosed near 0.43 Gy/GBq × 7.4 GBq; tumours hotter and slower.
REGIONS = (
    Region("kidney_left", (55.0, 10.0, 0.0), (24.0, 30.0, 50.0), 6.8e5, 40.0),
    Region("kidney_right", (-55.0, 10.0, 0.0), (24.0, 30.0, 50.0), 6.8e5, 40.0),
    Region("tumour_1", (0.0, -40.0, 20.0), (15.0, 15.0, 15.0), 2.0e6, 60.0),
    Region("tumour_2", (10.0, 45.0, -40.0), (10.0, 10.0, 10.0), 1.5e6, 80.0),
)


#: The other organs at risk, named as a SEG would label them (gpu_dose.roles maps them);
#: activities put each near its Gy/GBq × 7.4 GBq (Herrmann 2024) in local deposition.
OAR_REGIONS = (
    Region("Parotid_L", (45.0, 40.0, 90.0), (10.0, 12.0, 12.0), 1.1e6, 35.0),
    Region("Parotid_R", (-45.0, 40.0, 90.0), (10.0, 12.0, 12.0), 1.1e6, 35.0),
    Region("Glnd_Submand_L", (30.0, 55.0, 68.0), (8.0, 8.0, 8.0), 1.1e6, 35.0),
    Region("Glnd_Submand_R", (-30.0, 55.0, 68.0), (8.0, 8.0, 8.0), 1.1e6, 35.0),
    Region("Lacrimal_L", (30.0, -60.0, 94.0), (9.0, 8.0, 8.0), 3.3e6, 40.0),
    Region("Lacrimal_R", (-30.0, -60.0, 94.0), (9.0, 8.0, 8.0), 3.3e6, 40.0),
    Region("Lumbar_L2_L4", (0.0, -65.0, -50.0), (15.0, 12.0, 35.0), 7.4e4, 30.0, 300.0),
    Region("Liver", (-40.0, -50.0, 60.0), (35.0, 25.0, 25.0), 1.1e5, 50.0),
)


@dataclass
class Phantom:
    """Where the phantom's files are, and the analytic truth per region."""

    root: Path
    spect: list[Path]
    ct: Path
    masks: Path
    truth: dict[str, dict[str, float]] = field(default_factory=dict)


def spect_geometry(shape: tuple[int, int, int], voxel_mm: float, frame_uid: str) -> Geometry:
    """Axial grid centred on the origin, rows along +y, columns along +x (LPS)."""
    affine = np.zeros((4, 4))
    affine[2, 0] = affine[1, 1] = affine[0, 2] = voxel_mm
    affine[:3, 3] = -(np.array(shape[::-1]) - 1) / 2 * voxel_mm
    affine[3, 3] = 1.0
    return Geometry(shape, affine, frame_uid)


def region_mask(region: Region, geometry: Geometry) -> NDArray[np.bool_]:
    """Voxels whose centre lies inside ``region``."""
    kij = np.indices(geometry.shape).reshape(3, -1).T
    xyz = geometry.index_to_patient(kij)
    r2 = (((xyz - region.centre_mm) / region.semi_axes_mm) ** 2).sum(axis=1)
    mask: NDArray[np.bool_] = (r2 <= 1.0).reshape(geometry.shape)
    return mask


def _truth(region: Region, mask: np.ndarray, geometry: Geometry) -> dict[str, float]:
    tia_mbq_h_ml = region.a0_bq_ml / 1e6 * region.teff_h / math.log(2)
    return {
        "teff_h": region.teff_h,
        "a0_bq_ml": region.a0_bq_ml,
        "voxels": int(mask.sum()),
        "volume_ml": float(mask.sum() * geometry.voxel_volume_ml),
        "tia_mbq_h": tia_mbq_h_ml * float(mask.sum() * geometry.voxel_volume_ml),
        "local_dose_gy": tia_mbq_h_ml
        * LOCAL_DEPOSITION_GY_G_PER_MBQ_H
        / KERNEL_DENSITY_G_ML["soft"],
    }


def _ct_geometry(spect: Geometry) -> Geometry:
    """Same slices, half the in-plane pixel size, the same outer box."""
    affine = spect.affine.copy()
    affine[:3, 1:3] /= 2
    affine[:3, 3] -= (spect.affine[:3, 1] + spect.affine[:3, 2]) / 4
    shape = (spect.shape[0], spect.shape[1] * 2, spect.shape[2] * 2)
    return Geometry(shape, affine, spect.frame_of_reference_uid)


def _upsample(volume: np.ndarray) -> np.ndarray:
    return np.repeat(np.repeat(volume, 2, axis=1), 2, axis=2)


def _write_spect(
    root: Path,
    activity: list[tuple[Region, NDArray[np.bool_]]],
    geometry: Geometry,
    study: dicom_io.Study,
    times_h: tuple[float, ...],
    layout: str,
    injected_mbq: float,
    when: dt.datetime,
) -> list[Path]:
    paths = []
    for t in times_h:
        values = np.zeros(geometry.shape)
        for r, m in activity:
            values += np.where(m, r.a0_bq_ml * 2 ** (-t / r.teff_h), 0.0)
        acquired = when + dt.timedelta(hours=t)
        folder = root / f"spect_{t:g}h"
        if layout == "multiframe":
            paths.append(
                dicom_io.write_nm_multiframe(
                    folder / "nm.dcm",
                    values,
                    geometry,
                    study,
                    acquired=acquired,
                    injected=when,
                    injected_mbq=injected_mbq,
                )
            )
        else:
            dicom_io.write_slice_series(
                folder,
                values,
                geometry,
                study,
                acquired=acquired,
                injected=when,
                injected_mbq=injected_mbq,
            )
            paths.append(folder)
    return paths


def make_phantom(
    root: str | Path,
    *,
    times_h: tuple[float, ...] = (24.0,),
    shape: tuple[int, int, int] = (40, 40, 48),
    voxel_mm: float = 4.42,
    layout: str = "multiframe",
    regions: tuple[Region, ...] = REGIONS,
    injected_mbq: float = 7400.0,
    rtstruct: bool = False,
    background_hu: float = 0.0,
    organs_at_risk: bool = False,
    injection: dt.datetime | None = None,
    activity_scale: float = 1.0,
) -> Phantom:
    """Write a phantom study under ``root`` and return its paths and analytic truth.

    ``organs_at_risk`` adds :data:`OAR_REGIONS`; ``injection`` moves the injection (and
    every scan) in time, for a patient's later cycles; ``activity_scale`` multiplies every
    region's activity (a cycle's kidney uptake differs from the last one's).
    """
    root = Path(root)
    when = injection or INJECTION
    if organs_at_risk:
        regions = (*regions, *OAR_REGIONS)
    if activity_scale != 1.0:
        regions = tuple(replace(r, a0_bq_ml=r.a0_bq_ml * activity_scale) for r in regions)
    study = dicom_io.Study(study_datetime=when)
    geometry = spect_geometry(shape, voxel_mm, study.frame_uid)
    masks = [(r, region_mask(r, geometry)) for r in regions]
    spect = _write_spect(root, masks, geometry, study, times_h, layout, injected_mbq, when)
    hu = np.full(shape, float(background_hu))
    for r, m in masks:
        hu[m] = r.hu
    sources = dicom_io.write_ct_series(
        root / "ct",
        _upsample(hu),
        _ct_geometry(geometry),
        study,
        when + dt.timedelta(hours=times_h[0]),
    )
    seg_masks = {r.name: _upsample(m) for r, m in masks}
    dicom_io.write_seg(root / "masks" / "seg.dcm", seg_masks, sources)
    if rtstruct:
        contours = {r.name: region_contours(r, geometry) for r in regions}
        dicom_io.write_rtstruct(root / "rtstruct" / "rtstruct.dcm", contours, study)
    truth = {r.name: _truth(r, m, geometry) for r, m in masks}
    return Phantom(root, spect, root / "ct", root / "masks", truth)


def region_contours(region: Region, geometry: Geometry, points: int = 72) -> list[np.ndarray]:
    """Closed planar contours (patient mm) of ``region`` on each SPECT slice it cuts."""
    contours = []
    angles = np.linspace(0, 2 * np.pi, points, endpoint=False)
    for k in range(geometry.shape[0]):
        z = geometry.index_to_patient([[k, 0, 0]])[0][2]
        scale = 1 - ((z - region.centre_mm[2]) / region.semi_axes_mm[2]) ** 2
        if scale <= 0:
            continue
        rx, ry = np.array(region.semi_axes_mm[:2]) * math.sqrt(scale)
        xs = region.centre_mm[0] + rx * np.cos(angles)
        ys = region.centre_mm[1] + ry * np.sin(angles)
        contours.append(np.column_stack([xs, ys, np.full(points, z)]))
    return contours
