"""`flexmrt test-protocol REF` — boundary tests generated from the protocol itself."""

from __future__ import annotations

import argparse
import json
from typing import Any

from flexmrt.protocol import ProtocolError
from flexmrt.server.boundary import BoundaryResult, Threshold, test_protocol

from .common import emit_json, fail, resolve_protocol

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "test-protocol",
        help="check every threshold, window and count flips where the protocol says",
        description=(
            "Build records at every numeric threshold, look-back window and count of the "
            "protocol, one step inside and one outside (in every unit of that lab), and "
            "check the engine's outcome against the one the rule's comparator, value and "
            "unit imply. Exit 1 when a rule does not flip where its text says."
        ),
    )
    p.add_argument("ref", metavar="REF", help="id, id@revision or a YAML path (a draft)")
    p.add_argument("--cases", action="store_true", help="list every case, not only failures")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_test_protocol)


def _test_protocol(args: argparse.Namespace) -> int:
    try:
        protocol = resolve_protocol(args.ref)
        thresholds, uncovered = test_protocol(protocol)
    except ProtocolError as exc:
        return fail(exc, args.json)
    failed = [t for t in thresholds if not t.ok]
    if args.json:
        emit_json(
            {
                "protocol": protocol.ref,
                "ok": not failed,
                "thresholds": [t.as_dict() for t in thresholds],
                "not_generated": [u.__dict__ for u in uncovered],
            }
        )
        return 1 if failed else 0
    cases = sum(len(t.results) for t in thresholds)
    for t in thresholds:
        _print_threshold(t, args.cases)
    for u in uncovered:
        print(f"  --    {u.rule_id}  {u.leaf}: {u.why}")
    bad = sum(1 for t in thresholds for r in t.results if not r.ok)
    verdict = (
        "every rule flips where its text says"
        if not failed
        else f"{bad} case(s) in {len(failed)} threshold(s) do not flip where the text says"
    )
    print(f"{protocol.ref}: {cases} boundary cases over {len(thresholds)} thresholds; {verdict}")
    return 1 if failed else 0


def _print_threshold(t: Threshold, every: bool) -> None:
    print(f"  {'ok  ' if t.ok else 'FAIL'}  {t.rule_id}  {t.leaf}  ({len(t.results)} cases)")
    for r in t.results:
        if every or not r.ok:
            print(f"          {_case_line(r)}")
        if not r.ok:
            record = json.dumps(r.case.record, ensure_ascii=False, separators=(",", ":"))
            print(f"            as of {r.case.as_of}, record: {record}")


def _case_line(r: BoundaryResult) -> str:
    c = r.case
    line = f"{c.position:<7}  {c.what} → {c.expected}"
    return line if r.ok else f"{line}, but the engine says {r.actual}"
