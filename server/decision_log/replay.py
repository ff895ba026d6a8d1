"""Replay logged decisions: re-run the engine on the logged input and compare answers."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

from protocol import ProtocolError, Registry, canonical_json
from server.decision_log.chain import LogEntry

__all__ = ["replay", "replay_all"]


def replay(entry: LogEntry, registry: Registry) -> str | None:
    """None when ``entry`` replays to the identical answer, else what differs."""
    import engine

    if entry.engine_version != engine.ENGINE_VERSION:
        return (f"entry {entry.sequence}: logged by engine {entry.engine_version}, "
                f"this is {engine.ENGINE_VERSION}")
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


def replay_all(db: Path, protocol_dirs: list[str]) -> list[str]:
    """Replay every entry of the SQLite log at ``db``; the list of mismatches."""
    registry = Registry.bundled([Path(d) for d in protocol_dirs])
    columns = LogEntry.columns()
    conn = sqlite3.connect(f"file:{db.resolve()}?mode=ro", uri=True)
    try:
        rows = conn.execute(f"SELECT {', '.join(columns)} FROM entries ORDER BY sequence")
        results = [replay(LogEntry(**dict(zip(columns, r, strict=True))), registry)
                   for r in rows]
    finally:
        conn.close()
    return [r for r in results if r is not None]
