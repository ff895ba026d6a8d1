"""`flexmrt eligibility | decide | schedule | study | check` — the rules engine on records."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from flexmrt import engine
from flexmrt.engine.answers import Envelope, KidneyBedView, OrganAtRiskView
from flexmrt.protocol import Protocol, ProtocolError, parse_duration
from flexmrt.protocol.vocabulary import MEASURES

from .common import (
    UsageError,
    duration_text,
    emit_json,
    fail,
    invalid_file,
    overdue_text,
    parse_as_of,
    progress,
    report_files,
    resolve_protocol,
    unit_text,
    units_in,
    words,
)

__all__ = ["evidence", "measure_words", "read_record", "register"]


def register(sub: Any) -> None:
    for name, helptext, func in (
        ("eligibility", "is this patient eligible (per criterion, with evidence)", _eligibility),
        ("decide", "what happens next for this patient, and why", _decide),
        ("schedule", "the dated events the protocol asks for", _schedule),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("record", metavar="RECORD", help="patient record (YAML or JSON)")
        _common(p)
        if name == "schedule":
            p.add_argument(
                "--horizon",
                default="P24W",
                metavar="DURATION",
                help="how far ahead, ISO 8601 (default P24W)",
            )
        p.set_defaults(func=func)
    p = sub.add_parser("study", help="enrolment per arm and whether the interim analysis is due")
    p.add_argument("records", nargs="+", metavar="RECORD")
    _common(p)
    p.set_defaults(func=_study)
    p = sub.add_parser("check", help="validate patient records (every error with its path)")
    p.add_argument("records", nargs="+", metavar="RECORD")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_check)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--protocol",
        required=True,
        metavar="REF",
        help="id, id@revision or a YAML path (e.g. a draft amendment)",
    )
    p.add_argument(
        "--as-of", metavar="DATE", help="evaluation date (default: today at the protocol's site)"
    )
    p.add_argument("--json", action="store_true", help="JSON output (sorted keys)")


def read_record(path: str) -> engine.Record:
    """Read one record file; RecordError for unreadable or invalid content."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise engine.RecordError("unreadable", f"{path}: cannot read ({exc.strerror})") from exc
    return engine.read_record_text(text, path)


_Answer = TypeVar(
    "_Answer", engine.Eligibility, engine.Decision, engine.Schedule, engine.StudyStatus
)


def _run(
    args: argparse.Namespace,
    compute: Callable[[Protocol, date], _Answer],
    show: Callable[[_Answer], None],
) -> int:
    as_of = parse_as_of(args.as_of, args.protocol)
    try:
        protocol = resolve_protocol(args.protocol, as_of)  # refused when not yet in force
        answer = compute(protocol, as_of)
    except (ProtocolError, engine.RecordError) as exc:
        return fail(exc, args.json)
    if args.json:
        emit_json(answer.to_json())
    else:
        show(answer)
    return 0


def _eligibility(args: argparse.Namespace) -> int:
    return _run(
        args, lambda p, d: engine.eligibility(p, read_record(args.record), d), _show_eligibility
    )


def _decide(args: argparse.Namespace) -> int:
    return _run(args, lambda p, d: engine.decide(p, read_record(args.record), d), _show_decision)


def _schedule(args: argparse.Namespace) -> int:
    try:
        horizon = parse_duration(args.horizon)
    except ValueError as exc:
        raise UsageError(f"flexmrt schedule: --horizon: {exc}") from None
    return _run(
        args, lambda p, d: engine.schedule(p, read_record(args.record), d, horizon), _show_schedule
    )


def _study(args: argparse.Namespace) -> int:
    return _run(
        args,
        lambda p, d: engine.study_status(  # one record in memory at a time
            p, (read_record(r) for r in progress(args.records, "reading records")), d
        ),
        _show_study,
    )


def _check(args: argparse.Namespace) -> int:
    results = []
    for path in progress(args.records, "checking records"):
        try:
            record = read_record(path)
            results.append(
                {"file": path, "valid": True, "subject_id": record.subject_id, "issues": []}
            )
        except engine.RecordError as exc:
            results.append(invalid_file(path, exc))
    return report_files(results, args.json, lambda r: r["subject_id"])


