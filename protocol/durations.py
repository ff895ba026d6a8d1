"""ISO 8601 durations and dates as the protocol uses them.

Durations: ``PnYnMnWnD`` and ``PTnH`` forms (``P6W``, ``P14D``, ``P3M``, ``PT72H``).
Calendar units (years, months) are kept apart from exact days so that "every
3 months" lands on the same day of the month; comparisons that need a length use
30.4375 days per month.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

__all__ = ["Duration", "add_duration", "parse_date", "parse_datetime", "parse_duration"]

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+)M)?)?$"
)
DAYS_PER_MONTH = 30.4375
MAX_YEARS = 100  # a longer duration is a typo; dates plus it stay inside the calendar


@dataclass(frozen=True, order=True)
class Duration:
    """A duration: whole calendar months plus an exact number of hours."""

    months: int = 0
    hours: float = 0.0

    @property
    def days(self) -> float:
        """Approximate length in days (30.4375 days per month)."""
        return self.months * DAYS_PER_MONTH + self.hours / 24.0

    def human(self) -> str:
        """Plain words for messages: "14 days", "6 months", "72 h"."""
        parts = []
        if self.months:
            parts.append(f"{self.months} month{'s' if self.months != 1 else ''}")
        if self.hours:
            days = self.hours / 24
            parts.append(
                f"{days:g} day{'s' if days != 1 else ''}"
                if days.is_integer()
                else f"{self.hours:g} h"
            )
        return " ".join(parts) or "0 days"

    def __str__(self) -> str:
        parts = "P"
        if self.months:
            parts += f"{self.months}M"
        if self.hours:
            whole_days, rest = divmod(self.hours, 24.0)
            if whole_days:
                parts += f"{int(whole_days)}D"
            if rest:
                parts += f"T{rest:g}H"
        return parts if parts != "P" else "P0D"


def parse_duration(text: str) -> Duration:
    """Parse an ISO 8601 duration; raise ValueError naming the accepted forms."""
    match = _DURATION.match(text) if isinstance(text, str) and len(text) <= 64 else None
    if not match:
        shown = repr(text) if len(repr(text)) <= 40 else repr(text)[:37] + "..."
        raise ValueError(f"{shown} is not an ISO 8601 duration such as P6W, P14D, P3M or PT72H")
    g = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    months = g["years"] * 12 + g["months"]
    hours = (g["weeks"] * 7 + g["days"]) * 24 + g["hours"] + g["minutes"] / 60
    if months + hours / 24 / DAYS_PER_MONTH > MAX_YEARS * 12:
        raise ValueError(f"{text!r} is longer than {MAX_YEARS} years")
    return Duration(months=int(months), hours=hours)


def add_duration(day: date, duration: Duration, times: int = 1) -> date:
    """``day`` plus ``times`` × ``duration``; months step by calendar, clamped to month end."""
    total_months = duration.months * times
    year, month0 = divmod(day.month - 1 + total_months, 12)
    year += day.year
    last = calendar.monthrange(year, month0 + 1)[1]
    moved = date(year, month0 + 1, min(day.day, last))
    return moved + timedelta(hours=duration.hours * times)


def parse_date(text: str) -> date:
    return date.fromisoformat(text)


def parse_datetime(text: str) -> datetime:
    """An ISO 8601 date-time with an offset, in UTC; a bare date means that day's start in UTC."""
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset; write e.g. {text}+00:00 or {text}Z")
    return value.astimezone(UTC)
