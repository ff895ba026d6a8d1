"""The one protocol → dose settings function, used by the CLI and the gRPC service alike.

:func:`dose_settings` turns a protocol revision (or none) and the caller's options
into :class:`~gpu_dose.pipeline.Settings`: per-region α/β, repair half-time and
population T_eff (:mod:`gpu_dose.regions`, each with its source — a protocol
parameter by name, or a documented default flagged assumed), the site time zone,
and the kidney BED cap. A protocol without a value (pluvicto-label has no kidney
cap and no kidney parameters) never claims one: the notes say "default".
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from flexmrt.gpu_dose.dicom_io.common import site_zone
from flexmrt.gpu_dose.pipeline import Settings
from flexmrt.gpu_dose.regions import Sourced, region_model

if TYPE_CHECKING:
    from flexmrt.protocol import Protocol

__all__ = ["dose_settings"]


def _kidney_cap(protocol: Protocol | None) -> tuple[float | None, str]:
    if protocol is None or "kidney_bed" not in protocol.doc.get("organ_limits", {}):
        ref = "" if protocol is None else f" in {protocol.ref}"
        return None, f"kidney BED cap: none{ref}"
    cap = protocol.kidney_lq().cap_gy
    return cap, f"kidney BED cap {cap:g} Gy from protocol {protocol.ref}"


def _marrow_scaling(protocol: Protocol | None) -> dict[str, Any]:
    """Image-based marrow: the protocol's ``marrow_voi_scaling`` with its source, if any."""
    if protocol is None or "marrow_voi_scaling" not in protocol.doc.get("parameters", {}):
        return {}
    p = protocol.parameter("marrow_voi_scaling")
    note = "verified" if p.verification == "verified" else "assumed"
    return {
        "marrow_voi_scaling": float(p.value),
        "marrow_voi_scaling_source": (
            f"protocol {protocol.ref} parameter marrow_voi_scaling [{note}]"
        ),
    }


def dose_settings(
    protocol: Protocol | None = None, *, site_time_zone: str | None = None, **options: Any
) -> Settings:
    """Settings for ``protocol`` (a :class:`protocol.Protocol`, or None for defaults).

    ``site_time_zone`` (an IANA name) overrides the protocol's ``site_time_zone``;
    ``options`` are the other :class:`Settings` fields (method, teff_h, device, …).
    """
    regions = region_model(protocol)
    if site_time_zone:
        site_zone(site_time_zone)  # an unknown name is a DoseError here, not at read time
        regions = replace(regions, site_time_zone=Sourced(site_time_zone, "given", False))
    cap, cap_note = _kidney_cap(protocol)
    options = {**_marrow_scaling(protocol), **options}
    tz = regions.site_time_zone
    notes = [
        *regions.notes(),
        cap_note,
        "site time zone: "
        + ("none given" if tz is None else f"{tz.value} ({tz.source})")
        + "; TimezoneOffsetFromUTC (0008,0201) wins where present",
    ]
    return Settings(regions=regions, kidney_cap_gy=cap, notes=tuple(notes), **options)
