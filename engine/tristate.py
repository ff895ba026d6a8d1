"""Three-valued rule outcomes and how they combine.

``all`` is NOT_MET if any part is NOT_MET, else INDETERMINATE if any part is,
else MET; ``any`` mirrors it; ``not`` swaps MET and NOT_MET. Missing data never
turns a rule MET.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .answers import Observation

__all__ = ["Outcome", "RuleResult", "combine_all", "combine_any", "negate"]


class Outcome(StrEnum):
    MET = "MET"
    NOT_MET = "NOT_MET"
    INDETERMINATE = "INDETERMINATE"


@dataclass
class RuleResult:
    """A rule's outcome with the observations it used and what was missing."""

    outcome: Outcome
    observed: list[Observation] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(
        cls, met: bool, observed: list[Observation] | None = None, notes: list[str] | None = None
    ) -> RuleResult:
        return cls(Outcome.MET if met else Outcome.NOT_MET, observed or [], [], notes or [])

    @classmethod
    def unknown(cls, missing: str, observed: list[Observation] | None = None) -> RuleResult:
        return cls(Outcome.INDETERMINATE, observed or [], [missing])


def _merge(outcome: Outcome, parts: list[RuleResult], keep_missing: bool) -> RuleResult:
    observed = [o for p in parts for o in p.observed]
    missing = [m for p in parts for m in p.missing] if keep_missing else []
    notes = [n for p in parts for n in p.notes]
    return RuleResult(outcome, _unique(observed), _unique(missing), _unique(notes))


def _unique(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def combine_all(parts: list[RuleResult]) -> RuleResult:
    outcomes = {p.outcome for p in parts}
    if Outcome.NOT_MET in outcomes:
        return _merge(Outcome.NOT_MET, parts, keep_missing=False)
    if Outcome.INDETERMINATE in outcomes:
        return _merge(Outcome.INDETERMINATE, parts, keep_missing=True)
    return _merge(Outcome.MET, parts, keep_missing=False)


def combine_any(parts: list[RuleResult]) -> RuleResult:
    outcomes = {p.outcome for p in parts}
    if Outcome.MET in outcomes:
        return _merge(Outcome.MET, [p for p in parts if p.outcome is Outcome.MET], False)
    if Outcome.INDETERMINATE in outcomes:
        return _merge(Outcome.INDETERMINATE, parts, keep_missing=True)
    return _merge(Outcome.NOT_MET, parts, keep_missing=False)


def negate(part: RuleResult) -> RuleResult:
    flipped = {Outcome.MET: Outcome.NOT_MET, Outcome.NOT_MET: Outcome.MET}
    return RuleResult(
        flipped.get(part.outcome, part.outcome), part.observed, part.missing, part.notes
    )
