"""Per-region kinetics and radiobiology: α/β, repair half-time and population T_eff.

Every structure belongs to one group — ``kidney`` (its name contains "kidney"),
``tumour`` ("tumour", "tumor" or "lesion") or ``organ`` (any other organ at risk,
and the unsegmented rest of the image) — and each group has its own parameters,
each carrying where it came from. A tumour never gets the kidney's values.

Protocol parameter names read (any revision may carry any of them; a missing one
falls back to the documented default below, flagged assumed):

===========================  ======  ==============================================
parameter                    unit    meaning
===========================  ======  ==============================================
``kidney_alpha_beta``        Gy      kidney α/β (LQ BED)
``kidney_repair_half_time``  h       kidney sub-lethal damage repair half-time
``kidney_teff_default``      h       kidney population effective half-life
``tumour_alpha_beta``        Gy      tumour α/β
``tumour_repair_half_time``  h       tumour repair half-time
``tumour_teff_default``      h       tumour population effective half-life
``organ_alpha_beta``         Gy      other organs at risk: α/β
``organ_repair_half_time``   h       other organs at risk: repair half-time
``organ_teff_default``       h       other organs (and unsegmented voxels): T_eff
``site_time_zone``           —       IANA time zone of the site (e.g. America/Los_Angeles)
===========================  ======  ==============================================

For the kidney, the protocol's ``organ_limits.kidney_bed`` references are followed
first, so the dose engine and the rules engine's BED cap read the same numbers.

A structure that is an organ at risk of the protocol (``organ_limits.organs_at_risk``;
its name mapped by :mod:`gpu_dose.roles`) takes that organ's own α/β, repair
half-time and population T_eff — a parotid gets the salivary glands' values, not
the generic ``organ_*`` ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from flexmrt.gpu_dose.roles import role_of

if TYPE_CHECKING:
    from flexmrt.protocol import Protocol

__all__ = [
    "DEFAULTS",
    "GROUPS",
    "RegionModel",
    "RegionParameters",
    "Sourced",
    "group_of",
    "region_model",
]

GROUPS = ("kidney", "tumour", "organ")
_QUANTITIES = {
    "alpha_beta": ("alpha_beta_gy", "dose"),
    "repair_half_time": ("repair_half_time_h", "time"),
    "teff_default": ("population_teff_h", "time"),
}
_BODEI = "Bodei 2008 / MIRD Pamphlet 20"
#: Documented defaults: (value, source). All are assumed (MISSION.md, per-region kinetics).
DEFAULTS: dict[str, dict[str, tuple[float, str]]] = {
    "kidney": {
        "alpha_beta": (2.6, f"kidney α/β in common use ({_BODEI})"),
        "repair_half_time": (2.8, f"kidney repair half-time in common use ({_BODEI})"),
        "teff_default": (35.5, "median kidney T_eff, VISION dosimetry (Herrmann 2024)"),
    },
    "tumour": {
        "alpha_beta": (10.0, "conventional tumour α/β of LQ radiobiology (prostate may be lower)"),
        "repair_half_time": (1.5, "conventional tumour repair half-time of LQ radiobiology"),
        "teff_default": (60.0, "order of lesion T_eff reported for 177Lu-PSMA-617 (40–100 h)"),
    },
    "organ": {
        "alpha_beta": (3.0, "generic late-responding normal tissue α/β"),
        "repair_half_time": (1.5, "generic normal-tissue repair half-time"),
        "teff_default": (40.0, "order of organ T_eff reported for 177Lu-PSMA-617"),
    },
}


_V = TypeVar("_V", float, str)


@dataclass(frozen=True)
class Sourced(Generic[_V]):
    """A value (a number, or the site time zone's name) with where it came from;
    ``assumed`` unless a verified protocol parameter."""

    value: _V
    source: str
    assumed: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.source, "assumed": self.assumed}


@dataclass(frozen=True)
class RegionParameters:
    """LQ parameters and population effective half-life of one group."""

    group: str
    alpha_beta_gy: Sourced[float]
    repair_half_time_h: Sourced[float]
    population_teff_h: Sourced[float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "alpha_beta_gy": self.alpha_beta_gy.to_dict(),
            "repair_half_time_h": self.repair_half_time_h.to_dict(),
            "population_teff_h": self.population_teff_h.to_dict(),
        }


@dataclass(frozen=True)
class RegionModel:
    """Parameters per group, and the site time zone (IANA name or None) with its source."""

    groups: dict[str, RegionParameters] = field(default_factory=dict)
    site_time_zone: Sourced[str] | None = None
    organs: dict[str, RegionParameters] = field(default_factory=dict)  # by organ-at-risk id

    def for_structure(self, name: str) -> RegionParameters:
        organ = role_of(name).organ
        if organ is not None and organ in self.organs:
            return self.organs[organ]
        groups = self.groups or region_model(None).groups
        return groups[group_of(name)]

    def notes(self) -> list[str]:
        """One line per group naming each value and its source."""
        groups = self.groups or region_model(None).groups
        return [
            f"{g}: α/β {p.alpha_beta_gy.value:g} Gy ({p.alpha_beta_gy.source}), "
            f"T_rep {p.repair_half_time_h.value:g} h ({p.repair_half_time_h.source}), "
            f"population T_eff {p.population_teff_h.value:g} h ({p.population_teff_h.source})"
            for g, p in {**groups, **self.organs}.items()
        ]


def group_of(name: str) -> str:
    """``kidney``, ``tumour`` or ``organ`` for a structure name."""
    lower = name.lower()
    if "kidney" in lower:
        return "kidney"
    if any(word in lower for word in ("tumour", "tumor", "lesion")):
        return "tumour"
    return "organ"


def _default(group: str, quantity: str) -> Sourced[float]:
    value, why = DEFAULTS[group][quantity]
    return Sourced(value, f"default [assumed]: {why}", True)


def _kidney_bed_param(protocol: Protocol, quantity: str) -> str | None:
    """The parameter name organ_limits.kidney_bed references for ``quantity``, if any."""
    key = "effective_half_life_default" if quantity == "teff_default" else quantity
    ref = protocol.doc.get("organ_limits", {}).get("kidney_bed", {}).get(key)
    return ref["param"] if isinstance(ref, dict) and "param" in ref else None


def _from_protocol(protocol: Protocol, group: str, quantity: str) -> Sourced[float]:
    name = (_kidney_bed_param(protocol, quantity) if group == "kidney" else None) or (
        f"{group}_{quantity}"
    )
    if name not in protocol.doc.get("parameters", {}):
        return _default(group, quantity)
    p = protocol.parameter(name)
    value = protocol.quantity({"param": name}, _QUANTITIES[quantity][1])
    assumed = p.verification != "verified"
    note = "assumed" if assumed else "verified"
    return Sourced(value, f"protocol {protocol.ref} parameter {name} [{note}]", assumed)


def _time_zone(protocol: Protocol | None) -> Sourced[str] | None:
    if protocol is None or "site_time_zone" not in protocol.doc.get("parameters", {}):
        return None
    p = protocol.parameter("site_time_zone")
    return Sourced(
        p.value, f"protocol {protocol.ref} parameter site_time_zone", p.verification != "verified"
    )


def _param_sourced(protocol: Protocol, ref: Any, kind: str) -> Sourced[float]:
    name = ref["param"] if isinstance(ref, dict) and "param" in ref else None
    value = protocol.quantity(ref, kind)
    if name is None:
        return Sourced(value, f"protocol {protocol.ref} (a value, not a parameter)", True)
    assumed = protocol.parameter(name).verification != "verified"
    note = "assumed" if assumed else "verified"
    return Sourced(value, f"protocol {protocol.ref} parameter {name} [{note}]", assumed)


def _organs(protocol: Protocol) -> dict[str, RegionParameters]:
    """Each organ at risk of ``protocol`` with its own parameters (by organ id)."""
    out = {}
    for raw in protocol.doc.get("organ_limits", {}).get("organs_at_risk") or ():
        group = "kidney" if raw["id"] == "kidneys" else "organ"
        out[raw["id"]] = RegionParameters(
            group,
            _param_sourced(protocol, raw["alpha_beta"], "dose"),
            _param_sourced(protocol, raw["repair_half_time"], "time"),
            _param_sourced(protocol, raw["effective_half_life_default"], "time"),
        )
    return out


def region_model(protocol: Protocol | None = None) -> RegionModel:
    """Per-group parameters from ``protocol`` (a :class:`protocol.Protocol`) or defaults."""
    groups = {}
    for group in GROUPS:
        values = {
            attr: (
                _from_protocol(protocol, group, q) if protocol is not None else _default(group, q)
            )
            for q, (attr, _) in _QUANTITIES.items()
        }
        groups[group] = RegionParameters(group, **values)
    organs = {} if protocol is None else _organs(protocol)
    return RegionModel(groups, _time_zone(protocol), organs)
