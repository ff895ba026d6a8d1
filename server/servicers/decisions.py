"""DecisionService: eligibility, next action, schedule, study status and the decision log.

Eligibility and next-action answers are appended to the decision log before the
response is returned (the append blocks until the entry is durable). Parsing and
the engine run interruptibly (a call past its deadline stops there); the append
never is. A ``record_json`` longer than the server's limit is refused unparsed. The
whole response is built and its size checked first: a call that cannot answer leaves
no entry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from typing import Any

import grpc

from flexmrt import engine
from flexmrt.protocol import Protocol, Registry, canonical_json, parse_duration
from flexmrt.server import convert
from flexmrt.server._gen.flexmrt.v1 import decision_pb2 as _pb
from flexmrt.server._gen.flexmrt.v1 import decision_pb2_grpc as _grpc
from flexmrt.server.deadline import interruptible
from flexmrt.server.decision_log import DecisionLog, LogEntry, LogError
from flexmrt.server.decision_log.checkpointer import prove
from flexmrt.server.edge import current_caller
from flexmrt.server.servicers.protocols import _ref
from flexmrt.server.status import RequestError

__all__ = ["DecisionServicer"]

_log = logging.getLogger("flexmrt.server")
_PAGE_DEFAULT, _PAGE_MAX = 50, 500
_HORIZON_DEFAULT = "P6M"
_WORKLIST_HORIZON_DEFAULT = "P4W"
_MAX_SEQUENCE = 2**63 - 1  # the log's sequence numbers are signed 64-bit integers


class DecisionServicer(_grpc.DecisionServiceServicer):
    def __init__(
        self,
        registry: Registry,
        log: DecisionLog,
        max_record_bytes: int | None = None,
        max_response_bytes: int = 64 * 2**20,
    ) -> None:
        self._registry = registry
        self._log = log
        self._max_record = max_record_bytes
        self._max_response_bytes = max_response_bytes

    def EvaluateEligibility(self, request: Any, context: Any) -> _pb.EvaluateEligibilityResponse:
        with interruptible():
            protocol, record, as_of, notes = self._noted_inputs(request)
            answer = engine.eligibility(protocol, record, as_of)
            answer_json = canonical_json(answer.to_json())
        response = _pb.EvaluateEligibilityResponse(
            report=convert.eligibility(answer),
            answer_json=answer_json,
            import_notes=[convert.import_note(n) for n in notes],
        )
        entry = self._append("eligibility", protocol, record, as_of, answer, response)
        response.log_sequence = entry.sequence
        return response

    def DecideNextAction(self, request: Any, context: Any) -> _pb.DecideNextActionResponse:
        with interruptible():
            protocol, record, as_of, notes = self._noted_inputs(request)
            answer = engine.decide(protocol, record, as_of)
            answer_json = canonical_json(answer.to_json())
        response = _pb.DecideNextActionResponse(
            decision=convert.decision(answer),
            answer_json=answer_json,
            import_notes=[convert.import_note(n) for n in notes],
        )
        entry = self._append("next_action", protocol, record, as_of, answer, response)
        response.log_sequence = entry.sequence
        return response

    def GetSchedule(self, request: Any, context: Any) -> _pb.GetScheduleResponse:
        text = request.horizon or _HORIZON_DEFAULT
        try:
            horizon = parse_duration(text)
        except ValueError as error:
            raise RequestError.invalid("horizon", str(error)) from None
        with interruptible():
            protocol, record, as_of, notes = self._noted_inputs(request)
            response = convert.schedule(engine.schedule(protocol, record, as_of, horizon))
            response.import_notes.extend(convert.import_note(n) for n in notes)
            return response

    def GetWorklist(self, request: Any, context: Any) -> Iterator[_pb.GetWorklistResponse]:
        try:
            horizon = parse_duration(request.horizon or _WORKLIST_HORIZON_DEFAULT)
        except ValueError as error:
            raise RequestError.invalid("horizon", str(error)) from None
        protocol, as_of = self._dated_protocol(request)
        fields = [(f"record_json[{i}]", t, False) for i, t in enumerate(request.record_json)]
        fields += [
            (f"record_fhir_json[{i}]", t, True) for i, t in enumerate(request.record_fhir_json)
        ]
        if not fields:
            raise RequestError.invalid(
                "record_json", "give at least one record_json or record_fhir_json"
            )
        for field, text, _fhir in fields:
            convert.check_size(text, field, self._max_record)
        with interruptible():  # never across a yield: that runs the caller's code
            schedules: list[engine.Schedule] = []
            sources: dict[str, str] = {}
            for field, text, fhir in fields:
                record = (
                    convert.record_from_fhir(text, field, protocol.time_zone)[0]
                    if fhir
                    else convert.record_from_json(text, field, protocol.time_zone)
                )
                answer = engine.schedule(protocol, record, as_of, horizon)
                sources.setdefault(answer.follows_decision, field)
                schedules.append(answer)
            worklist = engine.worklist(schedules, as_of, str(horizon))
        for item in worklist.items:
            yield convert.worklist_item(
                item, protocol, worklist.as_of, sources[item.follows_decision]
            )

    def GetStudyStatus(self, request: Any, context: Any) -> _pb.GetStudyStatusResponse:
        protocol, as_of = self._dated_protocol(request)
        for i, text in enumerate(request.record_json):
            convert.check_size(text, f"record_json[{i}]", self._max_record)
        with interruptible():
            records = [
                convert.record_from_json(text, f"record_json[{i}]", protocol.time_zone)
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
        """Protocol, record (from record_json or record_fhir_json) and as_of."""
        protocol, record, as_of, _notes = self._noted_inputs(request)
        return protocol, record, as_of

    def _dated_protocol(self, request: Any) -> tuple[Protocol, date]:
        """The protocol revision in force on the request's as_of, and that date (empty: today
        at the protocol's site)."""
        ref = _ref(request.protocol_ref, "protocol_ref")
        return convert.dated_protocol(
            request.as_of, lambda day: self._registry.resolve(ref, day), convert.utc_now()
        )

    def _noted_inputs(self, request: Any) -> tuple[Protocol, engine.Record, date, list[Any]]:
        """Protocol, record (from record_json or record_fhir_json), as_of and import notes."""
        if request.record_json and request.record_fhir_json:
            raise RequestError.invalid(
                "record_fhir_json", "give one of record_json or record_fhir_json, not both"
            )
        fhir = bool(request.record_fhir_json)
        field = "record_fhir_json" if fhir else "record_json"
        convert.check_size(getattr(request, field), field, self._max_record)
        protocol, as_of = self._dated_protocol(request)
        # the record is read in the protocol's site zone, the one the engine counts days
        # in: built once (its issues do not depend on the zone)
        zone = protocol.time_zone
        if fhir:
            record, notes = convert.record_from_fhir(request.record_fhir_json, field, zone)
            return protocol, record, as_of, notes
        record = convert.record_from_json(request.record_json, field, zone)
        return protocol, record, as_of, []

    def _append(
        self,
        kind: str,
        protocol: Protocol,
        record: engine.Record,
        as_of: date,
        answer: engine.Eligibility | engine.Decision,
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
                decision_id=answer.envelope.decision_id,
                kind=kind,
                caller=current_caller(),
                subject_id=record.subject_id,
                protocol_ref=protocol.ref,
                protocol_sha256=protocol.sha256,
                input_json=input_json,
                input_sha256=answer.envelope.input_sha256,
                as_of=as_of.isoformat(),
                engine_version=engine.ENGINE_VERSION,
                answer_json=response.answer_json,
            )
        )
        # DEBUG, not INFO: a line per answer is ~4 % of a call's server CPU, and the
        # decision log itself is the record of every answer
        _log.debug("logged %s %s (entry %d)", kind, entry.decision_id, entry.sequence)
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
