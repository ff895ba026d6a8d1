"""Helpers shared by the CLI command groups: output, errors, protocol references."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from flexmrt.engine.answers import ScheduledEvent
from flexmrt.protocol import Protocol, ProtocolError, Registry
from flexmrt.protocol.canonical import canonical_json
from flexmrt.protocol.errors import Issue, IssuesError

__all__ = [
    "UsageError",
    "duration_text",
    "emit_json",
    "fail",
    "humane_issue",
    "invalid_file",
    "overdue_text",
    "parse_as_of",
    "progress",
    "progress_iter",
    "registry",
    "report_files",
    "resolve_protocol",
    "site_today",
    "unit_text",
    "units_in",
    "utc_now",
    "words",
]

_T = TypeVar("_T")


class UsageError(Exception):
    """A command line the program cannot run (exit 2); ``main`` reports it."""


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


def site_today(ref: str | None, now: datetime) -> date:
    """The day it is at ``now`` at the site of ``ref`` (the revision in force on the UTC
    day); the UTC day when ``ref`` names no loadable protocol (resolving it reports why)."""
    if ref is None:
        return now.astimezone(UTC).date()
    try:
        return resolve_protocol(ref, now.astimezone(UTC).date()).today(now)
    except ProtocolError:
        try:
            return resolve_protocol(ref).today(now)
        except ProtocolError:
            return now.astimezone(UTC).date()


def resolve_protocol(ref: str, on: date | None = None) -> Protocol:
    """The revision ``ref`` names, in force on ``on`` — the rule the gRPC edge applies
    (:meth:`protocol.Registry.resolve`): a revision not yet in force is a ProtocolError
    naming it and its effective date."""
    return registry().resolve(ref, on)


def emit_json(value: Any, pretty: bool = True) -> None:
    """Print JSON deterministically (sorted keys); canonical form when not pretty."""
    if pretty:
        print(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))
    else:
        print(canonical_json(value))


def fail(error: ProtocolError | ValueError, as_json: bool = False) -> int:
    """Report an input error on stderr (or as JSON on stdout) and return exit code 1."""
    issues = [humane_issue(i) for i in error.issues] if isinstance(error, IssuesError) else []
    if as_json:
        code = error.code if isinstance(error, IssuesError) else "invalid_input"
        message = error.message if isinstance(error, IssuesError) else str(error)
        emit_json(
            {
                "error": {
                    "code": code,
                    "message": message,
                    "issues": [{**i.as_dict(), "text": str(i)} for i in issues],
                }
            }
        )
    elif isinstance(error, IssuesError):
        print(f"error: {error.message}", file=sys.stderr)
        for issue in issues:
            print(f"  {issue}", file=sys.stderr)
    else:
        print(f"error: {error}", file=sys.stderr)
    return 1


def utc_now() -> datetime:
    """The clock: the CLI is the edge that owns it (the engine is given ``as_of``)."""
    return datetime.now(UTC)


def parse_as_of(text: str | None, ref: str | None = None) -> date:
    """``--as-of`` as a date; when absent, today at the site of protocol ``ref`` (its
    ``site_time_zone``: a decision asked at 18:00 in Los Angeles is for that day, not the
    next day in UTC), and today in UTC without a protocol to ask."""
    if text is None:
        return site_today(ref, utc_now())
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise UsageError(f"--as-of {text!r} is not an ISO date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"--as-of {text!r} is not a real day ({exc})") from None


def invalid_file(path: str, error: IssuesError) -> dict[str, Any]:
    """A failed file's result row: every issue (in words, once each), each with its text."""
    issues = [{**i.as_dict(), "text": str(i)} for i in _unique(map(humane_issue, error.issues))]
    if not issues:
        issues = [{"code": error.code, "message": error.message, "text": error.message}]
    return {"file": path, "valid": False, "issues": issues}


def _unique(issues: Iterable[Issue]) -> list[Issue]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for issue in issues:
        key = (issue.pointer, issue.message)
        if key not in seen:
            seen.add(key)
            kept.append(issue)
    return kept


_NO_MATCH = re.compile(r"^(?P<value>.+?) does not match '.*'$", re.S)
_NOT_ONE_OF = re.compile(r"^(?P<value>.+?) is not one of \[(?P<choices>.*)\]$", re.S)
_NOT_TYPE = re.compile(r"^(?P<value>.+?) is not of type (?P<types>.+)$", re.S)
_DATE_TIME_NO_OFFSET = re.compile(r"^'?\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?'?$")


