"""The decision log on PostgreSQL: one hash chain shared by every replica.

Each replica has one writer connection (group commit, as with SQLite). A batch is
one transaction: ``SELECT … FROM chain_head WHERE id = 1 FOR UPDATE`` serialises
the appends of all replicas on the head row; the entries are sealed (sequence =
head + 1, …; ``prev_hash`` = the head's hash; the time is taken by the replica
after the lock and hashed as text inside the canonical JSON — never a database
timestamp), inserted, and the head moved, then committed with
``synchronous_commit = on``. A unique index on ``prev_hash`` makes a fork (two
entries with one predecessor) impossible to store. Reads stream through server-side
cursors, so ``entries()`` and ``verify()`` use constant memory; ``verify()`` reads
the head and the entries in one REPEATABLE READ snapshot.
"""

from __future__ import annotations

import queue
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from flexmrt.server.decision_log.chain import LogEntry, VerifyReport, verify_chain
from flexmrt.server.decision_log.interface import LogError, StoredCheckpoint
from flexmrt.server.decision_log.merkle import TreeBuilder
from flexmrt.server.decision_log.sqlite import utc_now
from flexmrt.server.decision_log.writer import GroupCommit

__all__ = ["PostgresLog", "is_postgres_url"]

_COLUMNS = LogEntry.columns()
_LOCK_SCHEMA = 0x666C786D  # advisory lock id ("flxm") held while creating the tables
_SCHEMA = [
    f"""CREATE TABLE IF NOT EXISTS entries (
        sequence BIGINT PRIMARY KEY,
        {", ".join(f"{c} TEXT NOT NULL" for c in _COLUMNS if c != "sequence")}
    )""",
    "CREATE INDEX IF NOT EXISTS entries_decision ON entries (decision_id, sequence)",
    "CREATE INDEX IF NOT EXISTS entries_subject ON entries (subject_id, sequence)",
    "CREATE UNIQUE INDEX IF NOT EXISTS entries_one_successor ON entries (prev_hash)",
    """CREATE TABLE IF NOT EXISTS chain_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        sequence BIGINT NOT NULL,
        entry_hash TEXT NOT NULL
    )""",
    # The head row is made with the log, never again: a deleted head stays missing.
    """INSERT INTO chain_head (id, sequence, entry_hash)
       SELECT 1, 0, '' WHERE NOT EXISTS (SELECT 1 FROM entries)
       ON CONFLICT (id) DO NOTHING""",
    """CREATE TABLE IF NOT EXISTS checkpoints (
        tree_size BIGINT PRIMARY KEY,
        text TEXT NOT NULL
    )""",
]
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM entries"
_INSERT = (
    f"INSERT INTO entries ({', '.join(_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_COLUMNS))})"
)
_FETCH = 500
_POOL = 4  # idle read connections kept per replica


def is_postgres_url(location: str) -> bool:
    return location.startswith(("postgres://", "postgresql://"))


