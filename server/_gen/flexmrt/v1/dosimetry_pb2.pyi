from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TiaMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIA_METHOD_UNSPECIFIED: _ClassVar[TiaMethod]
    TIA_METHOD_HANSCHEID: _ClassVar[TiaMethod]
    TIA_METHOD_PRIOR_HALF_LIFE: _ClassVar[TiaMethod]
    TIA_METHOD_FIT: _ClassVar[TiaMethod]

class DoseMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DOSE_METHOD_UNSPECIFIED: _ClassVar[DoseMethod]
    DOSE_METHOD_KERNEL: _ClassVar[DoseMethod]
    DOSE_METHOD_LOCAL: _ClassVar[DoseMethod]

class FileRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FILE_ROLE_UNSPECIFIED: _ClassVar[FileRole]
    FILE_ROLE_SPECT: _ClassVar[FileRole]
    FILE_ROLE_MASKS: _ClassVar[FileRole]
    FILE_ROLE_CT: _ClassVar[FileRole]
TIA_METHOD_UNSPECIFIED: TiaMethod
TIA_METHOD_HANSCHEID: TiaMethod
TIA_METHOD_PRIOR_HALF_LIFE: TiaMethod
TIA_METHOD_FIT: TiaMethod
DOSE_METHOD_UNSPECIFIED: DoseMethod
DOSE_METHOD_KERNEL: DoseMethod
DOSE_METHOD_LOCAL: DoseMethod
FILE_ROLE_UNSPECIFIED: FileRole
FILE_ROLE_SPECT: FileRole
FILE_ROLE_MASKS: FileRole
FILE_ROLE_CT: FileRole

class DoseSettings(_message.Message):
    __slots__ = ("tia_method", "teff_h", "dose_method", "float64", "protocol_ref", "injected_gbq", "injection_time", "calibration_bq_ml_per_count", "return_rt_dose", "site_time_zone", "sensitivity_cps_per_mbq")
    class TeffHEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    TIA_METHOD_FIELD_NUMBER: _ClassVar[int]
    TEFF_H_FIELD_NUMBER: _ClassVar[int]
    DOSE_METHOD_FIELD_NUMBER: _ClassVar[int]
    FLOAT64_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_REF_FIELD_NUMBER: _ClassVar[int]
    INJECTED_GBQ_FIELD_NUMBER: _ClassVar[int]
    INJECTION_TIME_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_BQ_ML_PER_COUNT_FIELD_NUMBER: _ClassVar[int]
    RETURN_RT_DOSE_FIELD_NUMBER: _ClassVar[int]
    SITE_TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    SENSITIVITY_CPS_PER_MBQ_FIELD_NUMBER: _ClassVar[int]
    tia_method: TiaMethod
    teff_h: _containers.ScalarMap[str, float]
    dose_method: DoseMethod
    float64: bool
    protocol_ref: str
    injected_gbq: float
    injection_time: str
    calibration_bq_ml_per_count: float
    return_rt_dose: bool
    site_time_zone: str
    sensitivity_cps_per_mbq: float
    def __init__(self, tia_method: _Optional[_Union[TiaMethod, str]] = ..., teff_h: _Optional[_Mapping[str, float]] = ..., dose_method: _Optional[_Union[DoseMethod, str]] = ..., float64: _Optional[bool] = ..., protocol_ref: _Optional[str] = ..., injected_gbq: _Optional[float] = ..., injection_time: _Optional[str] = ..., calibration_bq_ml_per_count: _Optional[float] = ..., return_rt_dose: _Optional[bool] = ..., site_time_zone: _Optional[str] = ..., sensitivity_cps_per_mbq: _Optional[float] = ...) -> None: ...

class FileChunk(_message.Message):
    __slots__ = ("role", "series", "name", "data")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    role: FileRole
    series: str
    name: str
    data: bytes
    def __init__(self, role: _Optional[_Union[FileRole, str]] = ..., series: _Optional[str] = ..., name: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class ComputeDoseRequest(_message.Message):
    __slots__ = ("settings", "chunk")
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    settings: DoseSettings
    chunk: FileChunk
    def __init__(self, settings: _Optional[_Union[DoseSettings, _Mapping]] = ..., chunk: _Optional[_Union[FileChunk, _Mapping]] = ...) -> None: ...

class TimePoint(_message.Message):
    __slots__ = ("series", "acquired", "hours_post_injection")
    SERIES_FIELD_NUMBER: _ClassVar[int]
    ACQUIRED_FIELD_NUMBER: _ClassVar[int]
    HOURS_POST_INJECTION_FIELD_NUMBER: _ClassVar[int]
    series: str
    acquired: str
    hours_post_injection: float
    def __init__(self, series: _Optional[str] = ..., acquired: _Optional[str] = ..., hours_post_injection: _Optional[float] = ...) -> None: ...

class DoseVolumeHistogram(_message.Message):
    __slots__ = ("dose_gy", "fraction")
    DOSE_GY_FIELD_NUMBER: _ClassVar[int]
    FRACTION_FIELD_NUMBER: _ClassVar[int]
    dose_gy: _containers.RepeatedScalarFieldContainer[float]
    fraction: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, dose_gy: _Optional[_Iterable[float]] = ..., fraction: _Optional[_Iterable[float]] = ...) -> None: ...

