"""What the engine knows about one patient on one date under one protocol revision.

Derived once per evaluation: the arm, cycles given, the phase (treatment,
holiday, follow-up), the open holiday, the due date of the next cycle (last
administration + interval, holiday time excluded), baseline values.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from itertools import pairwise
from typing import Any

from flexmrt.protocol import Protocol
from flexmrt.protocol.durations import Duration, add_duration

from .activity import ActivityJudgement, activity_bands, judge_activity
from .answers import Observation
from .errors import Issue, RecordError
from .record import Administration, Holiday, Lab, Record

__all__ = ["Context", "lab_evidence", "window_start"]


@dataclass
class Context:
    protocol: Protocol
    record: Record  # already cut at as_of, its days in the site's time zone
    as_of: date

    @classmethod
    def of(cls, protocol: Protocol, record: Record, as_of: date) -> Context:
        """The context for ``record`` on ``as_of``: days counted in the protocol's site time
        zone, data dated after ``as_of`` ignored."""
        return cls(protocol, record.in_zone(protocol.time_zone).until(as_of), as_of)

    @cached_property
    def arm(self) -> dict[str, Any] | None:
        if self.record.arm is None:
            return None
        arm = self.protocol.arm(self.record.arm)
        if arm is None:
            known = ", ".join(a["id"] for a in self.protocol.doc["arms"])
            raise RecordError(
                "unknown_arm",
                f"arm {self.record.arm!r} is not an arm of {self.protocol.ref}",
                [
                    Issue(
                        "unknown_arm",
                        f"unknown arm {self.record.arm!r}",
                        "/randomisation/arm",
                        expected=f"one of {known}",
                        found=self.record.arm,
                    )
                ],
            )
        return arm

    @cached_property
    def administrations(self) -> tuple[Administration, ...]:
        return self.record.administrations or ()

    @property
    def cycles_given(self) -> int:
        return len(self.administrations)

    @property
    def last_admin(self) -> Administration | None:
        return self.administrations[-1] if self.administrations else None

    @property
    def first_admin(self) -> Administration | None:
        return self.administrations[0] if self.administrations else None

    @cached_property
    def max_cycles(self) -> int:
        return self.protocol.integer(self.arm["max_cycles"]) if self.arm else 0

    @cached_property
    def holidays(self) -> tuple[Holiday, ...]:
        """Recorded holidays, where the arm has holidays (elsewhere a pause is a delay)."""
        allowed = bool(self.arm and self.arm.get("holidays") and self.protocol.doc.get("holidays"))
        return (self.record.holidays or ()) if allowed else ()

    @cached_property
    def open_holiday(self) -> Holiday | None:
        for h in self.holidays:
            if h.end is None:
                return h
        return None

    @cached_property
    def restarted_on(self) -> date | None:
        """The end of the latest completed holiday: the restart, from which progression on
        treatment is judged again (the restart's own progression does not stop it)."""
        ends = [h.end for h in self.holidays if h.end is not None]
        return max(ends) if ends else None

    @property
    def phase(self) -> str:
        if self.open_holiday is not None:
            return "holiday"
        if self.cycles_given >= self.max_cycles > 0:
            return "follow_up"
        return "treatment"

    @cached_property
    def interval(self) -> Duration:
        assert self.arm is not None
        return self.protocol.duration(self.arm["interval"])

    @cached_property
    def window(self) -> Duration:
        assert self.arm is not None
        return self.protocol.duration(self.arm["window"])

    @cached_property
    def standard_activity(self) -> float:
        assert self.arm is not None
        return self.protocol.arm_activity(self.arm)

    @cached_property
    def reduced_activity(self) -> float:
        return self.protocol.quantity(
            self.protocol.doc["dose_modification"]["reduced_activity"], "activity"
        )

    @cached_property
    def activity_judgements(self) -> tuple[ActivityJudgement, ...]:
        """Each administration judged against the protocol's activity bands."""
        bands = activity_bands(self.protocol, self.standard_activity, self.reduced_activity)
        return tuple(judge_activity(a, self.standard_activity, bands) for a in self.administrations)

    @cached_property
    def reduced_since(self) -> date | None:
        """Day of the first administration at the reduced level (no re-escalation after it)."""
        return next((j.admin.day for j in self.activity_judgements if j.reduced), None)

    @property
    def reductions_given(self) -> int:
        """1 once any cycle was given at the reduced level (see ``engine.activity``)."""
        return int(self.reduced_since is not None)

    def holiday_days_since(self, day: date) -> int:
        """Days spent on completed holidays that started on or after ``day``."""
        total = 0
        for h in self.holidays:
            if h.start >= day and h.end is not None:
                total += (h.end - h.start).days
        return total

    @cached_property
    def due(self) -> date | None:
        """Target date of the next cycle (None before cycle 1: due now)."""
        last = self.last_admin
        if last is None:
            return None
        return add_duration(last.day, self.interval) + timedelta(
            days=self.holiday_days_since(last.day)
        )

    @cached_property
    def baseline_day(self) -> date:
        """The reference day for baseline values: cycle 1, else as_of."""
        return self.first_admin.day if self.first_admin else self.as_of

    @cached_property
    def _lab_series(self) -> dict[str, _LabSeries]:
        """The record's labs by test code, built once per context (see ``_LabSeries``)."""
        by_test: dict[str, list[Lab]] = {}
        for lab in self.record.labs or ():
            by_test.setdefault(lab.test, []).append(lab)
        return {test: _LabSeries(tuple(labs)) for test, labs in by_test.items()}

    def labs(self, test: str) -> list[Lab]:
        """Results of ``test`` in the record's order (by time of the result)."""
        series = self._lab_series.get(test)
        return list(series.labs) if series else []

    def latest_lab(self, test: str, within: Duration | None, at: date | None = None) -> Lab | None:
        """The last result of ``test`` dated on or before ``at`` (default as_of) and, with
        ``within``, inside the look-back window ending on ``at``."""
        series = self._lab_series.get(test)
        at = at or self.as_of
        return series.latest(at, window_start(at, within)) if series else None

    def baseline_lab(self, test: str) -> Lab | None:
        """Latest result of ``test`` on or before cycle 1 (the baseline)."""
        return self.latest_lab(test, None, self.baseline_day)

    @cached_property
    def measured(self) -> dict[tuple[Any, ...], Any]:
        """Measures computed for this context, by (name, window, scan, day): see
        ``engine.measures.measure``."""
        return {}

    def age_on(self, day: date) -> float | None:
        rec = self.record
        if rec.birth_date is not None:
            b = rec.birth_date
            return day.year - b.year - ((day.month, day.day) < (b.month, b.day))
        return rec.age_years


@dataclass(frozen=True)
class _LabSeries:
    """One test's results in record order, with their days for binary search.

    A record orders its results by their local date-time in its zone (see
    ``engine.record``), so their calendar days never decrease and the last result on or
    before a day is found by bisection. A series whose days are out of order (a record
    not built that way) is searched by a plain scan: an answer never depends on the index.
    """

    labs: tuple[Lab, ...]

    @cached_property
    def days(self) -> list[date] | None:
        """Each result's day, or None when the days are not in order."""
        days = [lab.day for lab in self.labs]
        ordered = all(a <= b for a, b in pairwise(days))
        return days if ordered else None

    def latest(self, at: date, start: date | None) -> Lab | None:
        """The last result dated in [start, at] (no lower bound when ``start`` is None)."""
        if self.days is None:
            return scan_latest(self.labs, at, start)
        i = bisect_right(self.days, at)
        if i == 0 or (start is not None and self.days[i - 1] < start):
            return None
        return self.labs[i - 1]


def scan_latest(labs: Sequence[Lab], at: date, start: date | None) -> Lab | None:
    """The last of ``labs`` (in their order) dated in [start, at], by a plain scan."""
    candidates = [x for x in labs if x.day <= at and (start is None or x.day >= start)]
    return candidates[-1] if candidates else None


def window_start(at: date, within: Duration | None) -> date | None:
    """First day of a look-back window ending on ``at`` (inclusive, calendar days)."""
    return None if within is None else add_duration(at, within, -1)


def lab_evidence(lab: Lab, name: str | None = None) -> Observation:
    return Observation(
        what=name or lab.test,
        value=round(lab.value, 6),
        unit=lab.unit,
        reported=lab.reported,
        date=lab.day.isoformat(),
        pointer=f"/labs/{lab.index}",
    )
