"""Study → dose results: read DICOM, TIA, absorbed dose, structure statistics, BED.

One study is one or more SPECT time points (same grid and frame of reference),
masks (SEG or RTSTRUCT) and optionally a CT. :func:`run_study` writes
``rtdose.dcm`` (absorbed dose, Gy) and ``results.json``; :func:`run_batch` does
that for many study folders, reporting progress on stderr.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gpu_dose import dicom_io, tia
from gpu_dose.backend import Backend, get_backend
from gpu_dose.convolve import absorbed_dose, density_from_hu
from gpu_dose.errors import DoseError
from gpu_dose.grid import resample
from gpu_dose.kernel import KERNEL_DENSITY_G_ML
from gpu_dose.structures import (
    DEFAULT_ALPHA_BETA_GY,
    DEFAULT_REPAIR_HALF_TIME_H,
    StructureResult,
    add_bed,
    structure_result,
)

__all__ = ["TIA_METHODS", "DoseResult", "Settings", "compute_dose", "run_study"]

TIA_METHODS = ("hanscheid", "prior-half-life", "fit")
#: Population kidney effective half-life, h (VISION dosimetry, MISSION.md) — used where
#: no T_eff is given for a region [assumed for non-kidney regions].
POPULATION_TEFF_H = 35.5


@dataclass(frozen=True)
class Settings:
    """How to compute a study's dose; defaults as in MISSION.md (α/β, T_rep assumed)."""

    method: str = "prior-half-life"
    teff_h: dict[str, float] = field(default_factory=dict)  # region name or kidney/tumour
    dose_method: str = "kernel"
    device: str | None = None
    dtype: str = "float32"
    alpha_beta_gy: float = DEFAULT_ALPHA_BETA_GY
    repair_half_time_h: float = DEFAULT_REPAIR_HALF_TIME_H
    injected_mbq: float | None = None
    injection_time: dt.datetime | None = None
    calibration_bq_ml_per_count: float | None = None
    notes: tuple[str, ...] = ()


@dataclass
class DoseResult:
    """Per-structure results of one study, with the dose map for RT Dose output."""

    spect: list[dicom_io.SpectImage]
    settings: Settings
    backend: str
    structures: dict[str, StructureResult]
    dose_gy: np.ndarray
    warnings: list[str] = field(default_factory=list)

    @property
    def scan(self) -> dicom_io.SpectImage:
        """The first time point (the scan the record entry reports)."""
        return self.spect[0]

    def to_dict(self) -> dict[str, Any]:
        s = self.settings
        return {
            "spect": [
                {
                    "path": im.path,
                    "acquired": im.acquired.isoformat(),
                    "hours_post_injection": round(im.hours_post_injection, 4),
                }
                for im in self.spect
            ],
            "injected_mbq": self.scan.injected_mbq,
            "injected": self.scan.injected.isoformat(),
            "tia_method": s.method,
            "dose_method": s.dose_method,
            "backend": self.backend,
            "dtype": s.dtype,
            "alpha_beta_gy": s.alpha_beta_gy,
            "repair_half_time_h": s.repair_half_time_h,
            "notes": list(s.notes),
            "warnings": self.warnings,
            "structures": {k: v.to_dict() for k, v in self.structures.items()},
        }


def _teff_for(name: str, settings: Settings) -> tuple[float, str]:
    """T_eff (h) for a structure: by exact name, then kidney/tumour group, else population."""
    group = "kidney" if "kidney" in name else "tumour" if _is_tumour(name) else ""
    for key in (name, group, group + "s"):
        if key and key in settings.teff_h:
            return float(settings.teff_h[key]), "given"
    return POPULATION_TEFF_H, "population default"


def _is_tumour(name: str) -> bool:
    return any(word in name.lower() for word in ("tumour", "tumor", "lesion"))


def _teff_map(masks: dict[str, np.ndarray], shape, settings: Settings) -> np.ndarray:
    teff = np.full(shape, POPULATION_TEFF_H)
    for name, mask in masks.items():
        teff[mask] = _teff_for(name, settings)[0]
    return teff


def _check_time_points(images: list[dicom_io.SpectImage]) -> None:
    first = images[0]
    for im in images[1:]:
        same = im.geometry.shape == first.geometry.shape and np.allclose(
            im.geometry.affine, first.geometry.affine, atol=1e-3
        )
        if not same or im.geometry.frame_of_reference_uid != first.geometry.frame_of_reference_uid:
            raise DoseError(
                "time_points_not_registered",
                "time points differ in grid or frame of reference",
                path=im.path,
                tag="FrameOfReferenceUID (0020,0052)/ImagePositionPatient",
                fix="register and resample all time points onto one grid",
            )


def _tia_map(be: Backend, images, masks, settings: Settings):
    """TIA (MBq·h per voxel) on the backend, and the regional fits when fitting."""
    xp, dtype = be.xp, settings.dtype
    if settings.method == "fit":
        if len(images) < 2:
            raise DoseError(
                "too_few_time_points",
                "a fit needs two or more SPECT time points",
                path=images[0].path,
                tag="--spect",
                fix="give more --spect, or use --method hanscheid or prior-half-life",
            )
        times = [im.hours_post_injection for im in images]
        stack = xp.asarray(np.stack([im.activity_mbq() for im in images]), dtype=dtype)
        return tia.fit_mono_exponential(times, stack).tia, _region_fits(images, masks)
    if len(images) != 1:
        raise DoseError(
            "too_many_time_points",
            f"method {settings.method} takes one scan",
            path=images[1].path,
            tag="--spect",
            fix="use --method fit",
        )
    im = images[0]
    a = xp.asarray(im.activity_mbq(), dtype=dtype)
    if settings.method == "hanscheid":
        return tia.hanscheid(a, im.hours_post_injection), {}
    teff = xp.asarray(_teff_map(masks, a.shape, settings), dtype=dtype)
    return tia.prior_half_life(a, im.hours_post_injection, teff), {}


