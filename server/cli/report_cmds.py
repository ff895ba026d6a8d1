"""`flexmrt report` — the patient picture: timeline figure and an HTML page."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from flexmrt import engine
from flexmrt.protocol import ProtocolError

from .common import fail, parse_as_of, resolve_protocol
from .engine_cmds import read_record

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("report", help="HTML report with the patient timeline (PNG and SVG too)")
    p.add_argument("record", metavar="RECORD")
    p.add_argument("--protocol", required=True, metavar="REF")
    p.add_argument(
        "--as-of", metavar="DATE", help="evaluation date (default: today at the protocol's site)"
    )
    p.add_argument(
        "--dose",
        nargs="+",
        default=[],
        metavar="RESULTS_JSON",
        help="results.json of `flexmrt dose`, one per cycle (DVHs and the dose table)",
    )
    p.add_argument("--out", required=True, metavar="DIR")
    p.set_defaults(func=_report)


def _read_dose(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise ValueError(f"--dose {path}: cannot read ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"--dose {path}: not JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("structures"), dict):
        raise ValueError(
            f"--dose {path}: not a results.json of `flexmrt dose` (no 'structures' object)"
        )
    return {**data, "file": path}


def _report(args: argparse.Namespace) -> int:
    from flexmrt.server.report import render_report

    as_of = parse_as_of(args.as_of, args.protocol)
    try:
        protocol = resolve_protocol(args.protocol, as_of)  # refused when not yet in force
        record = read_record(args.record)
        doses = [_read_dose(p) for p in args.dose]
    except (ProtocolError, engine.RecordError, ValueError) as exc:
        return fail(exc)
    paths, warnings = render_report(protocol, record, as_of, Path(args.out), doses)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for kind, path in paths.items():
        print(f"wrote {kind}: {path}")
    return 0
