"""Every command that answers for a date refuses a revision not yet in force on it (exit 1
naming the revision and its effective date), as the gRPC service does — whether the
revision is named by id, by id@revision or by the path of its YAML file."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexmrt.server.cli import main

ROOT = Path(__file__).parents[2]
RECORD = str(ROOT / "examples" / "patients" / "flx-001-eligible.yaml")
FILE_11 = str(ROOT / "protocol" / "revisions" / "flex-mrt-1.1.yaml")
EARLY = "2020-01-01"


def _commands(ref: str) -> list[list[str]]:
    return [
        ["eligibility", RECORD, "--protocol", ref],
        ["decide", RECORD, "--protocol", ref],
        ["schedule", RECORD, "--protocol", ref],
        ["study", RECORD, "--protocol", ref],
        ["report", RECORD, "--protocol", ref, "--out", "OUT"],
        ["replay", RECORD, "--from", "flex-mrt@1.0", "--to", ref],
    ]


@pytest.mark.parametrize("ref", ["flex-mrt", "flex-mrt@1.1", FILE_11])
@pytest.mark.parametrize("command", range(6))
def test_a_revision_not_yet_in_force_is_refused(
    ref: str, command: int, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = [str(tmp_path) if a == "OUT" else a for a in _commands(ref)[command]]
    rc = main([*argv, "--as-of", EARLY])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert f"in force on {EARLY}" in err and "takes effect on 2024-02-01" in err, err
    assert "flex-mrt@1." in err  # names the revision


def test_a_draft_file_may_be_asked_before_it_takes_effect(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    draft = tmp_path / "draft.yaml"
    text = Path(FILE_11).read_text(encoding="utf-8")
    draft.write_text(
        text.replace('revision: "1.1"', 'revision: "1.9"', 1).replace(
            "status: active", "status: draft", 1
        ),
        encoding="utf-8",
    )
    rc = main(["decide", RECORD, "--protocol", str(draft), "--as-of", EARLY])
    assert rc == 0, capsys.readouterr().err
