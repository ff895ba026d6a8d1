"""Study → dose results: read DICOM, TIA, absorbed dose, structure statistics, BED.

One study is one or more SPECT time points (same grid and frame of reference),
masks (SEG or RTSTRUCT) and optionally a CT. :func:`run_study` writes
``rtdose.dcm`` (absorbed dose, Gy) and ``results.json``; :func:`run_batch` does
that for many study folders, reporting progress on stderr.

Scan times: a scan outside 0–168 h after injection is refused, one outside the
FLEX-MRT post-cycle window 24–72 h (Holzgreve 2025; MISSION.md "Injection time
for dosimetry") is warned about. A single-scan method (Hänscheid, prior half-life)
with the scan earlier than 48 h — the best single time for Lu-PSMA (Hou et al.,
2021) — is warned about, and every single-scan result reports how far the kidney
TIA could be under-estimated at that scan time if the true kidney T_eff lies in
:data:`STP_TEFF_RANGE_H` [assumed], with the kidney BED and the cycles that fit
under the protocol's cap at the point value and at that bound.

Kinetics per structure (:mod:`gpu_dose.regions`): a fitted T_eff (``fit``) is
``fitted``; one given for the patient (``--teff-h``, e.g. cycle 1's) is
``patient_prior``; otherwise the group's population value, ``population`` —
always flagged estimated. With ``fit``, each voxel takes its structure's fitted
clearance rate (voxels outside every structure: the rate fitted to their sum) and
its own amplitude by linear least squares (:func:`gpu_dose.tia.fit_with_rate`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from flexmrt.gpu_dose import dicom_io, tac, tia, uncertainty
from flexmrt.gpu_dose.backend import PRECISIONS, Array, Backend, get_backend
from flexmrt.gpu_dose.convolve import absorbed_dose, medium_density
from flexmrt.gpu_dose.errors import DoseError
from flexmrt.gpu_dose.grid import resample_slabs
from flexmrt.gpu_dose.kernel import KERNEL_DENSITY_G_ML
from flexmrt.gpu_dose.organs import Masks, organ_results, with_organs
from flexmrt.gpu_dose.regions import RegionModel, group_of, region_model
from flexmrt.gpu_dose.roles import role_of
from flexmrt.gpu_dose.structures import StructureResult, add_bed, structure_result

__all__ = [
    "SCAN_LIMITS_H",
    "SCAN_WINDOW_H",
    "STP_BEST_H",
    "STP_TEFF_RANGE_H",
    "TIA_METHODS",
    "DoseResult",
    "Settings",
    "compute_dose",
    "run_study",
]

_TIA: dict[str, _TiaMethod] = {}
#: The time-integrated activity methods, by name (the CLI's --method, DosimetryService's
#: TiaMethod): each takes the scans and returns the TIA map and the regional fits.
TIA_METHODS: Final[Mapping[str, _TiaMethod]] = MappingProxyType(_TIA)
#: Scans outside these hours after injection are refused (MISSION.md, settled).
SCAN_LIMITS_H = (0.0, 168.0)
#: FLEX-MRT post-cycle SPECT/CT window, h (Holzgreve 2025); outside it: a warning.
SCAN_WINDOW_H = (24.0, 72.0)
#: Best single scan time for Lu-PSMA kidney dosimetry, h (Hou et al. 2021).
STP_BEST_H = 48.0
#: True kidney T_eff range for the single-time-point error, h [assumed: spread of
#: per-patient kidney T_eff around the 35.5 h median; replace with the trial's own].
STP_TEFF_RANGE_H = (20.0, 60.0)
#: A value per structure name (fitted T_eff in h, or a fit's u_rel of the TIA).
Fits = dict[str, float]


#: A TIA method's answer: the TIA map (MBq·h per voxel), each structure's fitted T_eff (h),
#: its fit's u_rel of the TIA, and its time-activity model (empty unless fitting).
_TiaResult = tuple[Array, Fits, Fits, dict[str, tac.TacChoice]]
_TiaMethod = Callable[
    [ModuleType, Any, list[dicom_io.SpectImage], Masks, "Settings", frozenset[str]], _TiaResult
]


def _tia_method(name: str) -> Callable[[_TiaMethod], _TiaMethod]:
    """Register the decorated function as TIA method ``name``."""

    def register(method: _TiaMethod) -> _TiaMethod:
        _TIA[name] = method
        return method

    return register


@dataclass(frozen=True)
class Settings:
    """How to compute a study's dose. Build it from a protocol with
    :func:`gpu_dose.dose_settings.dose_settings` (the CLI and the gRPC service do)."""

    method: str = "prior-half-life"
    teff_h: dict[str, float] = field(default_factory=dict)  # patient-known, by name or group
    dose_method: str = "kernel"
    device: str | None = None
    dtype: str = "float32"
    regions: RegionModel = field(default_factory=region_model)
    injected_mbq: float | None = None
    injection_time: dt.datetime | None = None
    injection_source: str = "explicit injection time"
    calibration_bq_ml_per_count: float | None = None
    sensitivity_cps_per_mbq: float | None = None
    kidney_cap_gy: float | None = None
    notes: tuple[str, ...] = ()
    calibration_u_rel: float = uncertainty.CALIBRATION_U_REL
    marrow_voi_scaling: float = 1.0  # image-based marrow: marrow dose = lumbar VOI dose × this
    marrow_voi_scaling_source: str = "default [assumed]: marrow concentration = the VOI's"

    @property
    def alpha_beta_gy(self) -> float:
        """The kidney's α/β (Gy) — other groups have their own (``regions``)."""
        return self.regions.for_structure("kidney").alpha_beta_gy.value

    @property
    def repair_half_time_h(self) -> float:
        """The kidney's repair half-time (h)."""
        return self.regions.for_structure("kidney").repair_half_time_h.value

    @property
    def site_time_zone(self) -> str | None:
        tz = self.regions.site_time_zone
        return None if tz is None else str(tz.value)


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

    single_time_point: dict[str, Any] | None = None
    organs_at_risk: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        s = self.settings
        tz = s.regions.site_time_zone
        return {
            "spect": [
                {
                    "path": im.path,
                    "acquired": im.acquired.isoformat(),
                    "hours_post_injection": round(im.hours_post_injection, 4),
                    "injection_time_source": im.injection_source,
                    "time_zone": im.time_zone,
                }
                for im in self.spect
            ],
            "injected_mbq": self.scan.injected_mbq,
            "injected": self.scan.injected.isoformat(),
            "injection_time_source": self.scan.injection_source,
            "time_zone": self.scan.time_zone,
            "site_time_zone": None if tz is None else tz.to_dict(),
            "tia_method": s.method,
            "dose_method": s.dose_method,
            "backend": self.backend,
            "dtype": s.dtype,
            "alpha_beta_gy": s.alpha_beta_gy,
            "repair_half_time_h": s.repair_half_time_h,
            "regions": {g: p.to_dict() for g, p in s.regions.groups.items()},
            "single_time_point": self.single_time_point,
            "organs_at_risk": self.organs_at_risk,
            "notes": list(s.notes),
            "warnings": self.warnings,
            "structures": {k: v.to_dict() for k, v in self.structures.items()},
        }


