"""Amendment impact: the same patients under two protocol revisions, and what flips.

For each (record, as_of) both revisions answer eligibility and next action; a
subject is *changed* when the eligibility outcome, the next action, the cycle,
the activity or the cycles remaining under the kidney cap differ. The rules
responsible are those whose outcome differs between the two answers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from protocol import Protocol

from .decision import decide
from .eligibility import eligibility
from .record import Record

__all__ = ["assess_amendment", "compare_subject"]

_FIELDS = ("action", "cycle", "activity_gbq")


def compare_subject(old: Protocol, new: Protocol, record: Record, as_of: date) -> dict[str, Any]:
    """One subject under both revisions: the flips and the rules behind them."""
    e_old, e_new = eligibility(old, record, as_of), eligibility(new, record, as_of)
    d_old, d_new = decide(old, record, as_of), decide(new, record, as_of)
    changes = []
    if e_old["outcome"] != e_new["outcome"]:
        changes.append(_change("eligibility", e_old["outcome"], e_new["outcome"]))
    for name in _FIELDS:
        if d_old[name] != d_new[name]:
            changes.append(_change(name, d_old[name], d_new[name]))
    remaining = (_remaining(d_old), _remaining(d_new))
    if remaining[0] != remaining[1]:
        changes.append(_change("cycles_remaining", *remaining))
    return {
        "subject_id": record.subject_id,
        "as_of": as_of.isoformat(),
        "changed": bool(changes),
        "changes": changes,
        "rules": _rule_flips(e_old["criteria"], e_new["criteria"])
        + _rule_flips(_rules(d_old), _rules(d_new)),
        "old": {
            "eligibility": e_old["outcome"],
            **{k: d_old[k] for k in _FIELDS},
            "cycles_remaining": remaining[0],
        },
        "new": {
            "eligibility": e_new["outcome"],
            **{k: d_new[k] for k in _FIELDS},
            "cycles_remaining": remaining[1],
        },
    }


def assess_amendment(
    old: Protocol, new: Protocol, cases: Iterable[tuple[Record, date]]
) -> Iterator[dict[str, Any]]:
    """Yield one comparison per (record, as_of); see :func:`summarise` for the totals."""
    for record, as_of in cases:
        yield compare_subject(old, new, record, as_of)


def summarise(old: Protocol, new: Protocol, results: list[dict[str, Any]]) -> dict[str, Any]:
    kinds = Counter(c["field"] for r in results for c in r["changes"])
    changed = sum(1 for r in results if r["changed"])
    return {
        "from": old.ref,
        "to": new.ref,
        "from_sha256": old.sha256,
        "to_sha256": new.sha256,
        "subjects": len(results),
        "unchanged": len(results) - changed,
        "changed": changed,
        "by_kind": dict(sorted(kinds.items())),
    }


def _change(field: str, old: Any, new: Any) -> dict[str, Any]:
    return {"field": field, "old": old, "new": new}


def _remaining(answer: dict[str, Any]) -> int | None:
    kb = answer.get("kidney_bed")
    left = None if kb is None else kb["cycles_remaining"]  # None: no next cycle to project
    return None if left is None else int(left)


def _rules(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {**r, "outcome": r["outcome"] if r in answer["checked"] else f"FIRED:{r['category']}"}
        for r in [*answer["reasons"], *answer["checked"]]
    ]


def _rule_flips(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    before = {r["id"]: r["outcome"] for r in old}
    after = {r["id"]: r["outcome"] for r in new}
    return [
        {"id": rule_id, "old": before.get(rule_id), "new": after.get(rule_id)}
        for rule_id in sorted(set(before) | set(after))
        if before.get(rule_id) != after.get(rule_id)
    ]
