"""One answer everywhere: for every example patient at every documented date, GetSchedule,
DecideNextAction, `flexmrt schedule` and `flexmrt decide` (and the report, on one date of
each action) show the same decision and the same events on the same dates."""

from __future__ import annotations

import html
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from server_helpers import decisions

from flexmrt import engine
from flexmrt.protocol import Registry, parse_duration
from flexmrt.protocol.yamlio import read_yaml
from flexmrt.server import convert
from flexmrt.server._gen.flexmrt.v1 import decision_pb2 as pb
from flexmrt.server.cli import main
from flexmrt.server.cli.common import overdue_text, words
from flexmrt.server.report import render_report

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "patients"
HORIZON = "P24W"
_DOCUMENTED = re.compile(r"^# Documented outcome: flexmrt \w+ (\S+) --protocol (\S+) --as-of (\S+)")
_REGISTRY = Registry.bundled()


# The report takes seconds to draw: it is checked on one date of each action, the dates
# of the defects the schedule had while it followed the record's phase among them.
_REPORTED = {
    ("FLX-011", "2025-08-18"),  # DISCONTINUE (kidney BED cap)
    ("FLX-010", "2025-05-20"),  # DISCONTINUE (recurrent thrombocytopenia)
    ("FLX-008", "2025-05-25"),  # START_HOLIDAY
    ("FLX-008", "2025-10-05"),  # CONTINUE_HOLIDAY
    ("FLX-008", "2025-10-23"),  # RESTART
    ("FLX-010", "2025-04-22"),  # ADMINISTER, overdue
    ("FLX-010", "2025-04-14"),  # WITHHOLD
    ("FLX-006", "2025-01-16"),  # NEED_DATA before cycle 1
    ("FLX-007", "2025-10-01"),  # COMPLETED
}


def _dates() -> list[Any]:
    found = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for line in path.read_text("utf-8").splitlines():
            if m := _DOCUMENTED.match(line):
                found.append(pytest.param(ROOT / m[1], m[2], m[3], id=f"{path.stem}:{m[3]}"))
    return found


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(("path", "ref", "as_of"), _dates())
def test_every_edge_shows_one_schedule(
    path: Path, ref: str, as_of: str, channel: Any, tmp_path: Path, capsys: Any
) -> None:
    record = engine.read_record_text(path.read_text("utf-8"), str(path))
    protocol, day = _REGISTRY.resolve(ref), date.fromisoformat(as_of)
    decision = engine.decide(protocol, record, day)
    schedule = engine.schedule(protocol, record, day, parse_duration(HORIZON))
    assert schedule.follows_decision == decision.envelope.decision_id

    common = ["--protocol", ref, "--as-of", as_of]
    cli_schedule = json.loads(
        _cli(capsys, "schedule", str(path), *common, "--horizon", HORIZON, "--json")
    )
    cli_decision = json.loads(_cli(capsys, "decide", str(path), *common, "--json"))
    assert cli_schedule == schedule.to_json() and cli_decision == decision.to_json()

    text = _cli(capsys, "schedule", str(path), *common, "--horizon", HORIZON)
    assert f"after {decision.action}" in text or not schedule.phase
    for e in schedule.events:
        assert f"  {e.date}  {words(e.what)}" in text and overdue_text(e) in text

    data, _ = read_yaml(path.read_text("utf-8"), str(path))
    record_json = json.dumps(json.loads(json.dumps(data)))
    stub = decisions(channel)
    reply = stub.GetSchedule(
        pb.GetScheduleRequest(
            protocol_ref=ref, record_json=record_json, as_of=as_of, horizon=HORIZON
        )
    )
    assert reply == convert.schedule(schedule)
    assert pb.Action.Name(reply.action) == f"ACTION_{decision.action}"
    decided = stub.DecideNextAction(
        pb.DecideNextActionRequest(protocol_ref=ref, record_json=record_json, as_of=as_of)
    ).decision
    assert decided == convert.decision(decision)
    for e in reply.events:
        if e.kind == "cycle":
            assert (e.cycle, e.date) == (decided.cycle, decided.due.target)
        if e.kind == "recheck":
            assert e.date == decided.recheck_on
    pets = sorted(e.date for e in reply.events if e.kind == "psma_pet")
    assert (pets[0] if pets else "") == decided.next_surveillance or (
        schedule.ends is not None and decided.next_surveillance > schedule.ends.isoformat()
    )

    if (record.subject_id, as_of) not in _REPORTED:
        return
    render_report(protocol, record, day, tmp_path)
    page = (tmp_path / "report.html").read_text("utf-8")
    assert f"<span class='action {decision.action}'>" in page
    for e in schedule.events[:12]:
        row = f"<tr><td>{e.date}</td><td>{html.escape(e.what + overdue_text(e), quote=True)}"
        assert row in page, row
