"""The dated events that follow from the decision on as_of, over a horizon.

The schedule is a projection of :func:`engine.decide`: the decision is computed once and
the schedule lists what it leads to, on the decision's own dates (one date per event on
every edge):

- DISCONTINUE, COMPLETED: the end of treatment on as_of, then follow-up labs (quarterly
  from the last cycle); nothing at all after death or withdrawal.
- START_HOLIDAY, CONTINUE_HOLIDAY: holiday surveillance from the decision's due dates
  (``surveillance_due``), each item every interval after, and the confirmatory PSA when
  the decision names one.
- ADMINISTER, RESTART: the cycle the decision names, on its due date and window; a cycle
  past its due date stays listed, flagged overdue with the days past due and the delay
  limit (cycle 1 once past its window, with no limit: no delay rule counts from before
  it). Its SPECT/CT 24–72 h after, labs on treatment up to one interval after it. No
  later cycle: each needs its own decision.
- WITHHOLD: the re-check on the decision's ``recheck_on``.
- NEED_DATA: each missing item by the decision's ``needed_by``, and the next cycle marked
  pending data (on holiday: the surveillance goes on).

A surveillance item past its due date is flagged overdue the same way (limit: the
protocol's ``surveillance_overdue_after``). Nothing after the protocol's end (24 months
after cycle 1). Due dates are calendar days.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from flexmrt.protocol import Duration, Protocol
from flexmrt.protocol.durations import add_duration

from .answers import Decision, Overdue, Schedule, ScheduledEvent
from .context import Context
from .decision import decide
from .identity import envelope
from .record import Record

__all__ = ["schedule"]


def schedule(protocol: Protocol, record: Record, as_of: date, horizon: Duration) -> Schedule:
    """The events the decision on ``as_of`` leads to, up to ``as_of + horizon``."""
    ctx = Context.of(protocol, record, as_of)
    decision = decide(protocol, record, as_of)
    end = _end(ctx)
    events: list[ScheduledEvent] = []
    if ctx.arm is not None and decision.winner.category != "stop":
        until = add_duration(as_of, horizon)
        if end is not None:
            until = min(until, end)
        projected = _PROJECTIONS[decision.action](ctx, decision)
        events = sorted(
            (e for e in projected if _listed(e, as_of, until)), key=lambda e: (e.date, e.kind)
        )
    return Schedule(
        envelope=envelope("schedule", protocol, record, as_of),
        horizon=str(horizon),
        phase=ctx.phase if ctx.arm else None,
        action=decision.action,
        follows_decision=decision.envelope.decision_id,
        missing=decision.missing,
        ends=end,
        events=tuple(events),
    )


def _listed(event: ScheduledEvent, as_of: date, until: date) -> bool:
    """Within the horizon; the decision's cycle and anything overdue stay listed."""
    kept = event.overdue is not None or event.kind == "cycle"
    return event.date <= until and (kept or event.date >= as_of)


def _end(ctx: Context) -> date | None:
    first = ctx.first_admin
    return (
        add_duration(first.day, ctx.protocol.duration(ctx.protocol.doc["schedules"]["end"]))
        if first
        else None
    )


# -- one projection per action ---------------------------------------------------------


def _ended(ctx: Context, decision: Decision) -> list[ScheduledEvent]:
    """End of treatment on as_of, then follow-up from the last cycle."""
    how = "completed" if decision.action == "COMPLETED" else "discontinued"
    events = [
        ScheduledEvent(
            ctx.as_of,
            "end_of_treatment",
            f"End of treatment: {how} ({decision.winner.id})",
            "follow_up",
        )
    ]
    anchor = ctx.last_admin.day if ctx.last_admin else ctx.as_of
    items = ctx.protocol.doc["schedules"]["follow_up"]
    return events + _repeat(ctx, items, {}, anchor, "follow_up", _horizon_end(ctx))


def _holiday(ctx: Context, decision: Decision) -> list[ScheduledEvent]:
    """Holiday surveillance from the decision's due dates; the confirmatory PSA."""
    items = ctx.protocol.doc["schedules"].get("holiday", [])
    due = decision.surveillance_due or {}
    events = _repeat(ctx, items, due, ctx.as_of, "holiday", _horizon_end(ctx))
    day = decision.confirm_psa_by
    if day:
        events.append(
            ScheduledEvent(
                day,
                "psa_confirm",
                "Confirmatory PSA (PCWG3: a rise is confirmed 3 weeks later)",
                "holiday",
                overdue=_overdue(ctx, day, None) if day < ctx.as_of else None,
            )
        )
    return events


def _dosing(ctx: Context, decision: Decision) -> list[ScheduledEvent]:
    """The cycle the decision names, its SPECT/CT and the labs on treatment after it."""
    cycle = _cycle(ctx, decision, pending=False)
    day = max(cycle.date, ctx.as_of)
    labs = [i for i in ctx.protocol.doc["schedules"]["treatment"] if "every" in i]
    until = add_duration(day, ctx.interval)
    assert cycle.cycle is not None
    return [
        cycle,
        *_imaging(ctx, [(cycle.cycle, day)]),
        *_repeat(ctx, labs, {}, day, "treatment", until),
    ]


def _withheld(ctx: Context, decision: Decision) -> list[ScheduledEvent]:
    """The re-check the decision names (and imaging still due after a given cycle)."""
    ids = ", ".join(r.id for r in decision.fired("withhold"))
    assert decision.recheck_on is not None
    recheck = ScheduledEvent(
        decision.recheck_on,
        "recheck",
        f"Re-check before cycle {decision.cycle} (withheld: {ids})",
        "treatment",
    )
    return [recheck, *_imaging(ctx, [])]


