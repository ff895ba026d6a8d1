"""`flexmrt replay` — whom an amendment affects, before it is adopted."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import date
from typing import Any

from flexmrt import engine
from flexmrt.engine.amendment import assess_amendment, summarise
from flexmrt.protocol import ProtocolError

from .common import (
    UsageError,
    emit_json,
    fail,
    parse_as_of,
    progress_iter,
    resolve_protocol,
    words,
)
from .engine_cmds import read_record

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("replay", help="evaluate patients under two revisions and list what flips")
    p.add_argument("--from", dest="old", required=True, metavar="REF", help="current revision")
    p.add_argument(
        "--to",
        dest="new",
        required=True,
        metavar="REF_OR_PATH",
        help="the amendment (id@revision or a draft YAML file)",
    )
    p.add_argument("records", nargs="*", metavar="RECORD")
    p.add_argument("--log", metavar="DB", help="replay every decision in a decision log instead")
    p.add_argument(
        "--as-of",
        metavar="DATE",
        help="evaluation date for RECORDs (default: today at the new revision's site)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_replay)


_FIELDS = {"activity_gbq": "activity (GBq)", "cycles_remaining": "cycles remaining"}


def _outcome(text: object) -> str:
    """A rule's outcome in one revision (MET, NOT_MET, INDETERMINATE, or ``FIRED:category``
    for a decision rule that fired, shown as ``FIRED (kidney cap)``; None: the rule was not
    evaluated or listed in that revision's answer)."""
    if text is None:
        return "not listed"
    value = str(text)
    if value.startswith("FIRED:"):
        return f"FIRED ({words(value.removeprefix('FIRED:'))})"
    return words(value)


def _cases(args: argparse.Namespace) -> tuple[Iterator[tuple[engine.Record, date]], int]:
    """The (record, as_of) pairs to replay, read one at a time as they are assessed; how many."""
    if args.log:
        from flexmrt.server.decision_log.replay import count_entries, iter_logged_cases

        return iter_logged_cases(args.log), count_entries(args.log)
    as_of = parse_as_of(args.as_of, args.new)
    return ((read_record(path), as_of) for path in args.records), len(args.records)


def _replay(args: argparse.Namespace) -> int:
    if bool(args.records) == bool(args.log):
        raise UsageError("flexmrt replay: give RECORD files or --log DB (one of them)")
    # RECORDs are judged on --as-of: both revisions must be in force then (a draft file or
    # a draft revision may be asked about before it takes effect). A log replays each
    # decision on its own date.
    on = None if args.log else parse_as_of(args.as_of, args.new)
    try:
        old, new = resolve_protocol(args.old, on), resolve_protocol(args.new, on)
        cases, count = _cases(args)
        results = list(progress_iter(assess_amendment(old, new, cases), count))
    except (ProtocolError, engine.RecordError) as exc:
        return fail(exc, args.json)
    except FileNotFoundError as exc:
        return fail(ValueError(f"--log: {exc}"), args.json)
    summary = summarise(old, new, results)
    if args.json:
        emit_json({"summary": summary.to_json(), "subjects": [r.to_json() for r in results]})
        return 0
    for r in results:
        if not r.changed:
            continue
        print(
            f"{r.subject_id} ({r.as_of}): "
            + ", ".join(
                f"{_FIELDS.get(c.field, words(c.field))} {words(c.old)} → {words(c.new)}"
                for c in r.changes
            )
        )
        for rule in r.rules:
            print(f"    rule {rule.id}: {_outcome(rule.old)} → {_outcome(rule.new)}")
    kinds = (
        ", ".join(f"{_FIELDS.get(k, words(k))} {n}" for k, n in summary.by_kind.items()) or "none"
    )
    print(
        f"{summary.old.ref} → {summary.new.ref}: {summary.subjects} subject(s), "
        f"{summary.unchanged} unchanged, {summary.changed} changed ({kinds})"
    )
    return 0