def _teff_for(name: str, settings: Settings, fits: dict[str, float]) -> tuple[float, str]:
    """(T_eff h, source): the region's fit, a patient-known value (by structure name,
    organ-at-risk id or group), else the population value of its organ or group."""
    if name in fits:
        return fits[name], "fitted"
    group, organ = group_of(name), role_of(name).organ
    for key in (name, organ, group, group + "s"):
        if key in settings.teff_h:
            return float(settings.teff_h[key]), "patient_prior"
    return settings.regions.for_structure(name).population_teff_h.value, "population"


def _teff_map(masks: Masks, shape: tuple[int, int, int], settings: Settings) -> NDArray[np.float64]:
    teff = np.full(shape, settings.regions.for_structure("").population_teff_h.value)
    for name, mask in masks.items():
        teff[mask] = _teff_for(name, settings, {})[0]
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


def _tia_map(
    be: Backend,
    images: list[dicom_io.SpectImage],
    masks: Masks,
    settings: Settings,
    unions: frozenset[str] = frozenset(),
) -> tuple[Array, Fits, Fits, dict[str, tac.TacChoice]]:
    """TIA (MBq·h per voxel) on the backend; when fitting, each structure's fitted T_eff
    (h), fit u_rel of TIA and time-activity model."""
    xp, dtype = be.xp, getattr(be.xp, settings.dtype)
    return _TIA[settings.method](xp, dtype, images, masks, settings, unions)


