"""What servicers and the CLI need from decision-log storage."""

from __future__ import annotations

from typing import Protocol

from server.decision_log.chain import LogEntry, VerifyReport

__all__ = ["DecisionLog"]


class DecisionLog(Protocol):
    """Append-only, hash-chained storage of logged answers."""

    def append(self, entry: LogEntry) -> LogEntry:
        """Seal (sequence, time, chain hashes) and store ``entry``; return once durable."""
        ...

    def get(self, sequence: int) -> LogEntry | None:
        """The entry with this sequence number."""
        ...

    def latest(self, decision_id: str) -> LogEntry | None:
        """The most recent entry with this decision id."""
        ...

    def by_subject(self, subject_id: str, after: int, limit: int) -> list[LogEntry]:
        """Entries of one subject with sequence > ``after``, oldest first."""
        ...

    def verify(self) -> VerifyReport:
        """Check the whole chain."""
        ...

    def close(self) -> None:
        """Finish pending writes and release the storage."""
        ...
