"""Dose results and patient records: the post-cycle ``spect_ct`` entry, and the injection time.

Entry keys: ``cycle``, ``dtc`` (scan date-time, ISO 8601 with offset),
``hours_post_injection``, ``tumour_volume_ml`` (sum of tumour mask volumes —
the PSMA-avid tumour volume), ``kidney_dose_gy`` (mass-weighted mean absorbed
dose over both kidneys), ``kidney_teff_h`` and ``teff_source`` — ``fitted`` (from
two or more scans), ``patient_prior`` (given for this patient) or ``population``
(a population default: the rules engine flags that cycle's BED estimated). A
T_eff is never written without its source. ``new_lesions`` can't be known from
dose alone and is left out; so is any other key whose value is unknown.

``organs_at_risk`` carries every organ at risk present in the study (kidneys
included), by organ id (:mod:`gpu_dose.roles`): ``dose_gy`` (mass-weighted mean),
``dose_u_gy`` and ``uncertainty`` (relative standard uncertainties by component,
k = 1; :mod:`gpu_dose.uncertainty`), ``teff_h`` with ``teff_source``, and for the
marrow its ``method`` (``image_lumbar_voi`` or ``marrow_mask``). The rules engine
accumulates each across cycles.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flexmrt.gpu_dose.errors import DoseError
from flexmrt.gpu_dose.pipeline import DoseResult, _kidney
from flexmrt.gpu_dose.regions import group_of

__all__ = ["injection_from_record", "patient_kinetics", "to_record_entry"]


def to_record_entry(
    result: DoseResult, cycle: int, *, tumour_names: list[str] | None = None
) -> dict[str, Any]:
    """The ``spect_ct`` record entry for ``cycle`` (1-based) from a dose result."""
    scan = result.scan
    entry: dict[str, Any] = {
        "cycle": int(cycle),
        "dtc": scan.acquired.isoformat(timespec="seconds"),
        "hours_post_injection": round(scan.hours_post_injection, 3),
    }
    names = tumour_names or [n for n in result.structures if group_of(n) == "tumour"]
    if names:
        entry["tumour_volume_ml"] = round(sum(result.structures[n].volume_ml for n in names), 3)
    kidneys = _kidney(result.structures)
    if kidneys is not None:
        entry["kidney_dose_gy"] = round(kidneys.mean_gy, 4)
        if kidneys.teff_h is not None and kidneys.teff_source is not None:
            entry["kidney_teff_h"] = round(kidneys.teff_h, 3)
            entry["teff_source"] = kidneys.teff_source
    organs = {organ: _organ_entry(o) for organ, o in result.organs_at_risk.items()}
    if organs:
        entry["organs_at_risk"] = organs
    return entry


def _organ_entry(o: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"dose_gy": round(o["mean_gy"], 4)}
    if o.get("uncertainty"):
        out["dose_u_gy"] = round(o["dose_u_gy"], 4)
        u = o["uncertainty"]
        out["uncertainty"] = {k: u[k] for k in ("calibration", "time_integration", "volume")}
    if o.get("teff_h") is not None and o.get("teff_source") is not None:
        out["teff_h"] = round(o["teff_h"], 3)
        out["teff_source"] = o["teff_source"]
    if "marrow" in o:
        out["method"] = o["marrow"]["method"]
    return out


def injection_from_record(record: Any, cycle: int) -> tuple[dt.datetime, str]:
    """(injection date-time, source) from ``record``'s administration of ``cycle``.

    ``record`` is an :class:`engine.Record`. The administration's ``dtc`` must carry a
    time: a date alone cannot place a scan in hours after injection.
    """
    where = f"record {record.subject_id} administrations (cycle {cycle})"
    raw = next(
        (a for a in record.doc.get("administrations") or () if a.get("cycle") == cycle), None
    )
    if raw is None:
        raise DoseError(
            "no_administration",
            f"the record has no administration for cycle {cycle}",
            tag=where,
            fix="record the administration, or give --injection-time",
        )
    text = str(raw["dtc"])
    if "T" not in text:
        raise DoseError(
            "injection_date_only",
            f"the administration's dtc {text!r} has a date but no time",
            tag=where + ".dtc",
            fix="record the administration date-time with its offset "
            "(e.g. 2024-03-04T09:30:00-08:00), or give --injection-time",
        )
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when, f"{where}.dtc"


def patient_kinetics(record: Any, cycle: int) -> dict[str, tuple[float, list[int]]]:
    """This patient's own T_eff per organ at risk from fitted cycles before ``cycle``.

    ``record`` is an :class:`engine.Record`. Only a ``fitted`` T_eff counts (two or more
    scans of that cycle); a value itself carried over (``patient_prior``) or a population
    default never does. Several fitted cycles give their mean. Returns
    ``{organ id: (T_eff h, [cycles])}``; a later single-time-point cycle uses these with
    the prior-half-life method, flagged ``patient_prior``.
    """
    found: dict[str, list[tuple[int, float]]] = {}
    for scan in record.spect or ():
        if scan.cycle >= cycle:
            continue
        if scan.kidney_teff_h and scan.teff_source == "fitted":
            found.setdefault("kidneys", []).append((scan.cycle, scan.kidney_teff_h))
        for organ in scan.organs:
            if organ.organ == "kidneys" and "kidneys" in found:
                continue
            if organ.teff_h and organ.teff_source == "fitted":
                found.setdefault(organ.organ, []).append((scan.cycle, organ.teff_h))
    return {
        organ: (sum(t for _, t in values) / len(values), sorted({c for c, _ in values}))
        for organ, values in found.items()
    }
