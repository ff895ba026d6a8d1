"""The decision log: durable appends, group commit, hash chain, tamper detection, CLI."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading

import pytest

from flexmrt.server.decision_log import LogEntry, open_log
from flexmrt.server.decision_log.sqlite import verify_sqlite


def _entry(i: int, subject: str = "S-1") -> LogEntry:
    return LogEntry(
        decision_id=f"d{i % 3}",
        kind="eligibility",
        caller="test",
        subject_id=subject,
        protocol_ref="flex-mrt@1.0",
        protocol_sha256="ab" * 32,
        input_json=f'{{"i":{i}}}',
        input_sha256="cd" * 32,
        as_of="2025-01-15",
        engine_version="0",
        answer_json=f'{{"answer":{i}}}',
    )


@pytest.fixture
def db(tmp_path):
    """A log file with 6 entries, closed."""
    path = tmp_path / "log.sqlite"
    log = open_log(path)
    for i in range(6):
        log.append(_entry(i))
    log.close()
    return path


def _tampered(db, tmp_path, *statements):
    copy = tmp_path / "copy.sqlite"
    shutil.copy(db, copy)
    conn = sqlite3.connect(copy)
    for sql in statements:
        conn.execute(sql)
    conn.commit()
    conn.close()
    return verify_sqlite(copy)


def test_append_seals_and_chains(tmp_path):
    log = open_log(tmp_path / "var" / "log.sqlite")
    first, second = log.append(_entry(0)), log.append(_entry(1))
    assert (first.sequence, second.sequence) == (1, 2)
    assert first.prev_hash == "" and second.prev_hash == first.entry_hash
    assert second.entry_hash == second.content_hash()
    assert log.get(2) == second and log.latest("d1") == second
    assert [e.sequence for e in log.by_subject("S-1", 0, 10)] == [1, 2]
    assert log.verify().ok
    log.close()


# Field values that JSON escapes or sorts in every way that matters: quotes, backslashes,
# control characters, U+2028, private use (sorts differently in UTF-16), astral planes.
_AWKWARD = [
    "d\u00e9c",
    "next_action",
    'token:ops "q"',
    "S-1\u2028",
    "flex-mrt@1.0",
    "a" * 64,
    '{"doc":"line\\nbreak \\"quoted\\" \\u0000 tab\\t"}',
    "b" * 64,
    "2026-01-02",
    "0.2.0",
    '{"x":"\U0001f600 \ue000 \x7f \x01"}',
]


def test_entry_hash_is_sha256_of_the_canonical_json_of_its_fields():
    """The entry hash stays the RFC 8785 one: pinned, and equal to canonical_json's."""
    from dataclasses import asdict

    from flexmrt.protocol import sha256_hex

    entry = LogEntry(*_AWKWARD).sealed(7, "2026-01-02T03:04:05.000006Z", "c" * 64)
    assert entry.entry_hash == "13a0f62ea2d11810256db6fee8b6ce21320f71d43bbafdd84b69260c8913f9dc"
    assert entry.content_hash(3) == (
        "cee90bee74b4d764306e50896450f10d355ce7b4037eff7f7d657b5b9b7673ac"
    )
    for sequence in (1, 2**53 + 1, 2**63 - 1):
        for i, text in enumerate(_AWKWARD):
            values = [*_AWKWARD]
            values[i] = text + "\x00\u2028\ue000\U0001f600" + text
            sealed = LogEntry(*values).sealed(sequence, text, values[0])
            body = asdict(sealed)
            del body["entry_hash"]
            assert sealed.entry_hash == sha256_hex(body) == sealed.content_hash()


def test_wal_and_full_sync(tmp_path):
    log = open_log(tmp_path / "log.sqlite")
    conn = log._conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    log.close()


def test_concurrent_appends_get_unique_contiguous_sequences(tmp_path):
    log = open_log(tmp_path / "log.sqlite")
    got: list[int] = []
    lock = threading.Lock()

    def work(t: int) -> None:
        for i in range(50):
            seq = log.append(_entry(t * 100 + i)).sequence
            with lock:
                got.append(seq)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(1, 401))
    report = log.verify()
    assert report.ok and report.entries == 400
    log.close()


def test_intact_log_verifies(db):
    report = verify_sqlite(db)
    assert report.ok and report.entries == 6


def test_edited_entry_is_named(db, tmp_path):
    report = _tampered(
        db, tmp_path, "UPDATE entries SET answer_json = '{\"answer\":99}' WHERE sequence = 3"
    )
    assert [(p.sequence, p.kind) for p in report.problems] == [(3, "edited")]


def test_deleted_entry_is_named(db, tmp_path):
    report = _tampered(db, tmp_path, "DELETE FROM entries WHERE sequence = 4")
    assert [(p.sequence, p.kind) for p in report.problems] == [(4, "deleted")]


