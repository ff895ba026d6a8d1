"""The engine's one error type: input that cannot be evaluated (not missing data)."""

from __future__ import annotations

from flexmrt.protocol.errors import Issue, IssuesError

__all__ = ["Issue", "RecordError"]


class RecordError(IssuesError):
    """An invalid patient record: every problem, each with its JSON pointer.

    Missing clinical data is not an error (it makes rules INDETERMINATE); a value
    of the wrong type, an unknown unit or a unit that does not fit the field is.
    """
