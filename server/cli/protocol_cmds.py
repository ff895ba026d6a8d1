"""`flexmrt validate | protocols | show | diff` — protocol revisions from the command line."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from flexmrt.protocol import Protocol, ProtocolError, diff_protocols, load_file
from flexmrt.protocol.diff import format_diff

from .common import (
    duration_text,
    emit_json,
    fail,
    invalid_file,
    registry,
    report_files,
    resolve_protocol,
    unit_text,
    units_in,
)

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("validate", help="validate protocol YAML files (exit 1 if any is invalid)")
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.add_argument("--bundled", action="store_true", help="also validate the bundled revisions")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_validate)

    p = sub.add_parser("protocols", help="list protocol revisions (id, revision, status, sha256)")
    p.add_argument("--protocols", action="append", metavar="DIR", help="also load DIR/*.yaml")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_protocols)

    p = sub.add_parser("show", help="summarise one protocol revision")
    p.add_argument("ref", metavar="REF", help="id, id@revision or a YAML path")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_show)

    p = sub.add_parser("diff", help="what changed between two revisions")
    p.add_argument("old", metavar="REF_OR_PATH")
    p.add_argument("new", metavar="REF_OR_PATH")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_diff)


def _validate(args: argparse.Namespace) -> int:
    if not args.paths and not args.bundled:
        print("flexmrt validate: error: give at least one PATH, or --bundled", file=sys.stderr)
        return 2
    results: list[dict[str, Any]] = []
    if args.bundled:
        try:
            results += [_valid(p.file, p) for p in registry().all()]
        except ProtocolError as exc:
            results.append(invalid_file("bundled", exc))
    for path in args.paths:
        try:
            results.append(_valid(path, load_file(path)))
        except ProtocolError as exc:
            results.append(invalid_file(path, exc))
    return report_files(results, args.json, lambda r: f"{r['ref']}  sha256:{r['sha256'][:16]}")


def _valid(path: str, p: Protocol) -> dict[str, Any]:
    return {"file": path, "ref": p.ref, "sha256": p.sha256, "valid": True, "issues": []}


def _protocols(args: argparse.Namespace) -> int:
    try:
        protocols = registry(args.protocols).all()
    except ProtocolError as exc:
        return fail(exc, args.json)
    rows = [
        {
            "id": p.id,
            "revision": p.revision,
            "status": p.status,
            "effective_from": p.effective_from.isoformat(),
            "sha256": p.sha256,
        }
        for p in protocols
    ]
    if args.json:
        emit_json(rows)
        return 0
    print(f"{'ID':16} {'REVISION':9} {'STATUS':11} {'EFFECTIVE':11} SHA256")
    for r in rows:
        print(
            f"{r['id']:16} {r['revision']:9} {r['status']:11} {r['effective_from']:11} "
            f"{r['sha256']}"
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    try:
        p = resolve_protocol(args.ref)
    except ProtocolError as exc:
        return fail(exc, args.json)
    summary = p.summary()
    if args.json:
        emit_json(summary)
        return 0
    print(f"{summary['ref']}  ({summary['status']}, effective {summary['effective_from']})")
    print(f"  {summary['title']}")
    print(f"  sha256 {summary['sha256']}")
    for arm in summary["arms"]:
        print(
            f"  arm {arm['id']}: {arm['name']} — {arm['activity_gbq']} GBq every "
            f"{duration_text(arm['interval'])}, up to {arm['max_cycles']} cycles, holidays "
            f"{'allowed' if arm['holidays'] else 'not allowed'}"
        )
    lq = p.kidney_lq()
    if lq.cap_gy is not None:
        print(
            f"  kidney BED cap {lq.cap_gy:g} Gy (α/β {lq.alpha_beta_gy:g} Gy, repair half-time "
            f"{lq.repair_half_time_h:g} h, default T_eff {lq.effective_half_life_h:g} h)"
        )
    eligibility = p.doc["eligibility"]
    for kind in ("inclusion", "exclusion"):
        print(f"  {kind} criteria ({len(eligibility[kind])}):")
        for c in eligibility[kind]:
            print(f"    {c['id']:22} {units_in(c['text'])}{_assumed_mark(c)}")
    assumed = summary["assumed_parameters"]
    print(f"  parameters: {summary['parameters']}, of which {len(assumed)} assumed:")
    for name in assumed:
        param = p.doc["parameters"][name]
        src = param.get("source", {})
        print(
            f"    {name:28} {_value(param)}  ({src.get('citation', '?')}, "
            f"{src.get('section', '?')})"
        )
    return 0


def _assumed_mark(rule: dict[str, Any]) -> str:
    return "  (assumed)" if rule.get("verification") == "assumed" else ""


def _value(param: dict[str, Any]) -> str:
    value = param.get("value")
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, list):
        text = ", ".join(str(v) for v in value)
    else:
        text = duration_text(str(value))
    unit = unit_text(param.get("unit"))
    return f"{text} {unit}".strip()


def _diff(args: argparse.Namespace) -> int:
    try:
        old, new = resolve_protocol(args.old), resolve_protocol(args.new)
    except ProtocolError as exc:
        return fail(exc, args.json)
    result = diff_protocols(old, new)
    if args.json:
        emit_json(result)
    else:
        print(format_diff(result))
    return 0
