"""`flexmrt validate | protocols | show` with their exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from protocol_helpers import amended

from flexmrt.server.cli import main


def test_validate_bundled_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--bundled"]) == 0
    out = capsys.readouterr().out
    assert "ok      protocol/revisions/flex-mrt-1.0.yaml  flex-mrt@1.0" in out


def test_validate_invalid_file_exit_1_with_locations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(amended("cap: {param: kidney_bed_cap}", "cap: {param: oops}"), "utf-8")
    assert main(["validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"INVALID {bad}" in out and "/organ_limits/kidney_bed/cap" in out
    assert main(["validate", str(bad), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert result["issues"][0]["code"] == "unknown_parameter"
    assert result["issues"][0]["line"] > 1


def test_validate_usage_error_exit_2(tmp_path: Path) -> None:
    assert main(["validate"]) == 2
    with pytest.raises(SystemExit) as caught:
        main(["validate", "--no-such-flag"])
    assert caught.value.code == 2


def test_validate_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 1
    assert "no such file" in capsys.readouterr().out


def test_protocols_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["protocols", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["id"] for r in rows} == {"flex-mrt", "pluvicto-label"}
    assert all(len(r["sha256"]) == 64 for r in rows)
    assert main(["show", "flex-mrt"]) == 0
    assert "kidney BED cap 39 Gy" in capsys.readouterr().out
    assert main(["show", "nope", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "not_found"