class StructureDose(_message.Message):
    __slots__ = ("name", "voxels", "volume_ml", "mass_g", "mean_gy", "max_gy", "d2_gy", "d50_gy", "d98_gy", "tia_mbq_h", "gy_per_gbq", "teff_h", "mean_bed_gy", "eubed_gy", "dvh", "teff_source", "group", "alpha_beta_gy", "repair_half_time_h")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VOXELS_FIELD_NUMBER: _ClassVar[int]
    VOLUME_ML_FIELD_NUMBER: _ClassVar[int]
    MASS_G_FIELD_NUMBER: _ClassVar[int]
    MEAN_GY_FIELD_NUMBER: _ClassVar[int]
    MAX_GY_FIELD_NUMBER: _ClassVar[int]
    D2_GY_FIELD_NUMBER: _ClassVar[int]
    D50_GY_FIELD_NUMBER: _ClassVar[int]
    D98_GY_FIELD_NUMBER: _ClassVar[int]
    TIA_MBQ_H_FIELD_NUMBER: _ClassVar[int]
    GY_PER_GBQ_FIELD_NUMBER: _ClassVar[int]
    TEFF_H_FIELD_NUMBER: _ClassVar[int]
    MEAN_BED_GY_FIELD_NUMBER: _ClassVar[int]
    EUBED_GY_FIELD_NUMBER: _ClassVar[int]
    DVH_FIELD_NUMBER: _ClassVar[int]
    TEFF_SOURCE_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    ALPHA_BETA_GY_FIELD_NUMBER: _ClassVar[int]
    REPAIR_HALF_TIME_H_FIELD_NUMBER: _ClassVar[int]
    name: str
    voxels: int
    volume_ml: float
    mass_g: float
    mean_gy: float
    max_gy: float
    d2_gy: float
    d50_gy: float
    d98_gy: float
    tia_mbq_h: float
    gy_per_gbq: float
    teff_h: float
    mean_bed_gy: float
    eubed_gy: float
    dvh: DoseVolumeHistogram
    teff_source: str
    group: str
    alpha_beta_gy: float
    repair_half_time_h: float
    def __init__(self, name: _Optional[str] = ..., voxels: _Optional[int] = ..., volume_ml: _Optional[float] = ..., mass_g: _Optional[float] = ..., mean_gy: _Optional[float] = ..., max_gy: _Optional[float] = ..., d2_gy: _Optional[float] = ..., d50_gy: _Optional[float] = ..., d98_gy: _Optional[float] = ..., tia_mbq_h: _Optional[float] = ..., gy_per_gbq: _Optional[float] = ..., teff_h: _Optional[float] = ..., mean_bed_gy: _Optional[float] = ..., eubed_gy: _Optional[float] = ..., dvh: _Optional[_Union[DoseVolumeHistogram, _Mapping]] = ..., teff_source: _Optional[str] = ..., group: _Optional[str] = ..., alpha_beta_gy: _Optional[float] = ..., repair_half_time_h: _Optional[float] = ...) -> None: ...

class ComputeDoseResponse(_message.Message):
    __slots__ = ("structures", "spect", "injected_gbq", "injected", "backend", "alpha_beta_gy", "repair_half_time_h", "notes", "warnings", "rt_dose_dicom", "injection_time_source", "time_zone")
    STRUCTURES_FIELD_NUMBER: _ClassVar[int]
    SPECT_FIELD_NUMBER: _ClassVar[int]
    INJECTED_GBQ_FIELD_NUMBER: _ClassVar[int]
    INJECTED_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    ALPHA_BETA_GY_FIELD_NUMBER: _ClassVar[int]
    REPAIR_HALF_TIME_H_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    RT_DOSE_DICOM_FIELD_NUMBER: _ClassVar[int]
    INJECTION_TIME_SOURCE_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    structures: _containers.RepeatedCompositeFieldContainer[StructureDose]
    spect: _containers.RepeatedCompositeFieldContainer[TimePoint]
    injected_gbq: float
    injected: str
    backend: str
    alpha_beta_gy: float
    repair_half_time_h: float
    notes: _containers.RepeatedScalarFieldContainer[str]
    warnings: _containers.RepeatedScalarFieldContainer[str]
    rt_dose_dicom: bytes
    injection_time_source: str
    time_zone: str
    def __init__(self, structures: _Optional[_Iterable[_Union[StructureDose, _Mapping]]] = ..., spect: _Optional[_Iterable[_Union[TimePoint, _Mapping]]] = ..., injected_gbq: _Optional[float] = ..., injected: _Optional[str] = ..., backend: _Optional[str] = ..., alpha_beta_gy: _Optional[float] = ..., repair_half_time_h: _Optional[float] = ..., notes: _Optional[_Iterable[str]] = ..., warnings: _Optional[_Iterable[str]] = ..., rt_dose_dicom: _Optional[bytes] = ..., injection_time_source: _Optional[str] = ..., time_zone: _Optional[str] = ...) -> None: ...
