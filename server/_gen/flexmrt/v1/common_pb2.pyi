from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RuleOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RULE_OUTCOME_UNSPECIFIED: _ClassVar[RuleOutcome]
    RULE_OUTCOME_MET: _ClassVar[RuleOutcome]
    RULE_OUTCOME_NOT_MET: _ClassVar[RuleOutcome]
    RULE_OUTCOME_INDETERMINATE: _ClassVar[RuleOutcome]
RULE_OUTCOME_UNSPECIFIED: RuleOutcome
RULE_OUTCOME_MET: RuleOutcome
RULE_OUTCOME_NOT_MET: RuleOutcome
RULE_OUTCOME_INDETERMINATE: RuleOutcome

class ProtocolIdentity(_message.Message):
    __slots__ = ("ref", "sha256")
    REF_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    ref: str
    sha256: str
    def __init__(self, ref: _Optional[str] = ..., sha256: _Optional[str] = ...) -> None: ...

class Source(_message.Message):
    __slots__ = ("citation", "section")
    CITATION_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    citation: str
    section: str
    def __init__(self, citation: _Optional[str] = ..., section: _Optional[str] = ...) -> None: ...

class Observation(_message.Message):
    __slots__ = ("what", "value", "unit", "date", "pointer", "extra")
    WHAT_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    POINTER_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELD_NUMBER: _ClassVar[int]
    what: str
    value: _struct_pb2.Value
    unit: str
    date: str
    pointer: str
    extra: _struct_pb2.Struct
    def __init__(self, what: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., unit: _Optional[str] = ..., date: _Optional[str] = ..., pointer: _Optional[str] = ..., extra: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class Issue(_message.Message):
    __slots__ = ("code", "message", "pointer", "file", "line", "column", "expected", "found", "fix")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    POINTER_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    FOUND_FIELD_NUMBER: _ClassVar[int]
    FIX_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    pointer: str
    file: str
    line: int
    column: int
    expected: str
    found: str
    fix: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., pointer: _Optional[str] = ..., file: _Optional[str] = ..., line: _Optional[int] = ..., column: _Optional[int] = ..., expected: _Optional[str] = ..., found: _Optional[str] = ..., fix: _Optional[str] = ...) -> None: ...

class ImportNote(_message.Message):
    __slots__ = ("kind", "where", "message")
    KIND_FIELD_NUMBER: _ClassVar[int]
    WHERE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    where: str
    message: str
    def __init__(self, kind: _Optional[str] = ..., where: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...
