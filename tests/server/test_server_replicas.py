"""Several server processes, one decision log: `serve --workers N` on one port (SQLite,
one writer), and N replicas on one PostgreSQL database with one killed mid-load.

Every answer a client got back is in the log exactly once, at the sequence it was
told; the chain verifies; no two entries share a predecessor (no fork).
"""

from __future__ import annotations

import re
import signal
import time

import psycopg
import pytest
from serve_processes import Acked, Serve, load, logged_subjects

from flexmrt.server.decision_log import open_log

pytestmark = pytest.mark.slow


def _check_log(db: str, acked: Acked) -> int:
    """Every acknowledged answer once, at its sequence; the chain intact; the entry count."""
    log = open_log(db, read_only=True)
    try:
        report = log.verify()
        found = logged_subjects(log.entries())
    finally:
        log.close()
    assert report.ok, report.problems
    assert acked.sequences, "no answer was acknowledged"
    for subject, sequence in acked.sequences.items():
        assert found.get(subject) == [sequence], (subject, sequence, found.get(subject))
    return report.entries


def test_workers_share_one_port_and_one_sqlite_log(tmp_path):
    db = str(tmp_path / "log.sqlite")
    server = Serve(db, "--workers", "2", "--grace-seconds", "2", "--log-level", "debug").ready()
    try:
        acked = Acked()
        for t in load([server.address], clients=8, seconds=2.0, acked=acked):
            t.join()
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=30) == 0
    finally:
        stderr = server.close()
    pids = set(re.findall(r"flexmrt\.server\[(\d+)\]: logged", stderr))
    assert len(pids) == 2, "both worker processes answered"
    assert acked.failures == 0
    assert _check_log(db, acked) == len(acked.sequences)


def test_replicas_on_postgres_lose_no_acknowledged_answer(postgres_url):
    replicas = [Serve(postgres_url, "--grace-seconds", "2") for _ in range(4)]
    try:
        addresses = [r.ready().address for r in replicas]
        acked = Acked()
        threads = load(addresses, clients=8, seconds=4.0, acked=acked)
        time.sleep(2.0)
        replicas[0].proc.kill()  # kill -9 mid-load: its clients' calls fail, none is half-logged
        before_kill = len(acked.sequences)
        for t in threads:
            t.join()
        assert len(acked.sequences) > before_kill, "the other replicas went on answering"
        _check_log(postgres_url, acked)
        with psycopg.connect(postgres_url) as conn:
            entries, predecessors = conn.execute(
                "SELECT count(*), count(DISTINCT prev_hash) FROM entries"
            ).fetchone()
        assert entries == predecessors, "two entries with one predecessor (a fork)"
        assert acked.failures > 0, "the killed replica's clients saw it go"
    finally:
        for r in replicas:
            r.close()
