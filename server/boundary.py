"""Run a protocol's generated boundary cases through the engine and compare outcomes.

protocol.boundary builds the cases and their expected outcomes with its own
arithmetic; this module evaluates each case's rule with the engine and groups the
results per threshold (rule id + leaf), so a rule that does not flip where its text
says is reported with the record that shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import engine
from protocol import Protocol
from protocol.boundary import BoundaryCase, Uncovered, generate

__all__ = ["BoundaryResult", "Threshold", "test_protocol"]


@dataclass(frozen=True)
class BoundaryResult:
    case: BoundaryCase
    actual: str  # the engine's outcome, or "error: …"

    @property
    def ok(self) -> bool:
        return self.actual == self.case.expected

    def as_dict(self) -> dict[str, Any]:
        c = self.case
        out = {
            "position": c.position,
            "what": c.what,
            "expected": c.expected,
            "actual": self.actual,
            "ok": self.ok,
        }
        if not self.ok:
            out |= {"as_of": c.as_of.isoformat(), "record": c.record}
        return out


@dataclass
class Threshold:
    """One leaf of one rule, with every boundary case built for it."""

    rule_id: str
    leaf: str
    results: list[BoundaryResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "threshold": self.leaf,
            "ok": self.ok,
            "cases": [r.as_dict() for r in self.results],
        }


def test_protocol(protocol: Protocol) -> tuple[list[Threshold], list[Uncovered]]:
    """Every boundary case of ``protocol``, evaluated by the engine, grouped per threshold."""
    cases, uncovered = generate(protocol.doc)
    groups: dict[tuple[str, str], Threshold] = {}
    for case in cases:
        key = (case.rule_id, case.leaf)
        groups.setdefault(key, Threshold(*key)).results.append(_run(protocol, case))
    return list(groups.values()), uncovered


test_protocol.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def _run(protocol: Protocol, case: BoundaryCase) -> BoundaryResult:
    try:
        record = engine.parse_record(case.record)
        result = engine.evaluate_rule(protocol, record, case.as_of, case.rule)
    except (engine.RecordError, ValueError, ArithmeticError, KeyError, TypeError) as exc:
        return BoundaryResult(case, f"error: {type(exc).__name__}: {exc}")
    return BoundaryResult(case, result.outcome.value)
