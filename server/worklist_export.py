"""The worklist as files: CSV for spreadsheets, iCalendar (RFC 5545) for calendars.

Both are written from the engine's worklist answer (:func:`engine.worklist.worklist`),
one row or one all-day event per scheduled event, on the event's own due date (one date
per event on every edge). The calendar is written by the ``icalendar`` library, which
escapes text and folds long lines as RFC 5545 asks.
"""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from flexmrt.engine import Worklist, WorklistItem

__all__ = ["CSV_COLUMNS", "to_csv", "to_ics"]

#: CSV columns, in order; ``missing`` joins the items with "; ", empty cells mean "none".
CSV_COLUMNS = (
    "subject_id",
    "date",
    "overdue",
    "days_past_due",
    "overdue_limit_days",
    "window_start",
    "window_end",
    "kind",
    "what",
    "cycle",
    "phase",
    "pending_data",
    "action",
    "missing",
    "follows_decision",
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def to_csv(answer: Worklist) -> str:
    """One row per worklist item (its JSON fields), with a header row; RFC 4180 quoting,
    CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for item in answer.items:
        row = item.to_json()
        writer.writerow([_cell(row[column]) for column in CSV_COLUMNS])
    return out.getvalue()


def to_ics(answer: Worklist) -> bytes:
    """An iCalendar file: one all-day VEVENT per item on its due date.

    The UID is stable for the same event of the same decision (re-importing an unchanged
    worklist updates rather than duplicates); DTSTAMP is the worklist's date, so the same
    worklist always gives the same bytes.
    """
    from icalendar import Calendar, Event

    calendar = Calendar()
    calendar.add("prodid", "-//flexmrt//worklist//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"flexmrt worklist {answer.as_of}")
    stamp = datetime.combine(answer.as_of, datetime.min.time(), UTC)
    for item in answer.items:
        day = item.event.date
        event = Event()
        event.add("uid", _uid(item))
        event.add("dtstamp", stamp)
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
        event.add("summary", _summary(item))
        event.add("description", _description(item))
        event.add("categories", [item.event.kind])
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def _uid(item: WorklistItem) -> str:
    """Unique per event of a decision; the same event of the same decision, the same UID."""
    e = item.event
    key = "\x1f".join(str(v) for v in (item.follows_decision, e.kind, e.cycle, e.date, e.what))
    return f"{hashlib.sha256(key.encode()).hexdigest()[:32]}@flexmrt"


def _summary(item: WorklistItem) -> str:
    e = item.event
    late = f"OVERDUE {e.overdue.days_past_due} d: " if e.overdue else ""
    return f"{late}{item.subject_id}: {e.what}"


def _description(item: WorklistItem) -> str:
    e = item.event
    lines = [f"Due {e.date} ({e.phase}); follows {item.action}."]
    if e.window_start and e.window_end:
        lines.append(f"Window {e.window_start} to {e.window_end}.")
    if e.overdue:
        limit = e.overdue.limit_days
        lines.append(
            f"Overdue: {e.overdue.days_past_due} days past due"
            + (f" (limit {limit} days)." if limit is not None else ".")
        )
    if e.pending_data:
        lines.append("Pending the missing data.")
    for missing in item.missing:
        lines.append(f"Missing: {missing}")
    lines.append(f"Decision {item.follows_decision}")
    return "\n".join(lines)
