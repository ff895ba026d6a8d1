"""DecisionService over a real socket: answers equal the in-process engine, every
logged answer is in the decision log, and every error path has its status code."""

from __future__ import annotations

from datetime import date

import grpc
import pytest
from server_helpers import (
    AS_OF,
    decisions,
    eligibility_request,
    example_record,
    record_json,
    violations,
)

from flexmrt import engine
from flexmrt.protocol import Registry, canonical_json, parse_duration, resolve
from flexmrt.server import convert
from flexmrt.server._gen.flexmrt.v1 import decision_pb2 as pb
from flexmrt.server.decision_log import open_log
from flexmrt.server.decision_log.replay import replay

FLEX = resolve("flex-mrt", date.fromisoformat(AS_OF))


def _engine(kind, record=None, as_of=AS_OF):
    rec = engine.parse_record(record or example_record())
    return getattr(engine, kind)(FLEX, rec, date.fromisoformat(as_of))


def test_eligibility_equals_the_engine_and_is_logged(channel, service):
    answer = decisions(channel).EvaluateEligibility(eligibility_request())
    expected = _engine("eligibility")
    assert answer.report == convert.eligibility(expected)
    assert answer.answer_json == canonical_json(expected.to_json())
    assert answer.report.outcome == pb.ELIGIBILITY_OUTCOME_ELIGIBLE
    assert answer.report.criteria[0].source.citation
    entry = service[0].log.get(answer.log_sequence)
    assert entry.decision_id == expected.envelope.decision_id and entry.kind == "eligibility"
    assert entry.caller == "anonymous" and entry.subject_id == "FLX-001"
    assert entry.protocol_ref == FLEX.ref and entry.protocol_sha256 == FLEX.sha256
    assert entry.input_json == canonical_json(example_record())


def test_next_action_equals_the_engine_and_replays(channel, service):
    record = example_record()
    record["randomisation"] = {"arm": "investigational", "date": "2025-01-16"}
    request = pb.DecideNextActionRequest(
        protocol_ref="flex-mrt", record_json=record_json(record), as_of="2025-01-17"
    )
    answer = decisions(channel).DecideNextAction(request)
    expected = _engine("decide", record, "2025-01-17")
    assert answer.decision == convert.decision(expected)
    assert answer.answer_json == canonical_json(expected.to_json())
    assert answer.decision.action == pb.Action.Value(f"ACTION_{expected.action}")
    entry = service[0].log.get(answer.log_sequence)
    assert replay(entry, Registry.bundled()) is None


def test_missing_data_is_an_answer_not_an_error(channel):
    record = example_record()
    del record["labs"]
    answer = decisions(channel).EvaluateEligibility(eligibility_request(record))
    assert answer.report.outcome == pb.ELIGIBILITY_OUTCOME_INDETERMINATE
    need = decisions(channel).DecideNextAction(
        pb.DecideNextActionRequest(
            protocol_ref="flex-mrt", record_json=record_json(record), as_of=AS_OF
        )
    )
    assert need.decision.action == pb.ACTION_NEED_DATA and need.decision.missing


def test_schedule_and_study_status(channel):
    record = example_record()
    record["randomisation"] = {"arm": "control", "date": "2025-01-16"}
    schedule = decisions(channel).GetSchedule(
        pb.GetScheduleRequest(
            protocol_ref="flex-mrt",
            record_json=record_json(record),
            as_of="2025-01-17",
            horizon="P3M",
        )
    )
    rec = engine.parse_record(record)
    expected = engine.schedule(FLEX, rec, date(2025, 1, 17), parse_duration("P3M"))
    assert schedule == convert.schedule(expected)
    status = decisions(channel).GetStudyStatus(
        pb.GetStudyStatusRequest(
            protocol_ref="flex-mrt",
            record_json=[record_json(record), record_json()],
            as_of="2025-01-17",
        )
    )
    assert dict(status.enrolled) == {"control": 1, "investigational": 0}
    assert status.total == 1 and status.target > 0 and not status.interim_due


