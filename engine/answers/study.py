"""Answers over many subjects: study status and the impact of an amendment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from .entries import Json
from .envelope import ProtocolRef

__all__ = ["AmendmentSummary", "Change", "RuleFlip", "StudyStatus", "SubjectImpact", "Verdict"]


@dataclass(frozen=True)
class StudyStatus:
    """Randomised subjects per arm on ``as_of`` and whether the interim analysis is due."""

    protocol: ProtocolRef
    as_of: date
    enrolled: Mapping[str, int]
    total: int
    target: int | None
    interim_threshold: int | None
    interim_due: bool
    interim_text: str | None
    subjects: Mapping[str, str]  # subject id → arm, sorted by id
    duplicates: int  # records beyond the first of a subject id

    def to_json(self) -> Json:
        return {
            "kind": "study",
            "protocol": self.protocol.to_json(),
            "as_of": self.as_of.isoformat(),
            "enrolled": dict(self.enrolled),
            "total": self.total,
            "target": self.target,
            "interim_threshold": self.interim_threshold,
            "interim_due": self.interim_due,
            "interim_text": self.interim_text,
            "subjects": dict(self.subjects),
            "duplicates": self.duplicates,
        }


@dataclass(frozen=True)
class Change:
    """One answer field that differs between the two revisions."""

    field: str  # eligibility | action | cycle | activity_gbq | cycles_remaining
    old: Any  # the field's JSON value under the old revision
    new: Any

    def to_json(self) -> Json:
        return {"field": self.field, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class RuleFlip:
    """A rule whose outcome differs (None: absent under that revision; ``FIRED:category``
    for a decision rule that fired)."""

    id: str
    old: str | None
    new: str | None

    def to_json(self) -> Json:
        return {"id": self.id, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class Verdict:
    """One revision's answer for the subject, as far as the comparison looks."""

    eligibility: str
    action: str
    cycle: int | None
    activity_gbq: float | None
    cycles_remaining: int | None

    def to_json(self) -> Json:
        return {
            "eligibility": self.eligibility,
            "action": self.action,
            "cycle": self.cycle,
            "activity_gbq": self.activity_gbq,
            "cycles_remaining": self.cycles_remaining,
        }


@dataclass(frozen=True)
class SubjectImpact:
    """One subject under both revisions: the flips and the rules behind them."""

    subject_id: str
    as_of: date
    changes: tuple[Change, ...]
    rules: tuple[RuleFlip, ...]
    old: Verdict
    new: Verdict

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def to_json(self) -> Json:
        return {
            "subject_id": self.subject_id,
            "as_of": self.as_of.isoformat(),
            "changed": self.changed,
            "changes": [c.to_json() for c in self.changes],
            "rules": [r.to_json() for r in self.rules],
            "old": self.old.to_json(),
            "new": self.new.to_json(),
        }


@dataclass(frozen=True)
class AmendmentSummary:
    """Totals over every subject compared: how many changed, and by which field."""

    old: ProtocolRef
    new: ProtocolRef
    subjects: int
    changed: int
    by_kind: Mapping[str, int]

    @property
    def unchanged(self) -> int:
        return self.subjects - self.changed

    def to_json(self) -> Json:
        return {
            "from": self.old.ref,
            "to": self.new.ref,
            "from_sha256": self.old.sha256,
            "to_sha256": self.new.sha256,
            "subjects": self.subjects,
            "unchanged": self.unchanged,
            "changed": self.changed,
            "by_kind": dict(self.by_kind),
        }
