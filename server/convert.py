"""Domain dicts → protobuf messages (answers) and protobuf → domain arguments (requests).

The engine and protocol packages answer with plain JSON-able dicts; this module
mirrors them field by field into the flexmrt.v1 messages. ``None`` leaves a field
unset; observation keys the messages do not name go into ``Observation.extra``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import grpc
from google.protobuf import struct_pb2

import engine
from server._gen.flexmrt.v1 import common_pb2 as _common
from server._gen.flexmrt.v1 import decision_pb2 as _decision
from server._gen.flexmrt.v1 import protocol_pb2 as _protocol
from server.status import RequestError

__all__ = [
    "as_of_date",
    "decision",
    "diff",
    "eligibility",
    "import_note",
    "issue",
    "log_entry",
    "protocol_summary",
    "record_from_fhir",
    "schedule",
    "study_status",
    "worklist_item",
]

_OBSERVATION_KEYS = {"what", "value", "unit", "date", "pointer"}


def as_of_date(text: str, field: str = "as_of") -> date:
    """An ISO date from a request; today's UTC date when empty (the edge owns the clock)."""
    if not text:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise RequestError.invalid(
            field, f"{field} {text!r} is not an ISO date (YYYY-MM-DD)"
        ) from None


def value(item: Any) -> struct_pb2.Value:
    holder = struct_pb2.Struct()
    holder.update({"v": item})
    return holder.fields["v"]


def _set(target: Any, /, **fields: Any) -> Any:
    """Set scalar fields that are not None (None = absent / unset)."""
    for name, item in fields.items():
        if item is not None:
            setattr(target, name, item)
    return target


# ---- common ---------------------------------------------------------------------------


def issue(item: dict[str, Any]) -> _common.Issue:
    return _set(
        _common.Issue(),
        code=item["code"],
        message=item["message"],
        pointer=item.get("pointer") or "",
        file=item.get("file") or "",
        line=item.get("line"),
        column=item.get("column"),
        expected=item.get("expected") or "",
        found=item.get("found") or "",
        fix=item.get("fix") or "",
    )


def identity(item: dict[str, Any]) -> _common.ProtocolIdentity:
    return _common.ProtocolIdentity(ref=item.get("ref", ""), sha256=item.get("sha256", ""))


def observation(item: dict[str, Any]) -> _common.Observation:
    out = _common.Observation(
        what=str(item.get("what", "")),
        unit=str(item.get("unit") or ""),
        date=str(item.get("date") or ""),
        pointer=str(item.get("pointer") or ""),
    )
    out.value.CopyFrom(value(item.get("value")))
    extra = {k: v for k, v in item.items() if k not in _OBSERVATION_KEYS}
    if extra:
        out.extra.update(extra)
    return out


def _outcome(text: str) -> int:
    return _common.RuleOutcome.Value(f"RULE_OUTCOME_{text}")


def _rule_fields(item: dict[str, Any]) -> dict[str, Any]:
    source = item.get("source") or {}
    notes = item.get("notes") or []
    return {
        "id": item["id"],
        "text": item.get("text", ""),
        "outcome": _outcome(item["outcome"]),
        "observed": [observation(o) for o in item.get("observed", [])],
        "missing": [str(m) for m in item.get("missing", [])],
        "notes": [notes] if isinstance(notes, str) else [str(n) for n in notes],
        "source": _common.Source(
            citation=source.get("citation", ""), section=str(source.get("section", ""))
        ),
        "verification": item.get("verification", ""),
    }


# ---- protocols -----------------------------------------------------------------------------


def protocol_summary(s: dict[str, Any]) -> _protocol.ProtocolSummary:
    return _protocol.ProtocolSummary(
        id=s["id"],
        revision=s["revision"],
        ref=s["ref"],
        title=s["title"],
        status=s["status"],
        effective_from=str(s["effective_from"]),
        supersedes=s.get("supersedes") or "",
        sha256=s["sha256"],
        arms=[
            _protocol.Arm(
                id=a["id"],
                name=a["name"],
                max_cycles=a["max_cycles"],
                activity_gbq=a["activity_gbq"],
                interval=a["interval"],
                holidays=a["holidays"],
            )
            for a in s["arms"]
        ],
        inclusion_count=s["inclusion"],
        exclusion_count=s["exclusion"],
        parameter_count=s["parameters"],
        assumed_parameters=s["assumed_parameters"],
    )


