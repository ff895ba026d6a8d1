"""Log entries, their hash chain, and verification of a chain read back from storage.

``entry_hash`` = SHA-256 of the canonical JSON (RFC 8785) of every other field,
``prev_hash`` included, so an entry cannot be edited, moved or removed without
the chain showing it. Verification names each broken entry and says whether it
was edited, deleted or reordered.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace

from flexmrt.protocol import canonical_json
from flexmrt.server.decision_log.merkle import TreeBuilder, leaf_hash

__all__ = ["LogEntry", "Problem", "VerifyReport", "verify_chain"]


@dataclass(frozen=True)
class LogEntry:
    """One logged answer. ``sequence``, ``recorded_at`` and the hashes are set on append."""

    decision_id: str
    kind: str  # "eligibility" or "next_action"
    caller: str
    subject_id: str
    protocol_ref: str
    protocol_sha256: str
    input_json: str
    input_sha256: str
    as_of: str
    engine_version: str
    answer_json: str
    sequence: int = 0
    recorded_at: str = ""
    prev_hash: str = ""
    entry_hash: str = ""

    def content_hash(self, sequence: int | None = None) -> str:
        """The hash this entry should carry (optionally as if at another sequence)."""
        body = {name: getattr(self, name) for name in _HASHED}
        if sequence is not None:
            body["sequence"] = sequence
        return _body_hash(body)

    def sealed(self, sequence: int, recorded_at: str, prev_hash: str) -> LogEntry:
        body = {name: getattr(self, name) for name in _HASHED}
        body.update(sequence=sequence, recorded_at=recorded_at, prev_hash=prev_hash)
        return replace(
            self,
            sequence=sequence,
            recorded_at=recorded_at,
            prev_hash=prev_hash,
            entry_hash=_body_hash(body),
        )

    @classmethod
    def columns(cls) -> list[str]:
        return [f.name for f in fields(cls)]


_HASHED = tuple(f.name for f in fields(LogEntry) if f.name != "entry_hash")


def _body_hash(body: dict[str, object]) -> str:
    """SHA-256 of the canonical JSON (RFC 8785) of an entry's hashed fields.

    Every field is a string or an integer and every name is ASCII, where Python's
    ``json`` with sorted keys writes exactly RFC 8785's bytes (strings escaped the
    same way, integers in decimal), so those go straight to the C encoder; any other
    value (never written by the service) goes through :func:`canonical_json`.
    """
    if all(type(v) is str or type(v) is int for v in body.values()):
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    else:
        text = canonical_json(body)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Problem:
    sequence: int
    kind: str  # edited | deleted | reordered | chain_broken | head_missing
    message: str


@dataclass
class VerifyReport:
    entries: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(
    entries: Iterable[LogEntry],
    head: tuple[int, str] | None,
    tree: TreeBuilder | None = None,
) -> VerifyReport:
    """Check entries (streamed in sequence order) against their hashes, links and the head.

    ``head`` is the recorded chain head, ``None`` when there is none (missing). Each entry
    is hashed once and dropped, so memory does not grow with the log; only entries whose
    hash fails are kept, to tell an edit from a move. ``tree``, when given, receives every
    entry's leaf for a tree head (checkpoints).
    """
    report = VerifyReport()
    events: list[Problem | _Broken | _Link] = []
    broken: dict[int, _Broken] = {}
    last_seq, last_hash = 0, ""
    previous: _Broken | None = None
    for row in entries:
        report.entries += 1
        if tree is not None:
            tree.append(leaf_hash(row.entry_hash))
        gap = row.sequence > last_seq + 1
        if gap:
            events.append(_deleted(last_seq + 1, row.sequence - 1))
        current: _Broken | None = None
        if row.content_hash() != row.entry_hash:
            current = _Broken(row if len(broken) < _KEEP_BROKEN else None, row.sequence)
            broken.setdefault(row.sequence, current)
            events.append(current)
        elif row.prev_hash != last_hash and not gap:
            events.append(_Link(row.sequence, last_seq, previous))
        previous = current
        last_seq, last_hash = row.sequence, row.entry_hash
    candidates = set(broken)
    for event in events:
        problem = event if isinstance(event, Problem) else event.resolve(candidates)
        if problem is not None:
            report.problems.append(problem)
    report.problems += _check_head(head, report.entries, last_seq, last_hash)
    return report


_KEEP_BROKEN = 1000  # broken entries kept to recognise moves; beyond, each is "edited"


@dataclass
class _Broken:
    """An entry whose content does not match its hash: edited, or moved (decided at the end)."""

    row: LogEntry | None
    sequence: int
    kind: str = ""

    def resolve(self, candidates: set[int]) -> Problem:
        problem = _altered(self.row, self.sequence, candidates)
        self.kind = problem.kind
        return problem


@dataclass
class _Link:
    """An intact entry whose ``prev_hash`` is not its predecessor's hash."""

    sequence: int
    after: int
    previous: _Broken | None

    def resolve(self, candidates: set[int]) -> Problem | None:
        if self.previous is not None and self.previous.kind == "reordered":
            return None  # explained by the move of the entry before it
        return Problem(
            self.sequence,
            "chain_broken",
            f"entry {self.sequence} does not follow entry {self.after} (inserted or replaced)",
        )


def _deleted(first: int, last: int) -> Problem:
    which = f"entry {first}" if first == last else f"entries {first}–{last}"
    return Problem(first, "deleted", f"{which} deleted")


def _altered(row: LogEntry | None, sequence: int, candidates: set[int]) -> Problem:
    """Edited, or moved: an entry that verifies at another broken entry's position."""
    for written_at in sorted(candidates - {sequence}) if row is not None else []:
        if row is not None and row.content_hash(written_at) == row.entry_hash:
            return Problem(
                sequence,
                "reordered",
                f"entry {sequence} was written as entry {written_at} (reordered)",
            )
    return Problem(sequence, "edited", f"entry {sequence} does not match its hash (edited)")


def _check_head(
    head: tuple[int, str] | None, count: int, last_seq: int, last_hash: str
) -> list[Problem]:
    """The recorded head must name the last entry: a missing or other head is reported."""
    if head is None:
        if count == 0:
            return []
        return [
            Problem(
                last_seq,
                "head_missing",
                f"the chain head record is missing (the log has {count} entries up to "
                f"{last_seq}): the end of the chain cannot be checked; it was deleted or the "
                "log was written outside the service",
            )
        ]
    head_seq, head_hash = head
    if head_seq > last_seq:
        return [_deleted(last_seq + 1, head_seq)]
    if head_seq == last_seq and head_hash != last_hash:
        return [
            Problem(
                last_seq,
                "edited",
                f"entry {last_seq} differs from the recorded chain head (edited or replaced)",
            )
        ]
    if head_seq < last_seq:
        return [
            Problem(
                head_seq + 1,
                "chain_broken",
                f"entries after {head_seq} were added outside the service",
            )
        ]
    return []