@_tia_method("hanscheid")
def _tia_hanscheid(
    xp: ModuleType,
    dtype: Any,
    images: list[dicom_io.SpectImage],
    masks: Masks,
    settings: Settings,
    unions: frozenset[str],
) -> _TiaResult:
    im = _single_scan(images, settings)
    a = xp.asarray(im.activity_mbq(), dtype=dtype)
    return tia.hanscheid(a, im.hours_post_injection), {}, {}, {}


@_tia_method("prior-half-life")
def _tia_prior_half_life(
    xp: ModuleType,
    dtype: Any,
    images: list[dicom_io.SpectImage],
    masks: Masks,
    settings: Settings,
    unions: frozenset[str],
) -> _TiaResult:
    im = _single_scan(images, settings)
    a = xp.asarray(im.activity_mbq(), dtype=dtype)
    teff = xp.asarray(_teff_map(masks, im.geometry.shape, settings), dtype=dtype)
    return tia.prior_half_life(a, im.hours_post_injection, teff), {}, {}, {}


@_tia_method("fit")
def _tia_fit(
    xp: ModuleType,
    dtype: Any,
    images: list[dicom_io.SpectImage],
    masks: Masks,
    settings: Settings,
    unions: frozenset[str],
) -> _TiaResult:
    if len(images) < 2:
        raise DoseError(
            "too_few_time_points",
            "a fit needs two or more SPECT time points",
            path=images[0].path,
            tag="--spect",
            fix="give more --spect, or use --method hanscheid or prior-half-life",
        )
    times = [im.hours_post_injection for im in images]
    stack = np.stack([im.activity_mbq() for im in images])
    fits, lam, fit_u = _region_fits(times, stack, masks, unions)
    fit = tia.fit_with_rate(times, xp.asarray(stack, dtype=dtype), xp.asarray(lam, dtype=dtype))
    tacs = {
        name: tac.choose_model(times, stack[:, m].sum(axis=1), name) for name, m in masks.items()
    }
    return _apply_models(xp, fit.tia, masks, unions, tacs), fits, fit_u, tacs


def _single_scan(images: list[dicom_io.SpectImage], settings: Settings) -> dicom_io.SpectImage:
    if len(images) != 1:
        raise DoseError(
            "too_many_time_points",
            f"method {settings.method} takes one scan",
            path=images[1].path,
            tag="--spect",
            fix="use --method fit",
        )
    return images[0]


def _apply_models(
    xp: ModuleType,
    tia_map: Array,
    masks: Masks,
    unions: frozenset[str],
    tacs: dict[str, tac.TacChoice],
) -> Array:
    """Each structure's time-activity model by AICc (gpu_dose.tac); where it is not the
    mono-exponential the voxels keep their shape and take the model's regional TIA."""
    for name, mask in masks.items():
        choice = tacs[name]
        if name in unions or choice.chosen.model == "mono_exp":
            continue
        m = xp.asarray(mask)
        current = float(xp.sum(xp.where(m, tia_map, xp.zeros_like(tia_map))))
        if current > 0:
            factor = xp.asarray(choice.chosen.tia_mbq_h / current, dtype=tia_map.dtype)
            tia_map = xp.where(m, tia_map * factor, tia_map)
    return tia_map


