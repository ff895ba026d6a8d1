"""Eligibility and the next-action decision as typed answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from .entries import Json, RuleEntry, Source
from .envelope import Envelope

__all__ = [
    "Decision",
    "DueWindow",
    "Eligibility",
    "KidneyBedCycle",
    "KidneyBedView",
    "OrganAtRiskView",
    "OrganCycleView",
    "OrganLimit",
    "OrganNextCycle",
    "TreatmentResponse",
]


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _list(pair: tuple[Any, ...] | None) -> list[Any] | None:
    return None if pair is None else list(pair)


def _pair(items: Any) -> Any:
    """A JSON two-item list as the tuple the answers hold (None stays None)."""
    return None if items is None else (items[0], items[1])


@dataclass(frozen=True)
class Eligibility:
    """ELIGIBLE | INELIGIBLE | INDETERMINATE, every criterion with its evidence.

    Exclusions are phrased as conditions to pass: MET always means "passes".
    """

    envelope: Envelope
    outcome: str
    criteria: tuple[RuleEntry, ...]
    missing: tuple[str, ...]

    def to_json(self) -> Json:
        return {
            **self.envelope.to_json(),
            "outcome": self.outcome,
            "criteria": [c.to_json() for c in self.criteria],
            "missing": list(self.missing),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Eligibility:
        return cls(
            Envelope.from_json(doc),
            doc["outcome"],
            tuple(RuleEntry.from_json(c) for c in doc["criteria"]),
            tuple(doc["missing"]),
        )


@dataclass(frozen=True)
class DueWindow:
    """The next cycle's target date and its window (calendar days in the site time zone)."""

    target: date
    window_start: date
    window_end: date

    def to_json(self) -> Json:
        return {
            "target": self.target.isoformat(),
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> DueWindow:
        return cls(*(date.fromisoformat(doc[k]) for k in ("target", "window_start", "window_end")))


@dataclass(frozen=True)
class KidneyBedCycle:
    """One given cycle's kidney dose (Gy), effective half-life (h) and BED (Gy, unrounded);
    ``dose_estimated`` / ``teff_estimated`` where no measurement stands behind them."""

    cycle: int
    activity_gbq: float
    dose_gy: float
    teff_h: float
    bed_gy: float
    dose_estimated: bool
    teff_estimated: bool

    def to_json(self) -> Json:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class KidneyBedView:
    """The kidney BED account as the decision shows it (Gy, GBq; rounded to 4 places).

    The projection over the next cycle (``projected_gy``, ``next_activity_gbq``,
    ``cycles_remaining``, ``reduced_activity_fits``) is None where no next cycle is possible.
    ``cycles_remaining`` counts the next cycle: 0 means no further cycle fits.
    """

    cycles: tuple[KidneyBedCycle, ...]
    cumulative_gy: float
    projected_gy: float | None
    next_activity_gbq: float | None
    cap_gy: float
    cycles_remaining: int | None
    estimated: bool
    reduced_activity_fits: bool | None
    # With uncertainty data in the record (else None): standard uncertainties (k = 1) of the
    # cumulative BED so far and after the next cycle, the interval projected_gy ± 2u, and the
    # cycles that fit at its upper and at its lower bound (a projection: None where no next
    # cycle is possible).
    cumulative_u_gy: float | None = None
    projected_u_gy: float | None = None
    projected_interval_gy: tuple[float, float] | None = None
    cycles_remaining_range: tuple[int, int] | None = None

    def to_json(self) -> Json:
        out: Json = {f.name: getattr(self, f.name) for f in fields(self)}
        out["cycles"] = [c.to_json() for c in self.cycles]
        out["projected_interval_gy"] = _list(self.projected_interval_gy)
        out["cycles_remaining_range"] = _list(self.cycles_remaining_range)
        return out

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> KidneyBedView:
        return cls(
            **{
                **doc,
                "cycles": tuple(KidneyBedCycle(**c) for c in doc["cycles"]),
                "projected_interval_gy": _pair(doc.get("projected_interval_gy")),
                "cycles_remaining_range": _pair(doc.get("cycles_remaining_range")),
            }
        )


@dataclass(frozen=True)
class OrganCycleView:
    """One given cycle of one organ at risk: dose (Gy), T_eff (h), BED (Gy), each ``*_u_gy``
    its standard uncertainty (None without uncertainty data); ``dose_estimated`` where the
    dose comes from the patient's mean Gy/GBq, ``teff_estimated`` for a population T_eff."""

    cycle: int
    activity_gbq: float
    dose_gy: float
    dose_u_gy: float | None
    teff_h: float
    teff_source: str | None
    bed_gy: float
    bed_u_gy: float | None
    dose_estimated: bool
    teff_estimated: bool

    def to_json(self) -> Json:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class OrganNextCycle:
    """The next cycle of one organ as projected: activity (GBq), dose and BED (Gy), T_eff (h)."""

    activity_gbq: float
    dose_gy: float
    bed_gy: float
    teff_h: float

    def to_json(self) -> Json:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class OrganLimit:
    """An organ's limit: the ``quantity`` it bounds (``bed`` or ``dose``, cumulative), its
    value in Gy and its ``action`` (``curtail``: a cap rule decides; ``report``: shown)."""

    quantity: str
    value_gy: float
    action: str

    def to_json(self) -> Json:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class OrganAtRiskView:
    """One organ at risk accumulated across cycles, as the decision shows it (Gy, rounded).

    Cumulative dose and BED so far; ``projected_gy`` is the limit's quantity (BED without a
    limit) after the next cycle at the activity it would have, with its standard uncertainty
    and interval ± 2u, and ``margin_gy`` the limit minus it. The projection (``next``,
    ``projected_*``, ``margin_gy``) is None where no next cycle is possible; every ``*_u_gy``
    is None without uncertainty data.
    """

    organ: str
    name: str
    cycles: tuple[OrganCycleView, ...]
    cumulative_dose_gy: float
    cumulative_dose_u_gy: float | None
    cumulative_bed_gy: float
    cumulative_bed_u_gy: float | None
    gy_per_gbq: float
    gy_per_gbq_from: str  # patient | population
    next: OrganNextCycle | None
    limit: OrganLimit | None
    projected_gy: float | None
    projected_u_gy: float | None
    projected_interval_gy: tuple[float, float] | None
    margin_gy: float | None
    estimated: bool
    alpha_beta_gy: float
    repair_half_time_h: float
    source: Source | None
    verification: str

    @property
    def quantity(self) -> str:
        """What the organ is shown against: its limit's quantity, BED without a limit."""
        return "bed" if self.limit is None else self.limit.quantity

    def to_json(self) -> Json:
        out: Json = {f.name: getattr(self, f.name) for f in fields(self)}
        out["cycles"] = [c.to_json() for c in self.cycles]
        out["next"] = None if self.next is None else self.next.to_json()
        out["limit"] = None if self.limit is None else self.limit.to_json()
        out["projected_interval_gy"] = _list(self.projected_interval_gy)
        source = self.source
        out["source"] = (
            {} if source is None else {"citation": source.citation, "section": source.section}
        )
        return out

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> OrganAtRiskView:
        nxt, limit = doc["next"], doc["limit"]
        return cls(
            **{
                **doc,
                "cycles": tuple(OrganCycleView(**c) for c in doc["cycles"]),
                "next": None if nxt is None else OrganNextCycle(**nxt),
                "limit": None if limit is None else OrganLimit(**limit),
                "projected_interval_gy": _pair(doc["projected_interval_gy"]),
                "source": Source.of(doc["source"]),
            }
        )


@dataclass(frozen=True)
class TreatmentResponse:
    """PSA response (% change from baseline and nadir; PSA50 / PSA90), PCWG3 progression
    status, tumour volume change (%) and the RECIP 1.0 category."""

    psa_baseline: float | None
    psa_latest: float | None
    psa_nadir: float | None
    psa_change_from_baseline_pct: float | None
    psa_change_from_nadir_pct: float | None
    psa50: bool | None
    psa90: bool | None
    pcwg3: str
    tumour_volume_change_pct: float | None
    recip: str

    def to_json(self) -> Json:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Decision:
    """What happens next for an enrolled patient on ``as_of``, and why.

    ``reasons`` are the rules that fired, the winner first (each with its ``category``);
    ``checked`` the rules checked and passed. Dates are the ones every edge shows: the
    schedule is derived from them.
    """

    envelope: Envelope
    action: str
    phase: str | None
    arm: str | None
    cycle: int | None
    cycles_given: int
    activity_gbq: float | None
    due: DueWindow | None
    reasons: tuple[RuleEntry, ...]
    checked: tuple[RuleEntry, ...]
    kidney_bed: KidneyBedView | None
    missing: tuple[str, ...]
    next_surveillance: date | None
    surveillance_due: Mapping[str, date] | None
    confirm_psa_by: date | None
    recheck_on: date | None
    needed_by: date | None
    response: TreatmentResponse | None
    # Every organ at risk of the protocol (None when it lists none or before randomisation).
    organs_at_risk: tuple[OrganAtRiskView, ...] | None = None

    @property
    def winner(self) -> RuleEntry:
        """The rule that decided the action."""
        return self.reasons[0]

    def fired(self, category: str) -> tuple[RuleEntry, ...]:
        """The reasons that fired in ``category`` (need_data, withhold, …)."""
        return tuple(r for r in self.reasons if r.category == category)

    def to_json(self) -> Json:
        due = self.surveillance_due
        return {
            **self.envelope.to_json(),
            "action": self.action,
            "phase": self.phase,
            "arm": self.arm,
            "cycle": self.cycle,
            "cycles_given": self.cycles_given,
            "activity_gbq": self.activity_gbq,
            "due": None if self.due is None else self.due.to_json(),
            "reasons": [r.to_json() for r in self.reasons],
            "checked": [r.to_json() for r in self.checked],
            "kidney_bed": None if self.kidney_bed is None else self.kidney_bed.to_json(),
            "organs_at_risk": None
            if self.organs_at_risk is None
            else [o.to_json() for o in self.organs_at_risk],
            "missing": list(self.missing),
            "next_surveillance": _iso(self.next_surveillance),
            "surveillance_due": None if due is None else {k: v.isoformat() for k, v in due.items()},
            "confirm_psa_by": _iso(self.confirm_psa_by),
            "recheck_on": _iso(self.recheck_on),
            "needed_by": _iso(self.needed_by),
            "response": None if self.response is None else self.response.to_json(),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Decision:
        """A decision from its JSON (a logged answer of this engine version)."""
        due, kb, response = doc["due"], doc["kidney_bed"], doc["response"]
        surveillance, organs = doc["surveillance_due"], doc.get("organs_at_risk")
        return cls(
            envelope=Envelope.from_json(doc),
            action=doc["action"],
            phase=doc["phase"],
            arm=doc["arm"],
            cycle=doc["cycle"],
            cycles_given=doc["cycles_given"],
            activity_gbq=doc["activity_gbq"],
            due=None if due is None else DueWindow.from_json(due),
            reasons=tuple(RuleEntry.from_json(r) for r in doc["reasons"]),
            checked=tuple(RuleEntry.from_json(r) for r in doc["checked"]),
            kidney_bed=None if kb is None else KidneyBedView.from_json(kb),
            organs_at_risk=None
            if organs is None
            else tuple(OrganAtRiskView.from_json(o) for o in organs),
            missing=tuple(doc["missing"]),
            next_surveillance=_day(doc["next_surveillance"]),
            surveillance_due=None
            if surveillance is None
            else {k: date.fromisoformat(v) for k, v in surveillance.items()},
            confirm_psa_by=_day(doc["confirm_psa_by"]),
            recheck_on=_day(doc["recheck_on"]),
            needed_by=_day(doc["needed_by"]),
            response=None if response is None else TreatmentResponse(**response),
        )
