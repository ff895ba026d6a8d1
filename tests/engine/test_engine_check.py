"""`flexmrt check`: every schema error with its JSON path; unit errors; exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flexmrt.server.cli import main

ROOT = Path(__file__).resolve().parents[2]
VALID = ROOT / "examples" / "patients" / "flx-001-eligible.yaml"

BROKEN = """\
record_version: 1
subject: {id: B-1, sex: X, weight: {value: -3, unit: kg}}
ecog: [{dtc: "2025-01-13", score: 7}]
administrations: [{cycle: 0, dtc: "yesterday", activity: {value: 7.4, unit: GBq}}]
colour: blue
"""

BAD_UNIT = """\
record_version: 1
subject: {id: B-2, sex: M}
labs:
  - {testcd: HGB, value: 12, unit: g/dL, dtc: "2025-01-13"}
  - {testcd: PLAT, value: 150, unit: furlongs, dtc: "2025-01-13"}
"""


def _check(capsys: pytest.CaptureFixture[str], *paths: Path) -> tuple[int, dict]:
    code = main(["check", *map(str, paths), "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_valid_record_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _check(capsys, VALID)
    assert code == 0 and out["valid"] is True
    assert out["results"][0]["subject_id"] == "FLX-001"


def test_every_schema_error_with_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    code, out = _check(capsys, path)
    assert code == 1 and out["valid"] is False
    issues = out["results"][0]["issues"]
    pointers = {i["pointer"] for i in issues}
    assert {
        "/subject/sex",
        "/subject/weight/value",
        "/ecog/0/score",
        "/administrations/0/cycle",
        "/administrations/0/dtc",
        "",
    } <= pointers
    assert all(i["code"] == "schema_violation" for i in issues)
    assert all(i["line"] is not None for i in issues if i["pointer"])


def test_unknown_lab_unit_names_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "unit.yaml"
    path.write_text(BAD_UNIT, encoding="utf-8")
    code, out = _check(capsys, path)
    assert code == 1
    (issue,) = out["results"][0]["issues"]
    assert issue["code"] == "unit_mismatch"
    assert issue["pointer"] == "/labs/1/unit"
    assert "furlongs" in issue["text"]


def test_one_invalid_among_several_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "unit.yaml"
    path.write_text(BAD_UNIT, encoding="utf-8")
    code, out = _check(capsys, VALID, path)
    assert code == 1
    assert [r["valid"] for r in out["results"]] == [True, False]


def test_text_output_lists_each_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    assert main(["check", str(path)]) == 1
    text = capsys.readouterr().out
    assert text.startswith("INVALID")
    for pointer in ("/subject/sex", "/ecog/0/score", "/administrations/0/cycle"):
        assert pointer in text


def test_decide_on_invalid_record_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "unit.yaml"
    path.write_text(BAD_UNIT, encoding="utf-8")
    code = main(["decide", str(path), "--protocol", "flex-mrt", "--as-of", "2025-01-15"])
    assert code == 1
    assert "/labs/1/unit" in capsys.readouterr().err
