"""The embedded decision log: SQLite in WAL mode with synchronous=FULL and group commit.

One write connection, used by one commit at a time
(:class:`~server.decision_log.writer.GroupCommit`): every entry waiting is chained
and inserted in one ``BEGIN IMMEDIATE`` transaction, committed (fsync), and only then
are the callers released. Reads use their own
read-only connections; a file that is not SQLite, empty, or locked is a
:class:`LogError` naming the file, never a traceback.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flexmrt.server.decision_log.chain import LogEntry, VerifyReport, verify_chain
from flexmrt.server.decision_log.interface import LogError, StoredCheckpoint
from flexmrt.server.decision_log.merkle import TreeBuilder
from flexmrt.server.decision_log.writer import GroupCommit

__all__ = ["SQLiteLog", "verify_sqlite"]

_COLUMNS = LogEntry.columns()
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS entries (
    sequence INTEGER PRIMARY KEY,
    {", ".join(f"{c} TEXT NOT NULL" for c in _COLUMNS if c != "sequence")}
);
CREATE INDEX IF NOT EXISTS entries_decision ON entries (decision_id, sequence);
CREATE INDEX IF NOT EXISTS entries_subject ON entries (subject_id, sequence);
CREATE TABLE IF NOT EXISTS chain_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sequence INTEGER NOT NULL,
    entry_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    tree_size INTEGER PRIMARY KEY,
    text TEXT NOT NULL
);
"""
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM entries"
_INSERT = f"INSERT INTO entries ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
_SET_HEAD = "INSERT OR REPLACE INTO chain_head (id, sequence, entry_hash) VALUES (1, ?, ?)"
_FETCH = 500  # rows per fetch when streaming


def _entry(row: tuple[object, ...]) -> LogEntry:
    return LogEntry(**dict(zip(_COLUMNS, row, strict=True)))  # type: ignore[arg-type]


def _log_error(path: Path, error: sqlite3.Error) -> LogError:
    """What went wrong with the SQLite file at ``path``, in words."""
    text = str(error)
    if "locked" in text or "busy" in text:
        return LogError(
            f"{path}: the decision log is locked by another process; "
            "retry when it is released (or stop the process holding it)"
        )
    if "not a database" in text or "malformed" in text or "encrypted" in text:
        return LogError(f"{path}: not a SQLite decision log (the file is not a SQLite database)")
    if "no such table" in text:
        if path.is_file() and path.stat().st_size == 0:
            return LogError(f"{path}: empty file, not a decision log")
        return LogError(f"{path}: a SQLite database but not a flexmrt decision log ({text})")
    if "unable to open" in text:
        return LogError(f"{path}: cannot open the decision log ({text})")
    return LogError(f"{path}: cannot read the decision log ({text})")


