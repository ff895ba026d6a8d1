"""The schedule — the decision's projection over a horizon — as a typed answer."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from datetime import date

from .entries import Json
from .envelope import Envelope

__all__ = ["Overdue", "Schedule", "ScheduledEvent"]


@dataclass(frozen=True)
class Overdue:
    """An event past its due date on as_of: days past due and the limit (calendar days) at
    which the protocol acts on it (None: no limit)."""

    days_past_due: int
    limit_days: int | None


@dataclass(frozen=True)
class ScheduledEvent:
    """One dated event: ``kind`` (cycle, recheck, missing_data, end_of_treatment, a schedule
    item id …), what it is in words, the phase it belongs to, and its window if any."""

    date: datetime.date
    kind: str
    what: str
    phase: str | None
    cycle: int | None = None
    window_start: datetime.date | None = None
    window_end: datetime.date | None = None
    overdue: Overdue | None = None
    pending_data: bool = False

    def to_json(self) -> Json:
        out: Json = {
            "date": self.date.isoformat(),
            "kind": self.kind,
            "what": self.what,
            "phase": self.phase,
        }
        if self.cycle is not None:
            out["cycle"] = self.cycle
        if self.window_start is not None and self.window_end is not None:
            out["window_start"] = self.window_start.isoformat()
            out["window_end"] = self.window_end.isoformat()
        if self.overdue is not None:
            out["overdue"] = True
            out["days_past_due"] = self.overdue.days_past_due
            out["overdue_limit_days"] = self.overdue.limit_days
        if self.pending_data:
            out["pending_data"] = True
        return out


@dataclass(frozen=True)
class Schedule:
    """The events the decision ``follows_decision`` leads to, up to as_of + ``horizon``
    (ISO 8601) and never past the protocol's end (``ends``)."""

    envelope: Envelope
    horizon: str
    phase: str | None
    action: str
    follows_decision: str
    ends: date | None
    events: tuple[ScheduledEvent, ...]
    missing: tuple[str, ...] = ()  # what the decision is missing (it waits on them if NEED_DATA)

    def to_json(self) -> Json:
        return {
            **self.envelope.to_json(),
            "horizon": self.horizon,
            "phase": self.phase,
            "action": self.action,
            "follows_decision": self.follows_decision,
            "missing": list(self.missing),
            "ends": None if self.ends is None else self.ends.isoformat(),
            "events": [e.to_json() for e in self.events],
        }
