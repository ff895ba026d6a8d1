"""The protocol as a value: its document, identity, and typed access to parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from .durations import Duration, parse_date, parse_duration
from .errors import ProtocolError
from .numbers import WrittenNumber, written
from .units import QUANTITIES, quantity_convert, to_canonical

__all__ = ["KidneyLQ", "Parameter", "Protocol"]


@dataclass(frozen=True)
class Parameter:
    name: str
    value: Any
    unit: str | None
    text: str
    source: dict[str, str]
    verification: str


@dataclass(frozen=True)
class KidneyLQ:
    """Kidney linear-quadratic parameters and the cumulative BED cap of a protocol."""

    alpha_beta_gy: float
    repair_half_time_h: float
    effective_half_life_h: float
    gy_per_gbq: float
    cap_gy: float | None
    arms: tuple[str, ...]


@dataclass(frozen=True)
class Protocol:
    """A loaded, validated protocol revision. ``doc`` is the plain JSON-like document."""

    doc: dict[str, Any]
    sha256: str
    text: str = ""
    file: str = ""
    positions: dict[str, tuple[int, int]] = field(default_factory=dict, compare=False)

    @property
    def id(self) -> str:
        return str(self.doc["protocol"]["id"])

    @property
    def revision(self) -> str:
        return str(self.doc["protocol"]["revision"])

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.revision}"

    @property
    def status(self) -> str:
        return str(self.doc["protocol"]["status"])

    @property
    def effective_from(self) -> date:
        return parse_date(self.doc["protocol"]["effective_from"])

    @property
    def title(self) -> str:
        return str(self.doc["protocol"]["title"])

    @property
    def time_zone(self) -> str:
        """The site's time zone (IANA name) that calendar days are counted in: parameter
        ``site_time_zone``; UTC for a revision without it (as revisions before it did)."""
        raw = self.doc["parameters"].get("site_time_zone")
        return str(raw["value"]) if raw else "UTC"

    def today(self, now: datetime) -> date:
        """The calendar day it is at the site at the instant ``now`` (an aware date-time):
        02:00 UTC on 1 March is still 28 February in Los Angeles."""
        return now.astimezone(ZoneInfo(self.time_zone)).date()

    def parameter(self, name: str) -> Parameter:
        try:
            raw = self.doc["parameters"][name]
        except KeyError:
            raise ProtocolError(
                "unknown_parameter", f"{self.ref} has no parameter {name!r}"
            ) from None
        return Parameter(
            name, raw["value"], raw.get("unit"), raw["text"], raw["source"], raw["verification"]
        )

    def raw(self, value: Any) -> tuple[Any, str | None]:
        """Resolve a value-or-{param} to (value, unit or None)."""
        if isinstance(value, dict) and "param" in value:
            p = self.parameter(value["param"])
            return p.value, p.unit
        return value, None

    def quantity(self, value: Any, kind: str, unit: str | None = None) -> float:
        """A value-or-{param} as a float in the canonical unit of ``kind`` (GBq, Gy, h …),
        carrying the decimal it was written as, converted exactly (39 Gy stays 39, not
        39.0; 3900 cGy is 39.00 Gy), for comparisons at its written precision.

        A {param} is in its parameter's unit; an inline number in ``unit`` (the unit
        written beside it, e.g. an arm's ``activity_unit``), else the canonical unit."""
        number, param_unit = self.raw(value)
        unit = param_unit or unit or QUANTITIES[kind][0]
        to_canonical(0.0, unit, kind)  # UnitError for a unit that does not measure ``kind``
        return WrittenNumber(quantity_convert(written(number), unit, QUANTITIES[kind][0], kind))

    def duration(self, value: Any) -> Duration:
        text, _ = self.raw(value)
        return parse_duration(str(text))

    def integer(self, value: Any) -> int:
        number, _ = self.raw(value)
        return int(number)

    def arm(self, arm_id: str) -> dict[str, Any] | None:
        for arm in self.doc["arms"]:
            if arm["id"] == arm_id:
                return dict(arm)
        return None

    def arm_activity(self, arm: dict[str, Any]) -> float:
        """An arm's activity per cycle in GBq: a {param} in its parameter's unit, an
        inline number in the arm's ``activity_unit`` (7400 with MBq is 7.4 GBq)."""
        return self.quantity(arm["activity"], "activity", arm.get("activity_unit"))

    def kidney_lq(self) -> KidneyLQ:
        """Kidney LQ parameters; ``cap_gy`` is None when the protocol has no kidney cap.

        Without an ``organ_limits.kidney_bed`` section the common values are returned:
        α/β 2.6 Gy, repair half-time 2.8 h (Bodei 2008 / MIRD 20), T_eff 35.5 h and
        0.43 Gy/GBq (Herrmann 2024).
        """
        kb = self.doc.get("organ_limits", {}).get("kidney_bed")
        if kb is None:
            return KidneyLQ(2.6, 2.8, 35.5, 0.43, None, ())
        return KidneyLQ(
            alpha_beta_gy=self.quantity(kb["alpha_beta"], "dose"),
            repair_half_time_h=self.quantity(kb["repair_half_time"], "time"),
            effective_half_life_h=self.quantity(kb["effective_half_life_default"], "time"),
            gy_per_gbq=self.quantity(kb["dose_per_activity_default"], "dose_per_activity"),
            cap_gy=self.quantity(kb["cap"], "dose"),
            arms=tuple(kb["arms"]),
        )

    def summary(self) -> dict[str, Any]:
        meta = self.doc["protocol"]
        return {
            "id": self.id,
            "revision": self.revision,
            "ref": self.ref,
            "title": self.title,
            "status": self.status,
            "effective_from": meta["effective_from"],
            "supersedes": meta.get("supersedes"),
            "sha256": self.sha256,
            "arms": [
                {
                    "id": a["id"],
                    "name": a["name"],
                    "max_cycles": self.integer(a["max_cycles"]),
                    "activity_gbq": self.arm_activity(a),
                    "interval": str(self.raw(a["interval"])[0]),
                    "holidays": a["holidays"],
                }
                for a in self.doc["arms"]
            ],
            "inclusion": len(self.doc["eligibility"]["inclusion"]),
            "exclusion": len(self.doc["eligibility"]["exclusion"]),
            "parameters": len(self.doc["parameters"]),
            "assumed_parameters": sorted(
                n for n, p in self.doc["parameters"].items() if p["verification"] == "assumed"
            ),
        }
