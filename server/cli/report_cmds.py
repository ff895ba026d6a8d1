"""`flexmrt report` — the patient picture: timeline figure and an HTML page."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import engine
from protocol import ProtocolError

from .common import fail, parse_as_of, resolve_protocol
from .engine_cmds import read_record

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("report", help="HTML report with the patient timeline (PNG and SVG too)")
    p.add_argument("record", metavar="RECORD")
    p.add_argument("--protocol", required=True, metavar="REF")
    p.add_argument("--as-of", metavar="DATE")
    p.add_argument("--dose", metavar="RESULTS_JSON", help="results.json of `flexmrt dose` (DVHs)")
    p.add_argument("--out", required=True, metavar="DIR")
    p.set_defaults(func=_report)


def _report(args: argparse.Namespace) -> int:
    from server.report import render_report

    try:
        protocol = resolve_protocol(args.protocol)
        record = read_record(args.record)
        dose = json.loads(Path(args.dose).read_text("utf-8")) if args.dose else None
    except (ProtocolError, engine.RecordError) as exc:
        return fail(exc)
    except (OSError, json.JSONDecodeError) as exc:
        print(f"error: --dose {args.dose}: {exc}")
        return 1
    paths = render_report(protocol, record, parse_as_of(args.as_of), Path(args.out), dose)
    for kind, path in paths.items():
        print(f"wrote {kind}: {path}")
    return 0
