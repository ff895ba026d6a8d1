"""The rules engine: pure functions of (protocol, record, as_of) → explained answers.

No file, network, environment or clock access: time arrives as ``as_of``. Answers are
typed values (``engine.answers``) with one ``to_json()``: the same inputs give
byte-identical canonical JSON, and every answer carries a
decision id derived from (protocol sha256, canonical input, as_of, engine version).
"""

from .amendment import assess_amendment, compare_subject, summarise
from .answers import (
    AmendmentSummary,
    Decision,
    Eligibility,
    Observation,
    RuleEntry,
    Schedule,
    ScheduledEvent,
    StudyStatus,
    SubjectImpact,
    Worklist,
    WorklistItem,
)
from .bed import bed_per_cycle, kidney_bed
from .decision import decide
from .eligibility import eligibility
from .errors import RecordError
from .identity import ENGINE_VERSION, decision_id
from .measures import ckd_epi_2021, cockcroft_gault
from .record import Record, parse_record, read_record_json, read_record_text, record_schema
from .rules import evaluate_rule
from .schedule import schedule
from .study import study_status
from .tristate import Outcome, RuleResult
from .worklist import worklist

__all__ = [
    "ENGINE_VERSION",
    "AmendmentSummary",
    "Decision",
    "Eligibility",
    "Observation",
    "Outcome",
    "Record",
    "RecordError",
    "RuleEntry",
    "RuleResult",
    "Schedule",
    "ScheduledEvent",
    "StudyStatus",
    "SubjectImpact",
    "Worklist",
    "WorklistItem",
    "assess_amendment",
    "bed_per_cycle",
    "ckd_epi_2021",
    "cockcroft_gault",
    "compare_subject",
    "decide",
    "decision_id",
    "eligibility",
    "evaluate_rule",
    "kidney_bed",
    "parse_record",
    "read_record_json",
    "read_record_text",
    "record_schema",
    "schedule",
    "study_status",
    "summarise",
    "worklist",
]
