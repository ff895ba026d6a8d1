"""Structure names → roles: which organ at risk a mask is, or a tumour, or other.

Masks are named by their DICOM SEG segment label (SegmentLabel, 0062,0005) or
RTSTRUCT ROI name (ROIName, 3006,0026). A name is lower-cased, its separators
(space, ``-``, ``.``) read as ``_``, and matched against the table below, first
hit wins; side words (``left``, ``l``, ``right``, ``r``, ``bilateral``) don't
matter. A name with a tumour word ("tumour", "tumor", "lesion") is a tumour whatever
organ it names ("liver_lesion_1"); names that match no row are ``other``.

====================  ==================================================================
organ at risk         structure names (any word of the name, or the whole name)
====================  ==================================================================
``kidneys``           kidney, kidneys, ren, renal (e.g. "Kidney_L", "Left Kidney")
``salivary_glands``   parotid, submandibular, submand, salivary (e.g. "Parotid_R",
                      "Glnd_Submand_L" as in AAPM TG-263)
``lacrimal_glands``   lacrimal, glnd_lacrimal
``bone_marrow``       bone marrow, red marrow, marrow, bonemarrow, and a lumbar-vertebra
                      VOI: lumbar, l2_l4, l1_l5, vertebra_l2 … _l4 (image-based marrow
                      dosimetry, EANM 2010 — see :mod:`gpu_dose.marrow`)
``liver``             liver, hepar
====================  ==================================================================

The organ ids are the protocol's registry (:data:`protocol.ORGANS_AT_RISK`).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

__all__ = ["NAME_TABLE", "Role", "is_marrow_voi", "organ_ids", "organ_of", "role_of"]

#: (organ id, words that name it); a word matches a whole token or a joined pair of them.
NAME_TABLE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("kidneys", ("kidney", "kidneys", "ren", "renal")),
    ("salivary_glands", ("parotid", "submandibular", "submand", "salivary")),
    ("lacrimal_glands", ("lacrimal",)),
    (
        "bone_marrow",
        (
            "marrow",
            "bonemarrow",
            "lumbar",
            "l2_l4",
            "l1_l5",
            "vertebra_l2",
            "vertebra_l3",
            "vertebra_l4",
        ),
    ),
    ("liver", ("liver", "hepar")),
)
_MARROW_VOI = ("lumbar", "l2_l4", "l1_l5", "vertebra_l2", "vertebra_l3", "vertebra_l4")
_TUMOUR_WORDS = ("tumour", "tumor", "lesion")
_SPLIT = re.compile(r"[\s\-.]+")


@dataclass(frozen=True)
class Role:
    """``role`` is ``organ_at_risk``, ``tumour`` or ``other``; ``organ`` the organ id, if any."""

    role: str
    organ: str | None = None


def _tokens(name: str) -> list[str]:
    text = _SPLIT.sub("_", name.strip().lower())
    parts = [t for t in text.split("_") if t]
    joined = [f"{a}_{b}" for a, b in itertools.pairwise(parts)]
    return parts + joined + [text]


def organ_of(name: str) -> str | None:
    """The organ-at-risk id a structure name maps to, or None."""
    tokens = _tokens(name)
    for organ, words in NAME_TABLE:
        if any(w in tokens for w in words):
            return organ
    return None


def is_marrow_voi(name: str) -> bool:
    """A lumbar-vertebra VOI (image-based marrow), not a marrow mask itself."""
    tokens = _tokens(name)
    return organ_of(name) == "bone_marrow" and any(w in tokens for w in _MARROW_VOI)


def role_of(name: str) -> Role:
    """The role of a structure: a tumour by its words, an organ at risk by the table, else other."""
    if any(w in name.lower() for w in _TUMOUR_WORDS):
        return Role("tumour")
    organ = organ_of(name)
    return Role("other") if organ is None else Role("organ_at_risk", organ)


def organ_ids() -> set[str]:
    """Organ ids the table maps to (a test holds them to :data:`protocol.ORGANS_AT_RISK`)."""
    return {o for o, _ in NAME_TABLE}