def test_identical_requests_get_one_entry_each(channel, service):
    first = decisions(channel).EvaluateEligibility(eligibility_request())
    second = decisions(channel).EvaluateEligibility(eligibility_request())
    assert first.report.decision_id == second.report.decision_id
    assert second.log_sequence == first.log_sequence + 1
    assert service[0].log.verify().ok


def test_get_decision_by_id_and_sequence(channel):
    stub = decisions(channel)
    answer = stub.EvaluateEligibility(eligibility_request())
    by_id = stub.GetDecision(pb.GetDecisionRequest(decision_id=answer.report.decision_id))
    by_seq = stub.GetDecision(pb.GetDecisionRequest(sequence=answer.log_sequence))
    assert by_id.entry == by_seq.entry
    assert by_id.entry.eligibility == answer.report
    assert by_id.entry.answer_json == answer.answer_json
    assert by_id.entry.kind == pb.DECISION_KIND_ELIGIBILITY and by_id.entry.entry_hash


def test_list_decisions_pages_by_subject(channel):
    stub = decisions(channel)
    for day in range(15, 20):
        stub.EvaluateEligibility(eligibility_request(as_of=f"2025-01-{day}"))
    other = example_record()
    other["subject"]["id"] = "FLX-999"
    stub.EvaluateEligibility(eligibility_request(other))
    seen, token = [], ""
    for _ in range(5):
        page = stub.ListDecisions(
            pb.ListDecisionsRequest(subject_id="FLX-001", page_size=2, page_token=token)
        )
        seen += [e.as_of for e in page.entries]
        token = page.next_page_token
        if not token:
            break
    assert seen == [f"2025-01-{d}" for d in range(15, 20)]


@pytest.mark.parametrize(
    ("request_", "code", "fields"),
    [
        (pb.GetDecisionRequest(decision_id="0" * 32), grpc.StatusCode.NOT_FOUND, []),
        (pb.GetDecisionRequest(sequence=999), grpc.StatusCode.NOT_FOUND, []),
        (pb.GetDecisionRequest(), grpc.StatusCode.INVALID_ARGUMENT, ["decision_id"]),
        (
            pb.ListDecisionsRequest(subject_id="FLX-001", page_token="x"),
            grpc.StatusCode.INVALID_ARGUMENT,
            ["page_token"],
        ),
        (pb.ListDecisionsRequest(), grpc.StatusCode.INVALID_ARGUMENT, ["subject_id"]),
    ],
)
def test_log_lookup_errors(channel, request_, code, fields):
    method = "GetDecision" if isinstance(request_, pb.GetDecisionRequest) else "ListDecisions"
    with pytest.raises(grpc.RpcError) as err:
        getattr(decisions(channel), method)(request_)
    assert err.value.code() == code
    assert [f for f, _ in violations(err.value)] == fields


def _bad_unit():
    record = example_record()
    record["labs"][0]["unit"] = 7
    return record_json(record)


