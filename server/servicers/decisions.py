"""DecisionService: eligibility, next action, schedule, study status and the decision log.

Eligibility and next-action answers are appended to the decision log before the
response is returned (the append blocks until the entry is durable). The whole
response is built and its size checked first: a call that cannot answer leaves no
entry.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import grpc

import engine
from protocol import Protocol, Registry, canonical_json, parse_duration
from server import convert
from server._gen.flexmrt.v1 import decision_pb2 as _pb
from server._gen.flexmrt.v1 import decision_pb2_grpc as _grpc
from server.decision_log import DecisionLog, LogEntry, LogError
from server.decision_log.checkpointer import prove
from server.edge import current_caller
from server.servicers.protocols import _ref
from server.status import RequestError

__all__ = ["DecisionServicer"]

_log = logging.getLogger("flexmrt.server")
_PAGE_DEFAULT, _PAGE_MAX = 50, 500
_HORIZON_DEFAULT = "P6M"
_MAX_SEQUENCE = 2**63 - 1  # the log's sequence numbers are signed 64-bit integers


class DecisionServicer(_grpc.DecisionServiceServicer):  # type: ignore[misc]
    def __init__(
        self, registry: Registry, log: DecisionLog, max_response_bytes: int = 64 * 2**20
    ) -> None:
        self._registry = registry
        self._log = log
        self._max_response_bytes = max_response_bytes

    def EvaluateEligibility(self, request: Any, context: Any) -> _pb.EvaluateEligibilityResponse:
        protocol, record, as_of = self._inputs(request)
        answer = engine.eligibility(protocol, record, as_of)
        response = _pb.EvaluateEligibilityResponse(
            report=convert.eligibility(answer), answer_json=canonical_json(answer)
        )
        entry = self._append("eligibility", protocol, record, as_of, answer, response)
        response.log_sequence = entry.sequence
        return response

    def DecideNextAction(self, request: Any, context: Any) -> _pb.DecideNextActionResponse:
        protocol, record, as_of = self._inputs(request)
        answer = engine.decide(protocol, record, as_of)
        response = _pb.DecideNextActionResponse(
            decision=convert.decision(answer), answer_json=canonical_json(answer)
        )
        entry = self._append("next_action", protocol, record, as_of, answer, response)
        response.log_sequence = entry.sequence
        return response

    def GetSchedule(self, request: Any, context: Any) -> _pb.GetScheduleResponse:
        protocol, record, as_of = self._inputs(request)
        text = request.horizon or _HORIZON_DEFAULT
        try:
            horizon = parse_duration(text)
        except ValueError as error:
            raise RequestError.invalid("horizon", str(error)) from None
        return convert.schedule(engine.schedule(protocol, record, as_of, horizon))

    def GetStudyStatus(self, request: Any, context: Any) -> _pb.GetStudyStatusResponse:
        as_of = convert.as_of_date(request.as_of)
        protocol = self._registry.resolve(_ref(request.protocol_ref, "protocol_ref"), as_of)
        records = [
            convert.record_from_json(text, f"record_json[{i}]")
            for i, text in enumerate(request.record_json)
        ]
        return convert.study_status(engine.study_status(protocol, records, as_of))

    def GetDecision(self, request: Any, context: Any) -> _pb.GetDecisionResponse:
        if request.sequence > _MAX_SEQUENCE:
            raise RequestError.invalid("sequence", f"sequence is at most {_MAX_SEQUENCE}")
        if request.sequence:
            entry = self._log.get(request.sequence)
            missing = f"no decision log entry {request.sequence}"
        elif request.decision_id:
            entry = self._log.latest(request.decision_id)
            missing = f"no logged decision {request.decision_id}"
        else:
            raise RequestError.invalid("decision_id", "decision_id or sequence is required")
        if entry is None:
            raise RequestError.not_found(missing)
        response = _pb.GetDecisionResponse(entry=convert.log_entry(entry))
        if request.include_proof:
            proof = _inclusion_proof(self._log, entry.sequence)
            if proof is not None:
                response.inclusion_proof.CopyFrom(proof)
        return response

    def ListDecisions(self, request: Any, context: Any) -> _pb.ListDecisionsResponse:
        if not request.subject_id:
            raise RequestError.invalid("subject_id", "subject_id is required")
        if request.page_size < 0:
            raise RequestError.invalid("page_size", "page_size must not be negative")
        size = min(request.page_size or _PAGE_DEFAULT, _PAGE_MAX)
        after = _page_token(request.page_token)
        found = self._log.by_subject(request.subject_id, after, size + 1)
        page = found[:size]
        token = str(page[-1].sequence) if len(found) > size else ""
        return _pb.ListDecisionsResponse(
            entries=[convert.log_entry(e) for e in page], next_page_token=token
        )

    # ---- helpers ---------------------------------------------------------------------------

    def _inputs(self, request: Any) -> tuple[Protocol, engine.Record, date]:
        as_of = convert.as_of_date(request.as_of)
        protocol = self._registry.resolve(_ref(request.protocol_ref, "protocol_ref"), as_of)
        return protocol, convert.record_from_json(request.record_json, "record_json"), as_of

    def _append(
        self,
        kind: str,
        protocol: Protocol,
        record: engine.Record,
        as_of: date,
        answer: dict[str, Any],
        response: Any,
    ) -> LogEntry:
        """Log the answer of a ``response`` already built (its sequence is set after)."""
        size = response.ByteSize() + 11  # + the log_sequence field, set once logged
        if size > self._max_response_bytes:
            raise RequestError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"the answer would be {size:,} bytes, over this server's message limit of "
                f"{self._max_response_bytes:,} bytes; nothing was logged",
            )
        input_json = record.canonical  # computed once per request, shared with the engine
        entry = self._log.append(
            LogEntry(
                decision_id=answer["decision_id"],
                kind=kind,
                caller=current_caller(),
                subject_id=record.subject_id,
                protocol_ref=protocol.ref,
                protocol_sha256=protocol.sha256,
                input_json=input_json,
                input_sha256=answer["input_sha256"],
                as_of=as_of.isoformat(),
                engine_version=engine.ENGINE_VERSION,
                answer_json=response.answer_json,
            )
        )
        _log.info("logged %s %s (entry %d)", kind, entry.decision_id, entry.sequence)
        return entry


def _inclusion_proof(log: DecisionLog, sequence: int) -> _pb.InclusionProof | None:
    """The entry's audit path to the latest signed checkpoint (None: none covers it yet)."""
    try:
        proof = prove(log, sequence)
    except LogError as error:
        raise RequestError(grpc.StatusCode.DATA_LOSS, str(error)) from None
    if proof is None:
        return None
    return _pb.InclusionProof(
        leaf_index=proof.leaf_index,
        tree_size=proof.tree_size,
        hashes=proof.hashes,
        checkpoint=proof.checkpoint,
    )


def _page_token(token: str) -> int:
    if not token:
        return 0
    if not (token.isascii() and token.isdigit() and int(token) <= _MAX_SEQUENCE):
        raise RequestError.invalid("page_token", "page_token is not one this server issued")
    return int(token)
