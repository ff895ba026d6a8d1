"""DosimetryService: DICOM streamed in → per-structure dose and BED (and RT Dose) back.

The files land in a private temporary folder laid out as the ``flexmrt dose``
command expects (``spect/<series>/``, ``masks/``, ``ct/``), gpu_dose computes the
study, and the folder is removed. Paths in errors name the uploaded files, never
the server's folders.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import grpc

from flexmrt.gpu_dose import DoseError, DoseResult, Settings, compute_dose
from flexmrt.gpu_dose.convolve import METHODS as DOSE_METHODS
from flexmrt.gpu_dose.dicom_io import write_rt_dose
from flexmrt.gpu_dose.dose_settings import dose_settings
from flexmrt.gpu_dose.pipeline import TIA_METHODS
from flexmrt.gpu_dose.structures import StructureResult
from flexmrt.protocol import Registry
from flexmrt.server._gen.flexmrt.v1 import dosimetry_pb2 as _pb
from flexmrt.server._gen.flexmrt.v1 import dosimetry_pb2_grpc as _grpc
from flexmrt.server.servicers.protocols import _ref
from flexmrt.server.status import RequestError

__all__ = ["DosimetryServicer"]

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_ROLES = {_pb.FILE_ROLE_SPECT: "spect", _pb.FILE_ROLE_MASKS: "masks", _pb.FILE_ROLE_CT: "ct"}


def _wire_names(enum: Any, prefix: str, names: Iterable[str], default: str) -> dict[int, str]:
    """Proto enum value → the gpu_dose registry's name: ``TIA_METHOD_PRIOR_HALF_LIFE`` is
    ``prior-half-life``; ``…_UNSPECIFIED`` is ``default``."""
    wire = {enum.Value(f"{prefix}_UNSPECIFIED"): default}
    for name in names:
        key = f"{prefix}_{name.upper().replace('-', '_')}"
        if key in enum.DESCRIPTOR.values_by_name:
            wire[enum.Value(key)] = name
    return wire


_TIA = _wire_names(_pb.TiaMethod, "TIA_METHOD", TIA_METHODS, Settings.method)
_DOSE = _wire_names(_pb.DoseMethod, "DOSE_METHOD", DOSE_METHODS, Settings.dose_method)
_MAX_UPLOAD_BYTES = 4 * 1024**3


class DosimetryServicer(_grpc.DosimetryServiceServicer):
    def __init__(self, registry: Registry, max_jobs: int = 1) -> None:
        self._registry = registry
        self._jobs = threading.BoundedSemaphore(max_jobs)

    def ComputeDose(
        self, request_iterator: Iterator[_pb.ComputeDoseRequest], context: grpc.ServicerContext
    ) -> _pb.ComputeDoseResponse:
        with tempfile.TemporaryDirectory(prefix="flexmrt-dose-") as tmp:
            root = Path(tmp)
            settings = _receive(request_iterator, root)
            study = _study(root)
            with self._jobs:
                try:
                    result = compute_dose(
                        study["spect"], study["masks"], study.get("ct"), self._settings(settings)
                    )
                    rt_dose = _rt_dose(result, root) if settings.return_rt_dose else b""
                except DoseError as error:
                    raise _named(error, root) from None
            return _response(result, root, rt_dose)

    def _settings(self, s: _pb.DoseSettings) -> Settings:
        """Through the one protocol → dose-settings function, as the CLI does."""
        teff = {str(k): float(v) for k, v in s.teff_h.items()}
        if any(v <= 0 for v in teff.values()):
            raise RequestError.invalid("settings.teff_h", "effective half-lives must be > 0 h")
        protocol = None
        if s.protocol_ref:
            protocol = self._registry.resolve(_ref(s.protocol_ref, "settings.protocol_ref"))
        optional = {
            "injected_mbq": s.injected_gbq * 1000.0 if s.HasField("injected_gbq") else None,
            "calibration_bq_ml_per_count": s.calibration_bq_ml_per_count
            if s.HasField("calibration_bq_ml_per_count")
            else None,
            "sensitivity_cps_per_mbq": s.sensitivity_cps_per_mbq
            if s.HasField("sensitivity_cps_per_mbq")
            else None,
        }
        try:
            return dose_settings(
                protocol,
                site_time_zone=s.site_time_zone or None,
                method=_method(_TIA, s.tia_method, "settings.tia_method", _pb.TiaMethod),
                teff_h=teff,
                dose_method=_method(_DOSE, s.dose_method, "settings.dose_method", _pb.DoseMethod),
                dtype="float64" if s.float64 else "float32",
                injection_time=_injection_time(s.injection_time),
                injection_source="settings.injection_time",
                **optional,
            )
        except DoseError as error:
            raise RequestError.invalid(
                "settings.site_time_zone", str(error), reason=error.code
            ) from None


def _method(wire: dict[int, str], value: int, field: str, enum: Any) -> str:
    """The method a request names; a value this server does not know is INVALID_ARGUMENT."""
    if value not in wire:
        known = ", ".join(enum.Name(v) for v in wire)
        raise RequestError.invalid(field, f"unknown value {value}: use one of {known}")
    return wire[value]


def _receive(requests: Iterator[_pb.ComputeDoseRequest], root: Path) -> _pb.DoseSettings:
    """Write the streamed chunks under ``root``; return the settings message."""
    settings: _pb.DoseSettings | None = None
    total = 0
    for request in requests:
        part = request.WhichOneof("part")
        if part == "settings":
            if settings is not None:
                raise RequestError.invalid("settings", "settings may be sent only once")
            settings = request.settings
            _check_settings(settings)
            continue
        if settings is None:
            raise RequestError.invalid("settings", "the first message must carry the settings")
        if part != "chunk":
            raise RequestError.invalid("part", "each message carries settings or a chunk")
        total += len(request.chunk.data)
        if total > _MAX_UPLOAD_BYTES:
            raise RequestError.invalid("chunk", "the study is larger than 4 GiB")
        with _target(request.chunk, root).open("ab") as out:
            out.write(request.chunk.data)
    if settings is None:
        raise RequestError.invalid("settings", "no settings received")
    return settings


# Physical bounds of the numbers a client sets (see protocol.units.RANGES).
_MAX_TEFF_H = 10_000.0  # effective half-life, h (177Lu decays with 159.5 h)
_MAX_INJECTED_GBQ = 100.0


def _check_settings(s: _pb.DoseSettings) -> None:
    """Refuse settings no dose can come from, naming the field, before any upload is kept."""
    if s.tia_method not in _TIA:
        raise RequestError.invalid("settings.tia_method", "unknown TIA method")
    if s.dose_method not in _DOSE:
        raise RequestError.invalid("settings.dose_method", "unknown dose method")
    for name, value in s.teff_h.items():
        if not (0 < len(name) <= 128 and name.isprintable()):
            raise RequestError.invalid(
                "settings.teff_h", "structure names are 1–128 printable characters"
            )
        _positive(f"settings.teff_h[{name}]", value, _MAX_TEFF_H, "h")
    if s.HasField("injected_gbq"):
        _positive("settings.injected_gbq", s.injected_gbq, _MAX_INJECTED_GBQ, "GBq")
    if s.HasField("calibration_bq_ml_per_count"):
        _positive("settings.calibration_bq_ml_per_count", s.calibration_bq_ml_per_count, 1e12, "")


def _positive(field: str, value: float, high: float, unit: str) -> None:
    if not (math.isfinite(value) and 0 < value <= high):
        raise RequestError.invalid(
            field, f"{field} must be a number above 0 and at most {high:g} {unit}".rstrip()
        )


def _target(chunk: _pb.FileChunk, root: Path) -> Path:
    role = _ROLES.get(chunk.role)
    if role is None:
        raise RequestError.invalid("chunk.role", "role must be SPECT, MASKS or CT")
    series = chunk.series or "1"
    for field, text in (("chunk.series", series), ("chunk.name", chunk.name)):
        if not _NAME.match(text):
            raise RequestError.invalid(
                field, f"{field} {text!r} must be 1–128 letters, digits, '.', '_' or '-'"
            )
    folder = root / role / series if role == "spect" else root / role
    folder.mkdir(parents=True, exist_ok=True)
    return folder / chunk.name


def _study(root: Path) -> dict[str, Any]:
    spect = sorted(p for p in (root / "spect").glob("*") if p.is_dir())
    if not spect:
        raise RequestError.invalid("chunk.role", "no SPECT file received")
    if not (root / "masks").is_dir():
        raise RequestError.invalid("chunk.role", "no masks (SEG or RTSTRUCT) received")
    study: dict[str, Any] = {"spect": spect, "masks": root / "masks"}
    if (root / "ct").is_dir():
        study["ct"] = root / "ct"
    return study


def _injection_time(text: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise RequestError.invalid(
            "settings.injection_time", f"{shown!r} is not an RFC 3339 date-time"
        ) from None
    if when.tzinfo is None:
        raise RequestError.invalid("settings.injection_time", "needs a UTC offset")
    return when


def _rt_dose(result: DoseResult, root: Path) -> bytes:
    path = write_rt_dose(
        root / "rtdose.dcm",
        result.dose_gy,
        result.scan.geometry,
        result.scan,
        comment="flexmrt gpu_dose absorbed dose",
    )
    return Path(path).read_bytes()


def _named(error: DoseError, root: Path) -> RequestError:
    """The error with upload-relative paths instead of the server's temporary folder."""
    prefix = f"{root}/"
    path = error.path.replace(prefix, "")
    field = ": ".join(part for part in (path, error.tag) if part) or "chunk"
    return RequestError.invalid(field, str(error).replace(prefix, ""), reason=error.code)


