"""Diff between revisions: exactly what an amendment changed, for people and as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from protocol_helpers import amended, as_draft, bundled_text

from flexmrt.protocol import diff_protocols, load_text, resolve
from flexmrt.server.cli import main


def _holiday_amendment() -> str:
    text = amended(
        '    value: -90\n    unit: "%"\n    text: PSA change from baseline',
        '    value: -85\n    unit: "%"\n    text: PSA change from baseline',
    )
    return as_draft(text)


def test_diff_shows_exactly_the_changed_threshold() -> None:
    result = diff_protocols(resolve("flex-mrt@1.0"), load_text(_holiday_amendment()))
    changed = [c for c in result["changes"] if c["kind"] != "section"]
    assert [(c["change"], c["kind"], c["id"]) for c in changed] == [
        ("changed", "parameter", "holiday_psa_change")
    ]
    assert changed[0]["fields"] == [{"field": "value", "old": -90, "new": -85}]
    metadata = [c for c in result["changes"] if c["kind"] == "section"]
    assert {c["entity"] for c in metadata} == {
        "protocol/revision",
        "protocol/status",
        "protocol/supersedes",
    }


def test_diff_added_and_removed_criteria() -> None:
    text = amended("    - id: INC-BILI\n", "    - id: INC-BILIRUBIN\n")
    result = diff_protocols(resolve("flex-mrt@1.0"), load_text(text))
    kinds = {(c["change"], c["id"]) for c in result["changes"]}
    assert ("removed", "INC-BILI") in kinds and ("added", "INC-BILIRUBIN") in kinds


def test_cli_diff_text_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    draft = tmp_path / "draft.yaml"
    draft.write_text(_holiday_amendment(), "utf-8")
    assert main(["diff", "flex-mrt@1.0", str(draft)]) == 0
    out = capsys.readouterr().out
    assert "CHANGED  parameter holiday_psa_change" in out
    assert "value: -90 → -85" in out
    assert main(["diff", "flex-mrt@1.0", str(draft), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["to"] == "flex-mrt@1.2" and data["summary"]["changed"] >= 1


def test_same_revision_has_no_changes() -> None:
    p = resolve("flex-mrt")
    assert diff_protocols(p, p)["changes"] == []
    _ = bundled_text
