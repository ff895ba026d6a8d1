"""Holiday surveillance: which of PSA, labs and PSMA PET/CT is due when, and which is overdue.

Each item of the protocol's holiday schedule that names its ``evidence`` (``labs: [codes]``,
or ``scan: pet_ct``) is due one interval (``every``) after it was last done on this holiday,
counted from the holiday start until it is first done. A lab item is done on a day when each
of its tests has a result; the PSMA PET/CT is first due at the holiday start (the holiday's
RECIP baseline), unless a baseline PET within ``holidays.baseline_window`` before the start
already exists. An unconfirmed PCWG3 rise makes the PSA due by its confirmation date. An item
is overdue once as_of is past its due date plus ``holidays.surveillance_grace``.
(FLEX-MRT: every 12 weeks, grace 7 days; MISSION, settled after the first independent review.)

The decision names these due dates and the schedule lists them (``surveillance_due``), so the
two cannot differ. Revisions whose holiday items name no evidence (flex-mrt 1.0) count each
item from its latest event of any kind on or after the holiday start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flexmrt.protocol.durations import add_duration

from .answers import Observation
from .context import Context, lab_evidence

__all__ = ["Surveyed", "holiday_surveillance", "surveillance_due"]


@dataclass(frozen=True)
class Surveyed:
    """One surveillance item on one holiday: when it was last done, when it is due."""

    id: str
    what: str
    kind: str  # "labs" or "scan" (the evidence that shows it done)
    last: date | None  # last done on this holiday (None: not yet)
    due: date
    overdue: bool
    pending: tuple[str, ...] = ()  # the lab tests not yet done since the holiday start
    evidence: tuple[Observation, ...] = ()

    def missing_text(self) -> str:
        shown = self.pending if self.kind == "labs" and self.pending != (self.what,) else ()
        tests = f" ({', '.join(shown)} none yet)" if shown else ""
        since = f"last on this holiday {self.last}" if self.last else "none on this holiday yet"
        return f"{self.what}{tests} due {self.due} ({since})"


def holiday_surveillance(
    ctx: Context, confirm_psa_by: date | None, start: date | None = None
) -> list[Surveyed]:
    """Every holiday schedule item with evidence, for the holiday that starts on ``start``
    (default: the open holiday on ``ctx.as_of``)."""
    if start is None and ctx.open_holiday is not None:
        start = ctx.open_holiday.start
    holidays = ctx.protocol.doc.get("holidays") or {}
    if start is None or "surveillance_grace" not in holidays:
        return []
    grace = ctx.protocol.duration(holidays["surveillance_grace"]).days
    items = []
    for item in ctx.protocol.doc["schedules"].get("holiday", []):
        if "every" not in item or "evidence" not in item:
            continue
        every = ctx.protocol.duration(item["every"])
        if "labs" in item["evidence"]:
            last, pending, evidence = _labs_done(ctx, start, item["evidence"]["labs"])
            due = add_duration(last or start, every)
            if confirm_psa_by is not None and "PSA" in item["evidence"]["labs"]:
                due = min(due, confirm_psa_by)
        else:
            last, evidence = _pet_done(ctx, start)
            pending = ()
            due = add_duration(last, every) if last else _first_pet_due(ctx, start, every)
        overdue = ctx.as_of > due + timedelta(days=grace)
        kind = "labs" if "labs" in item["evidence"] else "scan"
        items.append(
            Surveyed(item["id"], item["what"], kind, last, due, overdue, pending, evidence)
        )
    return items


def _labs_done(
    ctx: Context, start: date, tests: list[str]
) -> tuple[date | None, tuple[str, ...], tuple[Observation, ...]]:
    """The day by which every test had a result on this holiday (the earliest of each test's
    latest), the tests with none yet, and the results used."""
    latest = {t: next((x for x in reversed(ctx.labs(t)) if x.day >= start), None) for t in tests}
    pending = tuple(t for t, lab in latest.items() if lab is None)
    found = [lab for lab in latest.values() if lab is not None]
    last = None if pending else min(lab.day for lab in found)
    evidence = tuple(lab_evidence(lab) for lab in found)
    return last, pending, evidence


def _pet_done(ctx: Context, start: date) -> tuple[date | None, tuple[Observation, ...]]:
    pets = [p for p in ctx.record.pets or () if p.day >= start]
    if not pets:
        return None, ()
    p = pets[-1]
    return p.day, (
        Observation(
            "PSMA PET/CT", p.psma_vol_ml, "mL", date=p.day.isoformat(), pointer=f"/pet_ct/{p.index}"
        ),
    )


def _first_pet_due(ctx: Context, start: date, every: Any) -> date:
    """No PET since the start: the baseline is due at the start, unless one was done within
    the baseline window before it (then the first follow-up PET is due an interval later)."""
    holidays = ctx.protocol.doc["holidays"]
    if "baseline_window" not in holidays:
        return add_duration(start, every)
    window = ctx.protocol.duration(holidays["baseline_window"])
    opens = add_duration(start, window, -1)
    before = [p for p in ctx.record.pets or () if opens <= p.day < start]
    return add_duration(start, every) if before else start


# Revisions without ``evidence`` on their holiday items: the record's events that satisfy
# each item, by the item's id.
_EVENTS: dict[str, Callable[[Context], list[date]]] = {
    "psma_pet": lambda ctx: [p.day for p in ctx.record.pets or ()],
    "labs": lambda ctx: [lab.day for lab in ctx.record.labs or ()],
}


def surveillance_due(
    ctx: Context, start: date, confirm_psa_by: date | None = None
) -> dict[str, date]:
    """Due date of each holiday item (by id) for a holiday that starts on ``start``."""
    surveyed = {i.id: i.due for i in holiday_surveillance(ctx, confirm_psa_by, start)}
    due = {}
    for item in ctx.protocol.doc["schedules"].get("holiday", []):
        if "every" not in item:
            continue
        if item["id"] in surveyed:
            due[item["id"]] = surveyed[item["id"]]
            continue
        events = _EVENTS[item["id"]](ctx) if item["id"] in _EVENTS else []
        last = max((d for d in events if start <= d <= ctx.as_of), default=start)
        due[item["id"]] = add_duration(last, ctx.protocol.duration(item["every"]))
    return due