def _region_fits(
    times: list[float],
    stack: NDArray[np.float64],
    masks: Masks,
    unions: frozenset[str] = frozenset(),
) -> tuple[Fits, NDArray[np.float64], Fits]:
    """Per-structure fitted T_eff, a λ map (each structure's λ, the rest's elsewhere) and
    each structure's fit u_rel of TIA (covariance of the log-linear fit)."""
    fits: Fits = {}
    fit_u: Fits = {}
    lam = np.zeros(stack.shape[1:])
    outside = ~np.logical_or.reduce(list(masks.values())) if masks else np.ones(lam.shape, bool)
    rest = tia.fit_mono_exponential(times, stack[:, outside].sum(axis=1))
    lam[:] = math.log(2) / float(rest.teff_h)
    for name, mask in masks.items():
        sums = stack[:, mask].sum(axis=1)
        fit = tia.fit_mono_exponential(times, sums)
        fits[name] = float(fit.teff_h)
        fit_u[name] = uncertainty.fit_u_rel(times, sums)
        if name not in unions:
            lam[mask] = math.log(2) / fits[name]  # a derived union's parts keep their own rates
    return fits, lam, fit_u


def _density(
    be: Backend, ct_path: str | Path | None, spect: dicom_io.SpectImage, dtype: str
) -> tuple[Array | None, Array | float]:
    """ρ_eff on the SPECT grid for the dose (None without a CT) and for the masses
    (the kernel medium's density without a CT)."""
    if ct_path is None:
        return None, float(KERNEL_DENSITY_G_ML["soft"])
    ct = dicom_io.open_ct(ct_path)  # read a slab at a time: the whole CT is never in memory
    if ct.geometry.frame_of_reference_uid != spect.geometry.frame_of_reference_uid:
        raise DoseError(
            "frame_of_reference_mismatch",
            "CT and SPECT frames of reference differ",
            path=ct.path,
            tag="FrameOfReferenceUID (0020,0052)",
            fix="use the CT acquired with this SPECT (same frame of reference)",
        )

    def read(start: int, stop: int) -> Any:
        return be.xp.asarray(ct.hu(start, stop), dtype=getattr(be.xp, dtype))

    hu_on_spect = resample_slabs(read, ct.geometry, spect.geometry, fill=-1000.0)
    rho = medium_density(hu_on_spect)
    return rho, rho


def _read_images(
    spect_paths: Iterable[str | Path], settings: Settings
) -> tuple[list[dicom_io.SpectImage], list[str]]:
    images = [
        dicom_io.read_spect(
            p,
            calibration_bq_ml_per_count=settings.calibration_bq_ml_per_count,
            sensitivity_cps_per_mbq=settings.sensitivity_cps_per_mbq,
            injection_time=settings.injection_time,
            injection_source=settings.injection_source,
            injected_mbq=settings.injected_mbq,
            site_time_zone=settings.site_time_zone,
        )
        for p in spect_paths
    ]
    images.sort(key=lambda im: im.hours_post_injection)
    warnings = [_scan_window(im) for im in images]
    _check_time_points(images)
    return images, [w for w in warnings if w]


