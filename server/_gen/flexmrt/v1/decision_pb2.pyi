from flexmrt.server._gen.flexmrt.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EligibilityOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ELIGIBILITY_OUTCOME_UNSPECIFIED: _ClassVar[EligibilityOutcome]
    ELIGIBILITY_OUTCOME_ELIGIBLE: _ClassVar[EligibilityOutcome]
    ELIGIBILITY_OUTCOME_INELIGIBLE: _ClassVar[EligibilityOutcome]
    ELIGIBILITY_OUTCOME_INDETERMINATE: _ClassVar[EligibilityOutcome]

class Action(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTION_UNSPECIFIED: _ClassVar[Action]
    ACTION_ADMINISTER: _ClassVar[Action]
    ACTION_WITHHOLD: _ClassVar[Action]
    ACTION_START_HOLIDAY: _ClassVar[Action]
    ACTION_CONTINUE_HOLIDAY: _ClassVar[Action]
    ACTION_RESTART: _ClassVar[Action]
    ACTION_DISCONTINUE: _ClassVar[Action]
    ACTION_COMPLETED: _ClassVar[Action]
    ACTION_NEED_DATA: _ClassVar[Action]

class CriterionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CRITERION_KIND_UNSPECIFIED: _ClassVar[CriterionKind]
    CRITERION_KIND_INCLUSION: _ClassVar[CriterionKind]
    CRITERION_KIND_EXCLUSION: _ClassVar[CriterionKind]

class DecisionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECISION_KIND_UNSPECIFIED: _ClassVar[DecisionKind]
    DECISION_KIND_ELIGIBILITY: _ClassVar[DecisionKind]
    DECISION_KIND_NEXT_ACTION: _ClassVar[DecisionKind]
ELIGIBILITY_OUTCOME_UNSPECIFIED: EligibilityOutcome
ELIGIBILITY_OUTCOME_ELIGIBLE: EligibilityOutcome
ELIGIBILITY_OUTCOME_INELIGIBLE: EligibilityOutcome
ELIGIBILITY_OUTCOME_INDETERMINATE: EligibilityOutcome
ACTION_UNSPECIFIED: Action
ACTION_ADMINISTER: Action
ACTION_WITHHOLD: Action
ACTION_START_HOLIDAY: Action
ACTION_CONTINUE_HOLIDAY: Action
ACTION_RESTART: Action
ACTION_DISCONTINUE: Action
ACTION_COMPLETED: Action
ACTION_NEED_DATA: Action
CRITERION_KIND_UNSPECIFIED: CriterionKind
CRITERION_KIND_INCLUSION: CriterionKind
CRITERION_KIND_EXCLUSION: CriterionKind
DECISION_KIND_UNSPECIFIED: DecisionKind
DECISION_KIND_ELIGIBILITY: DecisionKind
DECISION_KIND_NEXT_ACTION: DecisionKind

class Criterion(_message.Message):
    __slots__ = ("id", "kind", "text", "outcome", "observed", "missing", "notes", "source", "verification")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: CriterionKind
    text: str
    outcome: _common_pb2.RuleOutcome
    observed: _containers.RepeatedCompositeFieldContainer[_common_pb2.Observation]
    missing: _containers.RepeatedScalarFieldContainer[str]
    notes: _containers.RepeatedScalarFieldContainer[str]
    source: _common_pb2.Source
    verification: str
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[_Union[CriterionKind, str]] = ..., text: _Optional[str] = ..., outcome: _Optional[_Union[_common_pb2.RuleOutcome, str]] = ..., observed: _Optional[_Iterable[_Union[_common_pb2.Observation, _Mapping]]] = ..., missing: _Optional[_Iterable[str]] = ..., notes: _Optional[_Iterable[str]] = ..., source: _Optional[_Union[_common_pb2.Source, _Mapping]] = ..., verification: _Optional[str] = ...) -> None: ...

