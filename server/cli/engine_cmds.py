"""`flexmrt eligibility | decide | schedule | study | check` — the rules engine on records."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import engine
from protocol import ProtocolError, parse_duration

from .common import emit_json, fail, invalid_file, parse_as_of, report_files, resolve_protocol

__all__ = ["read_record", "register"]


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
    p.add_argument("--as-of", metavar="DATE", help="evaluation date (default: today, UTC)")
    p.add_argument("--json", action="store_true", help="JSON output (sorted keys)")


def read_record(path: str) -> engine.Record:
    """Read one record file; RecordError for unreadable or invalid content."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise engine.RecordError("unreadable", f"{path}: cannot read ({exc.strerror})") from exc
    return engine.read_record_text(text, path)


def _run(args: argparse.Namespace, compute: Any, show: Any) -> int:
    as_of = parse_as_of(args.as_of)
    try:
        protocol = resolve_protocol(args.protocol)
        answer = compute(protocol, as_of)
    except (ProtocolError, engine.RecordError) as exc:
        return fail(exc, args.json)
    if args.json:
        emit_json(answer)
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
        print(f"flexmrt schedule: error: --horizon: {exc}", file=sys.stderr)
        return 2
    return _run(
        args, lambda p, d: engine.schedule(p, read_record(args.record), d, horizon), _show_schedule
    )


def _study(args: argparse.Namespace) -> int:
    return _run(
        args,
        lambda p, d: engine.study_status(p, [read_record(r) for r in args.records], d),
        _show_study,
    )


def _check(args: argparse.Namespace) -> int:
    results = []
    for path in args.records:
        try:
            record = read_record(path)
            results.append(
                {"file": path, "valid": True, "subject_id": record.subject_id, "issues": []}
            )
        except engine.RecordError as exc:
            results.append(invalid_file(path, exc))
    return report_files(results, args.json, lambda r: r["subject_id"])


def _evidence(observed: list[dict[str, Any]]) -> str:
    parts = []
    for o in observed:
        value = o.get("reported") or f"{o.get('value')} {o.get('unit', '')}".strip()
        if o.get("unit") == "CTCAE grade":
            value = f"grade {o.get('value')}"
        when = f" ({o['date']})" if o.get("date") else ""
        parts.append(f"{o.get('what')} {value}{when}")
    return "; ".join(parts)


def _show_eligibility(answer: dict[str, Any]) -> None:
    print(
        f"{answer['subject_id']} on {answer['as_of']} under {answer['protocol']['ref']}: "
        f"{answer['outcome']}"
    )
    for c in answer["criteria"]:
        mark = {"MET": "ok ", "NOT_MET": "NO ", "INDETERMINATE": "?? "}[c["outcome"]]
        print(f"  {mark} {c['id']:22} {c['text']}")
        if c["observed"] and c["outcome"] != "MET":
            print(f"        observed: {_evidence(c['observed'])}")
        for m in c["missing"]:
            print(f"        missing: {m}")
    print(f"  decision {answer['decision_id']}")


def _show_decision(answer: dict[str, Any]) -> None:
    head = (
        f"{answer['subject_id']} on {answer['as_of']} under {answer['protocol']['ref']}: "
        f"{answer['action']}"
    )
    if answer["cycle"]:
        head += f" cycle {answer['cycle']}"
    if answer["activity_gbq"]:
        head += f" at {answer['activity_gbq']:g} GBq"
    print(head)
    if answer["due"]:
        d = answer["due"]
        print(f"  due {d['target']} (window {d['window_start']} – {d['window_end']})")
    print("  because:")
    for r in answer["reasons"]:
        print(f"    [{r['category']}] {r['id']}: {r['text']}")
        if r["observed"]:
            print(f"        observed: {_evidence(r['observed'])}")
        for note in r["notes"]:
            print(f"        note: {note}")
        for m in r["missing"]:
            print(f"        missing: {m}")
        src = r["source"]
        if src:
            print(
                f"        source: {src.get('citation')}, {src.get('section')} ({r['verification']})"
            )
    kb = answer["kidney_bed"]
    if kb:
        print(
            f"  kidney BED: {kb['cumulative_gy']:.2f} Gy so far, {kb['projected_gy']:.2f} Gy "
            f"after the next cycle (cap {kb['cap_gy']:g} Gy, {kb['cycles_remaining']} more "
            f"cycle(s) fit{', estimated' if kb['estimated'] else ''})"
        )
    if answer["next_surveillance"]:
        print(f"  next surveillance PSMA PET/CT by {answer['next_surveillance']}")
    if answer["confirm_psa_by"]:
        print(f"  confirmatory PSA due by {answer['confirm_psa_by']}")
    print(
        f"  {len(answer['checked'])} rule(s) checked and passed; decision {answer['decision_id']}"
    )


def _show_schedule(answer: dict[str, Any]) -> None:
    print(
        f"{answer['subject_id']} from {answer['as_of']} over {answer['horizon']} "
        f"({answer['phase'] or 'not randomised'}):"
    )
    for e in answer["events"]:
        window = f"  [{e['window_start']} – {e['window_end']}]" if "window_start" in e else ""
        print(f"  {e['date']}  {e['what']}{window}")
    if not answer["events"]:
        print("  nothing scheduled")


def _show_study(answer: dict[str, Any]) -> None:
    print(
        f"{answer['protocol']['ref']} on {answer['as_of']}: {answer['total']} randomised"
        + (f" of {answer['target']}" if answer["target"] else "")
    )
    for arm, n in answer["enrolled"].items():
        print(f"  {arm}: {n}")
    if answer["interim_threshold"] is not None:
        state = "DUE" if answer["interim_due"] else "not yet due"
        print(f"  interim safety analysis at {answer['interim_threshold']}: {state}")
