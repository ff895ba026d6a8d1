"""When each holiday surveillance item is next due: its last event + its interval.

The protocol lists the holiday's items under ``schedules.holiday`` (FLEX-MRT: PSMA PET/CT
read with RECIP 1.0, and PSA with labs, each every 12 weeks). An item is due its interval
after its latest event on or after the holiday start, else after the start itself; calendar
days, as every due date in the engine. The decision names these dates and the schedule
lists them, so the two cannot differ.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from protocol.durations import add_duration

from .context import Context

__all__ = ["surveillance_due"]

# The record's events that satisfy each holiday item, by the item's id.
_EVENTS: dict[str, Callable[[Context], list[date]]] = {
    "psma_pet": lambda ctx: [p.day for p in ctx.record.pets or ()],
    "labs": lambda ctx: [lab.day for lab in ctx.record.labs or ()],
}


def surveillance_due(ctx: Context, start: date) -> dict[str, date]:
    """Due date of each holiday item (by id) for a holiday that starts on ``start``."""
    due = {}
    for item in ctx.protocol.doc["schedules"].get("holiday", []):
        if "every" not in item:
            continue
        events = _EVENTS[item["id"]](ctx) if item["id"] in _EVENTS else []
        last = max((d for d in events if start <= d <= ctx.as_of), default=start)
        due[item["id"]] = add_duration(last, ctx.protocol.duration(item["every"]))
    return due
