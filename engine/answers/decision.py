"""Eligibility and the next-action decision as typed answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from .entries import Json, RuleEntry
from .envelope import Envelope

__all__ = [
    "Decision",
    "DueWindow",
    "Eligibility",
    "KidneyBedCycle",
    "KidneyBedView",
    "TreatmentResponse",
]


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


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

    def to_json(self) -> Json:
        out: Json = {f.name: getattr(self, f.name) for f in fields(self)}
        out["cycles"] = [c.to_json() for c in self.cycles]
        return out

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> KidneyBedView:
        return cls(**{**doc, "cycles": tuple(KidneyBedCycle(**c) for c in doc["cycles"])})


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
        surveillance = doc["surveillance_due"]
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