def _need_data(ctx: Context, decision: Decision) -> list[ScheduledEvent]:
    """Each missing item by the decision's date; the next cycle pending data."""
    missing = [m for r in decision.fired("need_data") for m in r.missing]
    needed_by = decision.needed_by
    events = (
        [ScheduledEvent(needed_by, "missing_data", f"Missing: {m}", ctx.phase) for m in missing]
        if needed_by
        else []
    )
    if ctx.open_holiday is not None:
        return events + _holiday(ctx, decision)
    if decision.cycle and decision.due:
        events.append(_cycle(ctx, decision, pending=True))
    return events + _imaging(ctx, [])


_PROJECTIONS: dict[str, Callable[[Context, Decision], list[ScheduledEvent]]] = {
    "DISCONTINUE": _ended,
    "COMPLETED": _ended,
    "START_HOLIDAY": _holiday,
    "CONTINUE_HOLIDAY": _holiday,
    "ADMINISTER": _dosing,
    "RESTART": _dosing,
    "WITHHOLD": _withheld,
    "NEED_DATA": _need_data,
}


# -- events ----------------------------------------------------------------------------


def _cycle(ctx: Context, decision: Decision, pending: bool) -> ScheduledEvent:
    n, due = decision.cycle, decision.due
    assert due is not None
    what = f"Cycle {n}: 177Lu-PSMA-617"
    if decision.activity_gbq:
        what += f" {decision.activity_gbq:g} GBq"
    # A later cycle is overdue once past its due date (limit: the delay rule). Cycle 1's
    # target is the randomisation day and no delay rule counts from before it: it is overdue
    # once past its window, with no limit.
    if ctx.cycles_given:
        overdue, limit = due.target < ctx.as_of, _delay_limit(ctx)
    else:
        overdue, limit = due.window_end < ctx.as_of, None
    return ScheduledEvent(
        due.target,
        "cycle",
        what,
        "treatment",
        cycle=n,
        window_start=due.window_start,
        window_end=due.window_end,
        overdue=_overdue(ctx, due.target, limit) if overdue else None,
        pending_data=pending,
    )


def _overdue(ctx: Context, due: date, limit: Duration | None) -> Overdue:
    """Days past due on as_of and the limit in calendar days (if any)."""
    return Overdue((ctx.as_of - due).days, (add_duration(due, limit) - due).days if limit else None)


def _delay_limit(ctx: Context) -> Duration | None:
    """The delay past a cycle's due date at which the protocol's delay rule fires."""
    for rule in ctx.protocol.doc["stop_rules"]:
        measure = rule["rule"].get("measure", {})
        if measure.get("name") == "delay_past_due":
            return ctx.protocol.duration(measure["value"])
    return None


def _surveillance_limit(ctx: Context) -> Duration | None:
    """How long past its due date a surveillance item may be before the decision asks for it:
    the grace (flex-mrt 1.1), else the 1.0 overdue limit counted from the due date."""
    holidays = ctx.protocol.doc.get("holidays") or {}
    after = holidays.get("surveillance_grace") or holidays.get("surveillance_overdue_after")
    return ctx.protocol.duration(after) if after else None


def _repeat(
    ctx: Context,
    items: list[dict[str, Any]],
    first: Mapping[str, date],
    anchor: date,
    phase: str,
    until: date,
) -> list[ScheduledEvent]:
    """Each periodic item on ``first[id]`` (else ``anchor`` + its interval), every interval."""
    events = []
    for item in items:
        if "every" not in item:
            continue
        step = ctx.protocol.duration(item["every"])
        window = ctx.protocol.duration(item["window"]) if "window" in item else None
        start = first.get(item["id"], add_duration(anchor, step))
        k = 0
        while (day := add_duration(start, step, k)) <= until:
            event = _event(day, item, phase, window)
            if day < ctx.as_of and phase == "holiday" and k == 0:
                event = replace(event, overdue=_overdue(ctx, day, _surveillance_limit(ctx)))
            events.append(event)
            k += 1
    return events


def _horizon_end(ctx: Context) -> date:
    """A bound for periodic items; the caller cuts at the horizon and the protocol's end."""
    end = _end(ctx)
    return end if end is not None else add_duration(ctx.as_of, Duration(months=24))


def _event(
    day: date, item: Mapping[str, Any], phase: str, window: Duration | None
) -> ScheduledEvent:
    return ScheduledEvent(
        day,
        item["id"],
        item["what"],
        phase,
        window_start=None if window is None else add_duration(day, window, -1),
        window_end=None if window is None else add_duration(day, window),
    )


def _imaging(ctx: Context, planned: list[tuple[int, date]]) -> list[ScheduledEvent]:
    """Post-cycle SPECT/CT for the planned cycle and for given cycles still without one."""
    done = {s.cycle for s in ctx.record.spect or ()}
    given = [(a.cycle, a.day) for a in ctx.administrations if a.cycle not in done]
    events = []
    for item in ctx.protocol.doc["schedules"]["treatment"]:
        if "after_each_cycle" not in item:
            continue
        start = ctx.protocol.duration(item["after_each_cycle"]["from"])
        stop = ctx.protocol.duration(item["after_each_cycle"]["to"])
        for cycle, day in given + planned:
            lo = day + timedelta(hours=start.hours)
            events.append(
                ScheduledEvent(
                    lo,
                    item["id"],
                    f"{item['what']} after cycle {cycle}",
                    "treatment",
                    cycle=cycle,
                    window_start=lo,
                    window_end=day + timedelta(hours=stop.hours),
                )
            )
    return events
