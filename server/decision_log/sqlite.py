"""The embedded decision log: SQLite in WAL mode with synchronous=FULL and group commit.

One writer thread owns the write connection. Callers of :meth:`SQLiteLog.append`
queue their entry and wait; the writer takes every entry waiting, chains and
inserts them in one ``BEGIN IMMEDIATE`` transaction, commits (fsync), and only
then releases the callers — so no response goes out before its entry is durable,
while concurrent calls share one commit.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path

from server.decision_log.chain import LogEntry, VerifyReport, verify_chain

__all__ = ["SQLiteLog", "open_log"]

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
"""
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM entries"
_INSERT = f"INSERT INTO entries ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
_BATCH_MAX = 512


def open_log(location: str | Path) -> SQLiteLog:
    """The decision log at ``location`` (a SQLite file path)."""
    text = str(location)
    if text.startswith(("postgres://", "postgresql://")):
        raise ValueError(
            "the PostgreSQL decision log is not built in this release; "
            "use a SQLite path (see the README's deployment note)"
        )
    return SQLiteLog(Path(text))


class SQLiteLog:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = self._connect()
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(_SCHEMA)
        self._queue: queue.Queue[tuple[LogEntry, Future[LogEntry]] | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write_loop, name="decision-log", daemon=True)
        self._writer.start()
        self._closed = False

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    # ---- writing ---------------------------------------------------------------------------

    def append(self, entry: LogEntry) -> LogEntry:
        if self._closed:
            raise RuntimeError("decision log is closed")
        done: Future[LogEntry] = Future()
        self._queue.put((entry, done))
        return done.result()

    def _write_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < _BATCH_MAX:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._commit_batch(batch)
            if stop:
                return

    def _commit_batch(self, batch: list[tuple[LogEntry, Future[LogEntry]]]) -> None:
        try:
            sealed = self._commit([entry for entry, _ in batch])
        except Exception as error:  # every waiting caller hears of it
            for _, done in batch:
                done.set_exception(error)
            return
        for (_, done), entry in zip(batch, sealed, strict=True):
            done.set_result(entry)

    def _commit(self, entries: list[LogEntry]) -> list[LogEntry]:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(
                "SELECT sequence, entry_hash FROM entries ORDER BY sequence DESC LIMIT 1"
            ).fetchone()
            sequence, prev = row if row else (0, "")
            now = _utc_now()
            sealed = []
            for entry in entries:
                sequence += 1
                entry = entry.sealed(sequence, now, prev)
                conn.execute(_INSERT, [getattr(entry, c) for c in _COLUMNS])
                prev = entry.entry_hash
                sealed.append(entry)
            conn.execute(
                "INSERT OR REPLACE INTO chain_head (id, sequence, entry_hash) VALUES (1, ?, ?)",
                (sequence, prev),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return sealed

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._writer.join()
        self._conn.close()

    # ---- reading ---------------------------------------------------------------------------

    def _rows(self, where: str, args: tuple[object, ...]) -> list[LogEntry]:
        conn = sqlite3.connect(self.path, timeout=30.0)
        try:
            rows = conn.execute(f"{_SELECT} {where}", args).fetchall()
        finally:
            conn.close()
        return [LogEntry(**dict(zip(_COLUMNS, r, strict=True))) for r in rows]

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

    def verify(self) -> VerifyReport:
        return verify_sqlite(self.path)


def verify_sqlite(path: Path) -> VerifyReport:
    """Verify the chain in the SQLite file at ``path`` (read-only)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no decision log here")
    conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=30.0)
    try:
        rows = conn.execute(f"{_SELECT} ORDER BY sequence")
        entries = (LogEntry(**dict(zip(_COLUMNS, r, strict=True))) for r in rows)
        head_row = conn.execute("SELECT sequence, entry_hash FROM chain_head").fetchone()
        return verify_chain(entries, tuple(head_row) if head_row else None)
    finally:
        conn.close()


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
