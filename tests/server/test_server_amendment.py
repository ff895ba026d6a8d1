"""ProtocolService.AssessAmendment: whom a draft amendment affects, streamed per subject."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest
from ruamel.yaml import YAML
from server_helpers import protocols, violations

from flexmrt.protocol import resolve
from flexmrt.server._gen.flexmrt.v1 import protocol_pb2 as pb

EXAMPLES = Path(__file__).parents[2] / "examples" / "patients"


def _json(name: str) -> str:
    return json.dumps(YAML(typ="safe").load((EXAMPLES / name).read_text("utf-8")), default=str)


def _draft() -> str:
    text = resolve("flex-mrt@1.0").text
    old = "    value: 100\n    unit: 10^9/L\n    text: Lowest platelet"
    text = text.replace(old, old.replace("100", "110"))
    text = text.replace('  revision: "1.0"', '  revision: "1.1"').replace(
        "  status: active", "  status: draft"
    )
    return text.replace("  supersedes: null", '  supersedes: "flex-mrt@1.0"')


def test_streams_each_subject_then_the_summary(channel):
    request = pb.AssessAmendmentRequest(
        from_ref="flex-mrt@1.0",
        to_yaml_text=_draft(),
        as_of="2025-01-15",
        record_json=[_json("flx-014-platelets-borderline.yaml"), _json("flx-001-eligible.yaml")],
    )
    items = list(protocols(channel).AssessAmendment(request))
    assert [i.WhichOneof("item") for i in items] == ["subject", "subject", "summary"]
    flipped = items[0].subject
    assert (flipped.subject_id, flipped.changed) == ("FLX-014", True)
    change = flipped.changes[0]
    assert (change.field, change.old_value.string_value, change.new_value.string_value) == (
        "eligibility",
        "ELIGIBLE",
        "INELIGIBLE",
    )
    assert ("INC-PLAT", "MET", "NOT_MET") in {
        (r.id, r.old_outcome, r.new_outcome) for r in flipped.rules
    }
    assert not items[1].subject.changed
    summary = items[2].summary
    assert (summary.subjects, summary.changed, summary.unchanged) == (2, 1, 1)
    assert dict(summary.by_kind) == {"eligibility": 1}
    assert summary.to_protocol.ref == "flex-mrt@1.1"


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.AssessAmendmentRequest(from_ref="flex-mrt", as_of="2025-01-15"), "to_ref"),
        (
            pb.AssessAmendmentRequest(
                from_ref="flex-mrt", to_ref="flex-mrt", to_yaml_text="x: 1", as_of="2025-01-15"
            ),
            "to_ref",
        ),
        (
            pb.AssessAmendmentRequest(
                from_ref="flex-mrt",
                to_ref="flex-mrt",
                as_of="2025-01-15",
                record_json=['{"record_version": 1}'],
            ),
            "record_json[0]",
        ),
    ],
)
def test_bad_requests_are_invalid_argument(channel, request_, field):
    with pytest.raises(grpc.RpcError) as caught:
        list(protocols(channel).AssessAmendment(request_))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert any(v[0].startswith(field) for v in violations(caught.value))


def test_invalid_draft_yaml_lists_its_issues(channel):
    request = pb.AssessAmendmentRequest(
        from_ref="flex-mrt",
        as_of="2025-01-15",
        to_yaml_text=_draft().replace("{param: kidney_bed_cap}", "{param: nope}"),
    )
    with pytest.raises(grpc.RpcError) as caught:
        list(protocols(channel).AssessAmendment(request))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert any("/organ_limits/kidney_bed/cap" in v[0] for v in violations(caught.value))


def test_replay_every_logged_decision(tmp_path, capsys):
    from flexmrt.server._gen.flexmrt.v1 import decision_pb2, decision_pb2_grpc
    from flexmrt.server.app import create_server
    from flexmrt.server.cli import main

    svc, port = create_server("127.0.0.1:0", db=tmp_path / "log.sqlite")
    svc.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            stub = decision_pb2_grpc.DecisionServiceStub(ch)
            for name in ("flx-014-platelets-borderline.yaml", "flx-001-eligible.yaml"):
                request = dict(protocol_ref="flex-mrt", record_json=_json(name), as_of="2025-01-15")
                stub.EvaluateEligibility(decision_pb2.EvaluateEligibilityRequest(**request))
                stub.DecideNextAction(decision_pb2.DecideNextActionRequest(**request))
    finally:
        svc.stop(grace=2)
    draft = tmp_path / "draft.yaml"
    draft.write_text(_draft(), "utf-8")
    assert (
        main(
            [
                "replay",
                "--from",
                "flex-mrt@1.0",
                "--to",
                str(draft),
                "--log",
                str(tmp_path / "log.sqlite"),
                "--json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["subjects"] == 2  # four entries, two distinct (input, as_of)
    assert [s["subject_id"] for s in data["subjects"] if s["changed"]] == ["FLX-014"]
    assert (
        main(
            [
                "replay",
                "--from",
                "flex-mrt",
                "--to",
                str(draft),
                "--log",
                str(tmp_path / "none.sqlite"),
            ]
        )
        == 1
    )
