"""The only place protocol YAML is read: strict parse → JSON Schema → semantic checks.

Every problem is reported at once, each with file:line:column, JSON pointer,
expected and found; the headline is chosen with jsonschema's ``best_match``.
The verdict comes from the compiled validator (jsonschema-rs); only a document it
finds invalid is walked again by jsonschema to word its errors, so every issue keeps
the pointer, message and code it always had.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match

from .canonical import sha256_hex
from .checks import semantic_issues
from .errors import Issue, ProtocolError, clipped, locate
from .model import Protocol
from .yamlio import Positions, escape_pointer, read_yaml

__all__ = ["load_file", "load_text", "protocol_schema", "validate_document"]


@cache
def protocol_schema() -> dict[str, Any]:
    text = (
        resources.files("flexmrt.protocol")
        .joinpath("schema/protocol.schema.json")
        .read_text("utf-8")
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Draft202012Validator:
    """The wording validator (jsonschema): run only on a document found invalid."""
    return Draft202012Validator(protocol_schema(), format_checker=FormatChecker())


@cache
def _fast_validator() -> Any:
    """The verdict validator (jsonschema-rs, compiled): the same schema and formats."""
    return jsonschema_rs.Draft202012Validator(protocol_schema(), validate_formats=True)


def load_file(path: str | Path) -> Protocol:
    """Load and validate a protocol YAML file; raise ProtocolError listing every issue."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProtocolError("not_found", f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError("unreadable", f"{path}: cannot read ({exc})") from exc
    return load_text(text, str(path))


def load_text(text: str, file: str = "") -> Protocol:
    """Load and validate protocol YAML text (``file`` names it in errors)."""
    data, positions = read_yaml(text, file)
    issues = validate_document(data, positions, file)
    if issues:
        where = file or "<input>"
        raise ProtocolError(
            issues[0].code, f"{where}: {len(issues)} problem(s); first: {issues[0].message}", issues
        )
    return Protocol(doc=data, sha256=sha256_hex(data), text=text, file=file, positions=positions)


def validate_document(data: Any, positions: Positions | None = None, file: str = "") -> list[Issue]:
    """Every schema and semantic issue of a parsed document, headline first."""
    positions = positions or {}
    plain = _plain(data)
    if not _schema_valid(plain):
        errors = _schema_errors(data, plain)
        if errors:
            head = best_match(errors)
            ordered = [head, *sorted((e for e in errors if e is not head), key=_error_order)]
            return [locate(_schema_issue(e), positions, file) for e in ordered]
        issues = _fast_issues(plain)  # only the compiled validator objects: its words
        if issues:
            return [locate(i, positions, file) for i in issues]
    return [locate(i, positions, file) for i in semantic_issues(data)]


def _schema_valid(plain: Any) -> bool:
    """The compiled validator's verdict; False (to be worded) where it cannot read a value."""
    try:
        return bool(_fast_validator().is_valid(plain))
    except (ValueError, TypeError, OverflowError, RecursionError):
        return False


def _schema_errors(data: Any, plain: Any) -> list[ValidationError]:
    """jsonschema's errors of an invalid document: the sections (top-level keys) the
    compiled validator finds valid hold none, so only the others are walked (a section
    found valid is validated against ``true``; the errors, paths and order are the same)."""
    invalid = _invalid_sections(plain)
    if invalid is None or not isinstance(data, dict):
        return list(_validator().iter_errors(data))
    schema = protocol_schema()
    props = schema["properties"]
    pruned = {k: (v if k in invalid else True) for k, v in props.items()}
    return list(_validator().evolve(schema={**schema, "properties": pruned}).iter_errors(data))


def _invalid_sections(plain: Any) -> set[str] | None:
    """The top-level keys under which the compiled validator reports an error (None when
    it cannot read the document)."""
    try:
        errors = _fast_validator().iter_errors(plain)
        return {str(e.instance_path[0]) for e in errors if e.instance_path}
    except (ValueError, TypeError, OverflowError, RecursionError):
        return None


def _plain(value: Any) -> Any:
    """``value`` with plain floats for WrittenNumber (the compiled validator takes no
    float subclasses); its meaning for the schema is unchanged."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return float(value)
    return value


def _fast_issues(plain: Any) -> list[Issue]:
    """The compiled validator's errors, for the rare document only it refuses (an ECMA
    regex ``$`` does not match before a trailing newline; Python's does)."""
    try:
        errors = list(_fast_validator().iter_errors(plain))
    except (ValueError, TypeError, OverflowError, RecursionError):
        return []
    return [
        Issue(
            code="schema_violation",
            message=clipped(str(e.message)),
            pointer=_pointer(e.instance_path),
            found=_found(e.instance),
        )
        for e in errors
    ]


def _found(instance: Any) -> str:
    found = json.dumps(instance, ensure_ascii=False, default=str)
    return found if len(found) <= 80 else found[:77] + "..."


def _error_order(error: ValidationError) -> tuple[str, str]:
    return (_pointer(error.absolute_path), error.message)


def _pointer(path: Any) -> str:
    return "".join("/" + escape_pointer(str(p)) for p in path)


def _schema_issue(error: ValidationError) -> Issue:
    expected = _expected(error)
    found = _found(error.instance)
    fix = ""
    if (
        error.validator == "type"
        and isinstance(error.instance, int | float)
        and "string" in str(error.validator_value)
    ):
        fix = f'quote it: "{error.instance}" (YAML read it as a number)'
    elif error.validator == "additionalProperties":
        fix = "remove or rename the unexpected key (see the schema for allowed keys)"
    elif error.validator == "required":
        fix = "add the missing key"
    message = error.message
    if error.validator == "maxLength" and isinstance(error.instance, str):
        name = str(error.absolute_path[-1]) if error.absolute_path else "the value"
        message = (
            f"{name} is too long: {len(error.instance):,} characters, "
            f"at most {error.validator_value}"
        )
        fix = f"shorten it to at most {error.validator_value} characters"
    return Issue(
        code="schema_violation",
        message=clipped(message),
        pointer=_pointer(error.absolute_path),
        expected=expected,
        found=found,
        fix=fix,
    )


def _expected(error: ValidationError) -> str:
    value = error.validator_value
    if error.validator == "type":
        return f"type {value}"
    if error.validator == "enum":
        return "one of " + ", ".join(map(str, value))
    if error.validator in ("pattern", "format"):
        return f"{error.validator} {value}"
    if error.validator == "required":
        return "keys " + ", ".join(value)
    if error.validator == "maxLength":
        return f"at most {value} characters"
    desc = error.schema.get("description") if isinstance(error.schema, dict) else None
    return str(desc or f"{error.validator} {value}")[:120]
