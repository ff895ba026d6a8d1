"""ProtocolService: list, fetch, validate and diff protocol revisions.

Protocol YAML and records longer than the server's limits are refused unparsed;
loading and comparing run interruptibly (a call past its deadline stops there).
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from flexmrt.engine.amendment import compare_subject, summarise
from flexmrt.protocol import Protocol, ProtocolError, Registry, diff_protocols, load_text
from flexmrt.protocol.diff import format_diff
from flexmrt.server import convert
from flexmrt.server._gen.flexmrt.v1 import protocol_pb2 as _pb
from flexmrt.server._gen.flexmrt.v1 import protocol_pb2_grpc as _grpc
from flexmrt.server.deadline import interruptible
from flexmrt.server.status import RequestError

__all__ = ["ProtocolServicer"]


class ProtocolServicer(_grpc.ProtocolServiceServicer):
    def __init__(
        self,
        registry: Registry,
        max_protocol_bytes: int | None = None,
        max_record_bytes: int | None = None,
    ) -> None:
        self._registry = registry
        self._max_protocol = max_protocol_bytes
        self._max_record = max_record_bytes

    def ListProtocols(
        self, request: _pb.ListProtocolsRequest, context: grpc.ServicerContext
    ) -> _pb.ListProtocolsResponse:
        return _pb.ListProtocolsResponse(
            protocols=[convert.protocol_summary(p.summary()) for p in self._registry.all()]
        )

    def GetProtocol(
        self, request: _pb.GetProtocolRequest, context: grpc.ServicerContext
    ) -> _pb.GetProtocolResponse:
        found = self._registry.resolve(
            _ref(request.ref, "ref"), convert.as_of_date(request.on, "on") if request.on else None
        )
        return _pb.GetProtocolResponse(
            summary=convert.protocol_summary(found.summary()),
            yaml_text=found.text,
            sha256=found.sha256,
        )

    def ValidateProtocol(
        self, request: _pb.ValidateProtocolRequest, context: grpc.ServicerContext
    ) -> _pb.ValidateProtocolResponse:
        convert.check_size(request.yaml_text, "yaml_text", self._max_protocol)
        try:
            with interruptible():
                loaded = load_text(request.yaml_text, request.file_name or "<request>")
        except ProtocolError as error:
            return _pb.ValidateProtocolResponse(
                valid=False,
                code=error.code,
                message=error.message,
                issues=[convert.issue(i) for i in error.issues],
            )
        return _pb.ValidateProtocolResponse(
            valid=True, summary=convert.protocol_summary(loaded.summary())
        )

    def DiffProtocols(
        self, request: _pb.DiffProtocolsRequest, context: grpc.ServicerContext
    ) -> _pb.DiffProtocolsResponse:
        old = self._registry.resolve(_ref(request.from_ref, "from_ref"))
        new = self._registry.resolve(_ref(request.to_ref, "to_ref"))
        with interruptible():
            result = diff_protocols(old, new)
            return convert.diff(result, format_diff(result))

    def AssessAmendment(
        self, request: _pb.AssessAmendmentRequest, context: grpc.ServicerContext
    ) -> Iterator[_pb.AssessAmendmentResponse]:
        old = self._registry.resolve(_ref(request.from_ref, "from_ref"))
        for i, text in enumerate(request.record_json):
            convert.check_size(text, f"record_json[{i}]", self._max_record)
        with interruptible():  # never across a yield: that runs the caller's code
            new = self._amendment(request)
            # empty: today at the new revision's site, as the CLI's --as-of default
            _, as_of = convert.dated_protocol(request.as_of, lambda _day: new, convert.utc_now())
            records = [
                convert.record_from_json(text, f"record_json[{i}]")
                for i, text in enumerate(request.record_json)
            ]
        results = []
        for record in records:
            with interruptible():
                result = compare_subject(old, new, record, as_of)
            results.append(result)
            yield _pb.AssessAmendmentResponse(subject=convert.subject_impact(result))
        with interruptible():
            summary = summarise(old, new, results)
        yield _pb.AssessAmendmentResponse(summary=convert.amendment_summary(summary))

    def _amendment(self, request: _pb.AssessAmendmentRequest) -> Protocol:
        if bool(request.to_ref) == bool(request.to_yaml_text):
            raise RequestError.invalid("to_ref", "give exactly one of to_ref or to_yaml_text")
        if request.to_yaml_text:
            convert.check_size(request.to_yaml_text, "to_yaml_text", self._max_protocol)
            return load_text(request.to_yaml_text, "to_yaml_text")
        return self._registry.resolve(_ref(request.to_ref, "to_ref"))


def _ref(ref: str, field: str) -> str:
    """A registry reference; file paths are not accepted over the wire."""
    if not ref:
        raise RequestError.invalid(field, f'{field} is required ("id" or "id@revision")')
    if "/" in ref or ref.endswith((".yaml", ".yml")):
        raise RequestError.invalid(field, f'{field} must be "id" or "id@revision", not a path')
    return ref
