"""Impossible dates and facts that cannot all be true: an error at the field's JSON
pointer, on every date field of a record and on every edge, never a traceback."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from flexmrt import engine
from flexmrt.server.cli import main

EXAMPLE = Path(__file__).parents[2] / "examples" / "patients" / "flx-009-holiday-recip-restart.yaml"
_DATE_KEYS = {"dtc", "date", "birth_date", "start", "end"}


def _example() -> dict[str, Any]:
    doc: dict[str, Any] = YAML(typ="safe", pure=True).load(EXAMPLE.read_text(encoding="utf-8"))
    doc["withdrawal"] = {"date": "2026-01-10"}
    doc["death"] = {"date": "2026-01-11"}
    doc["adverse_events"] = [
        {"term": "fatigue", "grade": 1, "start": "2025-02-01", "end": "2025-02-10"}
    ]
    return doc


def _date_pointers(node: Any, pointer: str = "") -> list[str]:
    """JSON pointers of every date or date-time field in ``node``."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{pointer}/{key}"
            if key in _DATE_KEYS and isinstance(value, str):
                found.append(here)
            else:
                found += _date_pointers(value, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _date_pointers(value, f"{pointer}/{i}")
    return found


def _set(doc: dict[str, Any], pointer: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    *parents, last = pointer.strip("/").split("/")
    node: Any = out
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[last] = value
    return out


def test_the_example_record_is_valid() -> None:
    engine.parse_record(_example())


@pytest.mark.parametrize("pointer", _date_pointers(_example()))
def test_an_impossible_date_in_any_field_names_the_field(pointer: str) -> None:
    with pytest.raises(engine.RecordError) as caught:
        engine.parse_record(_set(_example(), pointer, "2026-02-30"))
    issue = caught.value.issues[0]
    assert issue.pointer == pointer
    assert "2026-02-30" in issue.message and (
        "not a real" in issue.message or "day is out of range" in issue.message
    )


@pytest.mark.parametrize(
    ("pointer", "value", "code", "at"),
    [
        ("/subject/birth_date", "2025-02-01", "birth_after_treatment", "/subject/birth_date"),
        ("/administrations/1/cycle", 1, "duplicate_cycle", "/administrations/1/cycle"),
        (
            "/history/prior_therapies/1/end",
            "2020-01-01",
            "end_before_start",
            "/history/prior_therapies/1/end",
        ),
        ("/adverse_events/0/end", "2025-01-01", "end_before_start", "/adverse_events/0/end"),
        ("/holidays/0/end", "2025-01-01", "end_before_start", "/holidays/0/end"),
        ("/labs/0/ref_low", 99.0, "reference_range_inverted", "/labs/0/ref_low"),
    ],
)
def test_facts_that_cannot_all_be_true(pointer: str, value: Any, code: str, at: str) -> None:
    doc = _set(_example(), pointer, value)
    if pointer == "/holidays/0/end":
        doc["holidays"][0]["start"] = "2025-06-01"
    with pytest.raises(engine.RecordError) as caught:
        engine.parse_record(doc)
    assert (code, at) in {(i.code, i.pointer) for i in caught.value.issues}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    rc = main(list(argv))
    captured = capsys.readouterr()
    return rc, captured.out + captured.err


def test_birth_after_as_of_is_an_error_naming_the_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "r.json"
    doc = _set(_set(_example(), "/administrations", []), "/subject/birth_date", "2025-06-01")
    path.write_text(json.dumps(doc), encoding="utf-8")
    rc, out = _run(
        capsys, "eligibility", str(path), "--protocol", "flex-mrt", "--as-of", "2025-03-01"
    )
    assert rc == 1 and "/subject/birth_date" in out and "after the evaluation date" in out, out


def test_a_json_file_with_a_trailing_comma_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "r.json"
    path.write_text('{"record_version": 1, "subject": {"id": "X", "sex": "M"},}', encoding="utf-8")
    for argv in (
        ["check", str(path)],
        ["decide", str(path), "--protocol", "flex-mrt", "--as-of", "2025-03-01"],
    ):
        rc, out = _run(capsys, *argv)
        assert rc == 1 and "not JSON" in out and "Traceback" not in out, out


def test_as_of_that_is_not_a_real_day(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = _run(
        capsys, "decide", str(EXAMPLE), "--protocol", "flex-mrt", "--as-of", "2026-02-30"
    )
    assert rc == 2 and "--as-of '2026-02-30' is not a real day" in out, out