class Rule(_message.Message):
    __slots__ = ("id", "category", "text", "outcome", "observed", "missing", "notes", "source", "verification")
    ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    id: str
    category: str
    text: str
    outcome: _common_pb2.RuleOutcome
    observed: _containers.RepeatedCompositeFieldContainer[_common_pb2.Observation]
    missing: _containers.RepeatedScalarFieldContainer[str]
    notes: _containers.RepeatedScalarFieldContainer[str]
    source: _common_pb2.Source
    verification: str
    def __init__(self, id: _Optional[str] = ..., category: _Optional[str] = ..., text: _Optional[str] = ..., outcome: _Optional[_Union[_common_pb2.RuleOutcome, str]] = ..., observed: _Optional[_Iterable[_Union[_common_pb2.Observation, _Mapping]]] = ..., missing: _Optional[_Iterable[str]] = ..., notes: _Optional[_Iterable[str]] = ..., source: _Optional[_Union[_common_pb2.Source, _Mapping]] = ..., verification: _Optional[str] = ...) -> None: ...

class EligibilityReport(_message.Message):
    __slots__ = ("outcome", "criteria", "subject_id", "protocol", "as_of", "engine_version", "decision_id", "missing", "input_sha256")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    CRITERIA_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    ENGINE_VERSION_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    INPUT_SHA256_FIELD_NUMBER: _ClassVar[int]
    outcome: EligibilityOutcome
    criteria: _containers.RepeatedCompositeFieldContainer[Criterion]
    subject_id: str
    protocol: _common_pb2.ProtocolIdentity
    as_of: str
    engine_version: str
    decision_id: str
    missing: _containers.RepeatedScalarFieldContainer[str]
    input_sha256: str
    def __init__(self, outcome: _Optional[_Union[EligibilityOutcome, str]] = ..., criteria: _Optional[_Iterable[_Union[Criterion, _Mapping]]] = ..., subject_id: _Optional[str] = ..., protocol: _Optional[_Union[_common_pb2.ProtocolIdentity, _Mapping]] = ..., as_of: _Optional[str] = ..., engine_version: _Optional[str] = ..., decision_id: _Optional[str] = ..., missing: _Optional[_Iterable[str]] = ..., input_sha256: _Optional[str] = ...) -> None: ...

class DueWindow(_message.Message):
    __slots__ = ("target", "window_start", "window_end")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    target: str
    window_start: str
    window_end: str
    def __init__(self, target: _Optional[str] = ..., window_start: _Optional[str] = ..., window_end: _Optional[str] = ...) -> None: ...

class KidneyBedCycle(_message.Message):
    __slots__ = ("cycle", "activity_gbq", "dose_gy", "teff_h", "bed_gy", "dose_estimated", "teff_estimated")
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_GBQ_FIELD_NUMBER: _ClassVar[int]
    DOSE_GY_FIELD_NUMBER: _ClassVar[int]
    TEFF_H_FIELD_NUMBER: _ClassVar[int]
    BED_GY_FIELD_NUMBER: _ClassVar[int]
    DOSE_ESTIMATED_FIELD_NUMBER: _ClassVar[int]
    TEFF_ESTIMATED_FIELD_NUMBER: _ClassVar[int]
    cycle: int
    activity_gbq: float
    dose_gy: float
    teff_h: float
    bed_gy: float
    dose_estimated: bool
    teff_estimated: bool
    def __init__(self, cycle: _Optional[int] = ..., activity_gbq: _Optional[float] = ..., dose_gy: _Optional[float] = ..., teff_h: _Optional[float] = ..., bed_gy: _Optional[float] = ..., dose_estimated: _Optional[bool] = ..., teff_estimated: _Optional[bool] = ...) -> None: ...

