"""Errors of the protocol package: one exception type, stable codes, locations."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

__all__ = ["MAX_MESSAGE", "Issue", "IssuesError", "ProtocolError", "clipped", "locate"]

MAX_MESSAGE = 300  # characters of a message that may quote the input (a value can be huge)


@dataclass(frozen=True)
class Issue:
    """One problem found in a protocol (or a record): what, where, and how to fix it.

    ``pointer`` is an RFC 6901 JSON pointer into the document; ``line`` and
    ``column`` are 1-based positions in the source file when it came from YAML.
    """

    code: str
    message: str
    pointer: str = ""
    file: str = ""
    line: int | None = None
    column: int | None = None
    expected: str = ""
    found: str = ""
    fix: str = ""

    def location(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        return f"{where} {self.pointer or '/'}"

    def __str__(self) -> str:
        text = f"{self.location()}: {self.message}"
        if self.expected or self.found:
            text += f" (expected {self.expected or '?'}, found {self.found or '?'})"
        if self.fix:
            text += f"; fix: {self.fix}"
        return f"{text} [{self.code}]"

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "pointer": self.pointer,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "expected": self.expected,
            "found": self.found,
            "fix": self.fix,
        }


@dataclass
class IssuesError(ValueError):
    """Base of the packages' error types: a stable ``code``, a headline, every issue."""

    code: str
    message: str
    issues: list[Issue] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return "\n".join([self.message, *(f"  {issue}" for issue in self.issues)])


class ProtocolError(IssuesError):
    """A protocol (or reference to one) that cannot be used.

    ``code`` is stable (``schema_violation``, ``unknown_parameter``, ``not_found`` …);
    ``issues`` lists every problem found, the first being the headline.
    """


def locate(issue: Issue, positions: dict[str, tuple[int, int]] | None, file: str) -> Issue:
    """``issue`` with ``file`` and the line/column of its pointer (or nearest ancestor)."""
    positions = positions or {}
    pointer = issue.pointer
    while pointer not in positions and pointer:
        pointer = pointer.rsplit("/", 1)[0]
    line, column = positions.get(pointer, (None, None))
    return replace(issue, file=file, line=line, column=column)


def clipped(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` cut to ``limit`` characters (with …): messages quote a bounded prefix."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