# The engine's measure names (protocol.vocabulary) as a person says them.
_MEASURES = {**{m.name: m.label for m in MEASURES.values()}, "cap": "cap"}
_MEASURE_WORDS = re.compile(r"\b(" + "|".join(sorted(_MEASURES, key=len, reverse=True)) + r")\b")


def measure_words(text: str) -> str:
    """Free text (a note, a missing item) with engine measure names said in words."""
    return words(_MEASURE_WORDS.sub(lambda m: _MEASURES[m.group(0)], text))


_COMPARATORS = {"<=": "≤", ">=": "≥", "==": "=", "!=": "≠"}


def _what(name: object) -> str:
    text = str(name)
    if text in _MEASURES:
        return _MEASURES[text]
    if "." in text and " " not in text:  # a record field: history.liver_metastases
        text = text.rsplit(".", 1)[-1] if text.count(".") else text
    return words(text)


def _number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return words(value)


def _compared(text: str) -> str:
    op, _, limit = text.partition(" ")
    if re.fullmatch(r"-?\d+(\.\d+)?", limit):
        limit = f"{float(limit):g}"
    return f"{_COMPARATORS.get(op, op)} {limit}"


def evidence(o: engine.Observation) -> str:
    """One observed value as a person reads it: name, value with unit, date, comparison."""
    unit = o.unit
    if o.reported:
        value = units_in(o.reported)
    elif unit == "CTCAE grade":
        value = f"grade {o.value}"
    elif unit == "count":
        value = f"{o.value}" + (" recorded" if o.matches is not None else "")
    elif unit in ("", "score"):
        value = _number(o.value)
    else:
        value = f"{_number(o.value)} {unit_text(unit)}"
    text = f"{_what(o.what)} {value}"
    if o.ctcae_grade is not None:
        text += f" (CTCAE grade {o.ctcae_grade})"
    if o.compared:
        text += f" (needs {_compared(o.compared)})"
    if o.date:
        text += f" ({o.date})"
    if o.estimated:
        text += " (estimated)"
    if o.note:
        text += f": {measure_words(o.note)}"
    return text


def _evidence(observed: tuple[engine.Observation, ...]) -> str:
    return "; ".join(evidence(o) for o in observed)


def _needed_by(answer: engine.Decision) -> str:
    """By when the missing data are needed: the due date of what waits for them."""
    due = answer.due
    if due and answer.cycle:
        return (
            f"needed before cycle {answer.cycle}: due {due.target}, window closes {due.window_end}"
        )
    if answer.next_surveillance:
        return f"needed by {answer.next_surveillance} (next surveillance)"
    return ""


def _head(envelope: Envelope) -> str:
    return f"{envelope.subject_id} on {envelope.as_of} under {envelope.protocol.ref}"


def _show_eligibility(answer: engine.Eligibility) -> None:
    print(f"{_head(answer.envelope)}: {words(answer.outcome)}")
    for c in answer.criteria:
        mark = {"MET": "ok ", "NOT_MET": "NO ", "INDETERMINATE": "?? "}[c.outcome]
        print(f"  {mark} {c.id:22} {units_in(c.text)}")
        if c.observed and c.outcome != "MET":
            print(f"        observed: {_evidence(c.observed)}")
        for m in c.missing:
            print(f"        missing: {measure_words(m)}")
    print(f"  decision {answer.envelope.decision_id}")


def _show_decision(answer: engine.Decision) -> None:
    head = f"{_head(answer.envelope)}: {answer.action}"
    if answer.cycle:
        head += f" cycle {answer.cycle}"
    if answer.activity_gbq:
        head += f" at {answer.activity_gbq:g} GBq"
    print(head)
    if answer.due:
        d = answer.due
        print(f"  due {d.target} (window {d.window_start} – {d.window_end})")
    needed_by = _needed_by(answer)
    print("  because:")
    for r in answer.reasons:
        print(f"    [{words(r.category)}] {r.id}: {units_in(r.text)}")
        if r.observed:
            print(f"        observed: {_evidence(r.observed)}")
        for note in r.notes:
            print(f"        note: {units_in(measure_words(note))}")
        for m in r.missing:
            print(f"        missing: {measure_words(m)}")
        if r.missing and needed_by:
            print(f"        {needed_by}")
        if r.source:
            print(f"        source: {r.source.citation}, {r.source.section} ({r.verification})")
    _show_kidney_bed(answer.kidney_bed)
    _show_organs(answer.organs_at_risk)
    if answer.next_surveillance:
        print(f"  next surveillance PSMA PET/CT by {answer.next_surveillance}")
    if answer.confirm_psa_by:
        print(f"  confirmatory PSA due by {answer.confirm_psa_by}")
    if answer.recheck_on:
        print(f"  re-check on {answer.recheck_on}")
    print(
        f"  {len(answer.checked)} rule(s) checked and passed; "
        f"decision {answer.envelope.decision_id}"
    )