class KidneyBed(_message.Message):
    __slots__ = ("cumulative_gy", "projected_gy", "cap_gy", "cycles_remaining", "estimated", "reduced_activity_fits", "next_activity_gbq", "cycles", "cumulative_u_gy", "projected_u_gy", "projected_low_gy", "projected_high_gy", "cycles_remaining_low", "cycles_remaining_high")
    CUMULATIVE_GY_FIELD_NUMBER: _ClassVar[int]
    PROJECTED_GY_FIELD_NUMBER: _ClassVar[int]
    CAP_GY_FIELD_NUMBER: _ClassVar[int]
    CYCLES_REMAINING_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_FIELD_NUMBER: _ClassVar[int]
    REDUCED_ACTIVITY_FITS_FIELD_NUMBER: _ClassVar[int]
    NEXT_ACTIVITY_GBQ_FIELD_NUMBER: _ClassVar[int]
    CYCLES_FIELD_NUMBER: _ClassVar[int]
    CUMULATIVE_U_GY_FIELD_NUMBER: _ClassVar[int]
    PROJECTED_U_GY_FIELD_NUMBER: _ClassVar[int]
    PROJECTED_LOW_GY_FIELD_NUMBER: _ClassVar[int]
    PROJECTED_HIGH_GY_FIELD_NUMBER: _ClassVar[int]
    CYCLES_REMAINING_LOW_FIELD_NUMBER: _ClassVar[int]
    CYCLES_REMAINING_HIGH_FIELD_NUMBER: _ClassVar[int]
    cumulative_gy: float
    projected_gy: float
    cap_gy: float
    cycles_remaining: int
    estimated: bool
    reduced_activity_fits: bool
    next_activity_gbq: float
    cycles: _containers.RepeatedCompositeFieldContainer[KidneyBedCycle]
    cumulative_u_gy: float
    projected_u_gy: float
    projected_low_gy: float
    projected_high_gy: float
    cycles_remaining_low: int
    cycles_remaining_high: int
    def __init__(self, cumulative_gy: _Optional[float] = ..., projected_gy: _Optional[float] = ..., cap_gy: _Optional[float] = ..., cycles_remaining: _Optional[int] = ..., estimated: _Optional[bool] = ..., reduced_activity_fits: _Optional[bool] = ..., next_activity_gbq: _Optional[float] = ..., cycles: _Optional[_Iterable[_Union[KidneyBedCycle, _Mapping]]] = ..., cumulative_u_gy: _Optional[float] = ..., projected_u_gy: _Optional[float] = ..., projected_low_gy: _Optional[float] = ..., projected_high_gy: _Optional[float] = ..., cycles_remaining_low: _Optional[int] = ..., cycles_remaining_high: _Optional[int] = ...) -> None: ...

class OrganCycle(_message.Message):
    __slots__ = ("cycle", "activity_gbq", "dose_gy", "dose_u_gy", "teff_h", "bed_gy", "bed_u_gy", "dose_estimated", "teff_estimated")
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_GBQ_FIELD_NUMBER: _ClassVar[int]
    DOSE_GY_FIELD_NUMBER: _ClassVar[int]
    DOSE_U_GY_FIELD_NUMBER: _ClassVar[int]
    TEFF_H_FIELD_NUMBER: _ClassVar[int]
    BED_GY_FIELD_NUMBER: _ClassVar[int]
    BED_U_GY_FIELD_NUMBER: _ClassVar[int]
    DOSE_ESTIMATED_FIELD_NUMBER: _ClassVar[int]
    TEFF_ESTIMATED_FIELD_NUMBER: _ClassVar[int]
    cycle: int
    activity_gbq: float
    dose_gy: float
    dose_u_gy: float
    teff_h: float
    bed_gy: float
    bed_u_gy: float
    dose_estimated: bool
    teff_estimated: bool
    def __init__(self, cycle: _Optional[int] = ..., activity_gbq: _Optional[float] = ..., dose_gy: _Optional[float] = ..., dose_u_gy: _Optional[float] = ..., teff_h: _Optional[float] = ..., bed_gy: _Optional[float] = ..., bed_u_gy: _Optional[float] = ..., dose_estimated: _Optional[bool] = ..., teff_estimated: _Optional[bool] = ...) -> None: ...

