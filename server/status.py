"""Domain errors → gRPC status codes, in one place.

Bad input never becomes INTERNAL: invalid records, YAML and DICOM give
INVALID_ARGUMENT with ``google.rpc.BadRequest`` field violations (a JSON pointer
into the record or protocol, or the uploaded file and DICOM tag); unknown
protocols, revisions and decisions give NOT_FOUND; no revision in force on the date
asked gives FAILED_PRECONDITION. The error interceptor applies :func:`to_status`
to whatever a servicer raises.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from flexmrt.protocol import Issue, ProtocolError

__all__ = ["RequestError", "clip", "log_unexpected", "to_status"]

_log = logging.getLogger("flexmrt.server")

_PROTOCOL_CODES = {
    "not_found": grpc.StatusCode.NOT_FOUND,
    "not_in_force": grpc.StatusCode.FAILED_PRECONDITION,
}


@dataclass
class RequestError(ValueError):
    """A request the server refuses: status code, message and the offending field."""

    code: grpc.StatusCode
    message: str
    field: str = ""
    reason: str = ""  # a stable error code from the domain, when there is one

    def __post_init__(self) -> None:
        super().__init__(self.message)

    @classmethod
    def invalid(cls, field: str, message: str, reason: str = "") -> RequestError:
        return cls(grpc.StatusCode.INVALID_ARGUMENT, message, field, reason)

    @classmethod
    def not_found(cls, message: str) -> RequestError:
        return cls(grpc.StatusCode.NOT_FOUND, message)


def to_status(error: BaseException) -> grpc.Status | None:
    """The status for a domain error, or None when ``error`` is not one (a bug)."""
    if isinstance(error, RequestError):
        violations = [(error.field, error.message)] if error.field else []
        return _status(error.code, error.message, violations, reason=error.reason)
    if isinstance(error, ProtocolError):
        code = _PROTOCOL_CODES.get(error.code, grpc.StatusCode.INVALID_ARGUMENT)
        return _status(code, f"[{error.code}] {error.message}", _issue_violations(error.issues))
    record_error = _record_error_type()
    if record_error is not None and isinstance(error, record_error):
        issues = list(getattr(error, "issues", []))
        message = f"[{getattr(error, 'code', 'invalid_record')}] {getattr(error, 'message', error)}"
        return _status(grpc.StatusCode.INVALID_ARGUMENT, message, _issue_violations(issues))
    from flexmrt.gpu_dose.errors import DoseError

    if isinstance(error, DoseError):
        where = ": ".join(part for part in (error.path, error.tag) if part)
        return _status(
            grpc.StatusCode.INVALID_ARGUMENT,
            str(error),
            [(where or "chunk", str(error))],
            reason=error.code,
        )
    return None


def _record_error_type() -> type[BaseException] | None:
    """``engine.RecordError`` (imported lazily: the engine is optional for ProtocolService)."""
    try:
        from flexmrt.engine import RecordError
    except ImportError:
        return None
    return RecordError


def _issue_violations(issues: Iterable[Issue]) -> list[tuple[str, str]]:
    out = []
    for issue in issues:
        where = f":{issue.line}:{issue.column or 1}" if issue.line is not None else ""
        description = f"{issue.message}{where and f' (line{where})'} [{issue.code}]"
        if issue.expected or issue.found:
            description += f"; expected {issue.expected or '?'}, found {issue.found or '?'}"
        if issue.fix:
            description += f"; fix: {issue.fix}"
        field = issue.pointer or "/"
        out.append((field, description))
    return out


# A status travels in response headers, which clients cap (8 KiB soft, 16 KiB hard, in
# grpc-core): the message and the violations are clipped so that any status fits, however
# long the input a message quotes.
MAX_MESSAGE_BYTES = 512
MAX_VIOLATION_BYTES = 512
MAX_VIOLATIONS = 8


def clip(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8 (on a character boundary, with …)."""
    data = text.encode("utf-8", "replace")
    if len(data) <= max_bytes:
        return text
    return data[: max_bytes - 3].decode("utf-8", "ignore") + "…"


def _bounded(violations: list[tuple[str, str]]) -> list[tuple[str, str]]:
    half = MAX_VIOLATION_BYTES // 2
    kept = [
        (clip(f, half), clip(d, MAX_VIOLATION_BYTES - len(clip(f, half).encode())))
        for f, d in violations[:MAX_VIOLATIONS]
    ]
    if len(violations) > MAX_VIOLATIONS:
        kept.append(("…", f"… and {len(violations) - MAX_VIOLATIONS} more problem(s)"))
    return kept


def _status(
    code: grpc.StatusCode, message: str, violations: list[tuple[str, str]], reason: str = ""
) -> grpc.Status:
    message = clip(message, MAX_MESSAGE_BYTES)
    violations = _bounded(violations)
    reason = clip(reason, 64)
    detail = status_pb2.Status(code=getattr(code_pb2, code.name), message=message)
    if violations:
        bad = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=f, description=d, reason=reason)
                for f, d in violations
            ]
        )
        packed = any_pb2.Any()
        packed.Pack(bad)
        detail.details.append(packed)
    return rpc_status.to_status(detail)


def log_unexpected(method: str, error: BaseException) -> grpc.Status:
    """An unexpected error: INTERNAL, logged by type only (messages may hold patient data)."""
    _log.error("internal error in %s: %s", method, type(error).__name__)
    return _status(grpc.StatusCode.INTERNAL, "internal error", [])
