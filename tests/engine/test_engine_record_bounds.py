"""Bad records are refused at the field's JSON pointer, never with a traceback."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from flexmrt import engine
from flexmrt.protocol import ProtocolError
from flexmrt.protocol.yamlio import read_yaml

BASE: dict[str, Any] = {
    "record_version": 1,
    "subject": {"id": "X-1", "sex": "M", "birth_date": "1950-01-01"},
    "administrations": [
        {"cycle": 1, "dtc": "2025-01-20", "activity": {"value": 7.4, "unit": "GBq"}}
    ],
}


def _with(path: list[Any], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    node: Any = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("doc", "code", "pointer"),
    [
        (_with(["subject", "birth_date"], "2026-02-30"), "schema_violation", "/subject/birth_date"),
        (
            _with(["administrations", 0, "dtc"], "2026-02-30"),
            "invalid_datetime",
            "/administrations/0/dtc",
        ),
        (
            _with(["administrations", 0, "dtc"], "9999-12-31"),
            "invalid_datetime",
            "/administrations/0/dtc",
        ),
        (
            _with(["administrations", 0, "dtc"], "0001-01-01T00:00+01:00"),
            "invalid_datetime",
            "/administrations/0/dtc",
        ),
        (
            _with(["administrations", 0, "cycle"], 2**31),
            "schema_violation",
            "/administrations/0/cycle",
        ),
        (
            _with(["subject", "age_years"], float("nan")),
            "number_out_of_range",
            "/subject/age_years",
        ),
        (_with(["subject", "id"], "X\ud800"), "invalid_unicode", "/subject/id"),
        (_with(["subject", "id"], "x" * 5000), "schema_violation", "/subject/id"),
        (
            _with(["subject", "birth_date"], "2025-06-01"),
            "birth_after_treatment",
            "/subject/birth_date",
        ),
    ],
)
def test_bad_record_names_the_field(doc: dict[str, Any], code: str, pointer: str) -> None:
    with pytest.raises(engine.RecordError) as caught:
        engine.parse_record(doc)
    assert (caught.value.issues[0].code, caught.value.issues[0].pointer) == (code, pointer)


def test_duplicate_cycle_and_inverted_range() -> None:
    doc = copy.deepcopy(BASE)
    doc["administrations"].append(copy.deepcopy(doc["administrations"][0]))
    doc["administrations"][1]["dtc"] = "2025-03-03"
    doc["labs"] = [
        {
            "testcd": "PLAT",
            "value": 150,
            "unit": "10^9/L",
            "dtc": "2025-01-10",
            "ref_low": 400,
            "ref_high": 150,
        }
    ]
    with pytest.raises(engine.RecordError) as caught:
        engine.parse_record(doc)
    found = {(i.code, i.pointer) for i in caught.value.issues}
    assert ("duplicate_cycle", "/administrations/1/cycle") in found
    assert ("reference_range_inverted", "/labs/0/ref_low") in found


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('{"record_version": 1, "subject": {"id": "X", "sex": "M"},}', "json_syntax"),
        ('{"record_version": NaN}', "number_out_of_range"),
        ('{"record_version": ' + "9" * 5000 + "}", "number_out_of_range"),
        ("[" * 5000 + "]" * 5000, "nested_too_deep"),
    ],
)
def test_json_record_text_is_strict(text: str, code: str) -> None:
    with pytest.raises(engine.RecordError) as caught:
        engine.read_record_text(text, "r.json")
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('{"a": 1, "b": 2, "b": 3, "a": 4}', "b"),  # the first key met again, in order
        ('{"record_version": 1, "subject": {"id": "X", "sex": "M", "id": "Y"}}', "id"),
        ('{"x": [{"k": 1}, {"k": 2, "j": 0, "k": 3}]}', "k"),
        ('{"' + "k" * 60 + '": 1, "' + "k" * 60 + '": 2}', "k" * 40),  # clipped at 40
    ],
)
def test_a_key_given_twice_in_json_is_named(text: str, key: str) -> None:
    with pytest.raises(engine.RecordError) as caught:
        engine.read_record_text(text, "r.json")
    assert caught.value.code == "duplicate_key"
    assert caught.value.message == f"r.json: the key {key!r} is given twice in one object"


def test_a_long_lab_history_stays_allowed() -> None:
    doc = copy.deepcopy(BASE)
    doc["labs"] = [{"testcd": "PSA", "value": 1.0, "unit": "ng/mL", "dtc": "2025-01-10"}] * 100_000
    assert len(engine.parse_record(doc).labs or ()) == 100_000


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("a: " + "[" * 200 + "]" * 200, "nested_too_deep"),
        ("a: &a [1]\nb: *a\n", "yaml_alias"),
        ("a: " + "9" * 5000, "number_out_of_range"),
        ("a: 1e999", "number_out_of_range"),
    ],
)
def test_yaml_refuses_bombs_depth_and_huge_numbers(text: str, code: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        read_yaml(text, "p.yaml")
    assert caught.value.issues[0].code == code
