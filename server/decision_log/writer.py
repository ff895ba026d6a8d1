"""Group commit: concurrent appends share one transaction, committed by one of their callers.

A caller of :meth:`GroupCommit.submit` queues its entries. If no commit is running it
leads: it takes every entry waiting (up to a batch limit, its own first), hands them
to the backend's ``commit`` (which chains, inserts and commits them durably), and
only then releases the callers of that batch. Callers that arrive during a commit
wait; when it ends, the leader hands the lead to the first of them, which commits
everything that queued meanwhile. So no response goes out before its entry is
durable, concurrent calls share one commit, one commit runs at a time in arrival
order, and no thread sits between a caller and the storage: each caller is woken
once (done, or to lead), where a writer thread costs two more hand-offs per batch.
A failed commit fails every caller of that batch; the next batch is tried anew.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from flexmrt.server.decision_log.chain import LogEntry

__all__ = ["GroupCommit"]

_BATCH_MAX = 512  # entries per transaction


class _Waiter:
    """One caller's entries, and its wake-up: a lock held until the caller may go on."""

    __slots__ = ("_gate", "entries", "error", "sealed")

    def __init__(self, entries: list[LogEntry]) -> None:
        self.entries = entries
        self.sealed: list[LogEntry] | None = None
        self.error: BaseException | None = None
        self._gate = threading.Lock()
        self._gate.acquire()

    def wait(self) -> None:
        self._gate.acquire()

    def wake(self) -> None:
        self._gate.release()

    @property
    def done(self) -> bool:
        return self.sealed is not None or self.error is not None


class GroupCommit:
    def __init__(self, commit: Callable[[list[LogEntry]], list[LogEntry]], name: str) -> None:
        self._commit = commit
        self.name = name
        self._mutex = threading.Lock()
        self._idle = threading.Condition(self._mutex)  # close() waits for the last commit
        self._queue: deque[_Waiter] = deque()
        self._leading = False  # a caller is committing (or has been handed the lead)
        self._closed = False

    def submit(self, entry: LogEntry) -> LogEntry:
        """Queue ``entry`` and wait until it is durable; the sealed entry."""
        return self._submit([entry])[0]

    def submit_many(self, entries: list[LogEntry]) -> list[LogEntry]:
        """Queue ``entries`` together and wait until all are durable; the sealed entries."""
        return self._submit(list(entries)) if entries else []

    def close(self) -> None:
        """Refuse new entries; return once everything queued is committed."""
        with self._mutex:
            self._closed = True
            while self._leading or self._queue:
                self._idle.wait()

    def _submit(self, entries: list[LogEntry]) -> list[LogEntry]:
        me = _Waiter(entries)
        with self._mutex:
            if self._closed:
                raise RuntimeError("decision log is closed")
            self._queue.append(me)
            lead = not self._leading
            self._leading = True
        if not lead:
            me.wait()  # until our batch is committed, or the lead is handed to us
        if not me.done:
            self._lead(me)
        if me.error is not None:
            raise me.error
        assert me.sealed is not None
        return me.sealed

    def _lead(self, me: _Waiter) -> None:
        """Commit one batch (the leader's entries first), then pass the lead on."""
        with self._mutex:
            batch = [self._queue.popleft()]
            assert batch[0] is me, "the leader is the first caller waiting"
            size = len(batch[0].entries)
            while self._queue and size + len(self._queue[0].entries) <= _BATCH_MAX:
                size += len(self._queue[0].entries)
                batch.append(self._queue.popleft())
        try:
            sealed = self._commit([e for w in batch for e in w.entries])
            if len(sealed) != size:
                raise RuntimeError(f"{self.name}: {len(sealed)} entries sealed of {size}")
            start = 0
            for waiter in batch:
                waiter.sealed = sealed[start : start + len(waiter.entries)]
                start += len(waiter.entries)
        except BaseException as error:  # every caller of the batch hears of it
            for waiter in batch:
                waiter.error = error
        finally:
            for waiter in batch[1:]:
                waiter.wake()
            self._pass_lead()

    def _pass_lead(self) -> None:
        with self._mutex:
            if self._queue:
                self._queue[0].wake()  # not done: it leads the next batch
                return
            self._leading = False
            self._idle.notify_all()