def _region_fits(images, masks) -> dict[str, float]:
    times = [im.hours_post_injection for im in images]
    fits = {}
    for name, mask in masks.items():
        activity = np.array([im.activity_mbq()[mask].sum() for im in images])
        fits[name] = float(tia.fit_mono_exponential(times, activity).teff_h)
    return fits


def _density(be: Backend, ct_path, spect: dicom_io.SpectImage, dtype: str):
    if ct_path is None:
        return None, float(KERNEL_DENSITY_G_ML["soft"])
    ct = dicom_io.read_ct(ct_path)
    if ct.geometry.frame_of_reference_uid != spect.geometry.frame_of_reference_uid:
        raise DoseError(
            "frame_of_reference_mismatch",
            "CT and SPECT frames of reference differ",
            path=ct.path,
            tag="FrameOfReferenceUID (0020,0052)",
            fix="use the CT acquired with this SPECT (same frame of reference)",
        )
    hu = be.xp.asarray(ct.hu, dtype=dtype)
    hu_on_spect = resample(hu, ct.geometry, spect.geometry, order=1, fill=-1000.0)
    rho = density_from_hu(hu_on_spect)
    return rho, rho


def _read_images(spect_paths, settings: Settings) -> list[dicom_io.SpectImage]:
    images = [
        dicom_io.read_spect(
            p,
            calibration_bq_ml_per_count=settings.calibration_bq_ml_per_count,
            injection_time=settings.injection_time,
            injected_mbq=settings.injected_mbq,
        )
        for p in spect_paths
    ]
    images.sort(key=lambda im: im.hours_post_injection)
    for im in images:
        if im.hours_post_injection <= 0:
            raise DoseError(
                "scan_before_injection",
                "acquisition is not after the injection",
                path=im.path,
                tag="AcquisitionDateTime (0008,002A)",
                fix="check the acquisition and injection date/time",
            )
    _check_time_points(images)
    return images


def _with_kidneys(masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    kidneys = [m for n, m in masks.items() if "kidney" in n.lower()]
    if len(kidneys) > 1 and "kidneys" not in masks:
        masks = {**masks, "kidneys": np.logical_or.reduce(kidneys)}
    return masks


def compute_dose(
    spect_paths, masks_path, ct_path=None, settings: Settings | None = None
) -> DoseResult:
    """Dose and BED per structure for one study (see :class:`Settings`)."""
    settings = settings or Settings()
    if settings.method not in TIA_METHODS:
        raise DoseError(
            "unknown_tia_method",
            f"TIA method {settings.method!r} is unknown",
            tag="--method",
            fix=f"use one of {TIA_METHODS}",
        )
    be = get_backend(settings.device)
    images = _read_images([Path(p) for p in spect_paths], settings)
    geometry = images[0].geometry
    masks = _with_kidneys(dicom_io.read_masks(masks_path, geometry))
    tia_map, fits = _tia_map(be, images, masks, settings)
    density, rho = _density(be, ct_path, images[0], settings.dtype)
    dose = absorbed_dose(tia_map, geometry, method=settings.dose_method, density=density)
    structures = {
        name: _structure(be, name, mask, dose, tia_map, rho, images[0], settings, fits)
        for name, mask in masks.items()
    }
    warnings = [w for im in images for w in im.warnings]
    return DoseResult(images, settings, be.name, structures, be.asnumpy(dose), warnings)


def _structure(be, name, mask, dose, tia_map, rho, image, settings, fits) -> StructureResult:
    m = be.xp.asarray(mask)
    gbq = None if image.injected_mbq is None else image.injected_mbq / 1000.0
    res = structure_result(
        name, dose, tia_map, m, image.geometry.voxel_volume_ml, rho, injected_gbq=gbq
    )
    teff = _structure_teff(name, settings, fits)
    res.teff_h = teff
    return add_bed(
        res,
        dose,
        m,
        image.geometry.voxel_volume_ml,
        rho,
        teff,
        settings.alpha_beta_gy,
        settings.repair_half_time_h,
    )


def _structure_teff(name: str, settings: Settings, fits: dict[str, float]) -> float:
    """T_eff for BED: the region's fit, else the given/population value."""
    if name in fits:
        return fits[name]
    return _teff_for(name, settings)[0]


def run_study(
    spect_paths, masks_path, out_dir, ct_path=None, settings: Settings | None = None
) -> tuple[DoseResult, dict[str, Path]]:
    """Compute one study and write ``rtdose.dcm`` and ``results.json`` under ``out_dir``."""
    result = compute_dose(spect_paths, masks_path, ct_path, settings)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rtdose = dicom_io.write_rt_dose(
        out / "rtdose.dcm",
        result.dose_gy,
        result.scan.geometry,
        result.scan,
        comment="flexmrt gpu_dose absorbed dose",
    )
    payload = {**result.to_dict(), "rtdose": str(rtdose)}
    results = out / "results.json"
    results.write_text(json.dumps(payload, indent=2, default=_json_default) + "\n")
    return result, {"rtdose": rtdose, "results": results}


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)
