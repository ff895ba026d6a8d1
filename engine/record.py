"""The patient record: validated against its JSON Schema, units converted, dates in UTC.

The schema (``engine/schema/record.schema.json``) is the one source of truth for
the record's shape; the gRPC contract carries the same document as JSON.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from functools import cache, cached_property
from importlib import resources
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match

from flexmrt.protocol.canonical import canonical_json
from flexmrt.protocol.durations import parse_datetime
from flexmrt.protocol.errors import Issue, clipped, locate
from flexmrt.protocol.units import UnitError, analyte_to_canonical, to_canonical

from .errors import RecordError

__all__ = [
    "Administration",
    "AdverseEvent",
    "Holiday",
    "Lab",
    "OrganDose",
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
    # As reported (value, unit, reference range): threshold comparisons use these.
    written: float | int | None = None
    written_unit: str = ""
    written_low: float | int | None = None
    written_high: float | int | None = None

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
class OrganDose:
    """One organ at risk's dose on one post-cycle SPECT/CT (``spect_ct[].organs_at_risk``).

    ``u_*`` are relative standard uncertainties (k = 1) by component; ``dose_u_gy`` the
    combined one in Gy when given without components.
    """

    organ: str
    dose_gy: float
    dose_u_gy: float | None = None
    u_calibration: float | None = None
    u_time_integration: float | None = None
    u_volume: float | None = None
    teff_h: float | None = None
    teff_source: str | None = None
    method: str | None = None


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
    teff_source: str | None = None  # fitted | patient_prior | population
    organs: tuple[OrganDose, ...] = ()

    @property
    def day(self) -> date:
        return self.when.date()

    def organ(self, organ: str) -> OrganDose | None:
        return next((o for o in self.organs if o.organ == organ), None)


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
    related: bool | None = None  # None: unknown (counts as related)


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
    zone: str = "UTC"  # the time zone its calendar days are counted in

    @cached_property
    def canonical(self) -> str:
        """The input document as canonical JSON (RFC 8785), computed once per record."""
        return canonical_json(self.doc)

    def in_zone(self, zone: str) -> Record:
        """The record with its calendar days counted in time zone ``zone`` (IANA name).

        A date-time with a UTC offset falls on its local day there (2025-03-01T02:00Z is
        2025-02-28 in America/Los_Angeles); a bare date stays the day it names. Built once
        per zone and kept.
        """
        if zone == self.zone:
            return self
        cache: dict[str, Record] = self.__dict__.setdefault("_zones", {})
        if zone not in cache:
            # the record's issues were found when it was read: none are looked for again
            record = _Builder(self.doc, ZoneInfo(zone), like=self, check=False).build()
            if "canonical" in self.__dict__:  # computed once, from the same document
                record.__dict__["canonical"] = self.canonical
            cache[zone] = record
        return cache[zone]

    def until(self, as_of: date) -> Record:
        """The record as known on ``as_of``: data dated after it are ignored.

        A patient born after ``as_of`` cannot be evaluated on it: RecordError.
        """
        if self.birth_date is not None and self.birth_date > as_of:
            issue = Issue(
                "birth_after_as_of",
                f"birth date {self.birth_date} is after the evaluation date {as_of}",
                "/subject/birth_date",
                fix="check the birth date, or evaluate on a later date",
            )
            raise RecordError(issue.code, f"record: {issue.message}", [issue])

        def keep(items: tuple[Any, ...] | None, day: Any) -> Any:
            return None if items is None else tuple(i for i in items if day(i) <= as_of)

        return _changed(
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


def _changed(record: Record, **fields: Any) -> Record:
    """``dataclasses.replace(record, **fields)`` without re-running ``__init__``: the
    instance dictionary copied, ``fields`` set (the canonical JSON of the same document
    kept, the copies in other zones not: they hold the uncut lists)."""
    copy = object.__new__(Record)
    copy.__dict__.update(record.__dict__)
    copy.__dict__.pop("_zones", None)
    copy.__dict__.update(fields)
    return copy


def _le(day: date | None, as_of: date) -> bool:
    return day is not None and day <= as_of


# Bounds of a record, beyond what each field's schema says (see the README's record
# section): nesting, text and list sizes, and the magnitude of every number.
MAX_DEPTH = 16  # the record schema nests 6 levels deep
MAX_STRING = 4096  # characters in any string
MAX_ITEMS = 1_000_000  # entries in any list (a lab history of 100,000 rows is fine)
MAX_NUMBER = 1e15  # magnitude of any number; integers are exact below it
MAX_JSON_BYTES = 256 * 2**20  # a record's JSON or YAML text
MAX_ISSUES = 100  # problems reported for one record (the first ones found)
FIRST_DAY = date(1800, 1, 1)  # dates outside these two are refused: protocol windows and
LAST_DAY = date(2199, 12, 31)  # durations are added to them without overflowing the calendar


@cache
def record_schema() -> dict[str, Any]:
    text = (
        resources.files("flexmrt.engine").joinpath("schema/record.schema.json").read_text("utf-8")
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _checking_schema() -> dict[str, Any]:
    """The record schema with its local ``$ref``s inlined and the size bounds added.

    Resolving ``#/$defs/…`` on every use costs about a third of validation time;
    the record schema has no recursive references, so inlining changes nothing else
    (error paths are instance paths either way). Every string, list and number
    without a tighter bound gets MAX_STRING, MAX_ITEMS and ±MAX_NUMBER.
    """
    schema = record_schema()
    bounded: dict[str, Any] = _bounded(_inline_refs(schema, schema["$defs"], ()))
    return bounded


@cache
def _validator() -> Draft202012Validator:
    """The wording validator (jsonschema): run only on a record already found invalid."""
    return Draft202012Validator(_checking_schema(), format_checker=FormatChecker())


@cache
def _fast_validator() -> Any:
    """The verdict validator (jsonschema-rs, compiled): the same schema and formats."""
    return jsonschema_rs.Draft202012Validator(_checking_schema(), validate_formats=True)


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


def _bounded(node: Any) -> Any:
    if isinstance(node, list):
        return [_bounded(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _bounded(v) for k, v in node.items()}
    types = node.get("type")
    kinds = set(types) if isinstance(types, list) else {types}
    if "string" in kinds:
        out.setdefault("maxLength", MAX_STRING)
    if "array" in kinds:
        out.setdefault("maxItems", MAX_ITEMS)
    if kinds & {"number", "integer"}:
        out.setdefault("maximum", MAX_NUMBER)
        if "exclusiveMinimum" not in node:
            out.setdefault("minimum", -MAX_NUMBER)
    return out


def parse_record(
    data: Any,
    positions: dict[str, tuple[int, int]] | None = None,
    file: str = "",
    zone: str = "UTC",
) -> Record:
    """Validate and normalise a record document; raise RecordError listing every problem.

    The compiled validator gives the verdict; only an invalid record is walked again
    (bounds first: depth, NaN, lone surrogates) and worded by jsonschema, so every
    issue has the same JSON pointer and message as before.

    ``zone`` (an IANA name): the time zone the record's days are counted in, as
    ``Record.in_zone(zone)`` counts them (a caller that knows the protocol builds the
    record once, in its site zone). Whether the record is valid, and every issue, do
    not depend on it: they are those of the record read in UTC.
    """
    where = file or "record"
    canonical = _valid_canonical(data)
    if canonical is None:
        issues = _bound_issues(data) or _schema_issues(data)
        if not issues:  # the two validators disagree: refuse, never guess
            issues = [Issue("schema_violation", "the record does not match its schema", "")]
        issues = [locate(i, positions, file) for i in issues]
        count = f"{len(issues)}" if len(issues) < MAX_ISSUES else f"at least {MAX_ISSUES}"
        raise RecordError(
            issues[0].code, f"{where}: {count} problem(s); first: {issues[0].message}", issues
        )
    builder = _Builder(data, UTC if zone == "UTC" else ZoneInfo(zone))
    record = builder.build()
    if builder.issues:
        issues = [locate(i, positions, file) for i in builder.issues]
        raise RecordError(
            issues[0].code,
            f"{where}: {len(issues)} problem(s); first: {issues[0].message}",
            issues,
        )
    record.__dict__["canonical"] = canonical  # the cached_property, computed once here
    return record


def _valid_canonical(data: Any) -> str | None:
    """The canonical JSON of a schema-valid, representable record; None otherwise."""
    try:
        if not _fast_validator().is_valid(data):
            return None
        canonical = canonical_json(data)
        canonical.encode("utf-8")  # a lone surrogate has no UTF-8 form
    except (ValueError, TypeError, OverflowError, RecursionError):
        return None
    return canonical


def _schema_issues(data: Any) -> list[Issue]:
    """The schema's errors worded, at most MAX_ISSUES of them (a record of 40,000 bad
    lab values is refused as fast as one with a hundred)."""
    errors = list(itertools.islice(_validator().iter_errors(data), MAX_ISSUES))
    if not errors:
        return []
    head = best_match(errors)
    ordered = [head, *(e for e in errors if e is not head)]
    return [
        Issue("schema_violation", clipped(_wording(e)), _pointer(e.absolute_path)) for e in ordered
    ]


def _wording(error: Any) -> str:
    """jsonschema's message, but an impossible date says so ("not a real calendar day")."""
    if error.validator == "format" and error.validator_value == "date":
        return f"{error.instance!r} is not a real calendar day (YYYY-MM-DD)"
    return str(error.message)


