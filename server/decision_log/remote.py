"""One SQLite log writer for several server processes (``flexmrt serve --workers N``).

SQLite lets one process write at a time; two processes appending to one file wait on
each other's locks with sleeping retries (measured 4–5× worse p99). So the parent of
the workers owns the log and its writer (:class:`LogWriterService`, group commit as
always), and each worker appends through a :class:`RemoteLog`: the worker's own group
commit gathers its concurrent appends into one batch, sends it over a local Unix
socket (authenticated with a per-run key) and waits for the seals (sequence, time,
hashes), which come back only once the entries are durable. On the wire an entry is
the tuple of its fields and a seal the tuple of the four it gained: no class
pickled, and the texts already sent are not sent back. Workers read the file
directly (SQLite WAL readers never block the writer).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import replace
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path

from flexmrt.server.decision_log.chain import LogEntry, VerifyReport
from flexmrt.server.decision_log.interface import DecisionLog, LogError, StoredCheckpoint
from flexmrt.server.decision_log.merkle import TreeBuilder
from flexmrt.server.decision_log.sqlite import SQLiteLog
from flexmrt.server.decision_log.writer import GroupCommit

__all__ = ["LogWriterService", "RemoteLog"]

_log = logging.getLogger("flexmrt.server")


#: An entry's fields as a worker sends them (what it knows before the log seals it).
_CONTENT = LogEntry.columns()[: LogEntry.columns().index("sequence")]


def _seal(entry: LogEntry) -> tuple[int, str, str, str]:
    """What sealing added to an entry, as the writer sends it back."""
    return entry.sequence, entry.recorded_at, entry.prev_hash, entry.entry_hash


class LogWriterService:
    """Serve appends to ``log`` on the Unix socket ``address`` until :meth:`close`."""

    def __init__(self, log: DecisionLog, address: str, authkey: bytes) -> None:
        self.log = log
        self.address = address
        self._listener = Listener(address, family="AF_UNIX", authkey=authkey)
        self._connections: list[Connection] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="log-writer", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn = self._listener.accept()
            except OSError:
                return  # closed
            except Exception as error:  # a client that failed the handshake
                _log.warning("log writer: connection refused (%s)", type(error).__name__)
                continue
            with self._lock:
                self._connections.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: Connection) -> None:
        """One worker's batches, in order: append them, send back the sealed entries."""
        with conn:
            while True:
                try:
                    batch = conn.recv()
                except (EOFError, OSError):
                    return  # the worker closed or died
                try:
                    sealed = self.log.append_many([LogEntry(*fields) for fields in batch])
                    reply: object = [_seal(e) for e in sealed]
                except Exception as error:  # the worker's callers hear of it
                    reply = LogError(str(error))
                try:
                    conn.send(reply)
                except OSError:
                    return

    def close(self) -> None:
        """Stop accepting, then flush and close the log."""
        self._listener.close()
        with self._lock:
            for conn in self._connections:
                conn.close()
        self.log.close()


class RemoteLog:
    """A worker's view of the log: appends go to the writer, reads to the file."""

    def __init__(self, address: str, authkey: bytes, path: str | Path) -> None:
        self._reader = SQLiteLog(Path(path), read_only=True)
        self.location = self._reader.location
        try:
            self._conn = Client(address, family="AF_UNIX", authkey=authkey)
        except OSError as error:
            raise LogError(f"{self.location}: cannot reach the log writer ({error})") from None
        self._writer = GroupCommit(self._send, "decision-log")

    def _send(self, entries: list[LogEntry]) -> list[LogEntry]:
        try:
            self._conn.send([tuple(getattr(e, c) for c in _CONTENT) for e in entries])
            reply = self._conn.recv()
        except (EOFError, OSError):
            raise LogError(f"{self.location}: the log writer is gone") from None
        if isinstance(reply, Exception):
            raise reply
        if len(reply) != len(entries):
            raise LogError(f"{self.location}: the log writer sealed {len(reply)} of {len(entries)}")
        return [
            replace(e, sequence=seq, recorded_at=at, prev_hash=prev, entry_hash=digest)
            for e, (seq, at, prev, digest) in zip(entries, reply, strict=True)
        ]

    def append(self, entry: LogEntry) -> LogEntry:
        return self._writer.submit(entry)

    def append_many(self, entries: list[LogEntry]) -> list[LogEntry]:
        return self._writer.submit_many(entries)

    def get(self, sequence: int) -> LogEntry | None:
        return self._reader.get(sequence)

    def latest(self, decision_id: str) -> LogEntry | None:
        return self._reader.latest(decision_id)

    def by_subject(self, subject_id: str, after: int, limit: int) -> list[LogEntry]:
        return self._reader.by_subject(subject_id, after, limit)

    def entries(self, after: int = 0) -> Iterator[LogEntry]:
        return self._reader.entries(after)

    def links(self, after: int = 0, upto: int | None = None) -> Iterator[tuple[int, str, str]]:
        return self._reader.links(after, upto)

    def verify(self, tree: TreeBuilder | None = None) -> VerifyReport:
        return self._reader.verify(tree)

    def store_checkpoint(self, size: int, text: str) -> None:
        raise LogError(f"{self.location}: checkpoints are signed by the log writer")

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        return self._reader.latest_checkpoint()

    def checkpoints(self) -> list[StoredCheckpoint]:
        return self._reader.checkpoints()

    def ingest(self, entries: Iterable[LogEntry], checkpoints: Iterable[StoredCheckpoint]) -> int:
        raise LogError(f"{self.location}: migrate into a log no server is running on")

    def close(self) -> None:
        self._writer.close()
        self._conn.close()
