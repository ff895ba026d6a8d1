"""The schedule follows the decision: over every rule case, every example patient at its
documented dates, and generated records (see ``schedule_invariants.assert_follows``)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from engine_cases import CASES, build_record, case_paths, read_yaml
from hypothesis import given
from schedule_invariants import assert_follows
from test_engine_properties import FLEX, LABEL, SETTINGS, as_of_days, records

from flexmrt import engine
from flexmrt.protocol import Registry, load_text, parse_duration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "patients"
_REGISTRY = Registry.bundled()
_HORIZON = parse_duration("P2Y")
_DOCUMENTED = re.compile(r"^# Documented outcome: flexmrt \w+ (\S+) --protocol (\S+) --as-of (\S+)")


def _follows(protocol: Any, record: engine.Record, as_of: date) -> None:
    decision = engine.decide(protocol, record, as_of)
    assert_follows(decision, engine.schedule(protocol, record, as_of, _HORIZON))


def _case_inputs() -> list[Any]:
    params = []
    for path in case_paths():
        case = read_yaml(path)
        if case["call"] == "study" or "as_of" not in case:
            continue
        params.append(pytest.param(case, id=str(path.relative_to(CASES))))
    return params


def example_dates() -> list[tuple[Path, str, date]]:
    """(file, protocol ref, as_of) of every documented outcome in examples/patients."""
    found = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for line in path.read_text("utf-8").splitlines():
            if m := _DOCUMENTED.match(line):
                found.append((ROOT / m[1], m[2], date.fromisoformat(m[3])))
    return found


@pytest.mark.parametrize("case", _case_inputs())
def test_every_rule_case(case: dict[str, Any]) -> None:
    as_of = date.fromisoformat(str(case["as_of"]))
    try:
        record = engine.parse_record(build_record(case))
        protocol = _REGISTRY.resolve(case.get("protocol", "flex-mrt"))
        _follows(protocol, record, as_of)
    except engine.RecordError:
        pytest.skip("the case's record is refused (an error case)")


@pytest.mark.parametrize(
    ("path", "ref", "as_of"), example_dates(), ids=lambda v: getattr(v, "stem", str(v))
)
def test_every_example_at_its_documented_dates(path: Path, ref: str, as_of: date) -> None:
    record = engine.read_record_text(path.read_text("utf-8"), str(path))
    _follows(_REGISTRY.resolve(ref), record, as_of)


def test_examples_cover_every_action() -> None:
    actions = set()
    for path, ref, as_of in example_dates():
        record = engine.read_record_text(path.read_text("utf-8"), str(path))
        actions.add(engine.decide(_REGISTRY.resolve(ref), record, as_of).action)
    assert actions >= {"ADMINISTER", "RESTART", "START_HOLIDAY", "CONTINUE_HOLIDAY"}
    assert actions >= {"WITHHOLD", "NEED_DATA", "DISCONTINUE", "COMPLETED"}


@SETTINGS
@given(doc=records(), as_of=as_of_days)
def test_generated_records(doc: dict[str, Any], as_of: date) -> None:
    record = engine.parse_record(doc)
    _follows(FLEX, record, as_of)
    if doc.get("randomisation"):
        randomisation = {**doc["randomisation"], "arm": "standard"}
        record = engine.parse_record({**doc, "randomisation": randomisation})
    _follows(LABEL, record, as_of)


# The defects the schedule had while it followed the record's phase, each on a documented
# date of an example: the decision, the cycles (number, date) the schedule must list, and
# the first PSMA PET/CT it must list (None: none).
_DEFECTS = [
    # cycle 6 listed after DISCONTINUE for the kidney BED cap
    ("flx-011-kidney-cap", "2025-08-18", "DISCONTINUE", [], None),
    # cycles 4–6 listed after DISCONTINUE for recurrent thrombocytopenia
    ("flx-010-thrombocytopenia", "2025-05-20", "DISCONTINUE", [], None),
    # cycles 4–7 listed on the day of START_HOLIDAY
    ("flx-008-holiday-psa-restart", "2025-05-25", "START_HOLIDAY", [], "2025-05-25"),
    # holiday surveillance listed on the day of RESTART, and no cycle 4
    ("flx-008-holiday-psa-restart", "2025-10-23", "RESTART", [(4, "2025-10-23")], None),
    # overdue cycle 3 dropped, cycle 4 planned from the missed date
    ("flx-010-thrombocytopenia", "2025-04-22", "ADMINISTER", [(3, "2025-04-14")], None),
    # the next PET on 11-11 in the schedule, 11-10 in the decision
    ("flx-008-holiday-psa-restart", "2025-10-05", "CONTINUE_HOLIDAY", [], "2025-11-10"),
    # cycle 1 on 01-16 in the schedule, 01-15 in the decision
    ("flx-006-missing-labs", "2025-01-16", "NEED_DATA", [(1, "2025-01-15")], None),
]


@pytest.mark.parametrize(("stem", "day", "action", "cycles", "pet"), _DEFECTS)
def test_listed_defect(
    stem: str, day: str, action: str, cycles: list[tuple[int, str]], pet: str | None
) -> None:
    path = EXAMPLES / f"{stem}.yaml"
    record = engine.read_record_text(path.read_text("utf-8"), str(path))
    protocol, as_of = _REGISTRY.resolve("flex-mrt"), date.fromisoformat(day)
    decision = engine.decide(protocol, record, as_of).to_json()
    assert decision["action"] == action
    events = engine.schedule(protocol, record, as_of, parse_duration("P24W")).to_json()["events"]
    assert [(e["cycle"], e["date"]) for e in events if e["kind"] == "cycle"] == cycles
    assert min((e["date"] for e in events if e["kind"] == "psma_pet"), default=None) == pet
    if pet is not None:
        assert decision["next_surveillance"] == pet
    if cycles:
        assert decision["due"]["target"] == cycles[0][1]


def test_withhold_recheck_days_is_read_from_the_protocol() -> None:
    """An amendment to ``withhold_recheck_days`` moves the re-check, in both answers."""
    text = (ROOT / "protocol" / "revisions" / "flex-mrt-1.1.yaml").read_text("utf-8")
    old = "  withhold_recheck_days:\n    value: 7\n"
    assert old in text
    amended = load_text(text.replace(old, "  withhold_recheck_days:\n    value: 10\n"))
    path = EXAMPLES / "flx-010-thrombocytopenia.yaml"
    record = engine.read_record_text(path.read_text("utf-8"), str(path))
    as_of = date(2025, 4, 14)
    for protocol, day in (
        (_REGISTRY.resolve("flex-mrt@1.1"), "2025-04-21"),
        (amended, "2025-04-24"),
    ):
        decision = engine.decide(protocol, record, as_of)
        schedule = engine.schedule(protocol, record, as_of, parse_duration("P4W"))
        assert decision.action == "WITHHOLD" and decision.recheck_on == date.fromisoformat(day)
        recheck = [e.date for e in schedule.events if e.kind == "recheck"]
        assert recheck == [date.fromisoformat(day)]
