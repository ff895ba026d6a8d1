"""`flexmrt worklist` — who is due or overdue, across every patient.

A thin edge over :func:`engine.schedule` (one per record) and :func:`engine.worklist`:
records are read and scheduled one at a time (a progress bar on a terminal), then listed
overdue first and by due date; ``--csv`` and ``--ics`` write the same rows as a
spreadsheet and as a calendar.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from flexmrt import engine
from flexmrt.protocol import ProtocolError, parse_duration
from flexmrt.server.worklist_export import to_csv, to_ics

from .common import (
    UsageError,
    duration_text,
    emit_json,
    fail,
    flags_text,
    invalid_file,
    parse_as_of,
    progress,
    resolve_protocol,
    words,
)
from .engine_cmds import measure_words, read_record

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "worklist", help="every patient's due and overdue events (overdue first, by due date)"
    )
    p.add_argument("records", nargs="+", metavar="RECORD", help="patient records (YAML or JSON)")
    p.add_argument(
        "--protocol",
        required=True,
        metavar="REF",
        help="id, id@revision or a YAML path (e.g. a draft amendment)",
    )
    p.add_argument(
        "--as-of", metavar="DATE", help="worklist date (default: today at the protocol's site)"
    )
    p.add_argument(
        "--horizon", default="P4W", metavar="DURATION", help="how far ahead, ISO 8601 (P4W)"
    )
    p.add_argument("--csv", metavar="FILE", help="also write the rows as CSV (spreadsheets)")
    p.add_argument("--ics", metavar="FILE", help="also write the events as iCalendar (.ics)")
    p.add_argument("--json", action="store_true", help="JSON output (sorted keys)")
    p.set_defaults(func=_worklist)


def _worklist(args: argparse.Namespace) -> int:
    as_of = parse_as_of(args.as_of, args.protocol)
    try:
        horizon = parse_duration(args.horizon)
    except ValueError as exc:
        raise UsageError(f"flexmrt worklist: --horizon: {exc}") from None
    try:
        protocol = resolve_protocol(args.protocol, as_of)
    except ProtocolError as exc:
        return fail(exc, args.json)
    schedules, problems = [], []
    for path in progress(args.records, "scheduling"):
        try:
            schedules.append(engine.schedule(protocol, read_record(path), as_of, horizon))
        except engine.RecordError as exc:
            problems.append(invalid_file(path, exc))
    answer = engine.worklist(schedules, as_of, str(horizon))
    if args.json:
        emit_json({**answer.to_json(), "invalid_records": problems})
    else:
        _show(answer)
        sys.stdout.flush()
        for problem in problems:
            print(f"error: {problem['file']}: not scheduled", file=sys.stderr)
            for issue in problem["issues"]:
                print(f"  {issue['text']}", file=sys.stderr)
    _write(args, answer)
    return 1 if problems else 0


def _write(args: argparse.Namespace, answer: engine.Worklist) -> None:
    if args.csv:
        Path(args.csv).write_text(to_csv(answer), encoding="utf-8", newline="")
    if args.ics:
        Path(args.ics).write_bytes(to_ics(answer))
    sys.stdout.flush()  # the listing first, then what was written
    for flag, path in (("CSV", args.csv), ("iCalendar", args.ics)):
        if path:
            print(f"wrote {path} ({flag}, {len(answer.items)} event(s))", file=sys.stderr)


def _show(answer: engine.Worklist) -> None:
    print(
        f"Worklist on {answer.as_of} under {', '.join(answer.protocols) or '—'}, "
        f"{duration_text(answer.horizon)} ahead: {len(answer.items)} event(s), "
        f"{answer.overdue} overdue, {len(answer.patients)} patient(s)"
    )
    for item in answer.items:
        e = item.event
        mark = "OVERDUE" if e.overdue else "due    "
        window = f"  [{e.window_start} – {e.window_end}]" if e.window_start and e.window_end else ""
        print(
            f"  {mark} {e.date}  {item.subject_id:9} {words(e.what)}"
            f"{window}{_flags(e).replace('  OVERDUE ', '  ', 1)}"
        )
    idle = [p for p in answer.patients if not p.events]
    if idle:
        print("Nothing scheduled within the horizon:")
        for p in idle:
            state = f"after {p.action}" if p.phase else "not randomised"
            missing = "; ".join(measure_words(m) for m in p.missing)
            print(f"  {p.subject_id} ({state})" + (f": missing {missing}" if missing else ""))
    for subject in answer.duplicates:
        print(f"warning: more than one record for {subject}", file=sys.stderr)


def _flags(event: engine.ScheduledEvent) -> str:
    days = event.overdue.days_past_due if event.overdue else None
    limit = event.overdue.limit_days if event.overdue else None
    return flags_text(days, limit, event.pending_data)