def diff(d: dict[str, Any], text: str) -> _protocol.DiffProtocolsResponse:
    changes = [
        _protocol.EntityChange(
            change=_protocol.ChangeKind.Value(f"CHANGE_KIND_{c['change'].upper()}"),
            kind=c["kind"],
            id=c["id"],
            entity=c["entity"],
            fields=[
                _protocol.FieldChange(
                    field=f["field"], old_value=value(f["old"]), new_value=value(f["new"])
                )
                for f in c["fields"]
            ],
        )
        for c in d["changes"]
    ]
    return _protocol.DiffProtocolsResponse(
        from_protocol=_common.ProtocolIdentity(ref=d["from"], sha256=d["from_sha256"]),
        to_protocol=_common.ProtocolIdentity(ref=d["to"], sha256=d["to_sha256"]),
        changes=changes,
        added_count=d["summary"]["added"],
        removed_count=d["summary"]["removed"],
        changed_count=d["summary"]["changed"],
        text=text,
    )


# ---- decisions ------------------------------------------------------------------------------


def _answer_common(a: dict[str, Any]) -> dict[str, Any]:
    return {
        "subject_id": a.get("subject_id") or "",
        "protocol": identity(a.get("protocol", {})),
        "as_of": str(a.get("as_of", "")),
        "engine_version": a.get("engine_version", ""),
        "decision_id": a.get("decision_id", ""),
        "input_sha256": a.get("input_sha256", ""),
    }


def eligibility(a: dict[str, Any]) -> _decision.EligibilityReport:
    criteria = [
        _decision.Criterion(
            kind=_decision.CriterionKind.Value(f"CRITERION_KIND_{c['kind'].upper()}"),
            **_rule_fields(c),
        )
        for c in a["criteria"]
    ]
    return _decision.EligibilityReport(
        outcome=_decision.EligibilityOutcome.Value(f"ELIGIBILITY_OUTCOME_{a['outcome']}"),
        criteria=criteria,
        missing=[str(m) for m in a.get("missing", [])],
        **_answer_common(a),
    )


def decision(a: dict[str, Any]) -> _decision.Decision:
    out = _decision.Decision(
        action=_decision.Action.Value(f"ACTION_{a['action']}"),
        reasons=[_rule(r) for r in a.get("reasons", [])],
        checked=[_rule(r) for r in a.get("checked", [])],
        missing=[str(m) for m in a.get("missing", [])],
        next_surveillance=a.get("next_surveillance") or "",
        phase=a.get("phase") or "",
        arm=a.get("arm") or "",
        confirm_psa_by=a.get("confirm_psa_by") or "",
        recheck_on=a.get("recheck_on") or "",
        needed_by=a.get("needed_by") or "",
        surveillance_due=a.get("surveillance_due") or {},
        **_answer_common(a),
    )
    _set(
        out,
        cycle=a.get("cycle"),
        activity_gbq=a.get("activity_gbq"),
        cycles_given=a.get("cycles_given"),
    )
    if a.get("response"):
        r = a["response"]
        out.response.CopyFrom(
            _set(
                _decision.TreatmentResponse(),
                **{
                    **{k: r.get(k) for k in _RESPONSE_FIELDS},
                    "pcwg3": r.get("pcwg3") or "",
                    "recip": r.get("recip") or "",
                },
            )
        )
    if a.get("due"):
        out.due.CopyFrom(
            _decision.DueWindow(
                **{k: str(a["due"].get(k) or "") for k in ("target", "window_start", "window_end")}
            )
        )
    if a.get("kidney_bed"):
        out.kidney_bed.CopyFrom(_kidney_bed(a["kidney_bed"]))
    return out


_RESPONSE_FIELDS = (
    "psa_baseline",
    "psa_latest",
    "psa_nadir",
    "psa_change_from_baseline_pct",
    "psa_change_from_nadir_pct",
    "psa50",
    "psa90",
    "tumour_volume_change_pct",
)