class OrganAtRisk(_message.Message):
    __slots__ = ("organ", "cycles", "cumulative_dose_gy", "cumulative_dose_u_gy", "cumulative_bed_gy", "cumulative_bed_u_gy", "gy_per_gbq", "gy_per_gbq_from", "projected_gy", "projected_u_gy", "limit_quantity", "limit_gy", "limit_action", "margin_gy", "estimated")
    ORGAN_FIELD_NUMBER: _ClassVar[int]
    CYCLES_FIELD_NUMBER: _ClassVar[int]
    CUMULATIVE_DOSE_GY_FIELD_NUMBER: _ClassVar[int]
    CUMULATIVE_DOSE_U_GY_FIELD_NUMBER: _ClassVar[int]
    CUMULATIVE_BED_GY_FIELD_NUMBER: _ClassVar[int]
    CUMULATIVE_BED_U_GY_FIELD_NUMBER: _ClassVar[int]
    GY_PER_GBQ_FIELD_NUMBER: _ClassVar[int]
    GY_PER_GBQ_FROM_FIELD_NUMBER: _ClassVar[int]
    PROJECTED_GY_FIELD_NUMBER: _ClassVar[int]
    PROJECTED_U_GY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_GY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_ACTION_FIELD_NUMBER: _ClassVar[int]
    MARGIN_GY_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_FIELD_NUMBER: _ClassVar[int]
    organ: str
    cycles: _containers.RepeatedCompositeFieldContainer[OrganCycle]
    cumulative_dose_gy: float
    cumulative_dose_u_gy: float
    cumulative_bed_gy: float
    cumulative_bed_u_gy: float
    gy_per_gbq: float
    gy_per_gbq_from: str
    projected_gy: float
    projected_u_gy: float
    limit_quantity: str
    limit_gy: float
    limit_action: str
    margin_gy: float
    estimated: bool
    def __init__(self, organ: _Optional[str] = ..., cycles: _Optional[_Iterable[_Union[OrganCycle, _Mapping]]] = ..., cumulative_dose_gy: _Optional[float] = ..., cumulative_dose_u_gy: _Optional[float] = ..., cumulative_bed_gy: _Optional[float] = ..., cumulative_bed_u_gy: _Optional[float] = ..., gy_per_gbq: _Optional[float] = ..., gy_per_gbq_from: _Optional[str] = ..., projected_gy: _Optional[float] = ..., projected_u_gy: _Optional[float] = ..., limit_quantity: _Optional[str] = ..., limit_gy: _Optional[float] = ..., limit_action: _Optional[str] = ..., margin_gy: _Optional[float] = ..., estimated: _Optional[bool] = ...) -> None: ...

class Decision(_message.Message):
    __slots__ = ("action", "cycle", "activity_gbq", "due", "reasons", "checked", "kidney_bed", "missing", "next_surveillance", "subject_id", "protocol", "as_of", "engine_version", "decision_id", "phase", "arm", "cycles_given", "confirm_psa_by", "response", "input_sha256", "recheck_on", "needed_by", "surveillance_due", "organs_at_risk")
    class SurveillanceDueEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ACTION_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_GBQ_FIELD_NUMBER: _ClassVar[int]
    DUE_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    CHECKED_FIELD_NUMBER: _ClassVar[int]
    KIDNEY_BED_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    NEXT_SURVEILLANCE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    ENGINE_VERSION_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    ARM_FIELD_NUMBER: _ClassVar[int]
    CYCLES_GIVEN_FIELD_NUMBER: _ClassVar[int]
    CONFIRM_PSA_BY_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    INPUT_SHA256_FIELD_NUMBER: _ClassVar[int]
    RECHECK_ON_FIELD_NUMBER: _ClassVar[int]
    NEEDED_BY_FIELD_NUMBER: _ClassVar[int]
    SURVEILLANCE_DUE_FIELD_NUMBER: _ClassVar[int]
    ORGANS_AT_RISK_FIELD_NUMBER: _ClassVar[int]
    action: Action
    cycle: int
    activity_gbq: float
    due: DueWindow
    reasons: _containers.RepeatedCompositeFieldContainer[Rule]
    checked: _containers.RepeatedCompositeFieldContainer[Rule]
    kidney_bed: KidneyBed
    missing: _containers.RepeatedScalarFieldContainer[str]
    next_surveillance: str
    subject_id: str
    protocol: _common_pb2.ProtocolIdentity
    as_of: str
    engine_version: str
    decision_id: str
    phase: str
    arm: str
    cycles_given: int
    confirm_psa_by: str
    response: TreatmentResponse
    input_sha256: str
    recheck_on: str
    needed_by: str
    surveillance_due: _containers.ScalarMap[str, str]
    organs_at_risk: _containers.RepeatedCompositeFieldContainer[OrganAtRisk]
    def __init__(self, action: _Optional[_Union[Action, str]] = ..., cycle: _Optional[int] = ..., activity_gbq: _Optional[float] = ..., due: _Optional[_Union[DueWindow, _Mapping]] = ..., reasons: _Optional[_Iterable[_Union[Rule, _Mapping]]] = ..., checked: _Optional[_Iterable[_Union[Rule, _Mapping]]] = ..., kidney_bed: _Optional[_Union[KidneyBed, _Mapping]] = ..., missing: _Optional[_Iterable[str]] = ..., next_surveillance: _Optional[str] = ..., subject_id: _Optional[str] = ..., protocol: _Optional[_Union[_common_pb2.ProtocolIdentity, _Mapping]] = ..., as_of: _Optional[str] = ..., engine_version: _Optional[str] = ..., decision_id: _Optional[str] = ..., phase: _Optional[str] = ..., arm: _Optional[str] = ..., cycles_given: _Optional[int] = ..., confirm_psa_by: _Optional[str] = ..., response: _Optional[_Union[TreatmentResponse, _Mapping]] = ..., input_sha256: _Optional[str] = ..., recheck_on: _Optional[str] = ..., needed_by: _Optional[str] = ..., surveillance_due: _Optional[_Mapping[str, str]] = ..., organs_at_risk: _Optional[_Iterable[_Union[OrganAtRisk, _Mapping]]] = ...) -> None: ...

