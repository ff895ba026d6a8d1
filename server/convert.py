"""Domain answers → protobuf messages, and protobuf → domain arguments (requests).

The engine answers with typed values (``engine.answers``); this module copies their
attributes into the flexmrt.v1 messages. ``None`` leaves a field unset; an observation's
optional fields, which the messages do not name, go into ``Observation.extra``. The
protocol package's summaries and diffs are still plain JSON-able dicts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

import grpc
from google.protobuf import struct_pb2
from google.protobuf.message import Message

from flexmrt import engine
from flexmrt.engine.answers import (
    AmendmentSummary,
    Decision,
    Eligibility,
    Envelope,
    KidneyBedView,
    Observation,
    OrganAtRiskView,
    ProtocolRef,
    RuleEntry,
    Schedule,
    ScheduledEvent,
    StudyStatus,
    SubjectImpact,
    TreatmentResponse,
)
from flexmrt.protocol import Issue, Protocol
from flexmrt.server._gen.flexmrt.v1 import common_pb2 as _common
from flexmrt.server._gen.flexmrt.v1 import decision_pb2 as _decision
from flexmrt.server._gen.flexmrt.v1 import protocol_pb2 as _protocol
from flexmrt.server.status import RequestError

if TYPE_CHECKING:
    from flexmrt.server.decision_log import LogEntry
    from flexmrt.server.imports import ImportNote

__all__ = [
    "as_of_date",
    "dated_protocol",
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
    "utc_now",
    "worklist_item",
]

_OBSERVATION_KEYS = {"what", "value", "unit", "date", "pointer"}


def as_of_date(text: str, field: str = "as_of") -> date:
    """An ISO date from a request (an empty one is defaulted by :func:`dated_protocol`: today
    at the protocol's site)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise RequestError.invalid(
            field, f"{field} {text!r} is not an ISO date (YYYY-MM-DD)"
        ) from None


def utc_now() -> datetime:
    """The clock: the gRPC edge owns it (the engine is given ``as_of``)."""
    return datetime.now(UTC)


def dated_protocol(
    text: str, resolve: Callable[[date], Protocol], now: datetime, field: str = "as_of"
) -> tuple[Protocol, date]:
    """The evaluation date of a request and the protocol revision in force on it
    (``resolve(day)``). An empty ``as_of`` is today at the protocol's site — its
    ``site_time_zone``, asked of the revision in force on the UTC day — as the CLI's
    ``--as-of`` default is: a call at 18:00 in Los Angeles is for that day, not the next."""
    if text:
        as_of = as_of_date(text, field)
        return resolve(as_of), as_of
    as_of = resolve(now.astimezone(UTC).date()).today(now)
    return resolve(as_of), as_of


def value(item: Any) -> struct_pb2.Value:
    holder = struct_pb2.Struct()
    holder.update({"v": item})
    return holder.fields["v"]


_M = TypeVar("_M", bound=Message)


def _set(target: _M, /, **fields: object) -> _M:
    """Set scalar fields that are not None (None = absent / unset)."""
    for name, item in fields.items():
        if item is not None:
            setattr(target, name, item)
    return target


# ---- common ---------------------------------------------------------------------------


def issue(item: Issue) -> _common.Issue:
    return _set(
        _common.Issue(
            code=item.code,
            message=item.message,
            pointer=item.pointer,
            file=item.file,
            expected=item.expected,
            found=item.found,
            fix=item.fix,
        ),
        line=item.line,
        column=item.column,
    )


def identity(ref: ProtocolRef) -> _common.ProtocolIdentity:
    return _common.ProtocolIdentity(ref=ref.ref, sha256=ref.sha256)


def observation(o: Observation) -> _common.Observation:
    """An observation; its optional fields (threshold, CTCAE grade, note …) go into
    ``extra`` under their JSON names."""
    out = _common.Observation(what=o.what, unit=o.unit, date=o.date or "", pointer=o.pointer or "")
    out.value.CopyFrom(value(o.value))
    extra = {k: v for k, v in o.to_json().items() if k not in _OBSERVATION_KEYS}
    if extra:
        out.extra.update(extra)
    return out


class _RuleFields(TypedDict):
    """The fields a Criterion and a Rule message share."""

    id: str
    text: str
    outcome: str
    observed: list[_common.Observation]
    missing: list[str]
    notes: list[str]
    source: _common.Source
    verification: str


