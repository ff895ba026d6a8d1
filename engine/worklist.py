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

from .answers import Schedule, Worklist, WorklistItem, WorklistPatient

__all__ = ["worklist"]


def worklist(schedules: Iterable[Schedule], as_of: date, horizon: str) -> Worklist:
    """One worklist from the schedule answers of many patients on the same ``as_of``."""
    items: list[WorklistItem] = []
    patients: list[WorklistPatient] = []
    protocols: set[str] = set()
    for n, schedule in enumerate(schedules):
        if schedule.envelope.as_of != as_of:
            raise ValueError(
                f"schedule {n} is for {schedule.envelope.as_of}, the worklist for {as_of}"
            )
        protocols.add(schedule.envelope.protocol.ref)
        missing = _missing(schedule)
        patients.append(
            WorklistPatient(
                schedule.envelope.subject_id,
                schedule.action,
                schedule.phase,
                schedule.follows_decision,
                missing,
                len(schedule.events),
            )
        )
        items.extend(
            WorklistItem(
                schedule.envelope.subject_id,
                event,
                schedule.action,
                schedule.follows_decision,
                missing,
            )
            for event in schedule.events
        )
    items.sort(key=_order)
    counts = Counter(p.subject_id for p in patients)
    return Worklist(
        as_of,
        horizon,
        tuple(sorted(protocols)),
        tuple(items),
        tuple(patients),
        tuple(sorted(s for s, k in counts.items() if k > 1)),
    )


def _missing(schedule: Schedule) -> tuple[str, ...]:
    """The data the decision waits for: its missing items under NEED_DATA, else none."""
    return schedule.missing if schedule.action == "NEED_DATA" else ()


def _order(item: WorklistItem) -> tuple[bool, date, str, str, int]:
    """Overdue first; then by due date (an overdue row's earlier date: more days late)."""
    e = item.event
    return (e.overdue is None, e.date, item.subject_id, e.kind, e.cycle or 0)
