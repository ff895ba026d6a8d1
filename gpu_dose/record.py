"""A dose result as the post-cycle SPECT/CT entry of a patient record (``spect_ct``).

Keys: ``cycle``, ``dtc`` (scan date-time, ISO 8601 with offset),
``hours_post_injection``, ``tumour_volume_ml`` (sum of tumour mask volumes —
the PSMA-avid tumour volume), ``kidney_dose_gy`` (mass-weighted mean absorbed
dose over both kidneys) and ``kidney_teff_h``. ``new_lesions`` can't be known
from dose alone and is left out; so is any other key whose value is unknown.
"""

from __future__ import annotations

from typing import Any

from gpu_dose.pipeline import DoseResult, _is_tumour

__all__ = ["to_record_entry"]


def _kidneys(result: DoseResult):
    if "kidneys" in result.structures:
        return result.structures["kidneys"]
    found = [s for n, s in result.structures.items() if "kidney" in n.lower()]
    return found[0] if len(found) == 1 else None


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
    names = tumour_names or [n for n in result.structures if _is_tumour(n)]
    if names:
        entry["tumour_volume_ml"] = round(sum(result.structures[n].volume_ml for n in names), 3)
    kidneys = _kidneys(result)
    if kidneys is not None:
        entry["kidney_dose_gy"] = round(kidneys.mean_gy, 4)
        if kidneys.teff_h is not None:
            entry["kidney_teff_h"] = round(kidneys.teff_h, 3)
    return entry
