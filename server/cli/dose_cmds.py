"""`flexmrt dose` and `flexmrt dose-batch`: voxel dosimetry from quantitative SPECT/CT.

Exit codes: 0 done, 1 invalid input (a gpu_dose.DoseError, reported with its
code, file, tag and fix), 2 usage.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    from flexmrt.gpu_dose.pipeline import Settings

__all__ = ["register"]


class _Registered(Sequence[str]):
    """The names a gpu_dose registry holds, as argparse ``choices``: read on first use (a
    dose command, its help, a misspelt value), so that building the parser for every other
    command does not import gpu_dose and its NumPy, SciPy and pydicom. An option with these
    choices needs a ``metavar`` (argparse reads the choices for a usage line otherwise)."""

    def __init__(self, names: Callable[[], Iterable[str]]) -> None:
        self._read = names
        self._names: tuple[str, ...] | None = None

    def _all(self) -> tuple[str, ...]:
        if self._names is None:
            self._names = tuple(self._read())
        return self._names

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())


def _tia_methods() -> Iterable[str]:
    from flexmrt.gpu_dose.pipeline import TIA_METHODS

    return TIA_METHODS


def _dose_methods() -> Iterable[str]:
    from flexmrt.gpu_dose.convolve import METHODS

    return METHODS


def _precisions() -> Iterable[str]:
    from flexmrt.gpu_dose.backend import PRECISIONS

    return PRECISIONS


def _devices() -> Iterable[str]:
    from flexmrt.gpu_dose.backend import DEVICES

    return DEVICES


def register(sub: Any) -> None:
    p = sub.add_parser("dose", help="kidney and tumour dose and BED from quantitative SPECT/CT")
    p.add_argument(
        "--spect",
        action="append",
        required=True,
        metavar="PATH",
        help="SPECT time point (NM multi-frame file or slice folder); repeat for more",
    )
    p.add_argument("--masks", required=True, metavar="PATH", help="DICOM SEG or RTSTRUCT")
    p.add_argument("--ct", metavar="PATH", help="CT series for density correction and mass")
    _common(p)
    p.add_argument("--injected-gbq", type=float, metavar="X", help="overrides the DICOM header")
    p.add_argument(
        "--injection-time",
        metavar="ISO8601",
        help="injection date-time with offset, e.g. 2024-03-04T09:30:00-08:00 "
        "(default: RadiopharmaceuticalStartDateTime (0018,1078))",
    )
    p.add_argument(
        "--record",
        metavar="PATH",
        help="patient record: the injection is its administration of --cycle (with a time)",
    )
    p.add_argument(
        "--calibration",
        type=float,
        metavar="BQML_PER_COUNT",
        help="calibration factor for SPECT stored in counts (Bq/mL per count)",
    )
    p.add_argument(
        "--sensitivity",
        type=float,
        metavar="CPS_PER_MBQ",
        help="camera sensitivity for SPECT in counts (cps/MBq; time from the DICOM)",
    )
    p.add_argument("--cycle", type=int, metavar="N", help="also print the record's spect_ct entry")
    p.add_argument(
        "--write-record",
        metavar="PATH",
        help="write --record with this cycle's spect_ct entry added (or replaced) to PATH "
        "(YAML for .yaml/.yml, else JSON)",
    )
    p.set_defaults(func=_dose)

    p = sub.add_parser("dose-batch", help="run `dose` over every study folder under ROOT")
    p.add_argument(
        "root",
        metavar="ROOT",
        help="folder of studies, each with spect*/, masks/ and optionally ct/",
    )
    p.add_argument("--no-ct", action="store_true", help="ignore ct/ folders")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a running Dask distributed scheduler, e.g. tcp://10.0.0.5:8786 "
        "(default: a local Dask cluster in this process)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="workers of the local Dask cluster (default 1; ignored with --scheduler)",
    )
    _common(p)
    p.set_defaults(func=_batch)

    p = sub.add_parser("phantom", help="write a DICOM phantom study (SPECT, CT, SEG) to try `dose`")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write the study into")
    p.add_argument(
        "--times-h",
        default="24",
        metavar="H[,H…]",
        help="SPECT time points in hours after injection (default 24)",
    )
    p.add_argument("--shape", default="40,40,48", metavar="X,Y,Z", help="SPECT grid (voxels)")
    p.add_argument(
        "--organs-at-risk",
        action="store_true",
        help="also parotid, submandibular and lacrimal glands, a lumbar VOI (marrow), liver",
    )
    p.add_argument(
        "--injection-time",
        metavar="ISO8601",
        help="injection date-time with offset (default 2024-03-04T09:30:00+01:00)",
    )
    p.add_argument(
        "--activity-scale",
        type=float,
        default=1.0,
        metavar="X",
        help="multiply every region's activity (another cycle's uptake; default 1)",
    )
    p.set_defaults(func=_phantom)


def _phantom(args: Any) -> int:
    from flexmrt.gpu_dose.phantom import make_phantom

    try:
        times = tuple(float(t) for t in args.times_h.split(","))
        shape = tuple(int(n) for n in args.shape.split(","))
    except ValueError:
        print("usage error: --times-h and --shape take comma-separated numbers", file=sys.stderr)
        return 2
    if len(shape) != 3 or min(shape) < 16 or min(times) <= 0:
        print("usage error: --shape needs three sizes ≥ 16; --times-h positive", file=sys.stderr)
        return 2
    try:
        injection = _injection_time(args.injection_time)
    except _Usage as err:
        print(f"usage error: {err}", file=sys.stderr)
        return 2
    if args.activity_scale <= 0:
        print("usage error: --activity-scale must be positive", file=sys.stderr)
        return 2
    phantom = make_phantom(
        args.out,
        times_h=times,
        shape=shape,
        organs_at_risk=args.organs_at_risk,
        injection=injection,
        activity_scale=args.activity_scale,
    )
    spect = " ".join(f"--spect {p}" for p in phantom.spect)
    print(f"wrote phantom study to {phantom.root}")
    for name, truth in phantom.truth.items():
        print(
            f"  {name}: {truth['volume_ml']:.1f} mL, T_eff {truth['teff_h']:g} h, "
            f"local-deposition dose {truth['local_dose_gy']:.3f} Gy"
        )
    print(
        f"try: flexmrt dose {spect} --masks {phantom.masks} --ct {phantom.ct} "
        f"--protocol flex-mrt --cycle 1 --out {phantom.root}/dose"
    )
    return 0


def _common(p: Any) -> None:
    p.add_argument("--out", required=True, metavar="DIR", help="where RT Dose and JSON go")
    p.add_argument(
        "--protocol",
        metavar="REF",
        help="take per-region α/β, repair half-time and population T_eff, the site time "
        "zone and the kidney cap from this protocol (e.g. flex-mrt)",
    )
    p.add_argument(
        "--site-time-zone",
        metavar="IANA",
        help="time zone of DICOM times without TimezoneOffsetFromUTC (e.g. America/Los_Angeles)",
    )
    p.add_argument(
        "--method",
        choices=_Registered(_tia_methods),
        default="prior-half-life",
        metavar="METHOD",
        help="time-integrated activity method: %(choices)s (default %(default)s)",
    )
    p.add_argument(
        "--teff-h",
        action="append",
        default=[],
        metavar="REGION=HOURS",
        help="effective half-life for a structure name, or kidney / tumour",
    )
    p.add_argument(
        "--dose-method",
        choices=_Registered(_dose_methods),
        default="kernel",
        metavar="METHOD",
        help="absorbed-dose method: %(choices)s (default %(default)s)",
    )
    p.add_argument(
        "--precision",
        choices=_Registered(_precisions),
        default="float32",
        metavar="DTYPE",
        help="floating-point type of the dose maps: %(choices)s (default %(default)s)",
    )
    p.add_argument(
        "--device",
        choices=_Registered(_devices),
        default=None,
        metavar="DEVICE",
        help="array backend: %(choices)s (default $FLEXMRT_DEVICE or auto)",
    )
    p.add_argument("--json", action="store_true", help="print results as JSON")


class _Usage(Exception):
    """A malformed option value (exit code 2)."""


def _teff(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        name, _, hours = item.partition("=")
        try:
            out[name.strip()] = float(hours)
        except ValueError:
            raise _Usage(f"--teff-h expects REGION=HOURS, got {item!r}") from None
        if not name.strip() or out[name.strip()] <= 0:
            raise _Usage(f"--teff-h expects a name and positive hours, got {item!r}")
    return out


def _settings(args: Any, **extra: Any) -> Settings:
    """Settings through the one protocol → dose-settings function (gpu_dose.dose_settings)."""
    from flexmrt.gpu_dose.dose_settings import dose_settings

    protocol = None
    if args.protocol:
        from flexmrt.protocol import resolve

        protocol = resolve(args.protocol)
    return dose_settings(
        protocol,
        site_time_zone=args.site_time_zone,
        method=args.method,
        teff_h=_teff(args.teff_h),
        dose_method=args.dose_method,
        device=args.device,
        dtype=args.precision,
        **extra,
    )


def _injection(args: Any) -> dict[str, Any]:
    """Injection time and its source: --injection-time, or --record's administration."""
    when = _injection_time(args.injection_time)
    if args.record is None:
        return {"injection_time": when, "injection_source": "--injection-time"}
    if when is not None:
        raise _Usage("give --injection-time or --record, not both")
    if args.cycle is None:
        raise _Usage("--record needs --cycle (whose administration is the injection)")
    from flexmrt.gpu_dose.record import injection_from_record
    from flexmrt.server.cli.engine_cmds import read_record

    when, source = injection_from_record(read_record(args.record), args.cycle)
    return {"injection_time": when, "injection_source": source}