def test_deleted_last_entry_is_named(db, tmp_path):
    report = _tampered(db, tmp_path, "DELETE FROM entries WHERE sequence = 6")
    assert [(p.sequence, p.kind) for p in report.problems] == [(6, "deleted")]


def test_reordered_entries_are_named(db, tmp_path):
    report = _tampered(
        db,
        tmp_path,
        "UPDATE entries SET sequence = -2 WHERE sequence = 2",
        "UPDATE entries SET sequence = 2 WHERE sequence = 3",
        "UPDATE entries SET sequence = 3 WHERE sequence = -2",
    )
    assert [(p.sequence, p.kind) for p in report.problems] == [(2, "reordered"), (3, "reordered")]
    assert "written as entry 3" in report.problems[0].message


def test_rehashed_edit_breaks_the_link(db, tmp_path):
    copy = tmp_path / "copy.sqlite"
    shutil.copy(db, copy)
    conn = sqlite3.connect(copy)
    columns = LogEntry.columns()
    row = conn.execute(f"SELECT {', '.join(columns)} FROM entries WHERE sequence = 2").fetchone()
    forged = LogEntry(**dict(zip(columns, row, strict=True)))
    forged = forged.sealed(2, forged.recorded_at, forged.prev_hash)
    forged = LogEntry(**{**forged.__dict__, "answer_json": "{}"})
    forged = forged.sealed(2, forged.recorded_at, forged.prev_hash)
    conn.execute(
        "UPDATE entries SET answer_json = ?, entry_hash = ? WHERE sequence = 2",
        (forged.answer_json, forged.entry_hash),
    )
    conn.commit()
    conn.close()
    report = verify_sqlite(copy)
    assert [(p.sequence, p.kind) for p in report.problems] == [(3, "chain_broken")]


def _audit(*args):
    return subprocess.run(
        [sys.executable, "-m", "flexmrt.server.cli", "audit", "verify", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_audit_verify_cli(db, tmp_path):
    ok = _audit("--db", str(db))
    assert ok.returncode == 0 and "6 entries, chain intact" in ok.stdout
    _tampered(db, tmp_path, "DELETE FROM entries WHERE sequence = 2")
    broken = _audit("--db", str(tmp_path / "copy.sqlite"))
    assert broken.returncode == 1
    assert "entry 2: entry 2 deleted" in broken.stdout and "BROKEN" in broken.stdout
    assert _audit("--db", str(tmp_path / "absent.sqlite")).returncode == 1


def test_a_decision_logged_by_the_previous_engine_is_named_on_replay():
    """Engine 0.2.0 changed answers (exact thresholds, evidence): a decision logged by
    0.1.0 is reported as logged by another engine, never replayed as equal."""
    import dataclasses
    import json
    from datetime import date
    from pathlib import Path

    from flexmrt import engine
    from flexmrt.protocol import Registry, canonical_json
    from flexmrt.server.decision_log.replay import replay

    registry = Registry.bundled()
    protocol = registry.resolve("flex-mrt")
    root = Path(__file__).resolve().parents[2]
    record = engine.read_record_text(
        (root / "examples/patients/flx-001-eligible.yaml").read_text(encoding="utf-8")
    )
    answer = engine.decide(protocol, record, date(2025, 1, 15))
    entry = LogEntry(
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
    assert engine.ENGINE_VERSION == "0.2.0"
    assert replay(entry, registry) is None  # the new engine's own log replays identically
    old = dataclasses.replace(entry, engine_version="0.1.0")
    said = replay(old, registry)
    assert said is not None and "logged by engine 0.1.0, this is 0.2.0" in said
    assert json.loads(entry.answer_json)["engine_version"] == "0.2.0"


def test_deleted_chain_head_record_is_reported(db, tmp_path):
    report = _tampered(db, tmp_path, "DELETE FROM chain_head")
    assert [(p.sequence, p.kind) for p in report.problems] == [(6, "head_missing")]
    cli = _audit("--db", str(tmp_path / "copy.sqlite"))
    assert cli.returncode == 1 and "chain head record is missing" in cli.stdout


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty file, not a decision log"),
        (b"hello, this is not SQLite at all" * 64, "not a SQLite decision log"),
    ],
    ids=["empty", "not-sqlite"],
)
def test_audit_verify_on_a_file_that_is_no_log(tmp_path, content, words):
    path = tmp_path / "log.sqlite"
    path.write_bytes(content)
    result = _audit("--db", str(path))
    assert result.returncode == 1
    assert words in result.stderr and "Traceback" not in result.stderr


def test_audit_verify_on_a_locked_log(db):
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO checkpoints VALUES (99, 'held')")
    try:
        result = _audit("--db", str(db), "--wait-seconds", "1")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode == 1
    assert "locked by another process" in result.stderr and "Traceback" not in result.stderr
