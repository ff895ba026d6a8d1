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
from datetime import date
from typing import Any

from .answers import Schedule, ScheduledEvent

__all__ = ["worklist"]


def worklist(schedules: Iterable[Schedule], as_of: str, horizon: str) -> dict[str, Any]:
    """One worklist from the schedule answers of many patients on the same ``as_of``."""
    rows: list[dict[str, Any]] = []
    patients: list[dict[str, Any]] = []
    protocols: set[str] = set()
    for n, schedule in enumerate(schedules):
        _same_day(schedule, as_of, n)
        protocols.add(schedule.envelope.protocol.ref)
        patients.append(_patient(schedule))
        rows.extend(_row(schedule, event) for event in schedule.events)
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


def _same_day(schedule: Schedule, as_of: str, n: int) -> None:
    day = schedule.envelope.as_of.isoformat()
    if day != as_of:
        raise ValueError(f"schedule {n} is for {day}, the worklist for {as_of}")


def _patient(schedule: Schedule) -> dict[str, Any]:
    return {
        "subject_id": schedule.envelope.subject_id,
        "action": schedule.action,
        "phase": schedule.phase,
        "follows_decision": schedule.follows_decision,
        "missing": _missing(schedule),
        "events": len(schedule.events),
    }


def _row(schedule: Schedule, event: ScheduledEvent) -> dict[str, Any]:
    """One table row: the event's fields in the order a table shows them (None where the
    event has none), then the decision it follows and what that decision waits for."""
    window = event.window_start is not None and event.window_end is not None
    return {
        "subject_id": schedule.envelope.subject_id,
        "date": event.date.isoformat(),
        "window_start": _iso(event.window_start) if window else None,
        "window_end": _iso(event.window_end) if window else None,
        "kind": event.kind,
        "what": event.what,
        "cycle": event.cycle,
        "phase": event.phase,
        "overdue": event.overdue is not None,
        "days_past_due": None if event.overdue is None else event.overdue.days_past_due,
        "overdue_limit_days": None if event.overdue is None else event.overdue.limit_days,
        "pending_data": event.pending_data,
        "action": schedule.action,
        "follows_decision": schedule.follows_decision,
        "missing": _missing(schedule),
    }


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _missing(schedule: Schedule) -> list[str]:
    """The data the decision waits for: its missing items under NEED_DATA, else none."""
    return list(schedule.missing) if schedule.action == "NEED_DATA" else []


def _order(row: dict[str, Any]) -> tuple[bool, str, str, str, int]:
    """Overdue first; then by due date (an overdue row's earlier date: more days late)."""
    return (not row["overdue"], row["date"], row["subject_id"], row["kind"], row["cycle"] or 0)