def humane_issue(issue: Issue) -> Issue:
    """``issue`` in words a person can act on: no raw regular expressions, and ``expected``
    and ``fix`` filled where the schema message alone leaves them empty."""
    message = issue.message
    if issue.code == "yaml_syntax" and ("'\\t'" in message or "\t" in message):
        return replace(
            issue,
            message="a tab character: YAML forbids tabs for indentation",
            expected="spaces",
            found="a tab",
            fix="indent with spaces instead of tabs",
        )
    if m := _NO_MATCH.match(message):
        value = m.group("value")
        if _DATE_TIME_NO_OFFSET.match(value):
            return replace(
                issue,
                message=f"the time {value} has no UTC offset",
                expected="a date-time with its UTC offset, e.g. 2025-01-13T08:30:00+01:00",
                found=value,
                fix="add the offset of the local time it was taken in (+01:00, or Z for UTC)",
            )
        if issue.pointer.rsplit("/", 1)[-1] in ("dtc", "date", "start", "end", "birth_date"):
            return replace(
                issue,
                message=f"{value} is not a date",
                expected="YYYY-MM-DD, or a date-time with its UTC offset",
                found=value,
                fix="write the date as YYYY-MM-DD (e.g. 2025-01-13)",
            )
        return replace(
            issue,
            message=f"{value} is not in the form this field takes",
            expected=issue.expected or "the form described in the record schema",
            found=value,
            fix=issue.fix or "see engine/schema/record.schema.json for this field",
        )
    if m := _NOT_ONE_OF.match(message):
        choices = ", ".join(c.strip().strip("'\"") for c in m.group("choices").split(","))
        return replace(
            issue,
            message=f"{m.group('value')} is not an allowed value",
            expected=f"one of {choices}",
            found=m.group("value"),
            fix=issue.fix or f"use one of {choices}",
        )
    if m := _NOT_TYPE.match(message):
        kinds = m.group("types").replace("'", "")
        return replace(
            issue,
            expected=issue.expected or kinds,
            found=issue.found or m.group("value"),
            fix=issue.fix or f"give a {kinds} here",
        )
    if issue.code == "schema_violation" and "is a required property" in message:
        return replace(issue, fix=issue.fix or "add the missing key")
    if issue.code == "schema_violation" and "Additional properties" in message:
        return replace(issue, fix=issue.fix or "remove or rename the unexpected key")
    return issue


_UNITS = {
    "10^9/L": "×10⁹/L",
    "10^12/L": "×10¹²/L",
    "10^6/L": "×10⁶/L",
    "umol/L": "µmol/L",
    "mL/min/1.73m2": "mL/min/1.73 m²",
    "/mm3": "/mm³",
    "xULN": "× ULN",
    "xLLN": "× LLN",
    "xBaseline": "× baseline",
    "m2": "m²",
}


_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")


def duration_text(text: str) -> str:
    """An ISO 8601 duration as words: ``P6W`` → ``6 weeks``; other text unchanged."""
    m = _DURATION.match(text)
    if not m or not any(m.groups()):
        return text
    names = ("year", "month", "week", "day")
    parts = [
        f"{n} {name}{'s' if int(n) != 1 else ''}"
        for n, name in zip(m.groups(), names, strict=True)
        if n
    ]
    return ", ".join(parts)


def units_in(text: str) -> str:
    """Every unit code inside ``text`` (``38 10^9/L``) as a person writes it."""
    for code, shown in _UNITS.items():
        if code != "m2":
            text = text.replace(f" {code}", f" {shown}")
    return text


def unit_text(unit: str | None) -> str:
    """A unit as a person writes it (×10⁹/L, µmol/L) rather than its ASCII code."""
    if not unit:
        return ""
    return _UNITS.get(unit, unit)


_IDENT = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def words(text: object) -> str:
    """Engine vocabulary for a person: ``need_data`` → ``need data``; ``None`` → ``—``."""
    if text is None or isinstance(text, bool):
        return {None: "—", True: "yes", False: "no"}[text]
    return _IDENT.sub(lambda m: m.group(0).replace("_", " "), str(text))


def overdue_text(event: ScheduledEvent) -> str:
    """A scheduled event's flags in words: overdue (days past due, limit), pending data."""
    late = event.overdue
    return flags_text(
        late.days_past_due if late else None, late.limit_days if late else None, event.pending_data
    )


def flags_text(days_past_due: int | None, limit: int | None, pending: bool) -> str:
    """Overdue (days past due, the limit) and pending-data flags in words."""
    text = ""
    if days_past_due is not None:
        text += f"  OVERDUE {days_past_due} days past due"
        text += f" (limit {limit} days)" if limit is not None else ""
    if pending:
        text += "  pending the missing data"
    return text


def progress(items: list[_T], what: str) -> Iterator[_T]:
    """Yield ``items``; on a terminal, draw a bar on stderr (nothing when piped)."""
    return progress_iter(iter(items), len(items), what)


def progress_iter(items: Iterable[_T], total: int, what: str = "evaluating") -> Iterator[_T]:
    """Yield ``items`` (``total`` of them), drawing a bar on stderr when it is a terminal."""
    stream = sys.stderr
    show = stream.isatty() and total > 1
    for n, item in enumerate(items, 1):
        if show:
            filled = int(30 * (n - 1) / total)
            stream.write(f"\r{what} [{'#' * filled}{'.' * (30 - filled)}] {n - 1}/{total}")
            stream.flush()
        yield item
    if show:
        stream.write(f"\r{what} [{'#' * 30}] {total}/{total}\n")
        stream.flush()


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