@pytest.mark.parametrize(
    ("ref", "text", "as_of", "code", "fields"),
    [
        ("no-such-trial", record_json(), AS_OF, grpc.StatusCode.NOT_FOUND, []),
        ("flex-mrt@9.9", record_json(), AS_OF, grpc.StatusCode.NOT_FOUND, []),
        ("flex-mrt", record_json(), "2000-01-01", grpc.StatusCode.FAILED_PRECONDITION, []),
        ("", record_json(), AS_OF, grpc.StatusCode.INVALID_ARGUMENT, ["protocol_ref"]),
        ("flex-mrt", record_json(), "15.01.2025", grpc.StatusCode.INVALID_ARGUMENT, ["as_of"]),
        ("flex-mrt", "", AS_OF, grpc.StatusCode.INVALID_ARGUMENT, ["record_json"]),
        ("flex-mrt", _bad_unit(), AS_OF, grpc.StatusCode.INVALID_ARGUMENT, ["/labs/0/unit"]),
        (
            "flex-mrt",
            '{"record_version": 1',
            AS_OF,
            grpc.StatusCode.INVALID_ARGUMENT,
            ["record_json"],
        ),
        (
            "flex-mrt",
            '{"record_version": 1, "record_version": 1}',
            AS_OF,
            grpc.StatusCode.INVALID_ARGUMENT,
            ["record_json"],
        ),
        (
            "flex-mrt",
            '{"record_version": 1, "subject": {"id": "X"}}',
            AS_OF,
            grpc.StatusCode.INVALID_ARGUMENT,
            None,
        ),
    ],
)
def test_decision_errors(channel, service, ref, text, as_of, code, fields):
    stub = decisions(channel)
    for method, request_type in (
        ("EvaluateEligibility", pb.EvaluateEligibilityRequest),
        ("DecideNextAction", pb.DecideNextActionRequest),
    ):
        with pytest.raises(grpc.RpcError) as err:
            getattr(stub, method)(request_type(protocol_ref=ref, record_json=text, as_of=as_of))
        assert err.value.code() == code, err.value.details()
        found = violations(err.value)
        if fields is None:
            assert found and all(f.startswith("/") for f, _ in found)
        else:
            assert [f for f, _ in found] == fields
    assert service[0].log.get(1) is None  # nothing logged for a refused request


def test_study_status_names_the_bad_record(channel):
    with pytest.raises(grpc.RpcError) as err:
        decisions(channel).GetStudyStatus(
            pb.GetStudyStatusRequest(
                protocol_ref="flex-mrt", record_json=[record_json(), _bad_unit()], as_of=AS_OF
            )
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in violations(err.value)] == ["record_json[1]/labs/0/unit"]


def test_bad_horizon_is_invalid_argument(channel):
    with pytest.raises(grpc.RpcError) as err:
        decisions(channel).GetSchedule(
            pb.GetScheduleRequest(
                protocol_ref="flex-mrt", record_json=record_json(), as_of=AS_OF, horizon="6 months"
            )
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in violations(err.value)] == ["horizon"]


def test_log_survives_restart(tmp_path):
    from flexmrt.server.app import create_server

    db = tmp_path / "log.sqlite"
    for _ in range(2):
        svc, port = create_server("127.0.0.1:0", db=db)
        svc.start()
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            decisions(ch).EvaluateEligibility(eligibility_request())
        svc.stop(grace=1)
    log = open_log(db)
    try:
        assert log.get(2) is not None and log.verify().ok and log.verify().entries == 2
    finally:
        log.close()


def _taxane(start, end):
    record = example_record()
    record["history"]["prior_therapies"][2].update(start=start, end=end)
    return record


def test_a_record_is_refused_or_answered_on_its_utc_days_in_a_site_zone(channel):
    """flex-mrt counts days in Los Angeles, and the server reads a request's record there
    once; whether it is refused still follows the days read in UTC, word for word.
    02:00 UTC on 1 March is 28 February in Los Angeles."""
    assert FLEX.time_zone == "America/Los_Angeles"
    stub = decisions(channel)
    refused = _taxane("2023-03-01T02:00:00Z", "2023-02-28")  # ends before it starts in UTC
    with pytest.raises(engine.RecordError) as expected:
        engine.parse_record(refused, None, "record_json")
    with pytest.raises(grpc.RpcError) as err:
        stub.DecideNextAction(
            pb.DecideNextActionRequest(
                protocol_ref="flex-mrt", record_json=record_json(refused), as_of=AS_OF
            )
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details() == f"[end_before_start] {expected.value.message}"
    assert [f for f, _ in violations(err.value)] == ["/history/prior_therapies/2/end"]
    # ends after it starts in UTC, on the day before in Los Angeles: answered, as the
    # engine answers the record read in UTC
    answered = _taxane("2023-03-01", "2023-03-01T02:00:00Z")
    response = stub.DecideNextAction(
        pb.DecideNextActionRequest(
            protocol_ref="flex-mrt", record_json=record_json(answered), as_of=AS_OF
        )
    )
    assert response.answer_json == canonical_json(_engine("decide", answered).to_json())