def _scan_window(im: dicom_io.SpectImage) -> str:
    """Refuse a scan outside 0–168 h after injection; a warning outside 24–72 h."""
    hours, (low, high) = im.hours_post_injection, SCAN_LIMITS_H
    if not low < hours <= high:
        raise DoseError(
            "scan_outside_window",
            f"the scan is {hours:.2f} h after the injection ({im.injection_source}: "
            f"{im.injected.isoformat()}; acquired {im.acquired.isoformat()}), outside "
            f"{low:g}–{high:g} h",
            path=im.path,
            tag="AcquisitionDateTime (0008,002A) / " + im.injection_source,
            fix="check the injection and acquisition date, time and time zone",
        )
    if SCAN_WINDOW_H[0] <= hours <= SCAN_WINDOW_H[1]:
        return ""
    return (
        f"{im.path}: scan {hours:.1f} h after injection is outside the protocol's "
        f"{SCAN_WINDOW_H[0]:g}–{SCAN_WINDOW_H[1]:g} h window [scan_outside_protocol_window]"
    )


def compute_dose(
    spect_paths: Iterable[str | Path],
    masks_path: str | Path,
    ct_path: str | Path | None = None,
    settings: Settings | None = None,
) -> DoseResult:
    """Dose and BED per structure for one study (see :class:`Settings`)."""
    settings = settings or Settings()
    if settings.method not in TIA_METHODS:
        raise DoseError(
            "unknown_tia_method",
            f"TIA method {settings.method!r} is unknown",
            tag="--method",
            fix=f"use one of {', '.join(TIA_METHODS)}",
        )
    if settings.dtype not in PRECISIONS:
        raise DoseError(
            "unknown_precision",
            f"precision {settings.dtype!r} is unknown",
            tag="--precision",
            fix=f"use one of {', '.join(PRECISIONS)}",
        )
    be = get_backend(settings.device)
    images, warnings = _read_images([Path(p) for p in spect_paths], settings)
    geometry = images[0].geometry
    masks, unions = with_organs(dicom_io.read_masks(masks_path, geometry))
    tia_map, fits, fit_u, tacs = _tia_map(be, images, masks, settings, unions)
    density, rho = _density(be, ct_path, images[0], settings.dtype)
    dose = absorbed_dose(tia_map, geometry, method=settings.dose_method, density=density)
    structures = {
        name: _structure(be, name, mask, dose, tia_map, rho, images[0], settings, fits)
        for name, mask in masks.items()
    }
    for name, res in structures.items():
        res.uncertainty = _uncertainty(name, res, masks[name], images[0], settings, fit_u)
        res.tac = tacs[name].to_dict() if name in tacs else {}
    warnings += [w for im in images for w in im.warnings]
    stp = None
    if settings.method != "fit":
        stp, stp_warnings = _single_time_point(images[0], structures, settings)
        warnings += stp_warnings
    result = DoseResult(images, settings, be.name, structures, be.asnumpy(dose), warnings)
    result.single_time_point = stp
    result.organs_at_risk = organ_results(structures, settings)
    return result


def _structure(
    be: Backend,
    name: str,
    mask: NDArray[np.bool_],
    dose: Array,
    tia_map: Array,
    rho: Array | float,
    image: dicom_io.SpectImage,
    settings: Settings,
    fits: Fits,
) -> StructureResult:
    m = be.xp.asarray(mask)
    gbq = None if image.injected_mbq is None else image.injected_mbq / 1000.0
    voxel_ml = image.geometry.voxel_volume_ml
    res = structure_result(name, dose, tia_map, m, voxel_ml, rho, injected_gbq=gbq)
    params = settings.regions.for_structure(name)
    res.teff_h, res.teff_source = _teff_for(name, settings, fits)
    res.group = params.group
    role = role_of(name)
    res.role, res.organ = role.role, role.organ
    res.parameters = {
        "alpha_beta_gy": params.alpha_beta_gy.to_dict(),
        "repair_half_time_h": params.repair_half_time_h.to_dict(),
        "teff_h": {
            "value": res.teff_h,
            "source": res.teff_source,
            "estimated": res.teff_source == "population",
        },
    }
    ab, trep = params.alpha_beta_gy.value, params.repair_half_time_h.value
    return add_bed(res, dose, m, voxel_ml, rho, res.teff_h, ab, trep)


