"""The engine's one error type: input that cannot be evaluated (not missing data)."""

from __future__ import annotations

from dataclasses import dataclass, field

from protocol.errors import Issue

__all__ = ["Issue", "RecordError"]


@dataclass
class RecordError(ValueError):
    """An invalid patient record: every problem, each with its JSON pointer.

    Missing clinical data is not an error (it makes rules INDETERMINATE); a value
    of the wrong type, an unknown unit or a unit that does not fit the field is.
    """

    code: str
    message: str
    issues: list[Issue] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return "\n".join([self.message, *(f"  {i}" for i in self.issues)])
