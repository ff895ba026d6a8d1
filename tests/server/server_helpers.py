"""Helpers for the server tests: example records, error details, stubs."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from flexmrt.protocol.yamlio import read_yaml
from flexmrt.server._gen.flexmrt.v1 import decision_pb2, decision_pb2_grpc, protocol_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "patients" / "flx-001-eligible.yaml"
AS_OF = "2025-01-15"


def example_record() -> dict:
    """The eligible example patient as a plain dict."""
    data, _ = read_yaml(EXAMPLE.read_text(), str(EXAMPLE))
    return json.loads(json.dumps(data))


def record_json(record: dict | None = None) -> str:
    return json.dumps(record if record is not None else example_record())


def decisions(channel: grpc.Channel) -> decision_pb2_grpc.DecisionServiceStub:
    return decision_pb2_grpc.DecisionServiceStub(channel)


def protocols(channel: grpc.Channel) -> protocol_pb2_grpc.ProtocolServiceStub:
    return protocol_pb2_grpc.ProtocolServiceStub(channel)


def eligibility_request(
    record: dict | None = None, ref: str = "flex-mrt", as_of: str = AS_OF
) -> decision_pb2.EvaluateEligibilityRequest:
    return decision_pb2.EvaluateEligibilityRequest(
        protocol_ref=ref, record_json=record_json(record), as_of=as_of
    )


def violations(error: grpc.RpcError) -> list[tuple[str, str]]:
    """google.rpc.BadRequest field violations of a failed call, as (field, description)."""
    status = rpc_status.from_call(error)
    found = []
    for detail in status.details if status else []:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            found += [(v.field, v.description) for v in bad.field_violations]
    return found
