"""`flexmrt import fhir|sdtm`: hospital data in, patient records out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from flexmrt.engine.errors import RecordError
from flexmrt.engine.record import parse_record
from flexmrt.server.imports import ConversionError, ImportResult

from .common import emit_json

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("import", help="convert FHIR R4 Bundles or CDISC SDTM into patient records")
    kinds = p.add_subparsers(dest="kind", metavar="FORMAT")
    kinds.required = True
    f = kinds.add_parser("fhir", help="one patient's FHIR R4 Bundle (JSON) → a record")
    f.add_argument("bundle", metavar="BUNDLE.json")
    f.add_argument("--out", metavar="FILE", help="write the record here (default: stdout)")
    f.add_argument("--json", action="store_true", help="the record and notes as JSON")
    f.set_defaults(func=_fhir)
    s = kinds.add_parser(
        "sdtm", help="an SDTM folder (Dataset-JSON or CSV) → one record per USUBJID"
    )
    s.add_argument("folder", metavar="DIR")
    s.add_argument("--out-dir", metavar="DIR", help="write USUBJID.yaml files here")
    s.add_argument("--json", action="store_true", help="the records and notes as JSON")
    s.set_defaults(func=_sdtm)


def _yaml(record: dict[str, Any]) -> str:
    return yaml.safe_dump(record, sort_keys=False, allow_unicode=True, width=100)


def _checked(result: ImportResult, source: str) -> list[str]:
    """Problems the record schema and semantic checks find in the converted record."""
    try:
        parse_record(result.record, None, source)
    except RecordError as exc:
        return [str(issue) for issue in exc.issues] or [exc.message]
    return []


def _fail(error: ConversionError, as_json: bool) -> int:
    if as_json:
        emit_json(
            {
                "error": {
                    "code": error.code,
                    "message": error.message,
                    "issues": [i.as_dict() for i in error.issues],
                }
            }
        )
    else:
        print(f"error: {error.message}", file=sys.stderr)
        for issue in error.issues[1:20]:
            print(f"  {issue.pointer}: {issue.message}", file=sys.stderr)
    return 1


def _print_notes(result: ImportResult) -> None:
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)


def _fhir(args: argparse.Namespace) -> int:
    from flexmrt.server.imports.fhir import bundle_to_record

    try:
        text = Path(args.bundle).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: {args.bundle}: cannot read ({exc.__class__.__name__})", file=sys.stderr)
        return 1
    try:
        result = bundle_to_record(text, args.bundle)
    except ConversionError as error:
        return _fail(error, args.json)
    problems = _checked(result, args.bundle)
    if args.json:
        emit_json(
            {
                "record": result.record,
                "notes": [n.to_json() for n in result.notes],
                "record_problems": problems,
            }
        )
    else:
        _print_notes(result)
        for problem in problems:
            print(f"error: converted record: {problem}", file=sys.stderr)
        if args.out:
            Path(args.out).write_text(_yaml(result.record), encoding="utf-8")
            print(f"wrote {args.out} ({len(result.notes)} note(s))")
        else:
            sys.stdout.write(_yaml(result.record))
    return 1 if problems else 0


def _sdtm(args: argparse.Namespace) -> int:
    from flexmrt.server.imports.sdtm import read_study

    try:
        results = read_study(args.folder)
    except ConversionError as error:
        return _fail(error, args.json)
    checked = [(r, _checked(r, f"{args.folder}:{r.record['subject']['id']}")) for r in results]
    if args.json:
        emit_json(
            {
                "records": [
                    {
                        "record": r.record,
                        "notes": [n.to_json() for n in r.notes],
                        "record_problems": problems,
                    }
                    for r, problems in checked
                ]
            }
        )
    else:
        out = Path(args.out_dir) if args.out_dir else None
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
        for result, problems in checked:
            sid = result.record["subject"]["id"]
            for problem in problems:
                print(f"error: {sid}: {problem}", file=sys.stderr)
            if out is None:
                sys.stdout.write("---\n" + _yaml(result.record))
            else:
                safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(sid))
                (out / f"{safe}.yaml").write_text(_yaml(result.record), encoding="utf-8")
        seen: set[str] = set()
        for result in results:
            for note in result.notes:
                if str(note) not in seen:
                    seen.add(str(note))
                    print(f"note: {note}", file=sys.stderr)
        if out is not None:
            print(f"wrote {len(results)} record(s) to {out}")
    return 1 if any(problems for _r, problems in checked) else 0