class TreatmentResponse(_message.Message):
    __slots__ = ("psa_baseline", "psa_latest", "psa_nadir", "psa_change_from_baseline_pct", "psa_change_from_nadir_pct", "psa50", "psa90", "pcwg3", "tumour_volume_change_pct", "recip")
    PSA_BASELINE_FIELD_NUMBER: _ClassVar[int]
    PSA_LATEST_FIELD_NUMBER: _ClassVar[int]
    PSA_NADIR_FIELD_NUMBER: _ClassVar[int]
    PSA_CHANGE_FROM_BASELINE_PCT_FIELD_NUMBER: _ClassVar[int]
    PSA_CHANGE_FROM_NADIR_PCT_FIELD_NUMBER: _ClassVar[int]
    PSA50_FIELD_NUMBER: _ClassVar[int]
    PSA90_FIELD_NUMBER: _ClassVar[int]
    PCWG3_FIELD_NUMBER: _ClassVar[int]
    TUMOUR_VOLUME_CHANGE_PCT_FIELD_NUMBER: _ClassVar[int]
    RECIP_FIELD_NUMBER: _ClassVar[int]
    psa_baseline: float
    psa_latest: float
    psa_nadir: float
    psa_change_from_baseline_pct: float
    psa_change_from_nadir_pct: float
    psa50: bool
    psa90: bool
    pcwg3: str
    tumour_volume_change_pct: float
    recip: str
    def __init__(self, psa_baseline: _Optional[float] = ..., psa_latest: _Optional[float] = ..., psa_nadir: _Optional[float] = ..., psa_change_from_baseline_pct: _Optional[float] = ..., psa_change_from_nadir_pct: _Optional[float] = ..., psa50: _Optional[bool] = ..., psa90: _Optional[bool] = ..., pcwg3: _Optional[str] = ..., tumour_volume_change_pct: _Optional[float] = ..., recip: _Optional[str] = ...) -> None: ...

class EvaluateEligibilityRequest(_message.Message):
    __slots__ = ("protocol_ref", "record_json", "as_of", "record_fhir_json")
    PROTOCOL_REF_FIELD_NUMBER: _ClassVar[int]
    RECORD_JSON_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    RECORD_FHIR_JSON_FIELD_NUMBER: _ClassVar[int]
    protocol_ref: str
    record_json: str
    as_of: str
    record_fhir_json: str
    def __init__(self, protocol_ref: _Optional[str] = ..., record_json: _Optional[str] = ..., as_of: _Optional[str] = ..., record_fhir_json: _Optional[str] = ...) -> None: ...