def redact(url: str) -> str:
    """``url`` without its password, for messages and process logs."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)


def _entry(row: tuple[Any, ...]) -> LogEntry:
    return LogEntry(**dict(zip(_COLUMNS, row, strict=True)))


class PostgresLog:
    """The log in one PostgreSQL database; ``read_only`` opens an existing log (no tables made)."""

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self.url = url
        self.location = redact(url)
        self._idle: queue.LifoQueue[psycopg.Connection[Any]] = queue.LifoQueue()
        self._conn: psycopg.Connection[Any] | None = None
        self._writer: GroupCommit | None = None
        if read_only:
            with self._connection() as conn:
                found = conn.execute("SELECT to_regclass('entries')").fetchone()
            if found is None or found[0] is None:
                raise LogError(f"{self.location}: no flexmrt decision log in this database")
            return
        with self._connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_SCHEMA,))
            for statement in _SCHEMA:
                conn.execute(statement)
        self._writer = GroupCommit(self._commit, "decision-log")

    def _connect(self, autocommit: bool = True) -> psycopg.Connection[Any]:
        try:
            conn = psycopg.connect(self.url, autocommit=autocommit, connect_timeout=10)
        except psycopg.Error as error:
            raise LogError(
                f"{self.location}: cannot connect to PostgreSQL ({_first(error)})"
            ) from None
        conn.execute("SET synchronous_commit = on")
        if not autocommit:
            conn.commit()  # end the SET's transaction: read_only and isolation can still be set
        return conn

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled autocommit connection (a broken one is dropped, never reused)."""
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self._connect()
        try:
            yield conn
        except psycopg.Error as error:
            conn.close()
            raise LogError(f"{self.location}: {_first(error)}") from None
        if conn.closed or conn.broken or self._idle.qsize() >= _POOL:
            conn.close()
        else:
            self._idle.put(conn)

    # ---- writing ---------------------------------------------------------------------------

    def append(self, entry: LogEntry) -> LogEntry:
        if self._writer is None:
            raise LogError(f"{self.location}: opened read-only")
        return self._writer.submit(entry)

    def append_many(self, entries: list[LogEntry]) -> list[LogEntry]:
        if self._writer is None:
            raise LogError(f"{self.location}: opened read-only")
        return self._writer.submit_many(entries)

    def _commit(self, entries: list[LogEntry]) -> list[LogEntry]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = self._connect(autocommit=False)
        conn = self._conn
        try:
            with conn.transaction():
                head = conn.execute(
                    "SELECT sequence, entry_hash FROM chain_head WHERE id = 1 FOR UPDATE"
                ).fetchone()
                if head is None:
                    raise LogError(
                        f"{self.location}: the chain head row is missing; refusing to append "
                        "(run `flexmrt audit verify` and restore the log)"
                    )
                sequence, prev = int(head[0]), str(head[1])
                now = utc_now()
                sealed = []
                for entry in entries:
                    sequence += 1
                    entry = entry.sealed(sequence, now, prev)
                    prev = entry.entry_hash
                    sealed.append(entry)
                with conn.cursor() as cur:
                    cur.executemany(_INSERT, [[getattr(e, c) for c in _COLUMNS] for e in sealed])
                conn.execute(
                    "UPDATE chain_head SET sequence = %s, entry_hash = %s WHERE id = 1",
                    (sequence, prev),
                )
        except psycopg.OperationalError as error:
            conn.close()  # reconnect for the next batch; this one's callers hear of it
            raise LogError(f"{self.location}: {_first(error)}") from None
        return sealed

    def store_checkpoint(self, size: int, text: str) -> None:
        with self._connection() as conn:
            conn.execute(
                "INSERT INTO checkpoints (tree_size, text) VALUES (%s, %s) "
                "ON CONFLICT (tree_size) DO NOTHING",
                (size, text),
            )

    def ingest(self, entries: Iterable[LogEntry], checkpoints: Iterable[StoredCheckpoint]) -> int:
        conn = self._connect(autocommit=False)
        try:
            with conn.transaction():
                conn.execute("LOCK TABLE chain_head IN EXCLUSIVE MODE")
                if conn.execute("SELECT 1 FROM entries LIMIT 1").fetchone():
                    raise LogError(f"{self.location}: not empty; migrate only into an empty log")
                count, last = 0, (0, "")
                copy_sql = sql.SQL("COPY entries ({}) FROM STDIN").format(
                    sql.SQL(", ").join(sql.Identifier(c) for c in _COLUMNS)
                )
                with conn.cursor() as cur, cur.copy(copy_sql) as copy:
                    for entry in entries:
                        copy.write_row([getattr(entry, c) for c in _COLUMNS])
                        count, last = count + 1, (entry.sequence, entry.entry_hash)
                conn.execute(
                    "INSERT INTO chain_head (id, sequence, entry_hash) VALUES (1, %s, %s) "
                    "ON CONFLICT (id) DO UPDATE SET sequence = EXCLUDED.sequence, "
                    "entry_hash = EXCLUDED.entry_hash",
                    last,
                )
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO checkpoints (tree_size, text) VALUES (%s, %s) "
                        "ON CONFLICT (tree_size) DO NOTHING",
                        list(checkpoints),
                    )
        except psycopg.Error as error:
            raise LogError(f"{self.location}: {_first(error)}") from None
        finally:
            conn.close()
        return count

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._conn is not None:
            self._conn.close()
        while not self._idle.empty():
            self._idle.get_nowait().close()

    # ---- reading ---------------------------------------------------------------------------

    def _rows(self, where: str, args: tuple[object, ...]) -> list[LogEntry]:
        with self._connection() as conn:
            rows = conn.execute(f"{_SELECT} {where}", args).fetchall()
        return [_entry(r) for r in rows]

    def get(self, sequence: int) -> LogEntry | None:
        found = self._rows("WHERE sequence = %s", (sequence,))
        return found[0] if found else None

    def latest(self, decision_id: str) -> LogEntry | None:
        found = self._rows("WHERE decision_id = %s ORDER BY sequence DESC LIMIT 1", (decision_id,))
        return found[0] if found else None

    def by_subject(self, subject_id: str, after: int, limit: int) -> list[LogEntry]:
        return self._rows(
            "WHERE subject_id = %s AND sequence > %s ORDER BY sequence LIMIT %s",
            (subject_id, after, limit),
        )

    def _stream(self, query: str, args: tuple[object, ...]) -> Iterator[tuple[Any, ...]]:
        """Rows of ``query`` through a server-side cursor in a read-only snapshot."""
        conn = self._connect(autocommit=False)
        try:
            conn.read_only = True
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            with conn.transaction(), conn.cursor(name="flexmrt_stream") as cur:
                cur.itersize = _FETCH
                cur.execute(query, args)
                yield from cur
        except psycopg.Error as error:
            raise LogError(f"{self.location}: {_first(error)}") from None
        finally:
            conn.close()

    def entries(self, after: int = 0) -> Iterator[LogEntry]:
        rows = self._stream(f"{_SELECT} WHERE sequence > %s ORDER BY sequence", (after,))
        return (_entry(r) for r in rows)

    def links(self, after: int = 0, upto: int | None = None) -> Iterator[tuple[int, str, str]]:
        return self._stream(
            "SELECT sequence, prev_hash, entry_hash FROM entries "
            "WHERE sequence > %s AND sequence <= %s ORDER BY sequence",
            (after, upto if upto is not None else 2**62),
        )

    def verify(self, tree: TreeBuilder | None = None) -> VerifyReport:
        conn = self._connect(autocommit=False)
        try:
            conn.read_only = True
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            with conn.transaction():
                row = conn.execute(
                    "SELECT sequence, entry_hash FROM chain_head WHERE id = 1"
                ).fetchone()
                head = (int(row[0]), str(row[1])) if row else None
                with conn.cursor(name="flexmrt_verify") as cur:
                    cur.itersize = _FETCH
                    cur.execute(f"{_SELECT} ORDER BY sequence")
                    return verify_chain((_entry(r) for r in cur), head, tree)
        except psycopg.Error as error:
            raise LogError(f"{self.location}: {_first(error)}") from None
        finally:
            conn.close()

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT tree_size, text FROM checkpoints ORDER BY tree_size DESC LIMIT 1"
            ).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def checkpoints(self) -> list[StoredCheckpoint]:
        with self._connection() as conn:
            rows = conn.execute("SELECT tree_size, text FROM checkpoints ORDER BY tree_size")
            return [(int(s), str(t)) for s, t in rows.fetchall()]


def _first(error: BaseException) -> str:
    """The first line of a driver error (no query text, no parameters)."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