class SQLiteLog:
    """The log in one SQLite file; ``read_only`` opens an existing log for audit and export."""

    def __init__(self, path: Path, *, read_only: bool = False, wait_s: float = 30.0) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self._wait_s = wait_s
        self._writer: GroupCommit | None = None
        if read_only:
            _reader(self.path, wait_s).close()  # a LogError now when it is no log
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = self._connect()
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as error:
            raise _log_error(self.path, error) from None
        self._writer = GroupCommit(self._commit, "decision-log")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    # ---- writing ---------------------------------------------------------------------------

    def append(self, entry: LogEntry) -> LogEntry:
        if self._writer is None:
            raise LogError(f"{self.path}: opened read-only")
        return self._writer.submit(entry)

    def append_many(self, entries: list[LogEntry]) -> list[LogEntry]:
        if self._writer is None:
            raise LogError(f"{self.path}: opened read-only")
        return self._writer.submit_many(entries)

    def _commit(self, entries: list[LogEntry]) -> list[LogEntry]:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(
                "SELECT sequence, entry_hash FROM entries ORDER BY sequence DESC LIMIT 1"
            ).fetchone()
            sequence, prev = row if row else (0, "")
            now = utc_now()
            sealed = []
            for entry in entries:
                sequence += 1
                entry = entry.sealed(sequence, now, prev)
                conn.execute(_INSERT, [getattr(entry, c) for c in _COLUMNS])
                prev = entry.entry_hash
                sealed.append(entry)
            conn.execute(_SET_HEAD, (sequence, prev))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return sealed

    def store_checkpoint(self, size: int, text: str) -> None:
        with closing(self._connect()) as conn:
            conn.execute(
                "INSERT OR IGNORE INTO checkpoints (tree_size, text) VALUES (?, ?)", (size, text)
            )

    def ingest(self, entries: Iterable[LogEntry], checkpoints: Iterable[StoredCheckpoint]) -> int:
        with closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if conn.execute("SELECT 1 FROM entries LIMIT 1").fetchone():
                    raise LogError(f"{self.path}: not empty; migrate only into an empty log")
                count, last = 0, (0, "")
                for entry in entries:
                    conn.execute(_INSERT, [getattr(entry, c) for c in _COLUMNS])
                    count, last = count + 1, (entry.sequence, entry.entry_hash)
                if count:
                    conn.execute(_SET_HEAD, last)
                conn.executemany(
                    "INSERT OR IGNORE INTO checkpoints (tree_size, text) VALUES (?, ?)",
                    list(checkpoints),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return count

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._conn.close()

    # ---- reading ---------------------------------------------------------------------------

    def _rows(self, where: str, args: tuple[object, ...]) -> list[LogEntry]:
        with closing(sqlite3.connect(self.path, timeout=30.0)) as conn:
            rows = conn.execute(f"{_SELECT} {where}", args).fetchall()
        return [_entry(r) for r in rows]

    def get(self, sequence: int) -> LogEntry | None:
        found = self._rows("WHERE sequence = ?", (sequence,))
        return found[0] if found else None

    def latest(self, decision_id: str) -> LogEntry | None:
        found = self._rows("WHERE decision_id = ? ORDER BY sequence DESC LIMIT 1", (decision_id,))
        return found[0] if found else None

    def by_subject(self, subject_id: str, after: int, limit: int) -> list[LogEntry]:
        return self._rows(
            "WHERE subject_id = ? AND sequence > ? ORDER BY sequence LIMIT ?",
            (subject_id, after, limit),
        )

    def entries(self, after: int = 0) -> Iterator[LogEntry]:
        return read_entries(self.path, after, self._wait_s)

    def links(self, after: int = 0, upto: int | None = None) -> Iterator[tuple[int, str, str]]:
        limit = upto if upto is not None else 2**62
        sql = (
            "SELECT sequence, prev_hash, entry_hash FROM entries "
            "WHERE sequence > ? AND sequence <= ? ORDER BY sequence"
        )
        return _stream(self.path, sql, (after, limit), self._wait_s)

    def verify(self, tree: TreeBuilder | None = None) -> VerifyReport:
        return verify_sqlite(self.path, tree=tree, wait_s=self._wait_s)

    def checkpoints(self) -> list[StoredCheckpoint]:
        return read_checkpoints(self.path, self._wait_s)

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        stored = self.checkpoints()
        return stored[-1] if stored else None


def _reader(path: Path, wait_s: float) -> sqlite3.Connection:
    """A read-only connection to the log at ``path`` (LogError when it is no log)."""
    if not path.is_file():
        raise LogError(f"{path}: no decision log here")
    if path.stat().st_size == 0:
        raise LogError(f"{path}: empty file, not a decision log")
    try:
        conn = sqlite3.connect(
            f"file:{path.resolve()}?mode=ro", uri=True, timeout=wait_s, isolation_level=None
        )
        conn.execute("SELECT 1 FROM entries LIMIT 0")
    except sqlite3.Error as error:
        raise _log_error(path, error) from None
    return conn


def _stream(
    path: Path, sql: str, args: tuple[object, ...], wait_s: float
) -> Iterator[tuple[Any, ...]]:
    conn = _reader(path, wait_s)
    try:
        cursor = conn.execute(sql, args)
        while rows := cursor.fetchmany(_FETCH):
            yield from rows
    except sqlite3.Error as error:
        raise _log_error(path, error) from None
    finally:
        conn.close()


def read_entries(path: str | Path, after: int = 0, wait_s: float = 30.0) -> Iterator[LogEntry]:
    """Every entry of the SQLite log at ``path`` after ``after``, streamed in order."""
    sql = f"{_SELECT} WHERE sequence > ? ORDER BY sequence"
    return (_entry(r) for r in _stream(Path(path), sql, (after,), wait_s))


def read_checkpoints(path: str | Path, wait_s: float = 30.0) -> list[StoredCheckpoint]:
    """The stored checkpoints of the SQLite log at ``path``, smallest tree first."""
    with closing(_reader(Path(path), wait_s)) as conn:
        if not conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'checkpoints'"
        ).fetchone():
            return []
        rows = conn.execute("SELECT tree_size, text FROM checkpoints ORDER BY tree_size")
        return [(int(s), str(t)) for s, t in rows]


def verify_sqlite(
    path: str | Path, tree: TreeBuilder | None = None, wait_s: float = 30.0
) -> VerifyReport:
    """Verify the chain in the SQLite file at ``path`` (read-only, one snapshot)."""
    path = Path(path)
    conn = _reader(path, wait_s)
    try:
        conn.execute("BEGIN")
        head_row = conn.execute("SELECT sequence, entry_hash FROM chain_head").fetchone()
        cursor = conn.execute(f"{_SELECT} ORDER BY sequence")

        def rows() -> Iterator[LogEntry]:
            while batch := cursor.fetchmany(_FETCH):
                yield from (_entry(r) for r in batch)

        head = (int(head_row[0]), str(head_row[1])) if head_row else None
        return verify_chain(rows(), head, tree)
    except sqlite3.Error as error:
        raise _log_error(path, error) from None
    finally:
        conn.close()


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
