"""The edge under hostile input: bearer-token parsing, what needs no token (health and
its reflection), reflection v1, undecodable request bytes, answers too large to send."""

from __future__ import annotations

import hashlib

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2
from server_helpers import decisions, eligibility_request, violations

from flexmrt.server._gen.flexmrt.v1 import decision_pb2
from flexmrt.server.app import Limits, create_server
from flexmrt.server.security import TokenStore

TOKEN = "s3cret-token-for-edc-0001"
DIGESTED = "another-token-0123456789"
_REFLECTION = {
    "v1alpha": "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    "v1": "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
}


def _start(tmp_path, **kwargs):
    svc, port = create_server("127.0.0.1:0", db=tmp_path / "log.sqlite", **kwargs)
    svc.start()
    return svc, port


@pytest.fixture
def token_server(tmp_path):
    path = tmp_path / "tokens.txt"
    digest = hashlib.sha256(DIGESTED.encode()).hexdigest()
    path.write_text(f"edc {TOKEN}\nscheduler sha256:{digest}\n")
    svc, port = _start(tmp_path, tokens=TokenStore.from_file(path))
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield svc, channel
    svc.stop(grace=1)


@pytest.mark.parametrize(
    "metadata",
    [
        (("authorization", f"Bearer  {TOKEN}"),),  # two spaces
        (("authorization", f"Bearer {TOKEN} "),),  # a trailing space
        (("authorization", f"bearer {TOKEN}"),),
        (("authorization", f"Token {TOKEN}"),),
        (("authorization", f"Bearer {TOKEN}x"),),
        (("authorization", "Bearer wrong-token-000000000"), ("authorization", f"Bearer {TOKEN}")),
        (("authorization", f"Bearer {TOKEN}"), ("authorization", f"Bearer {TOKEN}")),
        (("authorization", f"Bearer sha256:{hashlib.sha256(DIGESTED.encode()).hexdigest()}"),),
    ],
    ids=[
        "two-spaces",
        "trailing-space",
        "lowercase",
        "other-scheme",
        "suffix",
        "wrong-then-valid",
        "twice",
        "the-digest-itself",
    ],
)
def test_malformed_authorization_is_unauthenticated(token_server, metadata):
    _, channel = token_server
    with pytest.raises(grpc.RpcError) as err:
        decisions(channel).EvaluateEligibility(eligibility_request(), metadata=metadata, timeout=10)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize(("token", "name"), [(TOKEN, "edc"), (DIGESTED, "scheduler")])
def test_a_token_or_its_digest_in_the_file_names_the_caller(token_server, token, name):
    svc, channel = token_server
    answer = decisions(channel).EvaluateEligibility(
        eligibility_request(), metadata=(("authorization", f"Bearer {token}"),), timeout=10
    )
    assert svc.log.get(answer.log_sequence).caller == name


@pytest.mark.parametrize(
    "line", ["edc sha256:abc", "edc sha256:" + "G" * 64, "edc token with spaces-0123456789"]
)
def test_token_file_lines_that_can_never_match_are_refused(tmp_path, line):
    path = tmp_path / "tokens.txt"
    path.write_text(line + "\n")
    with pytest.raises(ValueError, match=r"tokens\.txt:1"):
        TokenStore.from_file(path)


def _reflect(channel, version, request, metadata=()):
    call = channel.stream_stream(
        _REFLECTION[version],
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    return list(call(iter([request]), metadata=metadata, timeout=10))


@pytest.mark.parametrize("version", ["v1alpha", "v1"])
def test_health_and_its_reflection_need_no_token(token_server, version):
    _, channel = token_server
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    for request in (
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="grpc.health.v1.Health"),
        reflection_pb2.ServerReflectionRequest(file_by_filename="grpc_health/v1/health.proto"),
    ):
        (answer,) = _reflect(channel, version, request)
        assert answer.WhichOneof("message_response") == "file_descriptor_response"


@pytest.mark.parametrize("version", ["v1alpha", "v1"])
@pytest.mark.parametrize(
    "request_",
    [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="flexmrt.v1.DecisionService"),
        reflection_pb2.ServerReflectionRequest(file_by_filename="flexmrt/v1/decision.proto"),
    ],
    ids=["list", "symbol", "file"],
)
def test_reflection_of_anything_else_needs_a_token(token_server, version, request_):
    _, channel = token_server
    with pytest.raises(grpc.RpcError) as err:
        _reflect(channel, version, request_)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    answers = _reflect(channel, version, request_, (("authorization", f"Bearer {TOKEN}"),))
    assert answers[0].WhichOneof("message_response") != "error_response"


def test_reflection_v1_lists_and_describes_itself(channel):
    (listed,) = _reflect(channel, "v1", reflection_pb2.ServerReflectionRequest(list_services=""))
    names = {s.name for s in listed.list_services_response.service}
    assert {
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "flexmrt.v1.DecisionService",
        "grpc.health.v1.Health",
    } <= names
    (described,) = _reflect(
        channel,
        "v1",
        reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="grpc.reflection.v1.ServerReflection"
        ),
    )
    files = described.file_descriptor_response.file_descriptor_proto
    assert files and b"grpc/reflection/v1/reflection.proto" in files[0]


@pytest.mark.parametrize(
    "payload", [b"\x12\x02\xc3\x28", b"\xff\xff\xff", b"\x0a\x05ab"], ids=["utf8", "tag", "short"]
)
def test_request_bytes_that_do_not_decode_are_invalid_argument(channel, payload):
    call = channel.unary_unary("/flexmrt.v1.DecisionService/EvaluateEligibility")
    with pytest.raises(grpc.RpcError) as err:
        call(payload, timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(err.value)[0][0] == "request"


def test_a_sequence_beyond_the_log_is_invalid_argument(channel):
    with pytest.raises(grpc.RpcError) as err:
        decisions(channel).GetDecision(
            decision_pb2.GetDecisionRequest(sequence=2**64 - 1), timeout=10
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_an_answer_over_the_message_limit_leaves_no_log_entry(tmp_path):
    """The request fits, the answer (about 12 kB) does not: refused before logging."""
    svc, port = _start(tmp_path, limits=Limits(max_message_bytes=8000))
    try:
        with (
            grpc.insecure_channel(f"127.0.0.1:{port}") as channel,
            pytest.raises(grpc.RpcError) as err,
        ):
            decisions(channel).EvaluateEligibility(eligibility_request(), timeout=10)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "nothing was logged" in err.value.details()
        assert svc.log.get(1) is None
    finally:
        svc.stop(grace=1)
