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
