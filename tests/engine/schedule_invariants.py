"""The schedule is the decision's projection: what that means, checked on one pair.

``assert_follows(decision, schedule)`` holds when every cycle the schedule lists is one the
decision allows (the cycle it names after ADMINISTER or RESTART, the same cycle pending
data after NEED_DATA, none otherwise), every date the decision names is the schedule's
date for that event, and nothing is listed that the decision's action rules out.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flexmrt.engine import Decision, Schedule
from flexmrt.protocol import parse_duration
from flexmrt.protocol.durations import add_duration

_KINDS = {
    "DISCONTINUE": {"end_of_treatment", "labs"},
    "COMPLETED": {"end_of_treatment", "labs"},
    "START_HOLIDAY": {"psma_pet", "psa", "labs", "psa_confirm"},
    "CONTINUE_HOLIDAY": {"psma_pet", "psa", "labs", "psa_confirm"},
    "ADMINISTER": {"cycle", "spect_ct", "labs"},
    "RESTART": {"cycle", "spect_ct", "labs"},
    "WITHHOLD": {"recheck", "spect_ct"},
    "NEED_DATA": {"missing_data", "cycle", "spect_ct", "psma_pet", "psa", "labs", "psa_confirm"},
}


def assert_follows(decision_answer: Decision, schedule_answer: Schedule) -> None:
    """Assert that ``schedule`` lists what ``decision`` leads to, on its dates (checked on
    their JSON, the form every edge serialises)."""
    decision, schedule = decision_answer.to_json(), schedule_answer.to_json()
    where = f"{decision['subject_id']} on {decision['as_of']} ({decision['action']})"
    assert schedule["action"] == decision["action"], where
    assert schedule["follows_decision"] == decision["decision_id"], where
    events = schedule["events"]
    if not schedule["phase"] or decision["reasons"][0]["category"] == "stop":
        assert events == [], f"{where}: {events}"
        return
    kinds = {e["kind"] for e in events}
    assert kinds <= _KINDS[decision["action"]], f"{where}: {sorted(kinds)}"
    _cycles(decision, schedule, where)
    _dates(decision, schedule, where)


def _within(schedule: dict[str, Any], day: str) -> bool:
    """A date inside the schedule's horizon and before the protocol's end."""
    until = add_duration(date.fromisoformat(schedule["as_of"]), parse_duration(schedule["horizon"]))
    return day <= until.isoformat() and (schedule["ends"] is None or day <= schedule["ends"])


def _cycles(decision: dict[str, Any], schedule: dict[str, Any], where: str) -> None:
    cycles = [e for e in schedule["events"] if e["kind"] == "cycle"]
    action, due = decision["action"], decision["due"]
    pending = action == "NEED_DATA" and decision["phase"] == "treatment" and bool(due)
    if action in ("ADMINISTER", "RESTART") or pending:
        assert due and decision["cycle"], where
        if not _within(schedule, due["target"]):
            assert cycles == [], f"{where}: {cycles}"
            return
        assert len(cycles) == 1, f"{where}: {cycles}"
        (cycle,) = cycles
        assert cycle["cycle"] == decision["cycle"], f"{where}: {cycle}"
        assert cycle["date"] == due["target"], f"{where}: {cycle} vs {due}"
        assert cycle["window_start"] == due["window_start"], where
        assert cycle["window_end"] == due["window_end"], where
        assert bool(cycle.get("pending_data")) == (action == "NEED_DATA"), f"{where}: {cycle}"
        # a later cycle is overdue past its due date; cycle 1 only past its window
        if decision["cycles_given"] > 0:
            overdue = due["target"] < decision["as_of"]
        else:
            overdue = due["window_end"] < decision["as_of"]
            assert cycle.get("overdue_limit_days") is None, f"{where}: {cycle}"
        assert bool(cycle.get("overdue")) == overdue, f"{where}: {cycle}"
        if overdue:
            past = (date.fromisoformat(decision["as_of"]) - date.fromisoformat(due["target"])).days
            assert cycle["days_past_due"] == past, f"{where}: {cycle}"
    else:
        assert cycles == [], f"{where}: a cycle the decision does not allow: {cycles}"


def _first(schedule: dict[str, Any], kind: str) -> str | None:
    days = [e["date"] for e in schedule["events"] if e["kind"] == kind]
    return min(days) if days else None


def _dates(decision: dict[str, Any], schedule: dict[str, Any], where: str) -> None:
    named: dict[str, str | None] = {
        "psa_confirm": decision["confirm_psa_by"],
        "recheck": decision["recheck_on"],
    }
    due_items = decision["surveillance_due"] or {}
    named.update(due_items)
    if decision["next_surveillance"] or "psma_pet" in due_items:
        assert decision["next_surveillance"] == due_items.get("psma_pet"), where
    for kind, day in named.items():
        listed = _first(schedule, kind)
        if day is None or not _within(schedule, day):
            if kind in ("psa_confirm", "recheck", "psma_pet"):
                assert listed is None, f"{where}: {kind} on {listed}, the decision names none"
            continue
        assert listed == day, f"{where}: {kind}: decision {day}, schedule {listed}"
    missing = [e for e in schedule["events"] if e["kind"] == "missing_data"]
    if decision["action"] == "NEED_DATA" and decision["needed_by"]:
        assert len(missing) == len(decision["missing"]), f"{where}: {missing}"
        assert {e["date"] for e in missing} == {decision["needed_by"]}, f"{where}: {missing}"
    else:
        assert missing == [], f"{where}: {missing}"
