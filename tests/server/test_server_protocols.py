"""ProtocolService, health and reflection over a real socket."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from server_helpers import protocols, violations

from flexmrt.protocol import Registry
from flexmrt.server._gen.flexmrt.v1 import protocol_pb2 as pb

BUNDLED = Registry.bundled()


def test_list_protocols_mirrors_the_registry(channel):
    answer = protocols(channel).ListProtocols(pb.ListProtocolsRequest())
    assert [(p.ref, p.sha256) for p in answer.protocols] == [
        (p.ref, p.sha256) for p in BUNDLED.all()
    ]
    flex = next(p for p in answer.protocols if p.id == "flex-mrt")
    assert {a.id for a in flex.arms} == {"control", "investigational"}
    assert all(a.activity_gbq == pytest.approx(7.4) for a in flex.arms)
    assert flex.inclusion_count > 0 and flex.assumed_parameters


def test_get_protocol_returns_summary_yaml_and_sha(channel):
    answer = protocols(channel).GetProtocol(pb.GetProtocolRequest(ref="flex-mrt@1.0"))
    expected = BUNDLED.resolve("flex-mrt@1.0")
    assert answer.sha256 == expected.sha256 == answer.summary.sha256
    assert answer.yaml_text == expected.text
    by_date = protocols(channel).GetProtocol(pb.GetProtocolRequest(ref="flex-mrt", on="2025-01-15"))
    assert by_date.summary.ref == "flex-mrt@1.1"


@pytest.mark.parametrize(
    ("request_", "code", "field"),
    [
        (pb.GetProtocolRequest(ref="no-such-trial"), grpc.StatusCode.NOT_FOUND, None),
        (pb.GetProtocolRequest(ref="flex-mrt@9.9"), grpc.StatusCode.NOT_FOUND, None),
        (
            pb.GetProtocolRequest(ref="flex-mrt", on="1999-01-01"),
            grpc.StatusCode.FAILED_PRECONDITION,
            None,
        ),
        (pb.GetProtocolRequest(ref="/etc/passwd"), grpc.StatusCode.INVALID_ARGUMENT, "ref"),
        (pb.GetProtocolRequest(ref=""), grpc.StatusCode.INVALID_ARGUMENT, "ref"),
        (
            pb.GetProtocolRequest(ref="flex-mrt", on="15/01/2025"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "on",
        ),
    ],
)
def test_get_protocol_errors(channel, request_, code, field):
    with pytest.raises(grpc.RpcError) as err:
        protocols(channel).GetProtocol(request_)
    assert err.value.code() == code
    if field:
        assert [f for f, _ in violations(err.value)] == [field]


def test_validate_accepts_a_bundled_revision(channel):
    text = BUNDLED.resolve("flex-mrt@1.0").text
    answer = protocols(channel).ValidateProtocol(pb.ValidateProtocolRequest(yaml_text=text))
    assert answer.valid and not answer.issues
    assert answer.summary.sha256 == BUNDLED.resolve("flex-mrt@1.0").sha256


def test_validate_reports_every_issue_with_its_location(channel):
    text = BUNDLED.resolve("flex-mrt@1.0").text.replace("revision:", "revisionn:", 1)
    answer = protocols(channel).ValidateProtocol(
        pb.ValidateProtocolRequest(yaml_text=text, file_name="bad.yaml")
    )
    assert not answer.valid and answer.code and answer.issues
    first = answer.issues[0]
    assert first.file == "bad.yaml" and first.line > 0 and first.column > 0
    assert first.pointer.startswith("/protocol")


def test_validate_reports_yaml_syntax_errors(channel):
    answer = protocols(channel).ValidateProtocol(
        pb.ValidateProtocolRequest(yaml_text="protocol: [unclosed\n")
    )
    assert not answer.valid
    assert answer.code == "yaml_syntax" and answer.issues[0].line >= 1


def test_diff_protocols(channel):
    answer = protocols(channel).DiffProtocols(
        pb.DiffProtocolsRequest(from_ref="pluvicto-label@1.0", to_ref="flex-mrt@1.0")
    )
    assert answer.from_protocol.ref == "pluvicto-label@1.0"
    assert answer.to_protocol.sha256 == BUNDLED.resolve("flex-mrt@1.0").sha256
    assert answer.changes and answer.text.startswith("pluvicto-label@1.0 → flex-mrt@1.0")
    assert answer.added_count + answer.removed_count + answer.changed_count == len(answer.changes)


def test_diff_unknown_revision_is_not_found(channel):
    with pytest.raises(grpc.RpcError) as err:
        protocols(channel).DiffProtocols(
            pb.DiffProtocolsRequest(from_ref="flex-mrt@0.1", to_ref="flex-mrt@1.0")
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_health_is_serving_for_every_service(channel):
    stub = health_pb2_grpc.HealthStub(channel)
    for name in (
        "",
        "flexmrt.v1.ProtocolService",
        "flexmrt.v1.DecisionService",
        "flexmrt.v1.DosimetryService",
    ):
        answer = stub.Check(health_pb2.HealthCheckRequest(service=name))
        assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_services(channel):
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    answer = next(stub.ServerReflectionInfo(iter([request])))
    names = {s.name for s in answer.list_services_response.service}
    assert {
        "flexmrt.v1.ProtocolService",
        "flexmrt.v1.DecisionService",
        "flexmrt.v1.DosimetryService",
        "grpc.health.v1.Health",
    } <= names


def test_graceful_stop_turns_health_not_serving(tmp_path):
    from flexmrt.server.app import create_server

    svc, port = create_server("127.0.0.1:0", db=tmp_path / "log.sqlite")
    svc.start()
    svc.health.enter_graceful_shutdown()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        answer = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest())
    assert answer.status == health_pb2.HealthCheckResponse.NOT_SERVING
    svc.stop(grace=1)
