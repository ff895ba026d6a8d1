"""A request without as_of is for today at the protocol's site, on every edge.

02:00 UTC on 1 March 2025 is still 28 February in Los Angeles (flex-mrt 1.1's
site_time_zone); pluvicto-label's site keeps UTC. The CLI's ``--as-of`` default already
said so; the gRPC calls and ``flexmrt worklist`` answered for the UTC day.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from server_helpers import ROOT, decisions, example_record, protocols, record_json

from flexmrt.protocol.yamlio import read_yaml
from flexmrt.server import convert
from flexmrt.server._gen.flexmrt.v1 import decision_pb2, protocol_pb2
from flexmrt.server.cli import common as cli_common
from flexmrt.server.cli import main

NIGHT = datetime(2025, 3, 1, 2, tzinfo=UTC)
# a patient with events in the weeks after 1 March 2025 (cycle 1 awaited)
DUE = ROOT / "examples" / "patients" / "flx-006-missing-labs.yaml"


def _due_json() -> str:
    return json.dumps(read_yaml(DUE.read_text("utf-8"), str(DUE))[0])


@pytest.fixture
def night(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(convert, "utc_now", lambda: NIGHT)
    monkeypatch.setattr(cli_common, "utc_now", lambda: NIGHT)


@pytest.mark.parametrize(
    ("ref", "day"), [("flex-mrt", "2025-02-28"), ("pluvicto-label", "2025-03-01")]
)
def test_grpc_calls_without_as_of_answer_for_the_site_day(night, channel, ref, day) -> None:
    stub = decisions(channel)
    decided = stub.DecideNextAction(
        decision_pb2.DecideNextActionRequest(protocol_ref=ref, record_json=record_json())
    )
    assert decided.decision.as_of == day
    eligible = stub.EvaluateEligibility(
        decision_pb2.EvaluateEligibilityRequest(protocol_ref=ref, record_json=record_json())
    )
    assert eligible.report.as_of == day
    schedule = stub.GetSchedule(
        decision_pb2.GetScheduleRequest(protocol_ref=ref, record_json=record_json())
    )
    assert schedule.as_of == day
    status = stub.GetStudyStatus(
        decision_pb2.GetStudyStatusRequest(protocol_ref=ref, record_json=[record_json()])
    )
    assert status.as_of == day


def test_grpc_worklist_without_as_of_is_for_the_site_day(night, channel) -> None:
    stub = decisions(channel)
    items = list(
        stub.GetWorklist(
            decision_pb2.GetWorklistRequest(
                protocol_ref="flex-mrt", record_json=[_due_json()], horizon="P8W"
            )
        )
    )
    assert items and {i.as_of for i in items} == {"2025-02-28"}


def test_an_explicit_as_of_is_kept(night, channel) -> None:
    decided = decisions(channel).DecideNextAction(
        decision_pb2.DecideNextActionRequest(
            protocol_ref="flex-mrt", record_json=record_json(), as_of="2025-03-01"
        )
    )
    assert decided.decision.as_of == "2025-03-01"


def test_assess_amendment_without_as_of_uses_the_new_revisions_site_day(night, channel) -> None:
    replies = list(
        protocols(channel).AssessAmendment(
            protocol_pb2.AssessAmendmentRequest(
                from_ref="flex-mrt@1.0",
                to_ref="flex-mrt@1.1",
                record_json=[json.dumps(example_record())],
            )
        )
    )
    assert any(r.HasField("summary") for r in replies)
    assert any(r.HasField("subject") for r in replies)
    subject = next(r.subject for r in replies if r.HasField("subject"))
    assert subject.as_of == "2025-02-28"


def test_worklist_cli_defaults_to_the_site_day(night, capsys) -> None:
    assert main(["worklist", str(DUE), "--protocol", "flex-mrt", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["as_of"] == "2025-02-28"
