"""Group commit: callers share commits, one commit at a time, each caller led or released once."""

from __future__ import annotations

import threading

import pytest

from flexmrt.server.decision_log import LogEntry
from flexmrt.server.decision_log.writer import GroupCommit


def _entry(i: int) -> LogEntry:
    return LogEntry(
        f"d{i}", "next_action", "test", "S-1", "p", "a", "{}", "b", "2026-01-01", "0", "{}"
    )


class _Storage:
    """A commit function that records its batches and the thread running each."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.batches: list[list[str]] = []
        self.threads: list[int] = []
        self.running = 0
        self.overlap = False
        self.gate = gate
        self.fail_next = False
        self._lock = threading.Lock()

    def commit(self, entries: list[LogEntry]) -> list[LogEntry]:
        with self._lock:
            self.running += 1
            self.overlap |= self.running > 1
        try:
            if self.gate is not None:
                self.gate.wait(10)
            self.threads.append(threading.get_ident())
            self.batches.append([e.decision_id for e in entries])
            if self.fail_next:
                self.fail_next = False
                raise OSError("disk full")
            start = sum(len(b) for b in self.batches[:-1])
            return [e.sealed(start + i + 1, "t", "") for i, e in enumerate(entries)]
        finally:
            with self._lock:
                self.running -= 1


def test_a_lone_append_commits_in_the_callers_thread():
    """No writer thread between the caller and the storage: no hand-off when alone."""
    storage = _Storage()
    writer = GroupCommit(storage.commit, "test")
    assert writer.submit(_entry(1)).sequence == 1
    assert writer.submit_many([_entry(2), _entry(3)])[1].sequence == 3
    assert storage.threads == [threading.get_ident()] * 2
    writer.close()


def test_callers_arriving_during_a_commit_share_the_next_one_in_order():
    gate = threading.Event()
    storage = _Storage(gate)
    writer = GroupCommit(storage.commit, "test")
    results: dict[int, int] = {}

    def append(i: int) -> None:
        results[i] = writer.submit(_entry(i)).sequence

    first = threading.Thread(target=append, args=(0,))
    first.start()
    while not writer._leading:  # the first caller leads and holds the commit at the gate
        threading.Event().wait(0.001)
    others = []
    for i in range(1, 6):
        thread = threading.Thread(target=append, args=(i,))
        thread.start()
        others.append(thread)
        while len(writer._queue) < i:  # queued in arrival order
            threading.Event().wait(0.001)
    gate.set()
    for thread in [first, *others]:
        thread.join(10)
    assert storage.batches == [["d0"], ["d1", "d2", "d3", "d4", "d5"]]
    assert results == {i: i + 1 for i in range(6)}
    assert not storage.overlap
    writer.close()


def test_a_failed_commit_fails_its_whole_batch_and_the_next_batch_commits():
    storage = _Storage()
    writer = GroupCommit(storage.commit, "test")
    storage.fail_next = True
    with pytest.raises(OSError, match="disk full"):
        writer.submit_many([_entry(1), _entry(2)])
    assert writer.submit(_entry(3)).decision_id == "d3"
    writer.close()


def test_many_threads_get_every_entry_committed_once_one_commit_at_a_time():
    storage = _Storage()
    writer = GroupCommit(storage.commit, "test")
    got: list[int] = []
    lock = threading.Lock()

    def work(t: int) -> None:
        for i in range(100):
            sequence = writer.submit(_entry(t * 1000 + i)).sequence
            with lock:
                got.append(sequence)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(got) == list(range(1, 801))
    committed = [d for batch in storage.batches for d in batch]
    assert sorted(committed) == sorted(f"d{t * 1000 + i}" for t in range(8) for i in range(100))
    assert not storage.overlap
    writer.close()


def test_close_waits_for_the_running_commit_then_refuses():
    gate = threading.Event()
    storage = _Storage(gate)
    writer = GroupCommit(storage.commit, "test")
    done: list[int] = []
    thread = threading.Thread(target=lambda: done.append(writer.submit(_entry(1)).sequence))
    thread.start()
    while not writer._leading:
        threading.Event().wait(0.001)
    closer = threading.Thread(target=writer.close)
    closer.start()
    closer.join(0.2)
    assert closer.is_alive()  # still committing
    gate.set()
    closer.join(10)
    thread.join(10)
    assert done == [1] and not closer.is_alive()
    with pytest.raises(RuntimeError, match="closed"):
        writer.submit(_entry(2))
