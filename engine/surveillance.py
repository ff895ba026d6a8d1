"""Holiday surveillance: which of PSA, labs and PSMA PET/CT is due when, and which is overdue.

Each item of the protocol's holiday schedule that names its ``evidence`` (``labs: [codes]``,
or ``scan: pet_ct``) is due one interval (``every``) after it was last done on this holiday,
counted from the holiday start until it is first done. A lab item is done on a day when each
of its tests has a result; the PSMA PET/CT is first due at the holiday start (the holiday's
RECIP baseline), unless a baseline PET within ``holidays.baseline_window`` before the start
already exists. An unconfirmed PCWG3 rise makes the PSA due by its confirmation date. An item
is overdue once as_of is past its due date plus ``holidays.surveillance_grace``.
(FLEX-MRT: every 12 weeks, grace 7 days; MISSION, settled after the first independent review.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from protocol.durations import add_duration

from .context import Context, lab_evidence

__all__ = ["Surveyed", "holiday_surveillance"]


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
    evidence: tuple[dict[str, Any], ...] = ()

    def missing_text(self) -> str:
        shown = self.pending if self.kind == "labs" and self.pending != (self.what,) else ()
        tests = f" ({', '.join(shown)} none yet)" if shown else ""
        since = f"last on this holiday {self.last}" if self.last else "none on this holiday yet"
        return f"{self.what}{tests} due {self.due} ({since})"


def holiday_surveillance(ctx: Context, confirm_psa_by: date | None) -> list[Surveyed]:
    """Every holiday schedule item with evidence, for the open holiday on ``ctx.as_of``."""
    holiday = ctx.open_holiday
    holidays = ctx.protocol.doc.get("holidays") or {}
    if holiday is None or "surveillance_grace" not in holidays:
        return []
    grace = ctx.protocol.duration(holidays["surveillance_grace"]).days
    items = []
    for item in ctx.protocol.doc["schedules"].get("holiday", []):
        if "every" not in item or "evidence" not in item:
            continue
        every = ctx.protocol.duration(item["every"])
        if "labs" in item["evidence"]:
            last, pending, evidence = _labs_done(ctx, holiday.start, item["evidence"]["labs"])
            due = add_duration(last or holiday.start, every)
            if confirm_psa_by is not None and "PSA" in item["evidence"]["labs"]:
                due = min(due, confirm_psa_by)
        else:
            last, evidence = _pet_done(ctx, holiday.start)
            pending = ()
            due = add_duration(last, every) if last else _first_pet_due(ctx, holiday.start, every)
        overdue = ctx.as_of > due + timedelta(days=grace)
        kind = "labs" if "labs" in item["evidence"] else "scan"
        items.append(
            Surveyed(item["id"], item["what"], kind, last, due, overdue, pending, evidence)
        )
    return items


def _labs_done(
    ctx: Context, start: date, tests: list[str]
) -> tuple[date | None, tuple[str, ...], tuple[dict[str, Any], ...]]:
    """The day by which every test had a result on this holiday (the earliest of each test's
    latest), the tests with none yet, and the results used."""
    latest = {t: next((x for x in reversed(ctx.labs(t)) if x.day >= start), None) for t in tests}
    pending = tuple(t for t, lab in latest.items() if lab is None)
    found = [lab for lab in latest.values() if lab is not None]
    last = None if pending else min(lab.day for lab in found)
    evidence = tuple(lab_evidence(lab) for lab in found)
    return last, pending, evidence


def _pet_done(ctx: Context, start: date) -> tuple[date | None, tuple[dict[str, Any], ...]]:
    pets = [p for p in ctx.record.pets or () if p.day >= start]
    if not pets:
        return None, ()
    p = pets[-1]
    return p.day, (
        {
            "what": "PSMA PET/CT",
            "value": p.psma_vol_ml,
            "unit": "mL",
            "date": p.day.isoformat(),
            "pointer": f"/pet_ct/{p.index}",
        },
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
