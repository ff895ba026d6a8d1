"""Organs at risk of a protocol: radiobiology, population kinetics and limits.

``organ_limits.organs_at_risk`` lists each organ at risk the protocol accumulates
across cycles, with its linear-quadratic α/β and repair half-time, its population
effective half-life and dose per activity (± spread), and optionally a limit on
the cumulative BED or absorbed dose — ``curtail`` (the kidney cap rule) or
``report`` (the margin is shown, nothing is decided). An organ without a limit is
reported only.

:data:`ORGANS_AT_RISK` is the one registry of organ ids: the JSON Schema enum of
``organ_at_risk.id`` and the dose engine's structure-name table
(:mod:`gpu_dose.roles`) name the same set (a test asserts it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["LIMIT_ACTIONS", "LIMIT_QUANTITIES", "ORGANS_AT_RISK", "OrganAtRisk", "organs_at_risk"]

#: Organ ids and the words people use for them.
ORGANS_AT_RISK: dict[str, str] = {
    "kidneys": "kidneys",
    "salivary_glands": "salivary glands",
    "lacrimal_glands": "lacrimal glands",
    "bone_marrow": "red bone marrow",
    "liver": "liver",
}
#: What a limit bounds: the cumulative BED or the cumulative absorbed dose.
LIMIT_QUANTITIES = ("bed", "dose")
#: What a limit does: ``curtail`` (a cap rule decides) or ``report`` (margin shown).
LIMIT_ACTIONS = ("curtail", "report")


@dataclass(frozen=True)
class OrganAtRisk:
    """One organ at risk in canonical units (Gy, h, Gy/GBq); ``limit_gy`` None = report only."""

    id: str
    text: str
    alpha_beta_gy: float
    repair_half_time_h: float
    teff_h: float
    gy_per_gbq: float
    gy_per_gbq_sd: float | None
    limit_quantity: str | None
    limit_gy: float | None
    limit_action: str | None
    teff_param: str | None
    source: dict[str, str]
    verification: str

    @property
    def words(self) -> str:
        return ORGANS_AT_RISK[self.id]


def _param_name(value: Any) -> str | None:
    return str(value["param"]) if isinstance(value, dict) and "param" in value else None


def _organ(protocol: Any, raw: dict[str, Any]) -> OrganAtRisk:
    q = protocol.quantity
    limit = raw.get("limit")
    sd = raw.get("dose_per_activity_sd")
    return OrganAtRisk(
        id=raw["id"],
        text=" ".join(str(raw["text"]).split()),
        alpha_beta_gy=q(raw["alpha_beta"], "dose"),
        repair_half_time_h=q(raw["repair_half_time"], "time"),
        teff_h=q(raw["effective_half_life_default"], "time"),
        gy_per_gbq=q(raw["dose_per_activity_default"], "dose_per_activity"),
        gy_per_gbq_sd=None if sd is None else q(sd, "dose_per_activity"),
        limit_quantity=None if limit is None else limit["quantity"],
        limit_gy=None if limit is None else q(limit["value"], "dose"),
        limit_action=None if limit is None else limit["action"],
        teff_param=_param_name(raw["effective_half_life_default"]),
        source=dict(raw["source"]),
        verification=str(raw["verification"]),
    )


def organs_at_risk(protocol: Any) -> tuple[OrganAtRisk, ...]:
    """The organs at risk of ``protocol`` (a :class:`protocol.Protocol`); () when it names none."""
    raw = protocol.doc.get("organ_limits", {}).get("organs_at_risk") or ()
    return tuple(_organ(protocol, o) for o in raw)
