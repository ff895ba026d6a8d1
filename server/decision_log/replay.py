"""Replay logged decisions: re-run the engine on the logged input and compare answers.

Entries come through :meth:`DecisionLog.entries`, streamed: any backend, constant
memory in the number of entries.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from flexmrt.protocol import ProtocolError, Registry, canonical_json
from flexmrt.server.decision_log.chain import LogEntry
from flexmrt.server.decision_log.interface import DecisionLog

__all__ = ["count_entries", "iter_logged_cases", "replay", "replay_all"]


def replay(entry: LogEntry, registry: Registry) -> str | None:
    """None when ``entry`` replays to the identical answer, else what differs."""
    from flexmrt import engine

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
    answer: engine.Eligibility | engine.Decision = (
        engine.eligibility(protocol, record, as_of)
        if entry.kind == "eligibility"
        else engine.decide(protocol, record, as_of)
    )
    if canonical_json(answer.to_json()) != entry.answer_json:
        return f"entry {entry.sequence}: decision {entry.decision_id} replays differently"
    return None


@contextmanager
def _log(source: str | Path | DecisionLog) -> Iterator[DecisionLog]:
    """The log at ``source``, opened read-only and closed after use (its PostgreSQL
    connections too); a log given open is its owner's to close."""
    if not isinstance(source, str | Path):
        yield source
        return
    from flexmrt.server.decision_log import open_log

    log = open_log(source, read_only=True)
    try:
        yield log
    finally:
        log.close()


def _require(source: str | Path | DecisionLog) -> None:
    local = isinstance(source, Path) or (isinstance(source, str) and "://" not in source)
    if local and not Path(str(source)).is_file():
        raise FileNotFoundError(f"{source}: no decision log here")


def iter_logged_cases(source: str | Path | DecisionLog) -> Iterator[tuple[Any, date]]:
    """(record, as_of) of every distinct logged decision, parsed one at a time as consumed.

    Memory holds one record, plus the (input sha256, date) pairs seen to skip repeats.
    """
    from flexmrt import engine

    _require(source)
    seen: set[tuple[str, str]] = set()
    with _log(source) as log:
        for entry in log.entries():
            key = (entry.input_sha256, entry.as_of)
            if key not in seen:
                seen.add(key)
                record = engine.parse_record(json.loads(entry.input_json))
                yield record, date.fromisoformat(entry.as_of)


def count_entries(source: str | Path | DecisionLog) -> int:
    """How many entries the log holds (streamed: for a progress bar)."""
    _require(source)
    with _log(source) as log:
        return sum(1 for _ in log.links())


def replay_all(source: str | Path | DecisionLog, protocol_dirs: list[str]) -> list[str]:
    """Replay every entry of the log; the list of mismatches."""
    registry = Registry.bundled([Path(d) for d in protocol_dirs])
    with _log(source) as log:
        results = (replay(entry, registry) for entry in log.entries())
        return [r for r in results if r is not None]
