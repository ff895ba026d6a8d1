"""Amendment impact: the same patients under two protocol revisions, and what flips.

For each (record, as_of) both revisions answer eligibility and next action; a
subject is *changed* when the eligibility outcome, the next action, the cycle,
the activity or the cycles remaining under the kidney cap differ. The rules
responsible are those whose outcome differs between the two answers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import astuple
from datetime import date

from flexmrt.protocol import Protocol

from .answers import (
    AmendmentSummary,
    Change,
    Decision,
    Eligibility,
    RuleFlip,
    SubjectImpact,
    Verdict,
)
from .decision import decide
from .eligibility import eligibility
from .identity import protocol_ref
from .record import Record

__all__ = ["assess_amendment", "compare_subject", "summarise"]

# The fields compared, in the order changes are listed.
_FIELDS = ("eligibility", "action", "cycle", "activity_gbq", "cycles_remaining")


def compare_subject(old: Protocol, new: Protocol, record: Record, as_of: date) -> SubjectImpact:
    """One subject under both revisions: the flips and the rules behind them."""
    e_old, e_new = eligibility(old, record, as_of), eligibility(new, record, as_of)
    d_old, d_new = decide(old, record, as_of), decide(new, record, as_of)
    before, after = _verdict(e_old, d_old), _verdict(e_new, d_new)
    changes = tuple(
        Change(name, a, b)
        for name, a, b in zip(_FIELDS, astuple(before), astuple(after), strict=True)
        if a != b
    )
    return SubjectImpact(
        subject_id=record.subject_id,
        as_of=as_of,
        changes=changes,
        rules=_rule_flips(_criteria(e_old), _criteria(e_new))
        + _rule_flips(_rules(d_old), _rules(d_new)),
        old=before,
        new=after,
    )


def assess_amendment(
    old: Protocol, new: Protocol, cases: Iterable[tuple[Record, date]]
) -> Iterator[SubjectImpact]:
    """Yield one comparison per (record, as_of); see :func:`summarise` for the totals."""
    for record, as_of in cases:
        yield compare_subject(old, new, record, as_of)


def summarise(old: Protocol, new: Protocol, results: list[SubjectImpact]) -> AmendmentSummary:
    kinds = Counter(c.field for r in results for c in r.changes)
    return AmendmentSummary(
        old=protocol_ref(old),
        new=protocol_ref(new),
        subjects=len(results),
        changed=sum(1 for r in results if r.changed),
        by_kind=dict(sorted(kinds.items())),
    )


def _verdict(e: Eligibility, d: Decision) -> Verdict:
    kb = d.kidney_bed  # cycles_remaining None: no next cycle to project
    remaining = None if kb is None or kb.cycles_remaining is None else int(kb.cycles_remaining)
    return Verdict(e.outcome, d.action, d.cycle, d.activity_gbq, remaining)


def _criteria(answer: Eligibility) -> dict[str, str]:
    return {c.id: c.outcome for c in answer.criteria}


def _rules(answer: Decision) -> dict[str, str]:
    """Each rule's outcome: ``FIRED:category`` for a reason, its outcome if checked (of
    entries sharing an id, the last one listed)."""
    fired = {r.id: f"FIRED:{r.category}" for r in answer.reasons}
    return {**fired, **{r.id: r.outcome for r in answer.checked}}


def _rule_flips(old: dict[str, str], new: dict[str, str]) -> tuple[RuleFlip, ...]:
    return tuple(
        RuleFlip(rule_id, old.get(rule_id), new.get(rule_id))
        for rule_id in sorted(set(old) | set(new))
        if old.get(rule_id) != new.get(rule_id)
    )
