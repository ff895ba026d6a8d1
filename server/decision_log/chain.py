"""Log entries, their hash chain, and verification of a chain read back from storage.

``entry_hash`` = SHA-256 of the canonical JSON (RFC 8785) of every other field,
``prev_hash`` included, so an entry cannot be edited, moved or removed without
the chain showing it. Verification names each broken entry and says whether it
was edited, deleted or reordered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields, replace

from protocol import sha256_hex

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
        body = asdict(self)
        body.pop("entry_hash")
        if sequence is not None:
            body["sequence"] = sequence
        return sha256_hex(body)

    def sealed(self, sequence: int, recorded_at: str, prev_hash: str) -> LogEntry:
        placed = replace(self, sequence=sequence, recorded_at=recorded_at, prev_hash=prev_hash)
        return replace(placed, entry_hash=placed.content_hash())

    @classmethod
    def columns(cls) -> list[str]:
        return [f.name for f in fields(cls)]


@dataclass(frozen=True)
class Problem:
    sequence: int
    kind: str  # edited | deleted | reordered | chain_broken
    message: str


@dataclass
class VerifyReport:
    entries: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(entries: Iterable[LogEntry], head: tuple[int, str] | None = None) -> VerifyReport:
    """Check entries (in sequence order) against their hashes, links and the chain head."""
    rows = list(entries)
    report = VerifyReport(entries=len(rows))
    moved = {r.sequence for r in rows if r.content_hash() != r.entry_hash}
    last_seq, last_hash, explained = 0, "", False
    for row in rows:
        gap = row.sequence > last_seq + 1
        if gap:
            report.problems.append(_deleted(last_seq + 1, row.sequence - 1))
        if row.content_hash() != row.entry_hash:
            report.problems.append(_altered(row, moved))
        elif row.prev_hash != last_hash and not gap and not explained:
            report.problems.append(
                Problem(
                    row.sequence,
                    "chain_broken",
                    f"entry {row.sequence} does not follow entry {last_seq} (inserted or replaced)",
                )
            )
        explained = (
            bool(report.problems)
            and report.problems[-1].sequence == row.sequence
            and report.problems[-1].kind == "reordered"
        )
        last_seq, last_hash = row.sequence, row.entry_hash
    if head is not None:
        report.problems += _check_head(head, last_seq, last_hash)
    return report


def _deleted(first: int, last: int) -> Problem:
    which = f"entry {first}" if first == last else f"entries {first}–{last}"
    return Problem(first, "deleted", f"{which} deleted")


def _altered(row: LogEntry, candidates: set[int]) -> Problem:
    """Edited, or moved: an entry that verifies at another broken entry's position."""
    for written_at in sorted(candidates - {row.sequence}):
        if row.content_hash(written_at) == row.entry_hash:
            return Problem(
                row.sequence,
                "reordered",
                f"entry {row.sequence} was written as entry {written_at} (reordered)",
            )
    return Problem(row.sequence, "edited", f"entry {row.sequence} does not match its hash (edited)")


def _check_head(head: tuple[int, str], last_seq: int, last_hash: str) -> list[Problem]:
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
