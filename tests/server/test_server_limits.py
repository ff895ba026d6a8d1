"""Server limits: the cap on a call's duration and the maximum message size; reflection
serves full descriptors (what grpcurl needs)."""

from __future__ import annotations

import threading

import grpc
import pytest
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from server_helpers import decisions, eligibility_request, example_record, violations

from flexmrt.server._gen.flexmrt.v1 import dosimetry_pb2 as dose_pb
from flexmrt.server._gen.flexmrt.v1 import dosimetry_pb2_grpc
from flexmrt.server.app import Limits, create_server


@pytest.fixture
def limited(tmp_path):
    svc, port = create_server(
        "127.0.0.1:0",
        db=tmp_path / "log.sqlite",
        limits=Limits(max_call_s=0.5, max_message_bytes=64 * 1024),
    )
    svc.start()
    yield port
    svc.stop(grace=1)


def test_calls_longer_than_the_cap_are_cancelled(limited):
    release = threading.Event()

    def stalled():
        yield dose_pb.ComputeDoseRequest(settings=dose_pb.DoseSettings())
        release.wait(10)

    with grpc.insecure_channel(f"127.0.0.1:{limited}") as ch, pytest.raises(grpc.RpcError) as err:
        try:
            dosimetry_pb2_grpc.DosimetryServiceStub(ch).ComputeDose(stalled(), timeout=30)
        finally:
            release.set()
    assert err.value.code() == grpc.StatusCode.CANCELLED


def test_oversized_messages_are_refused(limited):
    record = example_record()
    record["labs"] = record["labs"] * 400
    with grpc.insecure_channel(f"127.0.0.1:{limited}") as ch, pytest.raises(grpc.RpcError) as err:
        decisions(ch).EvaluateEligibility(eligibility_request(record), timeout=10)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_reflection_resolves_every_method(channel):
    db = ProtoReflectionDescriptorDatabase(channel)
    from google.protobuf.descriptor_pool import DescriptorPool

    pool = DescriptorPool(db)
    service = pool.FindServiceByName("flexmrt.v1.DecisionService")
    assert {m.name for m in service.methods} >= {"EvaluateEligibility", "ListDecisions"}
    observation = pool.FindMessageTypeByName("flexmrt.v1.Observation")
    assert observation.fields_by_name["value"].message_type.full_name == "google.protobuf.Value"


def test_a_record_over_the_size_limit_is_refused_before_parsing(tmp_path):
    svc, port = create_server(
        "127.0.0.1:0", db=tmp_path / "log.sqlite", limits=Limits(max_record_bytes=4096)
    )
    svc.start()
    record = example_record()
    record["labs"] = record["labs"] * 4
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch, pytest.raises(grpc.RpcError) as err:
            decisions(ch).EvaluateEligibility(eligibility_request(record), timeout=10)
    finally:
        svc.stop(grace=1)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "record_json is" in err.value.details() and "at most 4,096" in err.value.details()
    assert [f for f, _ in violations(err.value)] == ["record_json"]
