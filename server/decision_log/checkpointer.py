"""Signing checkpoints while the service runs, and proving entries against them.

:class:`CheckpointedLog` wraps any :class:`DecisionLog`: a background thread follows
the log (all replicas' entries, read back from storage), extends the Merkle tree,
and signs a checkpoint every ``every`` entries appended here or every ``seconds``
seconds when the log grew, and once more on close (shutdown). Before signing, it
checks that the new entries follow each other (sequence and ``prev_hash``); it
never signs a chain that does not link.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from flexmrt.server.decision_log.chain import LogEntry, VerifyReport
from flexmrt.server.decision_log.checkpoint import Checkpoint, Signer
from flexmrt.server.decision_log.interface import DecisionLog, LogError, StoredCheckpoint
from flexmrt.server.decision_log.merkle import TreeBuilder, inclusion_proof, leaf_hash

__all__ = ["CheckpointedLog", "InclusionProof", "prove"]

_log = logging.getLogger("flexmrt.server")


@dataclass(frozen=True)
class InclusionProof:
    """Entry ``leaf_index + 1`` is in the tree of ``tree_size`` signed by ``checkpoint``."""

    leaf_index: int
    tree_size: int
    hashes: list[bytes]
    checkpoint: str


def prove(log: DecisionLog, sequence: int) -> InclusionProof | None:
    """Entry ``sequence``'s audit path to the latest stored checkpoint (None: none covers it)."""
    stored = log.latest_checkpoint()
    if stored is None or not 0 < sequence <= stored[0]:
        return None
    size, text = stored
    leaves = [leaf_hash(entry_hash) for _, _, entry_hash in log.links(0, size)]
    if len(leaves) != size:
        raise LogError(
            f"{log.location}: {len(leaves)} entries where checkpoint {size} was signed "
            "(entries removed since); run `flexmrt audit verify`"
        )
    return InclusionProof(sequence - 1, size, inclusion_proof(leaves, sequence - 1), text)


class CheckpointedLog:
    """A decision log that signs checkpoints of itself (see the module docstring)."""

    def __init__(
        self, log: DecisionLog, signer: Signer, every: int = 1000, seconds: float = 60.0
    ) -> None:
        self.log = log
        self.location = log.location
        self.signer = signer
        self._every, self._seconds = max(1, every), seconds
        self._tree = TreeBuilder()
        self._last_hash = ""
        self._signed = -1
        self._since = 0
        self._lock = threading.Lock()  # one checkpoint at a time
        self._count_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="checkpoints", daemon=True)
        self._thread.start()

    # ---- the log, forwarded ----------------------------------------------------------------

    def append(self, entry: LogEntry) -> LogEntry:
        sealed = self.log.append(entry)
        with self._count_lock:
            self._since += 1
            due = self._since >= self._every
        if due:
            self._wake.set()
        return sealed

    def append_many(self, entries: list[LogEntry]) -> list[LogEntry]:
        sealed = self.log.append_many(entries)
        with self._count_lock:
            self._since += len(sealed)
            due = self._since >= self._every
        if due:
            self._wake.set()
        return sealed

    def get(self, sequence: int) -> LogEntry | None:
        return self.log.get(sequence)

    def latest(self, decision_id: str) -> LogEntry | None:
        return self.log.latest(decision_id)

    def by_subject(self, subject_id: str, after: int, limit: int) -> list[LogEntry]:
        return self.log.by_subject(subject_id, after, limit)

    def entries(self, after: int = 0) -> Iterator[LogEntry]:
        return self.log.entries(after)

    def links(self, after: int = 0, upto: int | None = None) -> Iterator[tuple[int, str, str]]:
        return self.log.links(after, upto)

    def verify(self, tree: TreeBuilder | None = None) -> VerifyReport:
        return self.log.verify(tree)

    def store_checkpoint(self, size: int, text: str) -> None:
        self.log.store_checkpoint(size, text)

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        return self.log.latest_checkpoint()

    def checkpoints(self) -> list[StoredCheckpoint]:
        return self.log.checkpoints()

    def ingest(self, entries: Iterable[LogEntry], checkpoints: Iterable[StoredCheckpoint]) -> int:
        return self.log.ingest(entries, checkpoints)

    def close(self) -> None:
        """Stop the timer, sign the last checkpoint, close the log."""
        self._stop.set()
        self._wake.set()
        self._thread.join()
        try:
            self.checkpoint()
        except LogError as error:
            _log.error("no checkpoint on shutdown: %s", error)
        self.log.close()

    # ---- checkpoints -----------------------------------------------------------------------

    def checkpoint(self) -> str | None:
        """Sign and store a checkpoint of the log as it is now; the text (None: unchanged)."""
        with self._lock:
            self._catch_up()
            if self._tree.size == self._signed:
                return None
            text = self.signer.sign(
                Checkpoint(self.signer.origin, self._tree.size, self._tree.root())
            )
            self.log.store_checkpoint(self._tree.size, text)
            self._signed = self._tree.size
        with self._count_lock:
            self._since = 0
        _log.info("checkpoint signed at tree size %d", self._signed)
        return text

    def _catch_up(self) -> None:
        for sequence, prev_hash, entry_hash in self.log.links(self._tree.size):
            if sequence != self._tree.size + 1 or prev_hash != self._last_hash:
                raise LogError(
                    f"{self.location}: entry {sequence} does not follow entry "
                    f"{self._tree.size}; refusing to sign a checkpoint (run `flexmrt audit verify`)"
                )
            self._tree.append(leaf_hash(entry_hash))
            self._last_hash = entry_hash

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.checkpoint()
            except LogError as error:
                _log.error("checkpoint not signed: %s", error)
