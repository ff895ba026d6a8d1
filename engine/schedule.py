"""The dated events the protocol asks for, from as_of over a horizon.

Treatment: the remaining cycles (target date ± window; each after the previous
one's target), SPECT/CT 24–72 h after each cycle, labs every 3 weeks. Holiday:
PSMA PET/CT, PSA and labs every 12 weeks from the holiday start. Follow-up: labs
quarterly. Nothing after the protocol's end (24 months after cycle 1).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from protocol import Duration, Protocol
from protocol.durations import add_duration

from .context import Context
from .identity import envelope
from .record import Record

__all__ = ["schedule"]


def schedule(protocol: Protocol, record: Record, as_of: date, horizon: Duration) -> dict[str, Any]:
    ctx = Context.of(protocol, record, as_of)
    answer = {
        **envelope("schedule", protocol, record, as_of),
        "horizon": str(horizon),
        "phase": ctx.phase if ctx.arm else None,
        "events": [],
    }
    if ctx.arm is None or record.death_date or record.withdrawal_date:
        return answer
    until = add_duration(as_of, horizon)
    end = _end(ctx)
    if end is not None:
        until = min(until, end)
    events = _phase_events(ctx, until)
    answer["events"] = sorted(
        (e for e in events if as_of <= date.fromisoformat(e["date"]) <= until),
        key=lambda e: (e["date"], e["kind"]),
    )
    answer["ends"] = end.isoformat() if end else None
    return answer


def _end(ctx: Context) -> date | None:
    first = ctx.first_admin
    return (
        add_duration(first.day, ctx.protocol.duration(ctx.protocol.doc["schedules"]["end"]))
        if first
        else None
    )


def _phase_events(ctx: Context, until: date) -> list[dict[str, Any]]:
    items = ctx.protocol.doc["schedules"]
    if ctx.phase == "holiday":
        assert ctx.open_holiday is not None
        return _every(ctx, items.get("holiday", []), ctx.open_holiday.start, until, "holiday")
    if ctx.phase == "follow_up":
        last = ctx.last_admin
        assert last is not None
        return _every(ctx, items["follow_up"], last.day, until, "follow_up")
    cycles = _cycles(ctx, until)
    anchor = ctx.last_admin.day if ctx.last_admin else ctx.as_of
    events = _every(
        ctx, [i for i in items["treatment"] if "every" in i], anchor, until, "treatment"
    )
    for item in items["treatment"]:
        if "after_each_cycle" in item:
            events += _after_cycles(ctx, item, cycles)
    return events + cycles


def _cycles(ctx: Context, until: date) -> list[dict[str, Any]]:
    target = ctx.due or ctx.record.randomised_on or ctx.as_of
    target = max(target, ctx.as_of) if ctx.due is None else target
    events = []
    for n in range(ctx.cycles_given + 1, ctx.max_cycles + 1):
        if target > until:
            break
        events.append(
            {
                "date": target.isoformat(),
                "kind": "cycle",
                "cycle": n,
                "what": f"Cycle {n}: 177Lu-PSMA-617",
                "window_start": add_duration(target, ctx.window, -1).isoformat(),
                "window_end": add_duration(target, ctx.window).isoformat(),
            }
        )
        target = add_duration(target, ctx.interval)
    return events


def _every(
    ctx: Context, items: list[dict[str, Any]], anchor: date, until: date, phase: str
) -> list[dict[str, Any]]:
    events = []
    for item in items:
        if "every" not in item:
            continue
        step = ctx.protocol.duration(item["every"])
        window = ctx.protocol.duration(item["window"]) if "window" in item else None
        k = 1
        while (day := add_duration(anchor, step, k)) <= until:
            if day >= ctx.as_of:
                events.append(_event(day, item, phase, window))
            k += 1
    return events


def _event(day: date, item: dict[str, Any], phase: str, window: Duration | None) -> dict[str, Any]:
    event = {"date": day.isoformat(), "kind": item["id"], "what": item["what"], "phase": phase}
    if window is not None:
        event["window_start"] = add_duration(day, window, -1).isoformat()
        event["window_end"] = add_duration(day, window).isoformat()
    return event


def _after_cycles(
    ctx: Context, item: dict[str, Any], cycles: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    start = ctx.protocol.duration(item["after_each_cycle"]["from"])
    stop = ctx.protocol.duration(item["after_each_cycle"]["to"])
    events = []
    done = {s.cycle for s in ctx.record.spect or ()}
    given = [(a.cycle, a.day) for a in ctx.administrations if a.cycle not in done]
    planned = [(c["cycle"], date.fromisoformat(c["date"])) for c in cycles]
    for cycle, day in given + planned:
        lo = day + timedelta(hours=start.hours)
        hi = day + timedelta(hours=stop.hours)
        events.append(
            {
                "date": lo.isoformat(),
                "kind": item["id"],
                "cycle": cycle,
                "what": f"{item['what']} after cycle {cycle}",
                "phase": "treatment",
                "window_start": lo.isoformat(),
                "window_end": hi.isoformat(),
            }
        )
    return events