class EvaluateEligibilityResponse(_message.Message):
    __slots__ = ("report", "log_sequence", "answer_json", "import_notes")
    REPORT_FIELD_NUMBER: _ClassVar[int]
    LOG_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    ANSWER_JSON_FIELD_NUMBER: _ClassVar[int]
    IMPORT_NOTES_FIELD_NUMBER: _ClassVar[int]
    report: EligibilityReport
    log_sequence: int
    answer_json: str
    import_notes: _containers.RepeatedCompositeFieldContainer[_common_pb2.ImportNote]
    def __init__(self, report: _Optional[_Union[EligibilityReport, _Mapping]] = ..., log_sequence: _Optional[int] = ..., answer_json: _Optional[str] = ..., import_notes: _Optional[_Iterable[_Union[_common_pb2.ImportNote, _Mapping]]] = ...) -> None: ...

class DecideNextActionRequest(_message.Message):
    __slots__ = ("protocol_ref", "record_json", "as_of", "record_fhir_json")
    PROTOCOL_REF_FIELD_NUMBER: _ClassVar[int]
    RECORD_JSON_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    RECORD_FHIR_JSON_FIELD_NUMBER: _ClassVar[int]
    protocol_ref: str
    record_json: str
    as_of: str
    record_fhir_json: str
    def __init__(self, protocol_ref: _Optional[str] = ..., record_json: _Optional[str] = ..., as_of: _Optional[str] = ..., record_fhir_json: _Optional[str] = ...) -> None: ...

class DecideNextActionResponse(_message.Message):
    __slots__ = ("decision", "log_sequence", "answer_json", "import_notes")
    DECISION_FIELD_NUMBER: _ClassVar[int]
    LOG_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    ANSWER_JSON_FIELD_NUMBER: _ClassVar[int]
    IMPORT_NOTES_FIELD_NUMBER: _ClassVar[int]
    decision: Decision
    log_sequence: int
    answer_json: str
    import_notes: _containers.RepeatedCompositeFieldContainer[_common_pb2.ImportNote]
    def __init__(self, decision: _Optional[_Union[Decision, _Mapping]] = ..., log_sequence: _Optional[int] = ..., answer_json: _Optional[str] = ..., import_notes: _Optional[_Iterable[_Union[_common_pb2.ImportNote, _Mapping]]] = ...) -> None: ...

class GetScheduleRequest(_message.Message):
    __slots__ = ("protocol_ref", "record_json", "as_of", "horizon", "record_fhir_json")
    PROTOCOL_REF_FIELD_NUMBER: _ClassVar[int]
    RECORD_JSON_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    HORIZON_FIELD_NUMBER: _ClassVar[int]
    RECORD_FHIR_JSON_FIELD_NUMBER: _ClassVar[int]
    protocol_ref: str
    record_json: str
    as_of: str
    horizon: str
    record_fhir_json: str
    def __init__(self, protocol_ref: _Optional[str] = ..., record_json: _Optional[str] = ..., as_of: _Optional[str] = ..., horizon: _Optional[str] = ..., record_fhir_json: _Optional[str] = ...) -> None: ...

class ScheduledEvent(_message.Message):
    __slots__ = ("date", "window_start", "window_end", "kind", "what", "cycle", "overdue", "days_past_due", "overdue_limit_days", "pending_data", "phase")
    DATE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    WHAT_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_FIELD_NUMBER: _ClassVar[int]
    DAYS_PAST_DUE_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_LIMIT_DAYS_FIELD_NUMBER: _ClassVar[int]
    PENDING_DATA_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    date: str
    window_start: str
    window_end: str
    kind: str
    what: str
    cycle: int
    overdue: bool
    days_past_due: int
    overdue_limit_days: int
    pending_data: bool
    phase: str
    def __init__(self, date: _Optional[str] = ..., window_start: _Optional[str] = ..., window_end: _Optional[str] = ..., kind: _Optional[str] = ..., what: _Optional[str] = ..., cycle: _Optional[int] = ..., overdue: _Optional[bool] = ..., days_past_due: _Optional[int] = ..., overdue_limit_days: _Optional[int] = ..., pending_data: _Optional[bool] = ..., phase: _Optional[str] = ...) -> None: ...

