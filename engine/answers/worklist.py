"""The coordinator's worklist — many patients' schedules on one day — as a typed answer."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from .entries import Json
from .schedule import ScheduledEvent

__all__ = ["Worklist", "WorklistItem", "WorklistPatient"]


@dataclass(frozen=True)
class WorklistItem:
    """One event of one patient's schedule, with the decision it follows and what that
    decision waits for (``missing``: only when it is NEED_DATA)."""

    subject_id: str
    event: ScheduledEvent
    action: str
    follows_decision: str
    missing: tuple[str, ...]

    def to_json(self) -> Json:
        """A table row: the event's fields in the order a table shows them (None where the
        event has none), then the decision it follows and what that decision waits for."""
        e = self.event
        window = e.window_start is not None and e.window_end is not None
        return {
            "subject_id": self.subject_id,
            "date": e.date.isoformat(),
            "window_start": e.window_start.isoformat() if window and e.window_start else None,
            "window_end": e.window_end.isoformat() if window and e.window_end else None,
            "kind": e.kind,
            "what": e.what,
            "cycle": e.cycle,
            "phase": e.phase,
            "overdue": e.overdue is not None,
            "days_past_due": None if e.overdue is None else e.overdue.days_past_due,
            "overdue_limit_days": None if e.overdue is None else e.overdue.limit_days,
            "pending_data": e.pending_data,
            "action": self.action,
            "follows_decision": self.follows_decision,
            "missing": list(self.missing),
        }


@dataclass(frozen=True)
class WorklistPatient:
    """A patient of the worklist, listed even with no event within the horizon."""

    subject_id: str
    action: str
    phase: str | None
    follows_decision: str
    missing: tuple[str, ...]
    events: int

    def to_json(self) -> Json:
        return {
            "subject_id": self.subject_id,
            "action": self.action,
            "phase": self.phase,
            "follows_decision": self.follows_decision,
            "missing": list(self.missing),
            "events": self.events,
        }


@dataclass(frozen=True)
class Worklist:
    """Every patient's scheduled events on ``as_of`` up to ``horizon`` (ISO 8601), overdue
    first; ``duplicates``: subject ids given by more than one record."""

    as_of: datetime.date
    horizon: str
    protocols: tuple[str, ...]
    items: tuple[WorklistItem, ...]
    patients: tuple[WorklistPatient, ...]
    duplicates: tuple[str, ...]

    @property
    def overdue(self) -> int:
        return sum(1 for item in self.items if item.event.overdue is not None)

    def to_json(self) -> Json:
        return {
            "as_of": self.as_of.isoformat(),
            "horizon": self.horizon,
            "protocols": list(self.protocols),
            "items": [item.to_json() for item in self.items],
            "overdue": self.overdue,
            "patients": [p.to_json() for p in self.patients],
            "duplicates": list(self.duplicates),
        }
