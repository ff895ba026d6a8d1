"""The coordinator's worklist: every patient's scheduled events, overdue first.

A projection of :func:`engine.schedule` answers, nothing more: each row is one event of
one patient's schedule on ``as_of`` (its date, window and overdue flags unchanged) with
the decision it follows from and, when that decision waits for data (NEED_DATA), the data
it is missing (after any other action nothing waits on them). Rows are ordered
overdue first (most days past due first), then by due date; ties by subject and kind.
A patient whose schedule lists nothing within the horizon still appears among
``patients`` (with no rows), so no one drops off the list unseen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from .answers import Schedule

__all__ = ["worklist"]

# Row keys copied from a schedule event, in the order a table shows them.
_EVENT_KEYS = (
    "date",
    "window_start",
    "window_end",
    "kind",
    "what",
    "cycle",
    "phase",
    "overdue",
    "days_past_due",
    "overdue_limit_days",
    "pending_data",
)


def worklist(schedules: Iterable[Schedule], as_of: str, horizon: str) -> dict[str, Any]:
    """One worklist from the schedule answers of many patients on the same ``as_of``."""
    rows: list[dict[str, Any]] = []
    patients: list[dict[str, Any]] = []
    protocols: set[str] = set()
    for n, schedule in enumerate(schedules):
        answer = schedule.to_json()
        _same_day(answer, as_of, n)
        protocols.add(answer["protocol"]["ref"])
        patients.append(_patient(answer))
        rows.extend(_row(answer, event) for event in answer["events"])
    rows.sort(key=_order)
    counts = Counter(p["subject_id"] for p in patients)
    return {
        "as_of": as_of,
        "horizon": horizon,
        "protocols": sorted(protocols),
        "items": rows,
        "overdue": sum(1 for r in rows if r["overdue"]),
        "patients": patients,
        "duplicates": sorted(s for s, k in counts.items() if k > 1),
    }


def _same_day(answer: dict[str, Any], as_of: str, n: int) -> None:
    if answer["as_of"] != as_of:
        raise ValueError(f"schedule {n} is for {answer['as_of']}, the worklist for {as_of}")


def _patient(answer: dict[str, Any]) -> dict[str, Any]:
    return {
        "subject_id": answer["subject_id"],
        "action": answer["action"],
        "phase": answer["phase"],
        "follows_decision": answer["follows_decision"],
        "missing": _missing(answer),
        "events": len(answer["events"]),
    }


def _row(answer: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"subject_id": answer["subject_id"]}
    row.update({key: event.get(key) for key in _EVENT_KEYS})
    row["overdue"] = bool(row["overdue"])
    row["pending_data"] = bool(row["pending_data"])
    row["action"] = answer["action"]
    row["follows_decision"] = answer["follows_decision"]
    row["missing"] = _missing(answer)
    return row


def _missing(answer: dict[str, Any]) -> list[str]:
    """The data the decision waits for: its missing items under NEED_DATA, else none."""
    return list(answer.get("missing") or []) if answer["action"] == "NEED_DATA" else []


def _order(row: dict[str, Any]) -> tuple[bool, str, str, str, int]:
    """Overdue first; then by due date (an overdue row's earlier date: more days late)."""
    return (not row["overdue"], row["date"], row["subject_id"], row["kind"], row["cycle"] or 0)