class GetScheduleResponse(_message.Message):
    __slots__ = ("events", "phase", "subject_id", "protocol", "as_of", "horizon", "engine_version", "decision_id", "action", "follows_decision", "ends", "import_notes")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    HORIZON_FIELD_NUMBER: _ClassVar[int]
    ENGINE_VERSION_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    FOLLOWS_DECISION_FIELD_NUMBER: _ClassVar[int]
    ENDS_FIELD_NUMBER: _ClassVar[int]
    IMPORT_NOTES_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[ScheduledEvent]
    phase: str
    subject_id: str
    protocol: _common_pb2.ProtocolIdentity
    as_of: str
    horizon: str
    engine_version: str
    decision_id: str
    action: Action
    follows_decision: str
    ends: str
    import_notes: _containers.RepeatedCompositeFieldContainer[_common_pb2.ImportNote]
    def __init__(self, events: _Optional[_Iterable[_Union[ScheduledEvent, _Mapping]]] = ..., phase: _Optional[str] = ..., subject_id: _Optional[str] = ..., protocol: _Optional[_Union[_common_pb2.ProtocolIdentity, _Mapping]] = ..., as_of: _Optional[str] = ..., horizon: _Optional[str] = ..., engine_version: _Optional[str] = ..., decision_id: _Optional[str] = ..., action: _Optional[_Union[Action, str]] = ..., follows_decision: _Optional[str] = ..., ends: _Optional[str] = ..., import_notes: _Optional[_Iterable[_Union[_common_pb2.ImportNote, _Mapping]]] = ...) -> None: ...

class GetWorklistRequest(_message.Message):
    __slots__ = ("protocol_ref", "record_json", "as_of", "horizon", "record_fhir_json")
    PROTOCOL_REF_FIELD_NUMBER: _ClassVar[int]
    RECORD_JSON_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    HORIZON_FIELD_NUMBER: _ClassVar[int]
    RECORD_FHIR_JSON_FIELD_NUMBER: _ClassVar[int]
    protocol_ref: str
    record_json: _containers.RepeatedScalarFieldContainer[str]
    as_of: str
    horizon: str
    record_fhir_json: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, protocol_ref: _Optional[str] = ..., record_json: _Optional[_Iterable[str]] = ..., as_of: _Optional[str] = ..., horizon: _Optional[str] = ..., record_fhir_json: _Optional[_Iterable[str]] = ...) -> None: ...