def _rule(r: dict[str, Any]) -> _decision.Rule:
    return _decision.Rule(category=r.get("category", ""), **_rule_fields(r))


def _kidney_bed(k: dict[str, Any]) -> _decision.KidneyBed:
    cycles = [
        _set(
            _decision.KidneyBedCycle(),
            **{
                f: c.get(f)
                for f in (
                    "cycle",
                    "activity_gbq",
                    "dose_gy",
                    "teff_h",
                    "bed_gy",
                    "dose_estimated",
                    "teff_estimated",
                )
            },
        )
        for c in k.get("cycles", [])
    ]
    return _set(
        _decision.KidneyBed(cycles=cycles),
        **{
            f: k.get(f)
            for f in (
                "cumulative_gy",
                "projected_gy",
                "cap_gy",
                "cycles_remaining",
                "estimated",
                "reduced_activity_fits",
                "next_activity_gbq",
            )
        },
    )


def schedule(s: dict[str, Any]) -> _decision.GetScheduleResponse:
    events = [
        _set(
            _decision.ScheduledEvent(),
            date=str(e["date"]),
            window_start=str(e.get("window_start") or ""),
            window_end=str(e.get("window_end") or ""),
            kind=e.get("kind", ""),
            what=e.get("what", ""),
            cycle=e.get("cycle"),
            overdue=bool(e.get("overdue")),
            days_past_due=e.get("days_past_due"),
            overdue_limit_days=e.get("overdue_limit_days"),
            pending_data=bool(e.get("pending_data")),
            phase=e.get("phase", ""),
        )
        for e in s["events"]
    ]
    return _decision.GetScheduleResponse(
        events=events,
        action=_decision.Action.Value(f"ACTION_{s['action']}"),
        follows_decision=s["follows_decision"],
        ends=s.get("ends") or "",
        phase=s.get("phase") or "",
        subject_id=s.get("subject_id") or "",
        protocol=identity(s.get("protocol", {})),
        as_of=str(s.get("as_of", "")),
        horizon=str(s.get("horizon") or ""),
        engine_version=s.get("engine_version", ""),
        decision_id=s.get("decision_id", ""),
    )


def study_status(s: dict[str, Any]) -> _decision.GetStudyStatusResponse:
    return _set(
        _decision.GetStudyStatusResponse(
            enrolled={str(k): int(v) for k, v in s.get("enrolled", {}).items()},
            protocol=identity(s.get("protocol", {})),
            as_of=str(s.get("as_of", "")),
            interim_text=s.get("interim_text") or "",
            arms_by_subject={str(k): str(v) for k, v in s.get("subjects", {}).items()},
        ),
        duplicates=s.get("duplicates"),
        total=s.get("total"),
        target=s.get("target"),
        interim_due=s.get("interim_due"),
        interim_threshold=s.get("interim_threshold"),
    )


def log_entry(e: Any) -> _decision.LogEntry:
    """A :class:`server.decision_log.LogEntry` as its message, with the typed answer."""

    out = _decision.LogEntry(
        sequence=e.sequence,
        decision_id=e.decision_id,
        kind=_decision.DecisionKind.Value(f"DECISION_KIND_{e.kind.upper()}"),
        recorded_at=e.recorded_at,
        caller=e.caller,
        subject_id=e.subject_id,
        protocol=_common.ProtocolIdentity(ref=e.protocol_ref, sha256=e.protocol_sha256),
        input_json=e.input_json,
        input_sha256=e.input_sha256,
        as_of=e.as_of,
        engine_version=e.engine_version,
        answer_json=e.answer_json,
        prev_hash=e.prev_hash,
        entry_hash=e.entry_hash,
    )
    answer = json.loads(e.answer_json)
    if e.kind == "eligibility":
        out.eligibility.CopyFrom(eligibility(answer))
    else:
        out.decision.CopyFrom(decision(answer))
    return out


def subject_impact(r: dict[str, Any]) -> _protocol.SubjectImpact:
    return _protocol.SubjectImpact(
        subject_id=r["subject_id"],
        as_of=r["as_of"],
        changed=r["changed"],
        changes=[
            _protocol.SubjectChange(
                field=c["field"], old_value=value(c["old"]), new_value=value(c["new"])
            )
            for c in r["changes"]
        ],
        rules=[
            _protocol.RuleFlip(id=f["id"], old_outcome=f["old"] or "", new_outcome=f["new"] or "")
            for f in r["rules"]
        ],
    )


