"""The decision log: every eligibility and next-action answer, hash-chained, durable
before the response is sent, with signed checkpoints over a Merkle tree of it.

Storage sits behind :class:`DecisionLog`: :class:`SQLiteLog` (one file, one
process) or :class:`PostgresLog` (one database, any number of replicas, one
chain). Servicers, replay and audit see only the interface.
"""

from __future__ import annotations

from pathlib import Path

from flexmrt.server.decision_log.chain import LogEntry, Problem, VerifyReport, verify_chain
from flexmrt.server.decision_log.interface import DecisionLog, LogError, StoredCheckpoint
from flexmrt.server.decision_log.sqlite import SQLiteLog

__all__ = [
    "DecisionLog",
    "LogEntry",
    "LogError",
    "Problem",
    "SQLiteLog",
    "StoredCheckpoint",
    "VerifyReport",
    "open_log",
    "verify_chain",
]


def open_log(location: str | Path, *, read_only: bool = False, wait_s: float = 30.0) -> DecisionLog:
    """The decision log at ``location``: a ``postgresql://`` URL or a SQLite file path.

    ``read_only`` opens an existing log without creating anything (audit, export);
    ``wait_s`` bounds how long a SQLite reader waits on a lock.
    """
    text = str(location)
    if text.startswith(("postgres://", "postgresql://")):
        from flexmrt.server.decision_log.postgres import PostgresLog

        return PostgresLog(text, read_only=read_only)
    return SQLiteLog(Path(text), read_only=read_only, wait_s=wait_s)
