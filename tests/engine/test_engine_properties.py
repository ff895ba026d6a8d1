"""Hypothesis properties of the engine over generated schema-valid records."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flexmrt import engine
from flexmrt.protocol import Registry, canonical_json
from flexmrt.protocol.units import ANALYTES

_REGISTRY = Registry.bundled()
FLEX = _REGISTRY.resolve("flex-mrt")
LABEL = _REGISTRY.resolve("pluvicto-label")
START = date(2025, 1, 1)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_TERMS = [
    "fatigue",
    "dry mouth",
    "nausea",
    "pneumonitis",
    "hypokalemia",
    "anemia",
    "platelet count decreased",
    "acute kidney injury",
]
_CLASSES = [
    "adt",
    "arpi",
    "taxane",
    "psma_radioligand",
    "myelosuppressive",
    "ra223",
    "other_systemic",
]


def _day(offset: int) -> str:
    return (START + timedelta(days=offset)).isoformat()


days = st.integers(min_value=-60, max_value=600)


@st.composite
def labs(draw: Any) -> dict[str, Any]:
    test = draw(st.sampled_from(sorted(ANALYTES)))
    unit = draw(st.sampled_from(sorted(ANALYTES[test][2])))
    lab: dict[str, Any] = {
        "testcd": test,
        "value": draw(st.just(0.0) | st.floats(min_value=0, max_value=500, allow_nan=False)),
        "unit": unit,
        "dtc": _day(draw(days)),
    }
    if draw(st.booleans()):
        low = draw(st.floats(min_value=0, max_value=50, allow_nan=False))
        lab["ref_low"] = low
        lab["ref_high"] = low + draw(st.floats(min_value=0.1, max_value=300, allow_nan=False))
    return lab


@st.composite
def records(draw: Any, arm: str | None = None) -> dict[str, Any]:
    n = draw(st.integers(min_value=0, max_value=13))
    first = draw(st.integers(min_value=0, max_value=30))
    gaps = draw(st.lists(st.integers(min_value=35, max_value=120), min_size=n, max_size=n))
    offsets = [first + sum(gaps[:i]) for i in range(n)]
    doc: dict[str, Any] = {
        "record_version": 1,
        "subject": {"id": "P-1", "sex": draw(st.sampled_from(["M", "F"]))},
        "labs": draw(st.lists(labs(), max_size=25)),
        "administrations": [
            {
                "cycle": i + 1,
                "dtc": _day(o),
                "activity": {
                    "value": draw(st.sampled_from([7.4, 5.9, 200.0])),
                    "unit": draw(st.sampled_from(["GBq", "mCi"])),
                },
            }
            for i, o in enumerate(offsets)
        ],
        "spect_ct": [
            {
                "cycle": i + 1,
                "dtc": _day(o + 1),
                "tumour_volume_ml": draw(st.floats(min_value=0, max_value=800, allow_nan=False)),
                "new_lesions": draw(st.booleans()),
                "kidney_dose_gy": draw(st.floats(min_value=0, max_value=12, allow_nan=False)),
                "kidney_teff_h": draw(st.floats(min_value=5, max_value=120, allow_nan=False)),
            }
            for i, o in enumerate(offsets)
            if draw(st.booleans())
        ],
    }
    if draw(st.booleans()):
        doc["subject"]["birth_date"] = "1955-06-01"
    else:
        doc["subject"]["age_years"] = draw(st.integers(min_value=40, max_value=95))
    if draw(st.booleans()):
        doc["subject"]["weight"] = {"value": draw(st.integers(40, 140)), "unit": "kg"}
    chosen = arm or draw(st.sampled_from(["control", "investigational", None]))
    if chosen:
        doc["randomisation"] = {"arm": chosen, "date": _day(first)}
        doc["consent"] = {"date": _day(first - 5)}
    if draw(st.booleans()):
        doc["history"] = {
            "liver_metastases": draw(st.booleans()),
            "prior_therapies": [
                {"class": c, "start": _day(draw(st.integers(-900, 0)))}
                for c in draw(st.lists(st.sampled_from(_CLASSES), max_size=4))
            ],
        }
    doc["ecog"] = [
        {"dtc": _day(draw(days)), "score": draw(st.integers(0, 5))}
        for _ in range(draw(st.integers(0, 3)))
    ]
    doc["pet_ct"] = [
        {
            "dtc": _day(draw(days)),
            "psma_vol_ml": draw(st.floats(min_value=0, max_value=800, allow_nan=False)),
            "new_lesions": draw(st.booleans()),
        }
        for _ in range(draw(st.integers(0, 3)))
    ]
    doc["adverse_events"] = [
        {
            "term": draw(st.sampled_from(_TERMS)),
            "grade": draw(st.integers(1, 5)),
            "start": _day(draw(days)),
        }
        for _ in range(draw(st.integers(0, 3)))
    ]
    if n >= 2 and draw(st.booleans()):
        hol: dict[str, Any] = {"start": _day(offsets[-1] + 42)}
        if draw(st.booleans()):
            hol["end"] = _day(offsets[-1] + 42 + draw(st.integers(1, 300)))
        doc["holidays"] = [hol]
    if draw(st.integers(0, 9)) == 0:
        doc["death"] = {"date": _day(draw(days))}
    return doc


as_of_days = st.integers(min_value=0, max_value=700).map(lambda d: START + timedelta(days=d))


@SETTINGS
@given(doc=records(), as_of=as_of_days)
def test_no_schema_valid_record_makes_the_engine_raise(doc: dict[str, Any], as_of: date) -> None:
    record = engine.parse_record(doc)
    for protocol in (FLEX, LABEL):
        if doc.get("randomisation") and protocol is LABEL:
            record = engine.parse_record(
                {**doc, "randomisation": {**doc["randomisation"], "arm": "standard"}}
            )
        engine.eligibility(protocol, record, as_of)
        engine.decide(protocol, record, as_of)
        engine.schedule(protocol, record, as_of, _horizon())


def _horizon() -> Any:
    from flexmrt.protocol import parse_duration

    return parse_duration("P24W")


@SETTINGS
@given(
    doc=records(arm="investigational"),
    as_of=as_of_days,
    factor=st.floats(min_value=1.0, max_value=4.0, allow_nan=False),
)
def test_more_kidney_dose_never_allows_more_cycles(
    doc: dict[str, Any], as_of: date, factor: float
) -> None:
    more = copy.deepcopy(doc)
    for scan in more["spect_ct"]:
        scan["kidney_dose_gy"] *= factor
    before = engine.decide(FLEX, engine.parse_record(doc), as_of).kidney_bed
    after = engine.decide(FLEX, engine.parse_record(more), as_of).kidney_bed
    if before is not None and after is not None:
        if before.cycles_remaining is not None and after.cycles_remaining is not None:
            assert after.cycles_remaining <= before.cycles_remaining
        assert after.cumulative_gy >= before.cumulative_gy - 1e-9


@SETTINGS
@given(doc=records(), as_of=as_of_days, data=st.data())
def test_a_missing_lab_never_turns_a_criterion_met(
    doc: dict[str, Any], as_of: date, data: Any
) -> None:
    if not doc["labs"]:
        return
    i = data.draw(st.integers(0, len(doc["labs"]) - 1))
    fewer = {**doc, "labs": doc["labs"][:i] + doc["labs"][i + 1 :]}
    before = _outcomes(engine.eligibility(FLEX, engine.parse_record(doc), as_of))
    after = _outcomes(engine.eligibility(FLEX, engine.parse_record(fewer), as_of))
    for cid, outcome in after.items():
        if outcome == "MET":
            assert before[cid] == "MET", cid


def _outcomes(answer: engine.Eligibility) -> dict[str, str]:
    return {c.id: c.outcome for c in answer.criteria}


@SETTINGS
@given(doc=records(arm="control"), as_of=as_of_days)
def test_control_arm_never_holidays_nor_exceeds_six(doc: dict[str, Any], as_of: date) -> None:
    answer = engine.decide(FLEX, engine.parse_record(doc), as_of)
    assert answer.action != "START_HOLIDAY"
    if answer.action in ("ADMINISTER", "RESTART"):
        assert answer.cycle is not None and answer.cycle <= 6


@SETTINGS
@given(doc=records(arm="investigational"), as_of=as_of_days)
def test_investigational_arm_never_exceeds_twelve(doc: dict[str, Any], as_of: date) -> None:
    answer = engine.decide(FLEX, engine.parse_record(doc), as_of)
    if answer.action in ("ADMINISTER", "RESTART", "START_HOLIDAY"):
        assert answer.cycle is not None and answer.cycle <= 12


@SETTINGS
@given(doc=records(), as_of=as_of_days)
def test_same_input_same_bytes_and_decision_id(doc: dict[str, Any], as_of: date) -> None:
    first = engine.decide(FLEX, engine.parse_record(doc), as_of)
    again = engine.decide(FLEX, engine.parse_record(copy.deepcopy(doc)), as_of)
    assert canonical_json(first.to_json()) == canonical_json(again.to_json())
    assert first.envelope.decision_id == again.envelope.decision_id
    later = engine.decide(FLEX, engine.parse_record(doc), as_of + timedelta(days=1))
    assert later.envelope.decision_id != first.envelope.decision_id
