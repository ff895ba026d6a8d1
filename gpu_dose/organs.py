"""Organs at risk of one study: the structures of each organ together, and its dose.

An organ drawn in parts (left and right kidney, parotid and submandibular glands,
two lacrimal glands) is also reported as one structure named by its organ id —
the mass-weighted mean over its parts (``kidneys``, ``salivary_glands``, …); a
structure already named by the organ id is that organ. Names map to organs through
:mod:`gpu_dose.roles`.

Red bone marrow is image-based (EANM bone-marrow dosimetry guideline, Hindorf et al.,
Eur J Nucl Med Mol Imaging 37 (2010) 1238): either a segmented marrow structure
(``marrow_mask``) or a lumbar-vertebra VOI (L2–L4) whose mean absorbed dose times
the marrow-to-VOI scaling is the marrow dose (``image_lumbar_voi``); the method used
is reported with the organ.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from flexmrt.gpu_dose.roles import is_marrow_voi, organ_of
from flexmrt.gpu_dose.structures import StructureResult

if TYPE_CHECKING:
    from flexmrt.gpu_dose.pipeline import Settings

__all__ = ["Masks", "organ_results", "with_organs"]

#: Boolean masks on the SPECT grid, by structure name.
Masks = dict[str, NDArray[np.bool_]]


def _parts(masks: Mapping[str, object]) -> dict[str, list[str]]:
    parts: dict[str, list[str]] = {}
    for name in masks:
        organ = organ_of(name)
        if organ is not None and name != organ:
            parts.setdefault(organ, []).append(name)
    return parts


def with_organs(masks: Masks) -> tuple[Masks, frozenset[str]]:
    """``masks`` plus one union per organ drawn in several parts, and the union names."""
    unions = {
        organ: np.logical_or.reduce([masks[n] for n in names])
        for organ, names in _parts(masks).items()
        if len(names) > 1 and organ not in masks
    }
    return {**masks, **unions}, frozenset(unions)


def _structure_of(organ: str, structures: Mapping[str, object]) -> str | None:
    if organ in structures:
        return organ
    names = _parts(structures).get(organ, [])
    return names[0] if len(names) == 1 else None


def organ_results(
    structures: dict[str, StructureResult], settings: Settings
) -> dict[str, dict[str, Any]]:
    """Per organ at risk present: its structure(s), mean dose and BED, T_eff, uncertainty."""
    out = {}
    for organ in sorted({o for n in structures if (o := organ_of(n)) is not None}):
        name = _structure_of(organ, structures)
        if name is None:
            continue
        out[organ] = _summary(organ, name, structures, settings)
    return out


def _bed(s: StructureResult, scale: float) -> float | None:
    """Mean BED; for a scaled VOI the BED of the scaled mean dose (BED is not linear)."""
    if s.mean_bed_gy is None:
        return None
    if scale == 1.0:
        return round(s.mean_bed_gy, 6)
    return round(s.bed_of(s.mean_gy * scale), 6)


def _summary(
    organ: str, name: str, structures: dict[str, StructureResult], settings: Settings
) -> dict[str, Any]:
    s = structures[name]
    parts = _parts(structures).get(organ, [name])
    scale, method = 1.0, None
    if organ == "bone_marrow":
        voi = is_marrow_voi(name)
        scale = settings.marrow_voi_scaling if voi else 1.0
        method = {
            "method": "image_lumbar_voi" if voi else "marrow_mask",
            "scaling": scale,
            "scaling_source": settings.marrow_voi_scaling_source if voi else None,
            "source": "EANM bone-marrow dosimetry guideline (Hindorf 2010), image-based",
        }
    out: dict[str, Any] = {
        "structure": name,
        "parts": sorted(parts),
        "mean_gy": round(s.mean_gy * scale, 6),
        "mass_g": round(s.mass_g, 3),
        "mean_bed_gy": _bed(s, scale),
        "gy_per_gbq": None if s.gy_per_gbq is None else round(s.gy_per_gbq * scale, 6),
        "teff_h": s.teff_h,
        "teff_source": s.teff_source,
        "alpha_beta_gy": s.alpha_beta_gy,
        "repair_half_time_h": s.repair_half_time_h,
        "uncertainty": s.uncertainty,
        "dose_u_gy": round(s.mean_gy * scale * s.uncertainty.get("combined", 0.0), 6),
    }
    if method:
        out["marrow"] = method
    return out
