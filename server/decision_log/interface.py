"""What servicers and the CLI need from decision-log storage."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from flexmrt.server.decision_log.chain import LogEntry, VerifyReport
from flexmrt.server.decision_log.merkle import TreeBuilder

__all__ = ["DecisionLog", "LogError", "StoredCheckpoint"]

#: (tree size, signed checkpoint text) as stored beside the entries.
StoredCheckpoint = tuple[int, str]


class LogError(ValueError):
    """The decision log cannot be opened or read: names the log and what to do."""


class DecisionLog(Protocol):
    """Append-only, hash-chained storage of logged answers."""

    #: Where the log is (a path, or a URL without its password), for messages.
    location: str

    def append(self, entry: LogEntry) -> LogEntry:
        """Seal (sequence, time, chain hashes) and store ``entry``; return once durable."""
        ...

    def append_many(self, entries: list[LogEntry]) -> list[LogEntry]:
        """:meth:`append` for several entries at once (committed together where possible)."""
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

    def entries(self, after: int = 0) -> Iterator[LogEntry]:
        """Every entry with sequence > ``after`` in sequence order, streamed (constant memory)."""
        ...

    def links(self, after: int = 0, upto: int | None = None) -> Iterator[tuple[int, str, str]]:
        """(sequence, prev_hash, entry_hash) of the entries in (after, upto], in order."""
        ...

    def verify(self, tree: TreeBuilder | None = None) -> VerifyReport:
        """Check the whole chain and its head in one snapshot (``tree`` gets every leaf)."""
        ...

    def store_checkpoint(self, size: int, text: str) -> None:
        """Keep a signed checkpoint of the first ``size`` entries (once per size)."""
        ...

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        """The stored checkpoint of the largest tree size."""
        ...

    def checkpoints(self) -> list[StoredCheckpoint]:
        """Every stored checkpoint, smallest tree first."""
        ...

    def ingest(self, entries: Iterable[LogEntry], checkpoints: Iterable[StoredCheckpoint]) -> int:
        """Store already-sealed entries verbatim into this empty log (migration); the count."""
        ...

    def close(self) -> None:
        """Finish pending writes and release the storage."""
        ...
