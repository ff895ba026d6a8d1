"""What every converter returns, and the error it raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flexmrt.protocol.errors import Issue, IssuesError

__all__ = ["ConversionError", "ImportNote", "ImportResult"]


class ConversionError(IssuesError):
    """Input that cannot become a record (``code`` stable, every issue located)."""


@dataclass(frozen=True)
class ImportNote:
    """Something a coordinator must know about the conversion.

    ``kind`` is ``unmapped`` (an element flexmrt does not read), ``ignored`` (a result
    left out on purpose: entered in error, cancelled, superseded by a correction) or
    ``marked`` (kept, but not final: a preliminary result). ``where`` locates it in the
    source (a Bundle entry and resource, or a dataset row).
    """

    kind: str
    where: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "where": self.where, "message": self.message}

    def __str__(self) -> str:
        return f"{self.kind}: {self.where}: {self.message}"


@dataclass
class ImportResult:
    """The record document built from the source, and the notes on the way."""

    record: dict[str, Any]
    notes: list[ImportNote] = field(default_factory=list)

    def note(self, kind: str, where: str, message: str) -> None:
        self.notes.append(ImportNote(kind, where, message))


def problem(code: str, message: str, where: str, fix: str = "", found: str = "") -> Issue:
    """An Issue located in the source (``where`` goes into the pointer slot)."""
    return Issue(code, message, where, fix=fix, found=found[:80])
