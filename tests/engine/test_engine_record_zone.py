"""A record moved into the site's time zone is the record built there from its document.

``Record.in_zone`` moves the dated items of the record already built (labs,
administrations, SPECT/CT, PET/CT) instead of parsing every row again; these tests hold
it to the result of building the document in that zone: the same items, the same
date-times (instant and offset), the same calendar days, in the same order.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flexmrt import engine
from flexmrt.engine.record import Record, _Builder

_FIRST = date(2025, 3, 1)  # the spring change of daylight saving time is in the range
_ZONES = ("UTC", "America/Los_Angeles", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kolkata")
_UNITS = {"CREAT": "mg/dL", "HGB": "g/dL", "PSA": "ng/mL"}


@st.composite
def _dtc(draw: st.DrawFn) -> str:
    """A bare date, or a date-time in an offset from -12 h to +14 h (some on the half hour)."""
    day = _FIRST + timedelta(days=draw(st.integers(0, 40)))
    if draw(st.booleans()):
        return day.isoformat()
    hour, offset = draw(st.integers(0, 23)), draw(st.integers(-12, 14))
    half = draw(st.sampled_from(["00", "30"])) if offset not in (-12, 14) else "00"
    return f"{day.isoformat()}T{hour:02d}:17:00{offset:+03d}:{half}"


@st.composite
def _document(draw: st.DrawFn) -> dict[str, Any]:
    labs = [
        {"testcd": test, "value": draw(st.integers(1, 300)) / 10, "unit": _UNITS[test], "dtc": dtc}
        for test, dtc in draw(
            st.lists(st.tuples(st.sampled_from(sorted(_UNITS)), _dtc()), max_size=25)
        )
    ]
    cycles = draw(st.lists(_dtc(), max_size=4))
    doc: dict[str, Any] = {
        "record_version": 1,
        "subject": {"id": "S-1", "sex": "M", "birth_date": "1950-06-01"},
        "labs": labs,
        "administrations": [
            {"cycle": i + 1, "dtc": dtc, "activity": {"value": 7.4, "unit": "GBq"}}
            for i, dtc in enumerate(cycles)
        ],
        "spect_ct": [
            {"cycle": i + 1, "dtc": dtc, "kidney_dose_gy": 3.2}
            for i, dtc in enumerate(draw(st.lists(_dtc(), max_size=4)))
        ],
        "pet_ct": [{"dtc": dtc, "psma_vol_ml": 25} for dtc in draw(st.lists(_dtc(), max_size=4))],
    }
    for key in ("labs", "spect_ct", "pet_ct"):
        if draw(st.booleans()):
            del doc[key]  # an absent list stays absent (unknown), not empty
    return doc


def _assert_same(moved: Record, built: Record) -> None:
    for f in dataclasses.fields(Record):
        mine, theirs = getattr(moved, f.name), getattr(built, f.name)
        assert mine == theirs, f.name
        for a, b in zip(mine or (), theirs or (), strict=True) if isinstance(mine, tuple) else ():
            if hasattr(a, "when"):
                assert (a.when.isoformat(), a.day) == (
                    b.when.isoformat(),
                    b.day,
                ), f"{f.name}[{a.index}]"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_document(), zone=st.sampled_from(_ZONES), then=st.sampled_from(_ZONES))
def test_a_record_moved_into_a_zone_is_the_record_built_there(
    doc: dict[str, Any], zone: str, then: str
) -> None:
    record = engine.parse_record(doc)
    _assert_same(record.in_zone(zone), _Builder(doc, ZoneInfo(zone)).build())
    # from one site zone into another, as well as from UTC
    _assert_same(record.in_zone(zone).in_zone(then), _Builder(doc, ZoneInfo(then)).build())


def test_the_canonical_json_is_carried_into_the_zone() -> None:
    doc = {"record_version": 1, "subject": {"id": "S-1", "sex": "F"}, "labs": []}
    record = engine.parse_record(doc)
    moved = record.in_zone("America/Los_Angeles")
    assert moved.canonical is record.canonical
    assert moved is record.in_zone("America/Los_Angeles")  # built once per zone


@st.composite
def _document_with_spans(draw: st.DrawFn) -> dict[str, Any]:
    """A document whose refusal can hang on a day's zone: date-time starts and ends of
    prior therapies and adverse events, a birth date near the first administration."""
    doc = draw(_document())
    birth = _FIRST + timedelta(days=draw(st.integers(-2, 42)))
    doc["subject"]["birth_date"] = birth.isoformat()

    def span(kind: dict[str, Any]) -> dict[str, Any]:
        item = {**kind, "start": draw(_dtc())}
        if draw(st.booleans()):
            item["end"] = draw(_dtc())
        return item

    doc["history"] = {
        "prior_therapies": [span({"class": "taxane"}) for _ in range(draw(st.integers(0, 3)))]
    }
    doc["adverse_events"] = [
        span({"term": "Fatigue", "grade": 1}) for _ in range(draw(st.integers(0, 3)))
    ]
    return doc


def _outcome(doc: dict[str, Any], zone: str = "UTC") -> Record | tuple[str, str, list[Any]]:
    try:
        return engine.parse_record(doc, None, "record", zone)
    except engine.RecordError as error:
        return error.code, error.message, error.issues


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_document_with_spans(), zone=st.sampled_from(_ZONES))
def test_a_record_read_in_a_zone_is_the_record_moved_there_with_the_same_issues(
    doc: dict[str, Any], zone: str
) -> None:
    """Read straight into the site's zone (as the server reads a request), a record is
    refused for exactly the reasons, in the words, of reading it in UTC; accepted, it is
    the UTC record moved into that zone."""
    in_utc, in_zone = _outcome(doc), _outcome(doc, zone)
    if isinstance(in_utc, Record):
        assert isinstance(in_zone, Record), in_zone
        moved = in_utc.in_zone(zone)
        _assert_same(in_zone, moved)
        assert in_zone.zone == moved.zone == zone
        assert in_zone.canonical == in_utc.canonical
        assert in_zone.in_zone(zone) is in_zone  # the engine builds nothing again
    else:
        assert in_zone == in_utc


def test_an_end_before_start_only_in_utc_is_refused_in_every_zone() -> None:
    """02:00 UTC on 1 March is 28 February in Los Angeles: ending on 28 February is before
    the start in UTC (refused), not in Los Angeles; the refusal does not depend on the
    zone the record is read in. And the other way round: no refusal in either."""
    doc: dict[str, Any] = {
        "record_version": 1,
        "subject": {"id": "S-1", "sex": "M", "birth_date": "1950-06-01"},
        "history": {
            "prior_therapies": [
                {"class": "taxane", "start": "2025-03-01T02:00:00Z", "end": "2025-02-28"}
            ]
        },
    }
    refused = _outcome(doc)
    assert not isinstance(refused, Record) and refused[0] == "end_before_start"
    assert _outcome(doc, "America/Los_Angeles") == refused
    doc["history"]["prior_therapies"][0] = {
        "class": "taxane",
        "start": "2025-02-28",
        "end": "2025-03-01T02:00:00Z",
    }
    assert isinstance(_outcome(doc), Record)
    assert isinstance(_outcome(doc, "America/Los_Angeles"), Record)


def test_birth_after_treatment_is_judged_on_the_utc_day_in_every_zone() -> None:
    """A first dose at 02:00 UTC on 1 March (28 February in Los Angeles) after a birth on
    1 March: not refused in UTC, so not in Los Angeles either."""
    doc: dict[str, Any] = {
        "record_version": 1,
        "subject": {"id": "S-1", "sex": "M", "birth_date": "2025-03-01"},
        "administrations": [
            {"cycle": 1, "dtc": "2025-03-01T02:00:00Z", "activity": {"value": 7.4, "unit": "GBq"}}
        ],
    }
    assert isinstance(_outcome(doc), Record)
    assert isinstance(_outcome(doc, "America/Los_Angeles"), Record)
    doc["administrations"][0]["dtc"] = "2025-02-28T20:00:00-08:00"  # 04:00 UTC on 1 March
    doc["subject"]["birth_date"] = "2025-03-02"
    refused = _outcome(doc)
    assert not isinstance(refused, Record) and refused[0] == "birth_after_treatment"
    assert _outcome(doc, "America/Los_Angeles") == refused


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_document(), zone=st.sampled_from(_ZONES), days=st.integers(-1, 42))
def test_a_record_cut_at_a_date_keeps_what_was_known_then(
    doc: dict[str, Any], zone: str, days: int
) -> None:
    """``until`` keeps the items dated on or before the day, every other field as it was;
    the cut record's zone copies are its own, never the uncut record's."""
    record = engine.parse_record(doc, zone=zone)
    other = "UTC" if zone != "UTC" else "Asia/Kolkata"
    whole = record.in_zone(other)  # kept by the record, before it is cut
    as_of = _FIRST + timedelta(days=days)
    cut = record.until(as_of)
    for name in ("labs", "administrations", "spect", "pets"):
        items = getattr(record, name)
        expected = None if items is None else tuple(i for i in items if i.day <= as_of)
        assert getattr(cut, name) == expected, name
    assert (cut.doc, cut.subject_id, cut.zone, cut.canonical) == (
        record.doc,
        record.subject_id,
        record.zone,
        record.canonical,
    )
    assert cut.in_zone(other) is not whole
    assert len(cut.in_zone(other).labs or ()) == len(cut.labs or ())  # the cut rows only
