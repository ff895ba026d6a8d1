from flexmrt.server._gen.flexmrt.v1 import common_pb2 as _common_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChangeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANGE_KIND_UNSPECIFIED: _ClassVar[ChangeKind]
    CHANGE_KIND_ADDED: _ClassVar[ChangeKind]
    CHANGE_KIND_REMOVED: _ClassVar[ChangeKind]
    CHANGE_KIND_CHANGED: _ClassVar[ChangeKind]
CHANGE_KIND_UNSPECIFIED: ChangeKind
CHANGE_KIND_ADDED: ChangeKind
CHANGE_KIND_REMOVED: ChangeKind
CHANGE_KIND_CHANGED: ChangeKind

class Arm(_message.Message):
    __slots__ = ("id", "name", "max_cycles", "activity_gbq", "interval", "holidays")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    MAX_CYCLES_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_GBQ_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    HOLIDAYS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    max_cycles: int
    activity_gbq: float
    interval: str
    holidays: bool
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., max_cycles: _Optional[int] = ..., activity_gbq: _Optional[float] = ..., interval: _Optional[str] = ..., holidays: _Optional[bool] = ...) -> None: ...

class ProtocolSummary(_message.Message):
    __slots__ = ("id", "revision", "ref", "title", "status", "effective_from", "supersedes", "sha256", "arms", "inclusion_count", "exclusion_count", "parameter_count", "assumed_parameters")
    ID_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    REF_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    SUPERSEDES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    ARMS_FIELD_NUMBER: _ClassVar[int]
    INCLUSION_COUNT_FIELD_NUMBER: _ClassVar[int]
    EXCLUSION_COUNT_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_COUNT_FIELD_NUMBER: _ClassVar[int]
    ASSUMED_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    id: str
    revision: str
    ref: str
    title: str
    status: str
    effective_from: str
    supersedes: str
    sha256: str
    arms: _containers.RepeatedCompositeFieldContainer[Arm]
    inclusion_count: int
    exclusion_count: int
    parameter_count: int
    assumed_parameters: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., revision: _Optional[str] = ..., ref: _Optional[str] = ..., title: _Optional[str] = ..., status: _Optional[str] = ..., effective_from: _Optional[str] = ..., supersedes: _Optional[str] = ..., sha256: _Optional[str] = ..., arms: _Optional[_Iterable[_Union[Arm, _Mapping]]] = ..., inclusion_count: _Optional[int] = ..., exclusion_count: _Optional[int] = ..., parameter_count: _Optional[int] = ..., assumed_parameters: _Optional[_Iterable[str]] = ...) -> None: ...

class ListProtocolsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListProtocolsResponse(_message.Message):
    __slots__ = ("protocols",)
    PROTOCOLS_FIELD_NUMBER: _ClassVar[int]
    protocols: _containers.RepeatedCompositeFieldContainer[ProtocolSummary]
    def __init__(self, protocols: _Optional[_Iterable[_Union[ProtocolSummary, _Mapping]]] = ...) -> None: ...

class GetProtocolRequest(_message.Message):
    __slots__ = ("ref", "on")
    REF_FIELD_NUMBER: _ClassVar[int]
    ON_FIELD_NUMBER: _ClassVar[int]
    ref: str
    on: str
    def __init__(self, ref: _Optional[str] = ..., on: _Optional[str] = ...) -> None: ...

class GetProtocolResponse(_message.Message):
    __slots__ = ("summary", "yaml_text", "sha256")
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    YAML_TEXT_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    summary: ProtocolSummary
    yaml_text: str
    sha256: str
    def __init__(self, summary: _Optional[_Union[ProtocolSummary, _Mapping]] = ..., yaml_text: _Optional[str] = ..., sha256: _Optional[str] = ...) -> None: ...

class ValidateProtocolRequest(_message.Message):
    __slots__ = ("yaml_text", "file_name")
    YAML_TEXT_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    yaml_text: str
    file_name: str
    def __init__(self, yaml_text: _Optional[str] = ..., file_name: _Optional[str] = ...) -> None: ...

class ValidateProtocolResponse(_message.Message):
    __slots__ = ("valid", "code", "message", "issues", "summary")
    VALID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ISSUES_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    code: str
    message: str
    issues: _containers.RepeatedCompositeFieldContainer[_common_pb2.Issue]
    summary: ProtocolSummary
    def __init__(self, valid: _Optional[bool] = ..., code: _Optional[str] = ..., message: _Optional[str] = ..., issues: _Optional[_Iterable[_Union[_common_pb2.Issue, _Mapping]]] = ..., summary: _Optional[_Union[ProtocolSummary, _Mapping]] = ...) -> None: ...

class DiffProtocolsRequest(_message.Message):
    __slots__ = ("from_ref", "to_ref")
    FROM_REF_FIELD_NUMBER: _ClassVar[int]
    TO_REF_FIELD_NUMBER: _ClassVar[int]
    from_ref: str
    to_ref: str
    def __init__(self, from_ref: _Optional[str] = ..., to_ref: _Optional[str] = ...) -> None: ...