def _show_organs(organs: tuple[OrganAtRiskView, ...] | None) -> None:
    """Each organ at risk: cumulative dose and BED (± u), after the next cycle, its limit."""
    if not organs:
        return
    print("  organs at risk (cumulative so far → after the next cycle; ± standard uncertainty):")
    for o in organs:
        bed = o.quantity == "bed"
        now = o.cumulative_bed_gy if bed else o.cumulative_dose_gy
        u_now = o.cumulative_bed_u_gy if bed else o.cumulative_dose_u_gy
        text = f"    {o.name:<16} {'BED' if bed else 'dose'} {now:.2f}{_pm(u_now)} Gy"
        if o.projected_gy is not None:
            text += f" → {o.projected_gy:.2f}{_pm(o.projected_u_gy)} Gy"
        if o.limit is not None:
            verb = "cap" if o.limit.action == "curtail" else "reported against"
            text += f", {verb} {o.limit.value_gy:g} Gy"
            if o.margin_gy is not None:
                text += f", margin {o.margin_gy:.2f} Gy"
        else:
            text += ", report only"
        estimated = [str(c.cycle) for c in o.cycles if c.dose_estimated]
        if estimated:
            text += f", cycle(s) {', '.join(estimated)} estimated from {o.gy_per_gbq:.3g} Gy/GBq"
        print(text)


def _pm(u: float | None) -> str:
    return "" if u is None else f" ± {u:.2f}"


def _show_kidney_bed(kb: KidneyBedView | None) -> None:
    if kb is None:
        return
    estimated = ", estimated" if kb.estimated else ""
    if kb.projected_gy is None:  # no next cycle: nothing to project
        print(f"  kidney BED: {kb.cumulative_gy:.2f} Gy so far (cap {kb.cap_gy:g} Gy{estimated})")
        return
    print(
        f"  kidney BED: {kb.cumulative_gy:.2f} Gy so far, {kb.projected_gy:.2f} Gy "
        f"after the next cycle (cap {kb.cap_gy:g} Gy, {kb.cycles_remaining} more "
        f"cycle(s) at {kb.next_activity_gbq:g} GBq fit{estimated})"
    )
    if kb.projected_interval_gy is not None and kb.cycles_remaining_range is not None:
        low, high = kb.projected_interval_gy
        fewest, most = kb.cycles_remaining_range
        print(
            f"  kidney BED after the next cycle ± 2u: {low:.2f}–{high:.2f} Gy "
            f"(u {kb.projected_u_gy:.2f} Gy); {fewest}–{most} more cycle(s) fit across it"
        )


def _show_schedule(answer: engine.Schedule) -> None:
    after = f"after {answer.action}" if answer.phase else "not randomised"
    print(
        f"{answer.envelope.subject_id} from {answer.envelope.as_of} over "
        f"{duration_text(answer.horizon)}, {after}:"
    )
    for e in answer.events:
        window = f"  [{e.window_start} – {e.window_end}]" if e.window_start else ""
        print(f"  {e.date}  {words(e.what)}{window}{overdue_text(e)}")
    if not answer.events:
        print("  nothing scheduled")


def _show_study(answer: engine.StudyStatus) -> None:
    print(
        f"{answer.protocol.ref} on {answer.as_of}: {answer.total} randomised"
        + (f" of {answer.target}" if answer.target else "")
    )
    for arm, n in answer.enrolled.items():
        print(f"  {words(arm)}: {n}")
    if answer.interim_threshold is not None:
        state = "DUE" if answer.interim_due else "not yet due"
        print(f"  interim safety analysis at {answer.interim_threshold}: {state}")
