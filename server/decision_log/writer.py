"""Group commit: one writer thread turns queued appends into one transaction each batch.

Callers of :meth:`GroupCommit.submit` queue their entry and wait; the writer takes
every entry waiting (up to a batch limit), hands them to the backend's ``commit``
(which chains, inserts and commits them durably), and only then releases the
callers — so no response goes out before its entry is durable, while concurrent
calls share one commit. A failed commit fails every caller of that batch.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

from flexmrt.server.decision_log.chain import LogEntry

__all__ = ["GroupCommit"]

_BATCH_MAX = 512
_Item = tuple[LogEntry, Future[LogEntry]]


class GroupCommit:
    def __init__(self, commit: Callable[[list[LogEntry]], list[LogEntry]], name: str) -> None:
        self._commit = commit
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, entry: LogEntry) -> LogEntry:
        """Queue ``entry`` and wait until it is durable; the sealed entry."""
        if self._closed:
            raise RuntimeError("decision log is closed")
        done: Future[LogEntry] = Future()
        self._queue.put((entry, done))
        return done.result()

    def submit_many(self, entries: list[LogEntry]) -> list[LogEntry]:
        """Queue ``entries`` together and wait until all are durable; the sealed entries."""
        if self._closed:
            raise RuntimeError("decision log is closed")
        waiting: list[Future[LogEntry]] = []
        for entry in entries:
            done: Future[LogEntry] = Future()
            self._queue.put((entry, done))
            waiting.append(done)
        return [done.result() for done in waiting]

    def close(self) -> None:
        """Commit what is queued, then stop the writer."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stop = self._drain(first)
            self._run(batch)
            if stop:
                return

    def _drain(self, first: _Item) -> tuple[list[_Item], bool]:
        batch = [first]
        while len(batch) < _BATCH_MAX:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return batch, False
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def _run(self, batch: list[_Item]) -> None:
        try:
            sealed = self._commit([entry for entry, _ in batch])
        except Exception as error:  # every waiting caller hears of it
            for _, done in batch:
                done.set_exception(error)
            return
        for (_, done), entry in zip(batch, sealed, strict=True):
            done.set_result(entry)
