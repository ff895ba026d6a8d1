"""Eligibility: every inclusion and exclusion criterion, with evidence and source."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flexmrt.protocol import Protocol

from .answers import Eligibility, RuleEntry
from .context import Context
from .identity import envelope
from .record import Record
from .rules import Evaluator
from .tristate import Outcome, RuleResult

__all__ = ["criterion_entry", "eligibility"]


def criterion_entry(criterion: Mapping[str, Any], kind: str, result: RuleResult) -> RuleEntry:
    """The explained form of one evaluated criterion (also used for decision rules)."""
    return RuleEntry.criterion(
        criterion, kind, result.outcome.value, result.observed, result.missing, result.notes
    )


def eligibility(protocol: Protocol, record: Record, as_of: date) -> Eligibility:
    """ELIGIBLE | INELIGIBLE | INDETERMINATE on ``as_of``, per criterion with evidence.

    Exclusions are phrased as conditions to pass: MET always means "passes".
    """
    ctx = Context.of(protocol, record, as_of)
    evaluator = Evaluator(ctx)
    criteria = []
    for kind in ("inclusion", "exclusion"):
        for criterion in protocol.doc["eligibility"][kind]:
            criteria.append(criterion_entry(criterion, kind, evaluator.evaluate(criterion["rule"])))
    outcomes = {c.outcome for c in criteria}
    if Outcome.NOT_MET.value in outcomes:
        overall = "INELIGIBLE"
    elif Outcome.INDETERMINATE.value in outcomes:
        overall = "INDETERMINATE"
    else:
        overall = "ELIGIBLE"
    return Eligibility(
        envelope("eligibility", protocol, record, as_of),
        overall,
        tuple(criteria),
        tuple(m for c in criteria for m in c.missing),
    )