def _relative(path: str, root: Path) -> str:
    return path.replace(f"{root}/", "")


def _response(result: DoseResult, root: Path, rt_dose: bytes) -> _pb.ComputeDoseResponse:
    scan = result.scan
    structures = [_structure(s) for _, s in sorted(result.structures.items())]
    spect = [
        _pb.TimePoint(
            series=Path(_relative(im.path, root)).parts[1]
            if len(Path(_relative(im.path, root)).parts) > 1
            else im.path,
            acquired=im.acquired.isoformat(),
            hours_post_injection=im.hours_post_injection,
        )
        for im in result.spect
    ]
    extra = [] if result.single_time_point is None else [_stp_note(result.single_time_point)]
    return _pb.ComputeDoseResponse(
        structures=structures,
        spect=spect,
        injected_gbq=(scan.injected_mbq or 0.0) / 1000.0,
        injected=scan.injected.isoformat(),
        backend=result.backend,
        alpha_beta_gy=result.settings.alpha_beta_gy,
        repair_half_time_h=result.settings.repair_half_time_h,
        notes=[*result.settings.notes, *extra],
        warnings=[_relative(w, root) for w in result.warnings],
        rt_dose_dicom=rt_dose,
        injection_time_source=scan.injection_source,
        time_zone=scan.time_zone,
    )