def _uncertainty(
    name: str,
    res: StructureResult,
    mask: NDArray[np.bool_],
    image: dicom_io.SpectImage,
    settings: Settings,
    fit_u: Fits,
) -> dict[str, Any]:
    """The mean dose's relative standard uncertainty by component (gpu_dose.uncertainty)."""
    if name in fit_u:
        time_u, basis = fit_u[name], "log-linear fit covariance"
    else:
        assert res.teff_h is not None and res.teff_source is not None  # set by _structure
        time_u, basis = uncertainty.single_time_point_u_rel(
            settings.method, image.hours_post_injection, res.teff_h, res.teff_source
        )
    volume_u = uncertainty.volume_u_rel(np.asarray(mask))
    u = uncertainty.DoseUncertainty(settings.calibration_u_rel, time_u, volume_u, basis)
    return u.to_dict()


def _kidney(structures: dict[str, StructureResult]) -> StructureResult | None:
    if "kidneys" in structures:
        return structures["kidneys"]
    found = [s for n, s in structures.items() if group_of(n) == "kidney"]
    return found[0] if len(found) == 1 else None


def _single_time_point(
    image: dicom_io.SpectImage, structures: dict[str, StructureResult], settings: Settings
) -> tuple[dict[str, Any], list[str]]:
    """How far a single scan at this time can under-estimate kidney TIA, and the cap margin."""
    hours, kidney = image.hours_post_injection, _kidney(structures)
    prior = kidney.teff_h if kidney is not None and kidney.teff_h else 35.5
    low, high = tia.single_time_point_ratio(settings.method, hours, prior, STP_TEFF_RANGE_H)
    under = max(high - 1.0, 0.0)
    out: dict[str, Any] = {
        "scan_h": round(hours, 3),
        "method": settings.method,
        "true_teff_range_h": list(STP_TEFF_RANGE_H),
        "prior_teff_h": None if settings.method == "hanscheid" else prior,
        "tia_ratio_range": [round(low, 4), round(high, 4)],
        "max_underestimate": round(under, 4),
        "source": "mono-exponential kinetics; true kidney T_eff range [assumed]; best single "
        "scan time ≈ 48 h (Hou 2021)",
    }
    if kidney is not None and kidney.teff_h:
        out["kidney"] = _cap_margin(kidney, under, settings.kidney_cap_gy)
    warnings = []
    if hours < STP_BEST_H:
        warnings.append(
            f"single scan at {hours:.1f} h (< {STP_BEST_H:g} h): the kidney TIA may be "
            f"under-estimated by up to {100 * under:.0f} % if the true T_eff is "
            f"{STP_TEFF_RANGE_H[0]:g}–{STP_TEFF_RANGE_H[1]:g} h; the best single time for "
            "Lu-PSMA is about 48 h (Hou 2021) [single_time_point_early]"
        )
    return out, warnings


def _cap_margin(kidney: StructureResult, under: float, cap_gy: float | None) -> dict[str, Any]:
    """This cycle's kidney BED at the point value and with the dose raised by ``under``."""
    point = kidney.bed_of(kidney.mean_gy)
    upper = kidney.bed_of(kidney.mean_gy * (1.0 + under))
    out: dict[str, Any] = {
        "mean_gy": round(kidney.mean_gy, 4),
        "bed_gy": round(point, 4),
        "bed_gy_if_underestimated": round(upper, 4),
        "cap_gy": cap_gy,
    }
    if cap_gy is not None and point > 0:
        out["cycles_within_cap"] = math.floor(cap_gy / point + 1e-9)
        out["cycles_within_cap_if_underestimated"] = math.floor(cap_gy / upper + 1e-9)
    return out


def run_study(
    spect_paths: Iterable[str | Path],
    masks_path: str | Path,
    out_dir: str | Path,
    ct_path: str | Path | None = None,
    settings: Settings | None = None,
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