def _rule_fields(r: RuleEntry) -> _RuleFields:
    source = r.source
    return {
        "id": r.id,
        "text": r.text,
        "outcome": f"RULE_OUTCOME_{r.outcome}",
        "observed": [observation(o) for o in r.observed],
        "missing": list(r.missing),
        "notes": list(r.notes),
        "source": _common.Source(
            citation=source.citation if source else "", section=source.section if source else ""
        ),
        "verification": r.verification,
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
            change=f"CHANGE_KIND_{c['change'].upper()}",
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


class _EnvelopeFields(TypedDict):
    """The envelope fields an EligibilityReport and a Decision message share."""

    subject_id: str
    protocol: _common.ProtocolIdentity
    as_of: str
    engine_version: str
    decision_id: str
    input_sha256: str


def _envelope(e: Envelope) -> _EnvelopeFields:
    return {
        "subject_id": e.subject_id,
        "protocol": identity(e.protocol),
        "as_of": e.as_of.isoformat(),
        "engine_version": e.engine_version,
        "decision_id": e.decision_id,
        "input_sha256": e.input_sha256,
    }


def eligibility(a: Eligibility) -> _decision.EligibilityReport:
    criteria = [
        _decision.Criterion(
            kind=f"CRITERION_KIND_{c.kind.upper()}",
            **_rule_fields(c),
        )
        for c in a.criteria
    ]
    return _decision.EligibilityReport(
        outcome=f"ELIGIBILITY_OUTCOME_{a.outcome}",
        criteria=criteria,
        missing=list(a.missing),
        **_envelope(a.envelope),
    )


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def decision(a: Decision) -> _decision.Decision:
    out = _decision.Decision(
        action=f"ACTION_{a.action}",
        reasons=[_rule(r) for r in a.reasons],
        checked=[_rule(r) for r in a.checked],
        missing=list(a.missing),
        next_surveillance=_iso(a.next_surveillance),
        phase=a.phase or "",
        arm=a.arm or "",
        confirm_psa_by=_iso(a.confirm_psa_by),
        recheck_on=_iso(a.recheck_on),
        needed_by=_iso(a.needed_by),
        surveillance_due={k: v.isoformat() for k, v in (a.surveillance_due or {}).items()},
        **_envelope(a.envelope),
    )
    _set(out, cycle=a.cycle, activity_gbq=a.activity_gbq, cycles_given=a.cycles_given)
    if a.response is not None:
        out.response.CopyFrom(_response(a.response))
    if a.due is not None:
        out.due.CopyFrom(
            _decision.DueWindow(
                target=a.due.target.isoformat(),
                window_start=a.due.window_start.isoformat(),
                window_end=a.due.window_end.isoformat(),
            )
        )
    if a.kidney_bed is not None:
        out.kidney_bed.CopyFrom(_kidney_bed(a.kidney_bed))
    out.organs_at_risk.extend(_organ(o) for o in a.organs_at_risk or ())
    return out


def _response(r: TreatmentResponse) -> _decision.TreatmentResponse:
    return _set(
        _decision.TreatmentResponse(pcwg3=r.pcwg3, recip=r.recip),
        psa_baseline=r.psa_baseline,
        psa_latest=r.psa_latest,
        psa_nadir=r.psa_nadir,
        psa_change_from_baseline_pct=r.psa_change_from_baseline_pct,
        psa_change_from_nadir_pct=r.psa_change_from_nadir_pct,
        psa50=r.psa50,
        psa90=r.psa90,
        tumour_volume_change_pct=r.tumour_volume_change_pct,
    )


def _rule(r: RuleEntry) -> _decision.Rule:
    return _decision.Rule(category=r.category or "", **_rule_fields(r))


def _organ(o: OrganAtRiskView) -> _decision.OrganAtRisk:
    """One organ at risk of the decision (``organs_at_risk``)."""
    cycles = [
        _set(
            _decision.OrganCycle(
                cycle=c.cycle,
                activity_gbq=c.activity_gbq,
                dose_gy=c.dose_gy,
                teff_h=c.teff_h,
                bed_gy=c.bed_gy,
                dose_estimated=c.dose_estimated,
                teff_estimated=c.teff_estimated,
            ),
            dose_u_gy=c.dose_u_gy,
            bed_u_gy=c.bed_u_gy,
        )
        for c in o.cycles
    ]
    limit = o.limit
    return _set(
        _decision.OrganAtRisk(
            organ=o.organ,
            cycles=cycles,
            cumulative_dose_gy=o.cumulative_dose_gy,
            cumulative_bed_gy=o.cumulative_bed_gy,
            gy_per_gbq=o.gy_per_gbq,
            gy_per_gbq_from=o.gy_per_gbq_from,
            estimated=o.estimated,
        ),
        cumulative_dose_u_gy=o.cumulative_dose_u_gy,
        cumulative_bed_u_gy=o.cumulative_bed_u_gy,
        projected_gy=o.projected_gy,
        projected_u_gy=o.projected_u_gy,
        margin_gy=o.margin_gy,
        limit_quantity=None if limit is None else limit.quantity,
        limit_gy=None if limit is None else limit.value_gy,
        limit_action=None if limit is None else limit.action,
    )


def _kidney_interval(k: KidneyBedView) -> dict[str, Any]:
    low, high = k.projected_interval_gy or (None, None)
    fewest, most = k.cycles_remaining_range or (None, None)
    return {
        "cumulative_u_gy": k.cumulative_u_gy,
        "projected_u_gy": k.projected_u_gy,
        "projected_low_gy": low,
        "projected_high_gy": high,
        "cycles_remaining_low": fewest,
        "cycles_remaining_high": most,
    }


def _kidney_bed(k: KidneyBedView) -> _decision.KidneyBed:
    cycles = [
        _decision.KidneyBedCycle(
            cycle=c.cycle,
            activity_gbq=c.activity_gbq,
            dose_gy=c.dose_gy,
            teff_h=c.teff_h,
            bed_gy=c.bed_gy,
            dose_estimated=c.dose_estimated,
            teff_estimated=c.teff_estimated,
        )
        for c in k.cycles
    ]
    return _set(
        _decision.KidneyBed(
            cycles=cycles, cumulative_gy=k.cumulative_gy, cap_gy=k.cap_gy, estimated=k.estimated
        ),
        projected_gy=k.projected_gy,
        cycles_remaining=k.cycles_remaining,
        reduced_activity_fits=k.reduced_activity_fits,
        next_activity_gbq=k.next_activity_gbq,
        **_kidney_interval(k),
    )


def _event(e: ScheduledEvent) -> _decision.ScheduledEvent:
    overdue = e.overdue
    return _set(
        _decision.ScheduledEvent(
            date=e.date.isoformat(),
            window_start=_iso(e.window_start),
            window_end=_iso(e.window_end),
            kind=e.kind,
            what=e.what,
            overdue=overdue is not None,
            pending_data=e.pending_data,
            phase=e.phase or "",
        ),
        cycle=e.cycle,
        days_past_due=None if overdue is None else overdue.days_past_due,
        overdue_limit_days=None if overdue is None else overdue.limit_days,
    )


def schedule(s: Schedule) -> _decision.GetScheduleResponse:
    env = s.envelope
    return _decision.GetScheduleResponse(
        events=[_event(e) for e in s.events],
        action=f"ACTION_{s.action}",
        follows_decision=s.follows_decision,
        ends=_iso(s.ends),
        phase=s.phase or "",
        subject_id=env.subject_id,
        protocol=identity(env.protocol),
        as_of=env.as_of.isoformat(),
        horizon=s.horizon,
        engine_version=env.engine_version,
        decision_id=env.decision_id,
    )


def study_status(s: StudyStatus) -> _decision.GetStudyStatusResponse:
    return _set(
        _decision.GetStudyStatusResponse(
            enrolled=dict(s.enrolled),
            protocol=identity(s.protocol),
            as_of=s.as_of.isoformat(),
            interim_text=s.interim_text or "",
            arms_by_subject=dict(s.subjects),
            duplicates=s.duplicates,
            total=s.total,
            interim_due=s.interim_due,
        ),
        target=s.target,
        interim_threshold=s.interim_threshold,
    )


def log_entry(e: LogEntry) -> _decision.LogEntry:
    """A :class:`server.decision_log.LogEntry` as its message, with the typed answer."""

    out = _decision.LogEntry(
        sequence=e.sequence,
        decision_id=e.decision_id,
        kind=f"DECISION_KIND_{e.kind.upper()}",
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
    answer = json.loads(e.answer_json)  # the logged answer, read back into its type
    if e.kind == "eligibility":
        out.eligibility.CopyFrom(eligibility(Eligibility.from_json(answer)))
    else:
        out.decision.CopyFrom(decision(Decision.from_json(answer)))
    return out


def subject_impact(r: SubjectImpact) -> _protocol.SubjectImpact:
    return _protocol.SubjectImpact(
        subject_id=r.subject_id,
        as_of=r.as_of.isoformat(),
        changed=r.changed,
        changes=[
            _protocol.SubjectChange(field=c.field, old_value=value(c.old), new_value=value(c.new))
            for c in r.changes
        ],
        rules=[
            _protocol.RuleFlip(id=f.id, old_outcome=f.old or "", new_outcome=f.new or "")
            for f in r.rules
        ],
    )


def amendment_summary(s: AmendmentSummary) -> _protocol.AmendmentSummary:
    return _protocol.AmendmentSummary(
        from_protocol=identity(s.old),
        to_protocol=identity(s.new),
        subjects=s.subjects,
        unchanged=s.unchanged,
        changed=s.changed,
        by_kind=dict(s.by_kind),
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


def record_from_fhir(
    text: str, field: str, zone: str = "UTC"
) -> tuple[engine.Record, list[ImportNote]]:
    """A FHIR R4 Bundle (JSON text) converted as `flexmrt import fhir` converts it: the
    record (its days counted in ``zone``) and the conversion's notes. A Bundle that cannot
    be converted, or converts to an invalid record, is INVALID_ARGUMENT with every issue
    located under ``field``."""
    from flexmrt.server.imports import ConversionError
    from flexmrt.server.imports.fhir import bundle_to_record

    if not text.strip():
        raise RequestError.invalid(field, f"{field} is required: a FHIR Bundle as JSON text")
    try:
        result = bundle_to_record(text, field)
    except ConversionError as error:
        issues = [replace(i, pointer=f"{field}{i.pointer}") for i in error.issues]
        raise engine.RecordError(error.code, error.message, issues) from None
    try:
        return engine.parse_record(result.record, None, field, zone), result.notes
    except engine.RecordError as error:  # converted, but not a valid record
        issues = [replace(i, pointer=f"{field}:record{i.pointer}") for i in error.issues]
        raise engine.RecordError(
            error.code, f"{field}: the converted record: {error.message}", issues
        ) from None


def import_note(note: ImportNote) -> _common.ImportNote:
    return _common.ImportNote(kind=note.kind, where=note.where, message=note.message)


def worklist_item(
    item: engine.WorklistItem, protocol: Protocol, as_of: date, source: str
) -> _decision.GetWorklistResponse:
    """One worklist row (:func:`engine.worklist`), with the protocol identity it is under."""
    e = item.event
    window = e.window_start is not None and e.window_end is not None
    event = _set(
        _decision.ScheduledEvent(),
        date=e.date.isoformat(),
        window_start=e.window_start.isoformat() if window and e.window_start else "",
        window_end=e.window_end.isoformat() if window and e.window_end else "",
        kind=e.kind,
        what=e.what,
        cycle=e.cycle,
        overdue=e.overdue is not None,
        days_past_due=None if e.overdue is None else e.overdue.days_past_due,
        overdue_limit_days=None if e.overdue is None else e.overdue.limit_days,
        pending_data=e.pending_data,
        phase=e.phase or "",
    )
    return _decision.GetWorklistResponse(
        subject_id=item.subject_id,
        event=event,
        action=f"ACTION_{item.action}",
        follows_decision=item.follows_decision,
        missing=list(item.missing),
        protocol=_common.ProtocolIdentity(ref=protocol.ref, sha256=protocol.sha256),
        as_of=as_of.isoformat(),
        source=source,
    )


def record_from_json(text: str, field: str, zone: str = "UTC") -> engine.Record:
    """Parse a record's JSON text, its days counted in ``zone`` (the protocol's site zone,
    so the engine does not build it again; its issues are the same in every zone); issue
    pointers of the i-th record name its field."""
    if not text.strip():
        raise RequestError.invalid(field, f"{field} is required: a patient record as JSON text")
    try:
        return engine.read_record_json(text, field, zone)
    except engine.RecordError as error:
        if not any(i.pointer for i in error.issues):  # the text itself: not JSON, too deep …
            raise RequestError.invalid(field, error.message, error.code) from None
        if field == "record_json":
            raise
        issues = [replace(i, pointer=f"{field}{i.pointer}") for i in error.issues]
        raise engine.RecordError(error.code, f"{field}: {error.message}", issues) from None
