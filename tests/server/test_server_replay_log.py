"""Reading a log given by its location closes what was opened: PostgreSQL connections
(psycopg warns of one deleted while open), SQLite files."""

from __future__ import annotations

import gc
import warnings
from datetime import date
from pathlib import Path

import pytest

from flexmrt import engine
from flexmrt.protocol import Registry, canonical_json
from flexmrt.server.decision_log import LogEntry, open_log
from flexmrt.server.decision_log.replay import count_entries, iter_logged_cases, replay_all

_ROOT = Path(__file__).resolve().parents[2]


def _logged(location: str | Path) -> None:
    """A log at ``location`` holding one real decision (it replays identically)."""
    protocol = Registry.bundled().resolve("flex-mrt")
    record = engine.read_record_text(
        (_ROOT / "examples/patients/flx-001-eligible.yaml").read_text(encoding="utf-8")
    )
    answer = engine.decide(protocol, record, date(2025, 1, 15))
    log = open_log(location)
    try:
        log.append(
            LogEntry(
                decision_id=answer.envelope.decision_id,
                kind="decision",
                caller="test",
                subject_id=record.subject_id,
                protocol_ref=protocol.ref,
                protocol_sha256=protocol.sha256,
                input_json=record.canonical,
                input_sha256=answer.envelope.input_sha256,
                as_of="2025-01-15",
                engine_version=engine.ENGINE_VERSION,
                answer_json=canonical_json(answer.to_json()),
            )
        )
    finally:
        log.close()


def _first_case(location: str) -> None:
    cases = iter_logged_cases(location)
    next(cases)
    cases.close()  # stopped early, as a reader that has seen enough does


_READS = {
    "count_entries": lambda location: count_entries(location),
    "replay_all": lambda location: replay_all(location, []),
    "iter_logged_cases": lambda location: list(iter_logged_cases(location)),
    "iter_logged_cases stopped early": _first_case,
}


def _resource_warnings(read, location: str) -> list[str]:
    """What ResourceWarnings reading ``location`` leaves (an unclosed connection or file)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read(location)
        gc.collect()
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


@pytest.mark.parametrize("read", list(_READS.values()), ids=list(_READS))
def test_reading_a_postgres_log_closes_its_connections(postgres_url, read):
    _logged(postgres_url)
    assert _resource_warnings(read, postgres_url) == []


def _open_files(path: Path) -> list[str]:
    """This process's file descriptors on the SQLite log (or its -wal / -shm files)."""
    fds = Path("/proc/self/fd")
    found = []
    for fd in fds.iterdir():
        try:
            target = str(fd.readlink())
        except OSError:  # closed since listed
            continue
        if target.startswith(str(path)):
            found.append(target)
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc (Linux)")
@pytest.mark.parametrize("read", list(_READS.values()), ids=list(_READS))
def test_reading_a_sqlite_log_leaves_no_file_open(tmp_path, read):
    path = tmp_path / "log.sqlite"
    _logged(path)
    assert _open_files(path) == []
    read(str(path))
    gc.collect()
    assert _open_files(path) == []


def test_a_log_given_open_is_left_open_for_its_owner(tmp_path):
    path = tmp_path / "log.sqlite"
    _logged(path)
    log = open_log(path, read_only=True)
    try:
        assert count_entries(log) == 1
        assert replay_all(log, []) == []
        assert len(list(iter_logged_cases(log))) == 1  # the same object, still usable
    finally:
        log.close()
