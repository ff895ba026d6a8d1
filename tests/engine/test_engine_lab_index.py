"""Labs indexed by test and day: the same results as a plain scan of the record, and
work that grows linearly with the lab history (counted in calls, never timed)."""

from __future__ import annotations

import dataclasses
import sys
from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flexmrt import engine, protocol
from flexmrt.engine.context import Context, _LabSeries, window_start
from flexmrt.engine.record import Lab, Record
from flexmrt.protocol import parse_duration

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository: bench/
from bench.lab_scaling_bench import scaling_record

_PROTOCOL = protocol.resolve("flex-mrt")
_UNITS = {"CREAT": "mg/dL", "HGB": "g/dL", "PSA": "ng/mL"}
_FIRST = date(2025, 1, 1)
_ZONES = ("UTC", "America/Los_Angeles", "Pacific/Kiritimati", "Pacific/Pago_Pago")


@st.composite
def _lab_rows(draw: st.DrawFn) -> list[dict[str, object]]:
    """Lab rows over two months: bare dates and date-times in offsets from -12 h to +14 h,
    several on one day, in any order."""
    rows = []
    for _ in range(draw(st.integers(0, 30))):
        test = draw(st.sampled_from(sorted(_UNITS)))
        day = _FIRST + timedelta(days=draw(st.integers(0, 60)))
        if draw(st.booleans()):
            dtc = day.isoformat()
        else:
            hour, offset = draw(st.integers(0, 23)), draw(st.integers(-12, 14))
            dtc = f"{day.isoformat()}T{hour:02d}:00:00{offset:+03d}:00"
        value = draw(st.integers(1, 300)) / 10
        rows.append({"testcd": test, "value": value, "unit": _UNITS[test], "dtc": dtc})
    return rows


def _record(rows: list[dict[str, object]]) -> Record:
    doc = {"record_version": 1, "subject": {"id": "S-1", "sex": "M"}, "labs": rows}
    return engine.parse_record(doc)


def _scan(labs: tuple[Lab, ...], test: str, at: date, start: date | None) -> Lab | None:
    """The last result of ``test`` in [start, at], by a plain scan in the given order."""
    found = [
        x for x in labs if x.test == test and x.day <= at and (start is None or x.day >= start)
    ]
    return found[-1] if found else None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=_lab_rows(),
    zone=st.sampled_from(_ZONES),
    test=st.sampled_from([*sorted(_UNITS), "PLAT"]),
    at=st.integers(-2, 63).map(lambda n: _FIRST + timedelta(days=n)),
    within=st.one_of(st.none(), st.integers(1, 40)),
)
def test_indexed_lookup_equals_a_plain_scan(rows, zone, test, at, within):
    as_of = _FIRST + timedelta(days=62)
    ctx = Context(_PROTOCOL, _record(rows).in_zone(zone).until(as_of), as_of)
    labs = ctx.record.labs or ()
    span = None if within is None else parse_duration(f"P{within}D")
    start = window_start(at, span)
    assert ctx.latest_lab(test, span, at) is _scan(labs, test, at, start)
    assert ctx.baseline_lab(test) is _scan(labs, test, ctx.baseline_day, None)
    assert ctx.labs(test) == [x for x in labs if x.test == test]


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    rows=_lab_rows(),
    at=st.integers(-2, 63).map(lambda n: _FIRST + timedelta(days=n)),
    back=st.one_of(st.none(), st.integers(0, 40)),
)
def test_a_series_out_of_order_is_scanned(data, rows, at, back):
    """Whatever the order of a series, its lookup is the scan's (bisection only when its
    days never decrease)."""
    labs = data.draw(st.permutations(_record(rows).labs or ()))
    series = _LabSeries(tuple(labs))
    days = [x.day for x in labs]
    assert (series.days is not None) == (days == sorted(days))
    start = None if back is None else at - timedelta(days=back)
    for test in _UNITS:
        mine = _LabSeries(tuple(x for x in labs if x.test == test))
        assert mine.latest(at, start) is _scan(tuple(labs), test, at, start)


def _calls_in_decide(labs: int) -> int:
    """Python and built-in function calls made by one `decide` on ``labs`` lab rows."""
    data, as_of = scaling_record(labs)
    record = engine.parse_record(data)
    engine.decide(_PROTOCOL, dataclasses.replace(record), as_of)  # protocol caches warm
    calls = 0

    def count(frame: object, event: str, arg: object) -> None:
        nonlocal calls
        calls += event in ("call", "c_call")

    sys.setprofile(count)
    try:
        engine.decide(_PROTOCOL, dataclasses.replace(record), as_of)
    finally:
        sys.setprofile(None)
    return calls


def test_decide_work_grows_linearly_with_the_lab_history():
    """Twice the lab rows (and lab days), at most about twice the calls: every toxicity
    trigger evaluated on every lab day used to rescan the whole history (3.0× here, 1.98×
    with the index)."""
    small, large = _calls_in_decide(1_000), _calls_in_decide(2_000)
    assert large / small < 2.3, f"{small:,} calls at 1,000 lab rows, {large:,} at 2,000"