def amendment_summary(s: dict[str, Any]) -> _protocol.AmendmentSummary:
    return _protocol.AmendmentSummary(
        from_protocol=_common.ProtocolIdentity(ref=s["from"], sha256=s["from_sha256"]),
        to_protocol=_common.ProtocolIdentity(ref=s["to"], sha256=s["to_sha256"]),
        subjects=s["subjects"],
        unchanged=s["unchanged"],
        changed=s["changed"],
        by_kind=s["by_kind"],
    )


def check_size(text: str, field: str, limit: int | None) -> None:
    """Refuse ``text`` longer than ``limit`` characters before any parsing (RESOURCE_EXHAUSTED)."""
    if limit is not None and len(text) > limit:
        raise RequestError(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"{field} is {len(text):,} characters; this server accepts at most {limit:,} "
            "(split the request, or raise the server's limit)",
            field,
            "too_large",
        )


def record_from_fhir(text: str, field: str) -> tuple[engine.Record, list[Any]]:
    """A FHIR R4 Bundle (JSON text) converted as `flexmrt import fhir` converts it: the
    record and the conversion's notes. A Bundle that cannot be converted, or converts to
    an invalid record, is INVALID_ARGUMENT with every issue located under ``field``."""
    from server.imports import ConversionError
    from server.imports.fhir import bundle_to_record

    if not text.strip():
        raise RequestError.invalid(field, f"{field} is required: a FHIR Bundle as JSON text")
    try:
        result = bundle_to_record(text, field)
    except ConversionError as error:
        issues = [replace(i, pointer=f"{field}{i.pointer}") for i in error.issues]
        raise engine.RecordError(error.code, error.message, issues) from None
    try:
        return engine.parse_record(result.record, None, field), result.notes
    except engine.RecordError as error:  # converted, but not a valid record
        issues = [replace(i, pointer=f"{field}:record{i.pointer}") for i in error.issues]
        raise engine.RecordError(
            error.code, f"{field}: the converted record: {error.message}", issues
        ) from None


def import_note(note: Any) -> _common.ImportNote:
    return _common.ImportNote(kind=note.kind, where=note.where, message=note.message)


def worklist_item(
    item: dict[str, Any], protocol: dict[str, Any], as_of: str, source: str
) -> _decision.GetWorklistResponse:
    """One worklist row (:func:`engine.worklist`), with the protocol identity it is under."""
    event = _set(
        _decision.ScheduledEvent(),
        date=item["date"],
        window_start=item.get("window_start") or "",
        window_end=item.get("window_end") or "",
        kind=item["kind"],
        what=item["what"],
        cycle=item.get("cycle"),
        overdue=item["overdue"],
        days_past_due=item.get("days_past_due"),
        overdue_limit_days=item.get("overdue_limit_days"),
        pending_data=item["pending_data"],
        phase=item.get("phase") or "",
    )
    return _decision.GetWorklistResponse(
        subject_id=item["subject_id"],
        event=event,
        action=_decision.Action.Value(f"ACTION_{item['action']}"),
        follows_decision=item["follows_decision"],
        missing=[str(m) for m in item["missing"]],
        protocol=identity(protocol),
        as_of=as_of,
        source=source,
    )


def record_from_json(text: str, field: str) -> engine.Record:
    """Parse a record's JSON text; issue pointers of the i-th record name its field."""
    if not text.strip():
        raise RequestError.invalid(field, f"{field} is required: a patient record as JSON text")
    try:
        return engine.read_record_json(text, field)
    except engine.RecordError as error:
        if not any(i.pointer for i in error.issues):  # the text itself: not JSON, too deep …
            raise RequestError.invalid(field, error.message, error.code) from None
        if field == "record_json":
            raise
        issues = [replace(i, pointer=f"{field}{i.pointer}") for i in error.issues]
        raise engine.RecordError(error.code, f"{field}: {error.message}", issues) from None
