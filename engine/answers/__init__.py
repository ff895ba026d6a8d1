"""The engine's answers as typed values: frozen dataclasses, each with one ``to_json()``.

Edges (gRPC, CLI, report) read their attributes; ``to_json()`` is the canonical form that
decision ids, the decision log and replay are computed over.
"""

from .decision import (
    Decision,
    DueWindow,
    Eligibility,
    KidneyBedCycle,
    KidneyBedView,
    OrganAtRiskView,
    OrganCycleView,
    OrganLimit,
    OrganNextCycle,
    TreatmentResponse,
)
from .entries import Json, Observation, RuleEntry, Source
from .envelope import Envelope, ProtocolRef
from .schedule import Overdue, Schedule, ScheduledEvent
from .study import AmendmentSummary, Change, RuleFlip, StudyStatus, SubjectImpact, Verdict
from .worklist import Worklist, WorklistItem, WorklistPatient

__all__ = [
    "AmendmentSummary",
    "Change",
    "Decision",
    "DueWindow",
    "Eligibility",
    "Envelope",
    "Json",
    "KidneyBedCycle",
    "KidneyBedView",
    "Observation",
    "OrganAtRiskView",
    "OrganCycleView",
    "OrganLimit",
    "OrganNextCycle",
    "Overdue",
    "ProtocolRef",
    "RuleEntry",
    "RuleFlip",
    "Schedule",
    "ScheduledEvent",
    "Source",
    "StudyStatus",
    "SubjectImpact",
    "TreatmentResponse",
    "Verdict",
    "Worklist",
    "WorklistItem",
    "WorklistPatient",
]