def _injection_time(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _Usage(f"--injection-time is not ISO 8601: {text!r}") from None
    if when.tzinfo is None:
        raise _Usage("--injection-time needs a UTC offset, e.g. +01:00")
    return when


def _guarded(run: Callable[[Any], int], args: Any) -> int:
    from flexmrt.gpu_dose.errors import DoseError

    try:
        return run(args)
    except _Usage as err:
        print(f"usage error: {err}", file=sys.stderr)
        return 2
    except DoseError as err:
        if args.json:
            print(json.dumps({"error": err.to_dict()}, indent=2))
        print(f"error: {err}", file=sys.stderr)
        return 1
    except Exception as err:  # protocol/record errors (ValueError subclasses)
        if isinstance(err, ValueError):
            print(f"error: {err}", file=sys.stderr)
            return 1
        raise


def _dose(args: Any) -> int:
    return _guarded(_run_dose, args)


def _run_dose(args: Any) -> int:
    from flexmrt.gpu_dose.pipeline import run_study
    from flexmrt.gpu_dose.record import to_record_entry

    settings = _settings(
        args,
        injected_mbq=None if args.injected_gbq is None else args.injected_gbq * 1000,
        calibration_bq_ml_per_count=args.calibration,
        sensitivity_cps_per_mbq=args.sensitivity,
        **_injection(args),
    )
    settings = _with_patient_kinetics(args, settings)
    result, files = run_study(args.spect, args.masks, args.out, args.ct, settings)
    payload = {**result.to_dict(), "rtdose": str(files["rtdose"]), "results": str(files["results"])}
    if args.write_record and (args.record is None or args.cycle is None):
        raise _Usage("--write-record needs --record and --cycle")
    if args.cycle is not None:
        payload["record_entry"] = to_record_entry(result, args.cycle)
    if args.write_record:
        payload["record_written"] = _write_record(
            args.record, args.write_record, payload["record_entry"]
        )
    if args.json:
        print(json.dumps(payload, indent=2, sort_keys=True, default=str))
    else:
        _print_table(payload)
    return 0


def _with_patient_kinetics(args: Any, settings: Any) -> Any:
    """With --record and --cycle and a single-scan method: the patient's own fitted T_eff
    (an earlier cycle's) for every organ --teff-h does not name, flagged patient_prior."""
    if args.record is None or args.cycle is None or args.method == "fit":
        return settings
    from dataclasses import replace

    from flexmrt.gpu_dose.record import patient_kinetics
    from flexmrt.server.cli.engine_cmds import read_record

    own = patient_kinetics(read_record(args.record), args.cycle)
    if not own:
        note = "patient's own T_eff: no fitted earlier cycle in the record; population values"
        return replace(settings, notes=(*settings.notes, note))
    teff = {organ: t for organ, (t, _) in own.items() if organ not in settings.teff_h}
    words = ", ".join(
        f"{organ} {t:.1f} h (cycle {', '.join(map(str, cycles))})"
        for organ, (t, cycles) in sorted(own.items())
        if organ in teff
    )
    note = f"patient's own T_eff from fitted cycles, used as the prior (patient_prior): {words}"
    return replace(settings, teff_h={**teff, **settings.teff_h}, notes=(*settings.notes, note))


def _write_record(source: str, target: str, entry: dict[str, Any]) -> str:
    """``source``'s record with ``entry`` in spect_ct (replacing that cycle's), validated."""
    import copy
    from pathlib import Path

    import yaml

    from flexmrt import engine
    from flexmrt.server.cli.engine_cmds import read_record

    doc = copy.deepcopy(read_record(source).doc)
    scans = [s for s in doc.get("spect_ct") or () if s.get("cycle") != entry["cycle"]]
    doc["spect_ct"] = sorted([*scans, entry], key=lambda s: s["cycle"])
    path = Path(target)
    if path.suffix.lower() in (".yaml", ".yml"):
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    else:
        text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    engine.read_record_text(text, target)  # the written record must be valid
    path.write_text(text, encoding="utf-8")
    return str(path)


def _print_table(payload: dict[str, Any]) -> None:
    print(
        f"backend {payload['backend']} ({payload['dtype']}), TIA {payload['tia_method']}, "
        f"dose {payload['dose_method']}"
    )
    print(
        f"injection {payload['injected']} ({payload['injection_time_source']}); "
        f"times read in {payload['time_zone']}"
    )
    print(
        f"{'structure':<14}{'mL':>9}{'mean Gy':>10}{'max Gy':>9}{'Gy/GBq':>9}"
        f"{'T_eff h':>9}{'BED Gy':>9}  T_eff source, α/β, T_rep"
    )
    for name, s in payload["structures"].items():
        gpg = "" if s["gy_per_gbq"] is None else f"{s['gy_per_gbq']:.3f}"
        print(
            f"{name:<14}{s['volume_ml']:>9.1f}{s['mean_gy']:>10.3f}{s['max_gy']:>9.3f}"
            f"{gpg:>9}{s['teff_h']:>9.1f}{s['mean_bed_gy']:>9.3f}  {s['teff_source']}, "
            f"{s['alpha_beta_gy']:g} Gy, {s['repair_half_time_h']:g} h ({_role(s)})"
        )
    for name, s in payload["structures"].items():
        if s.get("tac"):
            t = s["tac"]
            r2 = "" if t["r2"] is None else f", R² {t['r2']:.4f}"
            print(f"fit {name}: {t['model']}{r2}; {'; '.join(t['notes'])}")
    _print_organs(payload.get("organs_at_risk") or {})
    for line in payload["notes"]:
        print(f"note: {line}")
    for line in payload["warnings"]:
        print(f"warning: {line}")
    if "record_entry" in payload:
        print("record entry: " + json.dumps(payload["record_entry"]))
    print(f"wrote {payload['rtdose']} and {payload['results']}")
    if payload.get("record_written"):
        print(
            f"wrote the record with cycle {payload['record_entry']['cycle']}'s entry to "
            f"{payload['record_written']}"
        )


def _role(s: dict[str, Any]) -> str:
    """The structure's role (gpu_dose.roles): its organ at risk, tumour or other."""
    role: str = s["organ"] if s.get("role") == "organ_at_risk" else s.get("role") or s["group"]
    return role


def _print_organs(organs: dict[str, Any]) -> None:
    """Each organ at risk present: mean dose ± u (k = 1) by component, marrow method."""
    for organ, o in organs.items():
        u = o["uncertainty"]
        line = (
            f"organ at risk {organ}: {o['mean_gy']:.3f} ± {o['dose_u_gy']:.3f} Gy "
            f"(from {', '.join(o['parts'])}; u calibration {100 * u['calibration']:.0f} %, "
            f"time integration {100 * u['time_integration']:.0f} %, "
            f"volume {100 * u['volume']:.0f} %)"
        )
        if "marrow" in o:
            m = o["marrow"]
            line += f"; marrow {m['method']} × {m['scaling']:g}"
        print(line)


def _batch(args: Any) -> int:
    return _guarded(_run_batch, args)


def _run_batch(args: Any) -> int:
    from flexmrt.gpu_dose.batch import run_batch

    if args.workers < 1:
        raise _Usage("--workers must be at least 1")
    summaries = run_batch(
        args.root,
        args.out,
        _settings(args),
        use_ct=not args.no_ct,
        scheduler=args.scheduler,
        workers=args.workers,
    )
    if args.json:
        print(json.dumps(summaries, indent=2, sort_keys=True, default=str))
    for s in summaries if not args.json else []:
        detail = (
            f"kidneys {s['kidneys_mean_gy']:.3f} Gy"
            if s["status"] == "ok" and s["kidneys_mean_gy"] is not None
            else s.get("error", {}).get("message", "")
        )
        print(f"{s['study']:<24}{s['status']:<7}{detail}")
    return 0 if all(s["status"] == "ok" for s in summaries) else 1