def _bound_issues(data: Any) -> list[Issue]:
    """Depth, non-finite numbers and lone surrogates, each at its JSON pointer."""
    issues: list[Issue] = []
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack and len(issues) < 100:
        value, pointer, depth = stack.pop()
        if isinstance(value, dict | list) and depth >= MAX_DEPTH:
            issues.append(
                Issue(
                    "nested_too_deep",
                    f"nested deeper than {MAX_DEPTH} levels",
                    pointer,
                    fix="no field of a record nests that deep; see the record schema",
                )
            )
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{pointer}/{_escape(str(key))}"
                if isinstance(key, str) and not _encodable(key):
                    issues.append(_surrogate(child))
                stack.append((item, child, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{pointer}/{i}", depth + 1) for i, item in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            issues.append(
                Issue(
                    "number_out_of_range",
                    "NaN and infinity are not numbers a record can hold",
                    pointer,
                    expected="a finite number",
                    found=str(value),
                )
            )
        elif isinstance(value, str) and not _encodable(value):
            issues.append(_surrogate(pointer))
    return sorted(issues, key=lambda i: i.pointer)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _surrogate(pointer: str) -> Issue:
    return Issue(
        "invalid_unicode",
        "text holds a lone UTF-16 surrogate (not a Unicode character)",
        pointer,
        fix="send valid UTF-8 text (a \\ud800-\\udfff escape must come in a valid pair)",
    )


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _pointer(path: Any) -> str:
    return "".join(f"/{p}" for p in path)


class _Builder:
    """Builds a Record from its document, its days in ``zone``.

    With ``like`` (the same document already built, in another zone), the dated lists
    (labs, administrations, SPECT/CT, PET/CT: the ones that grow with the history) are
    ``like``'s items moved into ``zone`` rather than parsed and converted again: the
    same values, the same date-times, the same order.
    """

    def __init__(
        self,
        doc: dict[str, Any],
        zone: tzinfo = UTC,
        like: Record | None = None,
        check: bool = True,
    ) -> None:
        self.doc = doc
        self.zone = zone
        self.like = like
        self.check = check  # look for facts that cannot all be true (see _consistency)
        self.issues: list[Issue] = []

    def build(self) -> Record:
        d = self.doc
        subject = d["subject"]
        history = d.get("history") or {}
        rand = d.get("randomisation")
        record = Record(
            doc=d,
            subject_id=subject["id"],
            sex=subject["sex"],
            birth_date=self._opt_day(subject.get("birth_date"), "/subject/birth_date"),
            age_years=subject.get("age_years"),
            weight_kg=self._quantity(subject.get("weight"), "mass", "/subject/weight"),
            consent_date=self._opt_day((d.get("consent") or {}).get("date"), "/consent/date"),
            arm=rand["arm"] if rand else None,
            randomised_on=self._day(rand["date"], "/randomisation/date") if rand else None,
            liver_metastases=history.get("liver_metastases"),
            therapies=self._list(history.get("prior_therapies"), self._therapy),
            ecog=self._list(
                d.get("ecog"),
                lambda e, i: (self._day(e["dtc"], f"/ecog/{i}/dtc"), int(e["score"]), i),
            ),
            labs=self._dated("labs", self._lab, lambda r: r.labs),
            administrations=self._dated(
                "administrations", self._administration, lambda r: r.administrations
            ),
            spect=self._dated("spect_ct", self._spect, lambda r: r.spect),
            pets=self._dated("pet_ct", self._pet, lambda r: r.pets),
            holidays=self._list(d.get("holidays"), self._holiday),
            adverse_events=self._list(d.get("adverse_events"), self._ae),
            withdrawal_date=self._opt_day(
                (d.get("withdrawal") or {}).get("date"), "/withdrawal/date"
            ),
            death_date=self._opt_day((d.get("death") or {}).get("date"), "/death/date"),
            screening_pet=self._screening_pet(d.get("screening_pet")),
            zone=str(self.zone),
        )
        if self.check and not self.issues:
            self._consistency(record)
        return record

    def _screening_pet(self, pet: dict[str, Any] | None) -> dict[str, Any] | None:
        if pet is not None:
            self._when(pet["dtc"], "/screening_pet/dtc")  # a real day, or an issue
        return pet

    def _consistency(self, r: Record) -> None:
        """Facts that cannot all be true: each reported at the field that must change.

        Days are compared as read in UTC whatever the record's zone, so a record is
        refused, or not, for the same reasons in every zone (a date-time's day, and the
        order of dated items, can differ between zones)."""
        if self.zone is UTC:
            first_dose = min((a.day for a in r.administrations or ()), default=None)
            therapies = [(t.start, t.end, t.index) for t in r.therapies or ()]
            events = [(a.start, a.end, a.index) for a in r.adverse_events or ()]
        else:
            doc, history = self.doc, self.doc.get("history") or {}
            days = [_utc_day(a["dtc"]) for a in doc.get("administrations") or ()]
            first_dose = min(days, default=None)
            therapies = _utc_spans(history.get("prior_therapies"))
            events = _utc_spans(doc.get("adverse_events"))
        if r.birth_date and first_dose and r.birth_date > first_dose:
            self._conflict(
                "birth_after_treatment",
                f"birth date {r.birth_date} is after the first administration ({first_dose})",
                "/subject/birth_date",
            )
        seen: dict[int, int] = {}
        for a in sorted(r.administrations or (), key=lambda a: a.index):
            if a.cycle in seen:
                self._conflict(
                    "duplicate_cycle",
                    f"cycle {a.cycle} is given twice (also /administrations/{seen[a.cycle]})",
                    f"/administrations/{a.index}/cycle",
                )
            seen.setdefault(a.cycle, a.index)
        for start, end, i in therapies:
            self._ordered(start, end, f"/history/prior_therapies/{i}")
        for start, end, i in events:
            self._ordered(start, end, f"/adverse_events/{i}")
        for i, h in enumerate(self.doc.get("holidays") or []):
            self._ordered(_iso_day(h["start"]), _iso_day(h.get("end")), f"/holidays/{i}")
        for lab in r.labs or ():
            if lab.ref_low is not None and lab.ref_high is not None and lab.ref_low > lab.ref_high:
                self._conflict(
                    "reference_range_inverted",
                    f"reference range low {lab.ref_low:g} is above high {lab.ref_high:g}",
                    f"/labs/{lab.index}/ref_low",
                )

    def _ordered(self, start: date | None, end: date | None, pointer: str) -> None:
        if start is not None and end is not None and end < start:
            self._conflict(
                "end_before_start", f"ends {end}, before it starts ({start})", f"{pointer}/end"
            )

    def _conflict(self, code: str, message: str, pointer: str) -> None:
        self.issues.append(Issue(code, message, pointer, fix="correct the date or value"))

    def _list(self, items: list[Any] | None, make: Any) -> tuple[Any, ...] | None:
        if items is None:
            return None
        built = [make(item, i) for i, item in enumerate(items)]
        return tuple(sorted(built, key=_sort_key))

    def _dated(self, key: str, make: Any, built: Any) -> tuple[Any, ...] | None:
        """The list ``key`` of items with a date-time: built from the document, or with
        ``like``, its items moved into this zone."""
        if self.like is None:
            return self._list(self.doc.get(key), make)
        items: tuple[Any, ...] | None = built(self.like)
        if items is None:
            return None
        rows = self.doc[key]
        moved = [
            _moved(item, self._moved_when(item.when, rows[item.index]["dtc"])) for item in items
        ]
        return tuple(sorted(moved, key=_when_and_index))

    def _moved_when(self, when: datetime, text: str) -> datetime:
        """``when`` (read from ``text``) in this zone, as ``_when`` reads ``text`` here: a
        bare date names the same day wherever it is read; a date-time is the same instant."""
        if len(text) == 10:
            return datetime.combine(when.date(), datetime.min.time(), self.zone)
        return when.astimezone(self.zone)

    def _when(self, text: str, pointer: str) -> datetime:
        """A date-time in the record's zone (a bare date: that day's start there); an
        impossible or out-of-range one is an issue (and FIRST_DAY)."""
        try:
            value = parse_datetime(text)
            if FIRST_DAY <= value.date() <= LAST_DAY:
                if len(text) == 10:  # a bare date names the day wherever it is read
                    return datetime.combine(value.date(), datetime.min.time(), self.zone)
                return value.astimezone(self.zone)
            problem = f"{text} is outside the dates a record can hold"
        except (ValueError, OverflowError) as exc:
            problem = f"{text!r} is not a valid date: {exc}"
        self.issues.append(
            Issue(
                "invalid_datetime",
                problem,
                pointer,
                expected=f"an ISO 8601 date or date-time with offset, {FIRST_DAY} to {LAST_DAY}",
                found=text[:40],
                fix="write a real calendar date (YYYY-MM-DD), e.g. 2026-02-28",
            )
        )
        return datetime.combine(FIRST_DAY, datetime.min.time(), UTC)

    def _day(self, text: str, pointer: str) -> date:
        return self._when(text, pointer).date()

    def _opt_day(self, text: str | None, pointer: str) -> date | None:
        return self._day(text, pointer) if text else None

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
        from flexmrt.protocol.units import ANALYTES

        return Lab(
            test,
            value,
            ANALYTES[test][1],
            f"{lab['value']:g} {unit}",
            self._when(lab["dtc"], f"/labs/{i}/dtc"),
            i,
            low,
            high,
            lab["value"],
            unit,
            lab.get("ref_low"),
            lab.get("ref_high"),
        )

    def _administration(self, a: dict[str, Any], i: int) -> Administration:
        activity = self._quantity(a["activity"], "activity", f"/administrations/{i}/activity")
        return Administration(
            int(a["cycle"]),  # JSON Schema counts 3.0 as an integer
            self._when(a["dtc"], f"/administrations/{i}/dtc"),
            activity if activity is not None else float("nan"),
            i,
        )

    def _spect(self, s: dict[str, Any], i: int) -> Spect:
        return Spect(
            int(s["cycle"]),
            self._when(s["dtc"], f"/spect_ct/{i}/dtc"),
            i,
            s.get("hours_post_injection"),
            s.get("tumour_volume_ml"),
            s.get("new_lesions"),
            s.get("kidney_dose_gy"),
            s.get("kidney_teff_h"),
            s.get("teff_source"),
            tuple(_organ_dose(k, v) for k, v in (s.get("organs_at_risk") or {}).items()),
        )

    def _pet(self, p: dict[str, Any], i: int) -> Pet:
        return Pet(
            self._when(p["dtc"], f"/pet_ct/{i}/dtc"),
            i,
            p.get("psma_vol_ml"),
            p.get("new_lesions"),
            p.get("recip"),
        )

    def _holiday(self, h: dict[str, Any], i: int) -> Holiday:
        return Holiday(
            self._day(h["start"], f"/holidays/{i}/start"),
            self._opt_day(h.get("end"), f"/holidays/{i}/end"),
        )

    def _ae(self, a: dict[str, Any], i: int) -> AdverseEvent:
        end = a.get("end")
        return AdverseEvent(
            a["term"].lower(),
            int(a["grade"]),
            self._day(a["start"], f"/adverse_events/{i}/start"),
            self._day(end, f"/adverse_events/{i}/end") if end else None,
            i,
            _related(a.get("related")),
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


def _utc_day(text: str) -> date:
    """The day ``text`` (a valid date or date-time) falls on in UTC, as ``_Builder._day``
    reads it in UTC."""
    value = parse_datetime(text)
    return value.date() if len(text) == 10 else value.astimezone(UTC).date()


def _utc_spans(items: list[dict[str, Any]] | None) -> list[tuple[date, date | None, int]]:
    """(start, end, index) of items with start/end, days read in UTC, in the order the
    UTC record holds them (by start, then index)."""
    spans = [
        (_utc_day(x["start"]), _utc_day(x["end"]) if x.get("end") else None, i)
        for i, x in enumerate(items or ())
    ]
    return sorted(spans, key=lambda s: (s[0], s[2]))


def _sort_key(item: Any) -> Any:
    for attr in ("when", "start"):
        if hasattr(item, attr):
            return (getattr(item, attr), getattr(item, "index", 0))
    if isinstance(item, tuple):
        return item
    return 0


_Dated = TypeVar("_Dated", Lab, Administration, Spect, Pet)


def _when_and_index(item: Any) -> tuple[datetime, int]:
    return item.when, item.index


def _moved(item: _Dated, when: datetime) -> _Dated:
    """A copy of the frozen ``item`` at ``when``, every other field shared.

    Copies the instance dictionary directly: ``dataclasses.replace`` re-runs ``__init__``
    through ``fields()``, which costs several times as much per lab row.
    """
    copy = object.__new__(type(item))
    copy.__dict__.update(item.__dict__)
    copy.__dict__["when"] = when
    return copy


def _related(value: Any) -> bool | None:
    """AEREL: True or False as recorded; absent or "unknown" is None (counts as related)."""
    return value if isinstance(value, bool) else None


def _iso_day(text: str | None) -> date | None:
    return date.fromisoformat(text[:10]) if text else None


def _opt(value: float | None, fn: Any) -> float | None:
    return None if value is None else float(fn(value))


def read_record_text(text: str, file: str = "") -> Record:
    """Parse a record from YAML or JSON text (strict YAML: see protocol.yamlio).

    A file named ``*.json`` is read as JSON (a trailing comma is an error there),
    anything else as YAML.
    """
    from flexmrt.protocol.errors import ProtocolError
    from flexmrt.protocol.yamlio import read_yaml

    if file.lower().endswith(".json"):
        return read_record_json(text, file)
    _check_size(text, file)
    try:
        data, positions = read_yaml(text, file)
    except ProtocolError as exc:
        raise RecordError(exc.code, exc.message, exc.issues) from None
    return parse_record(data, positions, file)


def read_record_json(text: str, file: str = "", zone: str = "UTC") -> Record:
    """Parse a record from JSON text: strict JSON (no NaN/Infinity, no duplicate keys);
    its days counted in ``zone`` (see :func:`parse_record`)."""
    return parse_record(_strict_json(text, file), None, file, zone)


def _check_size(text: str, file: str) -> None:
    if len(text) > MAX_JSON_BYTES:
        raise _text_error(
            file, "too_large", f"the record is {len(text):,} characters; at most {MAX_JSON_BYTES:,}"
        )


def _strict_json(text: str, file: str) -> Any:
    _check_size(text, file)
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise _text_error(
            file, "json_syntax", f"not JSON: {exc.msg}", exc.lineno, exc.colno
        ) from None
    except _JsonProblem as exc:
        raise _text_error(file, exc.code, str(exc)) from None
    except RecursionError:
        raise _text_error(
            file, "nested_too_deep", f"nested deeper than {MAX_DEPTH} levels"
        ) from None
    except ValueError as exc:  # an integer literal of more digits than Python converts
        raise _text_error(file, "number_out_of_range", f"a number is too long: {exc}") from None


class _JsonProblem(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)  # in C; a key given twice leaves fewer entries than pairs
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _item in pairs:
            if key in seen:  # the first key repeated, as a walk in order meets it
                raise _JsonProblem(
                    "duplicate_key", f"the key {key[:40]!r} is given twice in one object"
                )
            seen.add(key)
    return out


def _no_constant(name: str) -> Any:
    raise _JsonProblem("number_out_of_range", f"{name} is not a number a record can hold")


def _text_error(
    file: str, code: str, message: str, line: int | None = None, column: int | None = None
) -> RecordError:
    issue = Issue(
        code, message, "", file=file, line=line, column=column, fix="send the record as strict JSON"
    )
    return RecordError(code, f"{file or 'record'}: {message}", [issue])


def _organ_dose(organ: str, o: dict[str, Any]) -> OrganDose:
    u = o.get("uncertainty") or {}
    return OrganDose(
        organ,
        float(o["dose_gy"]),
        o.get("dose_u_gy"),
        u.get("calibration"),
        u.get("time_integration"),
        u.get("volume"),
        o.get("teff_h"),
        o.get("teff_source"),
        o.get("method"),
    )
