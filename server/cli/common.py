"""Helpers shared by the CLI command groups: output, errors, protocol references."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date
from typing import Any

from protocol import Protocol, ProtocolError, Registry
from protocol.canonical import canonical_json
from protocol.errors import IssuesError

__all__ = [
    "emit_json",
    "fail",
    "invalid_file",
    "parse_as_of",
    "registry",
    "report_files",
    "resolve_protocol",
]

_REGISTRY: Registry | None = None


def registry(extra_dirs: list[str] | None = None) -> Registry:
    """The bundled registry (plus user directories), loaded once per process."""
    global _REGISTRY
    if extra_dirs:
        from pathlib import Path

        return Registry.bundled([Path(d) for d in extra_dirs])
    if _REGISTRY is None:
        _REGISTRY = Registry.bundled()
    return _REGISTRY


def resolve_protocol(ref: str, on: date | None = None) -> Protocol:
    return registry().resolve(ref, on)


def emit_json(value: Any, pretty: bool = True) -> None:
    """Print JSON deterministically (sorted keys); canonical form when not pretty."""
    if pretty:
        print(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))
    else:
        print(canonical_json(value))


def fail(error: ProtocolError | ValueError, as_json: bool = False) -> int:
    """Report an input error on stderr (or as JSON on stdout) and return exit code 1."""
    if as_json and isinstance(error, ProtocolError):
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
        print(f"error: {error}", file=sys.stderr)
    return 1


def parse_as_of(text: str | None) -> date:
    """``--as-of`` as a date; today's date (UTC) when absent — the edge supplies the clock."""
    if text is None:
        from datetime import datetime

        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        print(f"flexmrt: error: --as-of {text!r} is not an ISO date (YYYY-MM-DD)", file=sys.stderr)
        raise SystemExit(2) from None


def invalid_file(path: str, error: IssuesError) -> dict[str, Any]:
    """A failed file's result row: every issue, each with its one-line text."""
    issues = [{**i.as_dict(), "text": str(i)} for i in error.issues] or [
        {"code": error.code, "message": error.message, "text": error.message}
    ]
    return {"file": path, "valid": False, "issues": issues}


def report_files(results: list[dict[str, Any]], as_json: bool, ok_text: Any) -> int:
    """Print per-file validation results; exit code 0 when every file is valid, else 1."""
    valid = all(r["valid"] for r in results)
    if as_json:
        emit_json({"valid": valid, "results": results})
        return 0 if valid else 1
    for r in results:
        if r["valid"]:
            print(f"ok      {r['file']}  {ok_text(r)}")
            continue
        print(f"INVALID {r['file']}: {len(r['issues'])} problem(s)")
        for issue in r["issues"]:
            print(f"  {issue['text']}")
    return 0 if valid else 1
