"""The patient record: validated against its JSON Schema, units converted, dates in UTC.

The schema (``engine/schema/record.schema.json``) is the one source of truth for
the record's shape; the gRPC contract carries the same document as JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cache, cached_property
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match

from protocol.canonical import canonical_json
from protocol.durations import parse_datetime
from protocol.errors import Issue, locate
from protocol.units import UnitError, analyte_to_canonical, to_canonical

from .errors import RecordError

__all__ = [
    "Administration",
    "AdverseEvent",
    "Holiday",
    "Lab",
    "Pet",
    "Record",
    "Spect",
    "Therapy",
    "parse_record",
    "read_record_text",
    "record_schema",
]


@dataclass(frozen=True)
class Lab:
    """A lab result in its canonical unit (see protocol.units.ANALYTES), with provenance."""

    test: str
    value: float
    unit: str
    reported: str  # value and unit as reported, for evidence
    when: datetime
    index: int
    ref_low: float | None = None
    ref_high: float | None = None

    @property
    def day(self) -> date:
        return self.when.date()


@dataclass(frozen=True)
class Administration:
    cycle: int
    when: datetime
    activity_gbq: float
    index: int

    @property
    def day(self) -> date:
        return self.when.date()


@dataclass(frozen=True)
class Spect:
    cycle: int
    when: datetime
    index: int
    hours_post_injection: float | None = None
    tumour_volume_ml: float | None = None
    new_lesions: bool | None = None
    kidney_dose_gy: float | None = None
    kidney_teff_h: float | None = None

    @property
    def day(self) -> date:
        return self.when.date()


@dataclass(frozen=True)
class Pet:
    when: datetime
    index: int
    psma_vol_ml: float | None = None
    new_lesions: bool | None = None
    recip: str | None = None

    @property
    def day(self) -> date:
        return self.when.date()


@dataclass(frozen=True)
class Holiday:
    start: date
    end: date | None


@dataclass(frozen=True)
class AdverseEvent:
    term: str
    grade: int
    start: date
    end: date | None
    index: int


@dataclass(frozen=True)
class Therapy:
    cls: str
    agent: str
    start: date
    end: date | None
    index: int


@dataclass(frozen=True)
class Record:
    """A validated record. Lists are None when absent from the input (unknown)."""

    doc: dict[str, Any]
    subject_id: str
    sex: str
    birth_date: date | None
    age_years: float | None
    weight_kg: float | None
    consent_date: date | None
    arm: str | None
    randomised_on: date | None
    liver_metastases: bool | None
    therapies: tuple[Therapy, ...] | None
    ecog: tuple[tuple[date, int, int], ...] | None
    labs: tuple[Lab, ...] | None
    administrations: tuple[Administration, ...] | None
    spect: tuple[Spect, ...] | None
    pets: tuple[Pet, ...] | None
    holidays: tuple[Holiday, ...] | None
    adverse_events: tuple[AdverseEvent, ...] | None
    withdrawal_date: date | None
    death_date: date | None
    screening_pet: dict[str, Any] | None = field(default=None)

    @cached_property
    def canonical(self) -> str:
        """The input document as canonical JSON (RFC 8785), computed once per record."""
        return canonical_json(self.doc)

    def until(self, as_of: date) -> Record:
        """The record as known on ``as_of``: data dated after it are ignored."""

        def keep(items: tuple[Any, ...] | None, day: Any) -> Any:
            return None if items is None else tuple(i for i in items if day(i) <= as_of)

        return replace(
            self,
            therapies=keep(self.therapies, lambda t: t.start),
            ecog=keep(self.ecog, lambda e: e[0]),
            labs=keep(self.labs, lambda x: x.day),
            administrations=keep(self.administrations, lambda x: x.day),
            spect=keep(self.spect, lambda x: x.day),
            pets=keep(self.pets, lambda x: x.day),
            holidays=None
            if self.holidays is None
            else tuple(
                Holiday(h.start, h.end if h.end and h.end <= as_of else None)
                for h in self.holidays
                if h.start <= as_of
            ),
            adverse_events=keep(self.adverse_events, lambda x: x.start),
            withdrawal_date=self.withdrawal_date if _le(self.withdrawal_date, as_of) else None,
            death_date=self.death_date if _le(self.death_date, as_of) else None,
        )


def _le(day: date | None, as_of: date) -> bool:
    return day is not None and day <= as_of


@cache
def record_schema() -> dict[str, Any]:
    text = resources.files("engine").joinpath("schema/record.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Draft202012Validator:
    """The record validator, over the schema with its local ``$ref``s inlined.

    Resolving ``#/$defs/…`` on every use costs about a third of validation time;
    the record schema has no recursive references, so inlining changes nothing else
    (error paths are instance paths either way).
    """
    schema = record_schema()
    return Draft202012Validator(
        _inline_refs(schema, schema["$defs"], ()), format_checker=FormatChecker()
    )


def _inline_refs(node: Any, defs: dict[str, Any], seen: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline_refs(item, defs, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref.removeprefix("#/$defs/")
        if name in seen:
            raise ValueError(f"record schema: recursive $ref {ref}")
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return {**_inline_refs(defs[name], defs, (*seen, name)), **siblings}
    return {k: _inline_refs(v, defs, seen) for k, v in node.items() if k != "$defs"}


def parse_record(
    data: Any, positions: dict[str, tuple[int, int]] | None = None, file: str = ""
) -> Record:
    """Validate and normalise a record document; raise RecordError listing every problem."""
    errors = list(_validator().iter_errors(data))
    if errors:
        head = best_match(errors)
        ordered = [head, *(e for e in errors if e is not head)]
        issues = [
            locate(Issue("schema_violation", e.message, _pointer(e.absolute_path)), positions, file)
            for e in ordered
        ]
        raise RecordError(
            "schema_violation",
            f"{file or 'record'}: {len(issues)} problem(s); first: {issues[0].message}",
            issues,
        )
    builder = _Builder(data)
    record = builder.build()
    if builder.issues:
        issues = [locate(i, positions, file) for i in builder.issues]
        raise RecordError(
            issues[0].code,
            f"{file or 'record'}: {len(issues)} problem(s); first: {issues[0].message}",
            issues,
        )
    return record


def _pointer(path: Any) -> str:
    return "".join(f"/{p}" for p in path)


class _Builder:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.issues: list[Issue] = []

    def build(self) -> Record:
        d = self.doc
        subject = d["subject"]
        history = d.get("history") or {}
        rand = d.get("randomisation")
        return Record(
            doc=d,
            subject_id=subject["id"],
            sex=subject["sex"],
            birth_date=_date(subject.get("birth_date")),
            age_years=subject.get("age_years"),
            weight_kg=self._quantity(subject.get("weight"), "mass", "/subject/weight"),
            consent_date=_date((d.get("consent") or {}).get("date")),
            arm=rand["arm"] if rand else None,
            randomised_on=_date(rand["date"]) if rand else None,
            liver_metastases=history.get("liver_metastases"),
            therapies=self._list(history.get("prior_therapies"), self._therapy),
            ecog=self._list(
                d.get("ecog"), lambda e, i: (self._day(e["dtc"], f"/ecog/{i}/dtc"), e["score"], i)
            ),
            labs=self._list(d.get("labs"), self._lab),
            administrations=self._list(d.get("administrations"), self._administration),
            spect=self._list(d.get("spect_ct"), self._spect),
            pets=self._list(d.get("pet_ct"), self._pet),
            holidays=self._list(
                d.get("holidays"),
                lambda h, i: Holiday(date.fromisoformat(h["start"]), _date(h.get("end"))),
            ),
            adverse_events=self._list(d.get("adverse_events"), self._ae),
            withdrawal_date=_date((d.get("withdrawal") or {}).get("date")),
            death_date=_date((d.get("death") or {}).get("date")),
            screening_pet=d.get("screening_pet"),
        )

    def _list(self, items: list[Any] | None, make: Any) -> tuple[Any, ...] | None:
        if items is None:
            return None
        built = [make(item, i) for i, item in enumerate(items)]
        return tuple(sorted(built, key=_sort_key))

    def _when(self, text: str, pointer: str) -> datetime:
        try:
            return parse_datetime(text)
        except ValueError as exc:
            self.issues.append(
                Issue(
                    "invalid_datetime",
                    str(exc),
                    pointer,
                    expected="ISO 8601 date or date-time with offset",
                    found=text,
                )
            )
            return parse_datetime(text[:10])

    def _day(self, text: str, pointer: str) -> date:
        return self._when(text, pointer).date()

    def _quantity(self, q: dict[str, Any] | None, kind: str, pointer: str) -> float | None:
        if q is None:
            return None
        try:
            return to_canonical(q["value"], q["unit"], kind)
        except UnitError as exc:
            self.issues.append(
                Issue(
                    "unit_mismatch",
                    str(exc),
                    f"{pointer}/unit",
                    expected=f"a unit of {kind}",
                    found=q["unit"],
                )
            )
            return None

    def _lab(self, lab: dict[str, Any], i: int) -> Lab:
        test, unit = lab["testcd"], lab["unit"]
        try:
            value = analyte_to_canonical(test, lab["value"], unit)
            low = _opt(lab.get("ref_low"), lambda v: analyte_to_canonical(test, v, unit))
            high = _opt(lab.get("ref_high"), lambda v: analyte_to_canonical(test, v, unit))
        except UnitError as exc:
            self.issues.append(
                Issue(
                    "unit_mismatch",
                    str(exc),
                    f"/labs/{i}/unit",
                    expected=f"a unit for {test}",
                    found=unit,
                    fix="report the value in one of the listed units",
                )
            )
            value, low, high = float("nan"), None, None
        from protocol.units import ANALYTES

        return Lab(
            test,
            value,
            ANALYTES[test][1],
            f"{lab['value']:g} {unit}",
            self._when(lab["dtc"], f"/labs/{i}/dtc"),
            i,
            low,
            high,
        )

    def _administration(self, a: dict[str, Any], i: int) -> Administration:
        activity = self._quantity(a["activity"], "activity", f"/administrations/{i}/activity")
        return Administration(
            a["cycle"],
            self._when(a["dtc"], f"/administrations/{i}/dtc"),
            activity if activity is not None else float("nan"),
            i,
        )

    def _spect(self, s: dict[str, Any], i: int) -> Spect:
        return Spect(
            s["cycle"],
            self._when(s["dtc"], f"/spect_ct/{i}/dtc"),
            i,
            s.get("hours_post_injection"),
            s.get("tumour_volume_ml"),
            s.get("new_lesions"),
            s.get("kidney_dose_gy"),
            s.get("kidney_teff_h"),
        )

    def _pet(self, p: dict[str, Any], i: int) -> Pet:
        return Pet(
            self._when(p["dtc"], f"/pet_ct/{i}/dtc"),
            i,
            p.get("psma_vol_ml"),
            p.get("new_lesions"),
            p.get("recip"),
        )

    def _ae(self, a: dict[str, Any], i: int) -> AdverseEvent:
        end = a.get("end")
        return AdverseEvent(
            a["term"].lower(),
            a["grade"],
            self._day(a["start"], f"/adverse_events/{i}/start"),
            self._day(end, f"/adverse_events/{i}/end") if end else None,
            i,
        )

    def _therapy(self, t: dict[str, Any], i: int) -> Therapy:
        end = t.get("end")
        return Therapy(
            t["class"],
            t.get("agent", ""),
            self._day(t["start"], f"/history/prior_therapies/{i}/start"),
            self._day(end, f"/history/prior_therapies/{i}/end") if end else None,
            i,
        )


def _sort_key(item: Any) -> Any:
    for attr in ("when", "start"):
        if hasattr(item, attr):
            return (getattr(item, attr), getattr(item, "index", 0))
    if isinstance(item, tuple):
        return item
    return 0


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text[:10]) if text else None


def _opt(value: float | None, fn: Any) -> float | None:
    return None if value is None else float(fn(value))


def read_record_text(text: str, file: str = "") -> Record:
    """Parse a record from YAML or JSON text (strict YAML: see protocol.yamlio)."""
    from protocol.errors import ProtocolError
    from protocol.yamlio import read_yaml

    try:
        data, positions = read_yaml(text, file)
    except ProtocolError as exc:
        raise RecordError(exc.code, exc.message, exc.issues) from exc
    return parse_record(data, positions, file)