class FieldChange(_message.Message):
    __slots__ = ("field", "old_value", "new_value")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    OLD_VALUE_FIELD_NUMBER: _ClassVar[int]
    NEW_VALUE_FIELD_NUMBER: _ClassVar[int]
    field: str
    old_value: _struct_pb2.Value
    new_value: _struct_pb2.Value
    def __init__(self, field: _Optional[str] = ..., old_value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., new_value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class EntityChange(_message.Message):
    __slots__ = ("change", "kind", "id", "entity", "fields")
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    change: ChangeKind
    kind: str
    id: str
    entity: str
    fields: _containers.RepeatedCompositeFieldContainer[FieldChange]
    def __init__(self, change: _Optional[_Union[ChangeKind, str]] = ..., kind: _Optional[str] = ..., id: _Optional[str] = ..., entity: _Optional[str] = ..., fields: _Optional[_Iterable[_Union[FieldChange, _Mapping]]] = ...) -> None: ...

class DiffProtocolsResponse(_message.Message):
    __slots__ = ("from_protocol", "to_protocol", "changes", "added_count", "removed_count", "changed_count", "text")
    FROM_PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    TO_PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    ADDED_COUNT_FIELD_NUMBER: _ClassVar[int]
    REMOVED_COUNT_FIELD_NUMBER: _ClassVar[int]
    CHANGED_COUNT_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    from_protocol: _common_pb2.ProtocolIdentity
    to_protocol: _common_pb2.ProtocolIdentity
    changes: _containers.RepeatedCompositeFieldContainer[EntityChange]
    added_count: int
    removed_count: int
    changed_count: int
    text: str
    def __init__(self, from_protocol: _Optional[_Union[_common_pb2.ProtocolIdentity, _Mapping]] = ..., to_protocol: _Optional[_Union[_common_pb2.ProtocolIdentity, _Mapping]] = ..., changes: _Optional[_Iterable[_Union[EntityChange, _Mapping]]] = ..., added_count: _Optional[int] = ..., removed_count: _Optional[int] = ..., changed_count: _Optional[int] = ..., text: _Optional[str] = ...) -> None: ...

class AssessAmendmentRequest(_message.Message):
    __slots__ = ("from_ref", "to_ref", "to_yaml_text", "record_json", "as_of")
    FROM_REF_FIELD_NUMBER: _ClassVar[int]
    TO_REF_FIELD_NUMBER: _ClassVar[int]
    TO_YAML_TEXT_FIELD_NUMBER: _ClassVar[int]
    RECORD_JSON_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    from_ref: str
    to_ref: str
    to_yaml_text: str
    record_json: _containers.RepeatedScalarFieldContainer[str]
    as_of: str
    def __init__(self, from_ref: _Optional[str] = ..., to_ref: _Optional[str] = ..., to_yaml_text: _Optional[str] = ..., record_json: _Optional[_Iterable[str]] = ..., as_of: _Optional[str] = ...) -> None: ...

class SubjectChange(_message.Message):
    __slots__ = ("field", "old_value", "new_value")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    OLD_VALUE_FIELD_NUMBER: _ClassVar[int]
    NEW_VALUE_FIELD_NUMBER: _ClassVar[int]
    field: str
    old_value: _struct_pb2.Value
    new_value: _struct_pb2.Value
    def __init__(self, field: _Optional[str] = ..., old_value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., new_value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class RuleFlip(_message.Message):
    __slots__ = ("id", "old_outcome", "new_outcome")
    ID_FIELD_NUMBER: _ClassVar[int]
    OLD_OUTCOME_FIELD_NUMBER: _ClassVar[int]
    NEW_OUTCOME_FIELD_NUMBER: _ClassVar[int]
    id: str
    old_outcome: str
    new_outcome: str
    def __init__(self, id: _Optional[str] = ..., old_outcome: _Optional[str] = ..., new_outcome: _Optional[str] = ...) -> None: ...

class SubjectImpact(_message.Message):
    __slots__ = ("subject_id", "as_of", "changed", "changes", "rules")
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    subject_id: str
    as_of: str
    changed: bool
    changes: _containers.RepeatedCompositeFieldContainer[SubjectChange]
    rules: _containers.RepeatedCompositeFieldContainer[RuleFlip]
    def __init__(self, subject_id: _Optional[str] = ..., as_of: _Optional[str] = ..., changed: _Optional[bool] = ..., changes: _Optional[_Iterable[_Union[SubjectChange, _Mapping]]] = ..., rules: _Optional[_Iterable[_Union[RuleFlip, _Mapping]]] = ...) -> None: ...

class AmendmentSummary(_message.Message):
    __slots__ = ("from_protocol", "to_protocol", "subjects", "unchanged", "changed", "by_kind")
    class ByKindEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    FROM_PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    TO_PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    SUBJECTS_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    BY_KIND_FIELD_NUMBER: _ClassVar[int]
    from_protocol: _common_pb2.ProtocolIdentity
    to_protocol: _common_pb2.ProtocolIdentity
    subjects: int
    unchanged: int
    changed: int
    by_kind: _containers.ScalarMap[str, int]
    def __init__(self, from_protocol: _Optional[_Union[_common_pb2.ProtocolIdentity, _Mapping]] = ..., to_protocol: _Optional[_Union[_common_pb2.ProtocolIdentity, _Mapping]] = ..., subjects: _Optional[int] = ..., unchanged: _Optional[int] = ..., changed: _Optional[int] = ..., by_kind: _Optional[_Mapping[str, int]] = ...) -> None: ...

class AssessAmendmentResponse(_message.Message):
    __slots__ = ("subject", "summary")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    subject: SubjectImpact
    summary: AmendmentSummary
    def __init__(self, subject: _Optional[_Union[SubjectImpact, _Mapping]] = ..., summary: _Optional[_Union[AmendmentSummary, _Mapping]] = ...) -> None: ...