def _stp_note(stp: dict[str, Any]) -> str:
    """The single-time-point error and kidney cap margin as one line (results.json has all)."""
    text = (
        f"single time point at {stp['scan_h']:g} h ({stp['method']}): kidney TIA may be "
        f"under-estimated by up to {100 * stp['max_underestimate']:.0f} % (true T_eff "
        f"{stp['true_teff_range_h'][0]:g}–{stp['true_teff_range_h'][1]:g} h)"
    )
    kidney = stp.get("kidney")
    if kidney:
        text += (
            f"; kidney BED this cycle {kidney['bed_gy']:.3f} Gy, "
            f"{kidney['bed_gy_if_underestimated']:.3f} Gy at that bound"
        )
        if "cycles_within_cap" in kidney:
            text += (
                f"; cycles within the {kidney['cap_gy']:g} Gy cap: "
                f"{kidney['cycles_within_cap']} ({kidney['cycles_within_cap_if_underestimated']} "
                "at that bound)"
            )
    return text


def _structure(s: StructureResult) -> _pb.StructureDose:
    out = _pb.StructureDose(
        name=s.name,
        voxels=s.voxels,
        volume_ml=s.volume_ml,
        mass_g=s.mass_g,
        mean_gy=s.mean_gy,
        max_gy=s.max_gy,
        d2_gy=s.d2_gy,
        d50_gy=s.d50_gy,
        d98_gy=s.d98_gy,
        tia_mbq_h=s.tia_mbq_h,
        dvh=_pb.DoseVolumeHistogram(
            dose_gy=s.dvh.get("dose_gy", []), fraction=s.dvh.get("fraction", [])
        ),
        teff_source=s.teff_source or "",
        group=s.group,
    )
    for name in (
        "gy_per_gbq",
        "teff_h",
        "mean_bed_gy",
        "eubed_gy",
        "alpha_beta_gy",
        "repair_half_time_h",
    ):
        value = getattr(s, name)
        if value is not None:
            setattr(out, name, float(value))
    return out