class GetWorklistResponse(_message.Message):
    __slots__ = ("subject_id", "event", "action", "follows_decision", "missing", "protocol", "as_of", "source")
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    FOLLOWS_DECISION_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    subject_id: str
    event: ScheduledEvent
    action: Action
    follows_decision: str
    missing: _containers.RepeatedScalarFieldContainer[str]
    protocol: _common_pb2.ProtocolIdentity
    as_of: str
    source: str
    def __init__(self, subject_id: _Optional[str] = ..., event: _Optional[_Union[ScheduledEvent, _Mapping]] = ..., action: _Optional[_Union[Action, str]] = ..., follows_decision: _Optional[str] = ..., missing: _Optional[_Iterable[str]] = ..., protocol: _Optional[_Union[_common_pb2.ProtocolIdentity, _Mapping]] = ..., as_of: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class GetStudyStatusRequest(_message.Message):
    __slots__ = ("protocol_ref", "record_json", "as_of")
    PROTOCOL_REF_FIELD_NUMBER: _ClassVar[int]
    RECORD_JSON_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    protocol_ref: str
    record_json: _containers.RepeatedScalarFieldContainer[str]
    as_of: str
    def __init__(self, protocol_ref: _Optional[str] = ..., record_json: _Optional[_Iterable[str]] = ..., as_of: _Optional[str] = ...) -> None: ...

class GetStudyStatusResponse(_message.Message):
    __slots__ = ("enrolled", "total", "target", "interim_due", "interim_threshold", "protocol", "as_of", "interim_text", "arms_by_subject", "duplicates")
    class EnrolledEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class ArmsBySubjectEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ENROLLED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    INTERIM_DUE_FIELD_NUMBER: _ClassVar[int]
    INTERIM_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    INTERIM_TEXT_FIELD_NUMBER: _ClassVar[int]
    ARMS_BY_SUBJECT_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    enrolled: _containers.ScalarMap[str, int]
    total: int
    target: int
    interim_due: bool
    interim_threshold: int
    protocol: _common_pb2.ProtocolIdentity
    as_of: str
    interim_text: str
    arms_by_subject: _containers.ScalarMap[str, str]
    duplicates: int
    def __init__(self, enrolled: _Optional[_Mapping[str, int]] = ..., total: _Optional[int] = ..., target: _Optional[int] = ..., interim_due: _Optional[bool] = ..., interim_threshold: _Optional[int] = ..., protocol: _Optional[_Union[_common_pb2.ProtocolIdentity, _Mapping]] = ..., as_of: _Optional[str] = ..., interim_text: _Optional[str] = ..., arms_by_subject: _Optional[_Mapping[str, str]] = ..., duplicates: _Optional[int] = ...) -> None: ...

class LogEntry(_message.Message):
    __slots__ = ("sequence", "decision_id", "kind", "recorded_at", "caller", "subject_id", "protocol", "input_json", "input_sha256", "as_of", "engine_version", "answer_json", "eligibility", "decision", "prev_hash", "entry_hash")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    INPUT_JSON_FIELD_NUMBER: _ClassVar[int]
    INPUT_SHA256_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    ENGINE_VERSION_FIELD_NUMBER: _ClassVar[int]
    ANSWER_JSON_FIELD_NUMBER: _ClassVar[int]
    ELIGIBILITY_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    PREV_HASH_FIELD_NUMBER: _ClassVar[int]
    ENTRY_HASH_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    decision_id: str
    kind: DecisionKind
    recorded_at: str
    caller: str
    subject_id: str
    protocol: _common_pb2.ProtocolIdentity
    input_json: str
    input_sha256: str
    as_of: str
    engine_version: str
    answer_json: str
    eligibility: EligibilityReport
    decision: Decision
    prev_hash: str
    entry_hash: str
    def __init__(self, sequence: _Optional[int] = ..., decision_id: _Optional[str] = ..., kind: _Optional[_Union[DecisionKind, str]] = ..., recorded_at: _Optional[str] = ..., caller: _Optional[str] = ..., subject_id: _Optional[str] = ..., protocol: _Optional[_Union[_common_pb2.ProtocolIdentity, _Mapping]] = ..., input_json: _Optional[str] = ..., input_sha256: _Optional[str] = ..., as_of: _Optional[str] = ..., engine_version: _Optional[str] = ..., answer_json: _Optional[str] = ..., eligibility: _Optional[_Union[EligibilityReport, _Mapping]] = ..., decision: _Optional[_Union[Decision, _Mapping]] = ..., prev_hash: _Optional[str] = ..., entry_hash: _Optional[str] = ...) -> None: ...

class GetDecisionRequest(_message.Message):
    __slots__ = ("decision_id", "sequence", "include_proof")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_PROOF_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    sequence: int
    include_proof: bool
    def __init__(self, decision_id: _Optional[str] = ..., sequence: _Optional[int] = ..., include_proof: _Optional[bool] = ...) -> None: ...

class GetDecisionResponse(_message.Message):
    __slots__ = ("entry", "inclusion_proof")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    INCLUSION_PROOF_FIELD_NUMBER: _ClassVar[int]
    entry: LogEntry
    inclusion_proof: InclusionProof
    def __init__(self, entry: _Optional[_Union[LogEntry, _Mapping]] = ..., inclusion_proof: _Optional[_Union[InclusionProof, _Mapping]] = ...) -> None: ...

class InclusionProof(_message.Message):
    __slots__ = ("leaf_index", "tree_size", "hashes", "checkpoint")
    LEAF_INDEX_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    HASHES_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    leaf_index: int
    tree_size: int
    hashes: _containers.RepeatedScalarFieldContainer[bytes]
    checkpoint: str
    def __init__(self, leaf_index: _Optional[int] = ..., tree_size: _Optional[int] = ..., hashes: _Optional[_Iterable[bytes]] = ..., checkpoint: _Optional[str] = ...) -> None: ...

class ListDecisionsRequest(_message.Message):
    __slots__ = ("subject_id", "page_size", "page_token")
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    subject_id: str
    page_size: int
    page_token: str
    def __init__(self, subject_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDecisionsResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[LogEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[LogEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
