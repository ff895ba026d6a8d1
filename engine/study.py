"""Study status over a set of records: enrolment per arm and the interim analysis."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date

from flexmrt.protocol import Protocol

from .answers import StudyStatus
from .identity import protocol_ref
from .record import Record

__all__ = ["study_status"]


def study_status(protocol: Protocol, records: Iterable[Record], as_of: date) -> StudyStatus:
    """Randomised subjects per arm on ``as_of``; interim analysis due at its enrolment fraction.

    ``records`` are read once, in one pass: a stream of records needs memory for one
    record at a time (plus the subject ids).
    """
    study = protocol.doc["study"]
    enrolled = {arm: 0 for arm in study["allocation"]}
    subjects: dict[str, str] = {}
    count = 0
    ids: set[str] = set()
    for r in records:
        count += 1
        ids.add(r.subject_id)
        if r.arm is not None and r.randomised_on is not None and r.randomised_on <= as_of:
            enrolled[r.arm] = enrolled.get(r.arm, 0) + 1
            subjects[r.subject_id] = r.arm
    total = sum(enrolled.values())
    target = study.get("target_enrolment")
    interim = study.get("interim_safety_analysis")
    threshold = math.ceil(interim["at_fraction_enrolled"] * target) if interim and target else None
    return StudyStatus(
        protocol=protocol_ref(protocol),
        as_of=as_of,
        enrolled=enrolled,
        total=total,
        target=target,
        interim_threshold=threshold,
        interim_due=threshold is not None and total >= threshold,
        interim_text=interim["text"] if interim else None,
        subjects=dict(sorted(subjects.items())),
        duplicates=count - len(ids),
    )
