"""Replay logged decisions: re-run the engine on the logged input and compare answers."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

from protocol import ProtocolError, Registry, canonical_json
from server.decision_log.chain import LogEntry

__all__ = ["logged_cases", "replay", "replay_all"]


def replay(entry: LogEntry, registry: Registry) -> str | None:
    """None when ``entry`` replays to the identical answer, else what differs."""
    import engine

    if entry.engine_version != engine.ENGINE_VERSION:
        return (
            f"entry {entry.sequence}: logged by engine {entry.engine_version}, "
            f"this is {engine.ENGINE_VERSION}"
        )
    try:
        protocol = registry.resolve(entry.protocol_ref)
    except ProtocolError:
        return f"entry {entry.sequence}: protocol {entry.protocol_ref} is not available"
    if protocol.sha256 != entry.protocol_sha256:
        return f"entry {entry.sequence}: protocol {entry.protocol_ref} content differs"
    record = engine.parse_record(json.loads(entry.input_json))
    as_of = date.fromisoformat(entry.as_of)
    run = engine.eligibility if entry.kind == "eligibility" else engine.decide
    if canonical_json(run(protocol, record, as_of)) != entry.answer_json:
        return f"entry {entry.sequence}: decision {entry.decision_id} replays differently"
    return None


def _entries(db: Path) -> list[LogEntry]:
    """Every entry of the SQLite log at ``db``, in sequence order (read-only)."""
    if not db.is_file():
        raise FileNotFoundError(f"{db}: no decision log here")
    columns = LogEntry.columns()
    conn = sqlite3.connect(f"file:{db.resolve()}?mode=ro", uri=True)
    try:
        rows = conn.execute(f"SELECT {', '.join(columns)} FROM entries ORDER BY sequence")
        return [LogEntry(**dict(zip(columns, r, strict=True))) for r in rows]
    finally:
        conn.close()


def logged_cases(db: str | Path) -> list[tuple[Any, date]]:
    """(record, as_of) of every distinct logged decision, from the canonical input kept."""
    import engine

    seen: set[tuple[str, str]] = set()
    cases = []
    for entry in _entries(Path(db)):
        key = (entry.input_sha256, entry.as_of)
        if key not in seen:
            seen.add(key)
            cases.append(
                (engine.parse_record(json.loads(entry.input_json)), date.fromisoformat(entry.as_of))
            )
    return cases


def replay_all(db: Path, protocol_dirs: list[str]) -> list[str]:
    """Replay every entry of the SQLite log at ``db``; the list of mismatches."""
    registry = Registry.bundled([Path(d) for d in protocol_dirs])
    results = [replay(entry, registry) for entry in _entries(db)]
    return [r for r in results if r is not None]
