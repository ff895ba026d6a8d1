"""Run a protocol's generated boundary cases through the engine and compare outcomes.

protocol.boundary builds the cases and their expected outcomes with its own
arithmetic; this module evaluates each case's rule with the engine (or, for a case with
a probe, takes the engine's decision and reads it there) and groups the
results per threshold (rule id + leaf), so a rule that does not flip where its text
says is reported with the record that shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flexmrt import engine
from flexmrt.engine.answers import TreatmentResponse
from flexmrt.protocol import Protocol
from flexmrt.protocol.boundary import BoundaryCase, Uncovered, generate

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
        if case.probe is not None:
            answer = engine.decide(protocol, record, case.as_of)
            return BoundaryResult(case, _probe(answer, *case.probe))
        result = engine.evaluate_rule(protocol, record, case.as_of, case.rule)
    except (engine.RecordError, ValueError, ArithmeticError, KeyError, TypeError) as exc:
        return BoundaryResult(case, f"error: {type(exc).__name__}: {exc}")
    return BoundaryResult(case, result.outcome.value)


# The PSA responses a probe can ask about (``("response", "psa50")``).
_RESPONSES: dict[str, Callable[[TreatmentResponse], bool | None]] = {
    "psa50": lambda r: r.psa50,
    "psa90": lambda r: r.psa90,
}


def _probe(answer: engine.Decision, kind: str, arg: str) -> str:
    """What the decision says about one boundary (see ``BoundaryCase.probe``)."""
    reasons = {r.id: r for r in answer.reasons}
    if kind == "reason":
        return reasons[arg].outcome if arg in reasons else "NOT_MET"
    if kind in ("present", "no_reason"):
        return "MET" if (arg in reasons) == (kind == "present") else "NOT_MET"
    if kind == "action":
        return "MET" if answer.action == arg else "NOT_MET"
    if kind == "activity":
        given = answer.activity_gbq
        if given is None:
            return f"INDETERMINATE ({answer.action})"
        return "MET" if Decimal(repr(float(given))) == Decimal(arg) else "NOT_MET"
    if kind == "response":
        if arg not in _RESPONSES:
            raise ValueError(f"unknown response probe {arg!r} (one of {', '.join(_RESPONSES)})")
        said = None if answer.response is None else _RESPONSES[arg](answer.response)
        return "INDETERMINATE" if said is None else "MET" if said else "NOT_MET"
    if kind == "overdue":
        held = reasons.get("HOL-SURVEILLANCE")
        missing = () if held is None else held.missing
        return "MET" if any(m.startswith(f"{arg} ") for m in missing) else "NOT_MET"
    raise ValueError(f"unknown probe {kind!r}")
