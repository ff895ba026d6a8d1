"""The `flexmrt` command line as a person meets it: usage errors, revisions not yet in
force, errors in words, human output without internal names, progress bars."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from flexmrt.server.cli import main
from flexmrt.server.cli.common import progress

EXAMPLES = Path(__file__).parents[2] / "examples" / "patients"
FLX001 = str(EXAMPLES / "flx-001-eligible.yaml")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        rc = main(list(argv))
    except SystemExit as stop:
        rc = int(stop.code or 0)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(capsys, "--version")
    assert rc == 0 and re.match(r"flexmrt \S+ \(engine \S+\)", out)


def test_misspelt_command_and_flag_get_did_you_mean(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _run(capsys, "decid", FLX001)
    assert rc == 2 and "unknown command 'decid'" in err and "did you mean `flexmrt decide`" in err
    rc, _, err = _run(capsys, "decide", FLX001, "--protocol", "flex-mrt", "--as_of", "2025-01-15")
    assert rc == 2 and "unknown flag --as_of; did you mean --as-of?" in err
    rc, _, err = _run(capsys, "eligibility", FLX001, "--protcol", "flex-mrt")
    assert rc == 2 and "unknown flag --protcol; did you mean --protocol?" in err


def test_json_usage_errors_are_json_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = _run(capsys, "decide", FLX001, "--protcol", "flex-mrt", "--json")
    assert rc == 2 and not err
    assert json.loads(out)["error"]["code"] == "usage"
    rc, out, _ = _run(
        capsys, "decide", FLX001, "--protocol", "flex-mrt", "--as-of", "2026-02-30", "--json"
    )
    assert rc == 2 and "not a real day" in json.loads(out)["error"]["message"]
    rc, out, _ = _run(
        capsys, "decide", "nope.yaml", "--protocol", "flex-mrt", "--as-of", "2025-01-15", "--json"
    )
    assert rc == 1 and json.loads(out)["error"]["message"]


@pytest.mark.parametrize(
    "argv",
    [
        ["eligibility", FLX001],
        ["decide", FLX001],
        ["schedule", FLX001],
        ["study", FLX001],
        ["replay", "--from", "flex-mrt", "--to", "flex-mrt@1.0", FLX001],
    ],
    ids=lambda a: a[0],
)
def test_a_revision_not_yet_in_force_is_refused(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    proto = [] if argv[0] == "replay" else ["--protocol", "flex-mrt"]
    rc, out, err = _run(capsys, *argv, *proto, "--as-of", "2020-01-01")
    assert rc == 1, out
    assert "in force on 2020-01-01" in err and "takes effect on 2024-02-01" in err
    assert "flex-mrt@1.0" in err
    rc, _, err = _run(capsys, *argv, *proto, "--as-of", "2024-02-01")  # the day it takes effect
    assert rc == 0, err


def test_an_explicit_revision_not_yet_in_force_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rc, _, err = _run(
        capsys, "decide", FLX001, "--protocol", "flex-mrt@1.0", "--as-of", "2024-01-31"
    )
    assert rc == 1 and "flex-mrt@1.0 is not in force on 2024-01-31" in err
    rc, _, err = _run(
        capsys,
        "report",
        FLX001,
        "--protocol",
        "flex-mrt",
        "--as-of",
        "2020-01-01",
        "--out",
        str(tmp_path / "r"),
    )
    assert rc == 1 and "takes effect on 2024-02-01" in err


def _bad(tmp_path: Path, old: str, new: str, name: str = "bad.yaml") -> str:
    text = Path(FLX001).read_text("utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), "utf-8")
    return str(path)


def test_schema_errors_are_in_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    no_offset = _bad(tmp_path, '"2025-01-13T08:30:00+01:00"', '"2025-01-13T08:30:00"', "a.yaml")
    sex = _bad(tmp_path, "sex: M", "sex: X", "b.yaml")
    tab = tmp_path / "c.yaml"
    tab.write_text(Path(FLX001).read_text("utf-8") + "\tx: 1\n", "utf-8")
    rc, out, _ = _run(capsys, "check", no_offset, sex, str(tab), "--json")
    assert rc == 1
    issues = {r["file"]: r["issues"] for r in json.loads(out)["results"]}
    (time,) = issues[no_offset]
    assert "has no UTC offset" in time["message"] and time["expected"] and time["fix"]
    assert "^" not in time["text"] and "\\d" not in time["text"]  # no raw regular expression
    (enum,) = issues[sex]
    assert enum["expected"] == "one of M, F" and enum["fix"]
    (yaml_tab,) = issues[str(tab)]
    assert "YAML forbids tabs" in yaml_tab["message"] and "spaces" in yaml_tab["fix"]


HUMAN = [
    ("eligibility", "flx-001-eligible.yaml", "2024-06-01"),
    ("eligibility", "flx-005-washout.yaml", "2025-01-15"),
    ("eligibility", "flx-004-low-platelets.yaml", "2025-01-15"),
    ("decide", "flx-006-missing-labs.yaml", "2025-01-16"),
    ("decide", "flx-008-holiday-psa-restart.yaml", "2025-09-01"),
    ("decide", "flx-008-holiday-psa-restart.yaml", "2025-10-23"),
    ("decide", "flx-010-thrombocytopenia.yaml", "2025-04-22"),
    ("decide", "flx-011-kidney-cap.yaml", "2025-08-18"),
    ("schedule", "flx-008-holiday-psa-restart.yaml", "2025-09-01"),
]


@pytest.mark.parametrize("command,name,as_of", HUMAN)
def test_human_output_has_no_internal_names(
    command: str, name: str, as_of: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = _run(
        capsys,
        command,
        str(EXAMPLES / name),
        "--protocol",
        "flex-mrt",
        "--as-of",
        as_of,
    )
    assert rc == 0, err
    for word in ("None", "False", "True", "10^9", "umol/L", "need_data"):
        assert word not in out, (word, out)
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", out), out  # no snake_case engine names


def test_units_and_missing_data_due_date(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(
        capsys,
        "decide",
        str(EXAMPLES / "flx-006-missing-labs.yaml"),
        "--protocol",
        "flex-mrt",
        "--as-of",
        "2025-01-16",
    )
    assert rc == 0
    assert "×10⁹/L" in out
    assert "missing: no platelets (PLAT) result within 14 days before 2025-01-16" in out
    assert "needed before cycle 1: due 2025-01-15, window closes 2025-01-22" in out


def test_show_lists_criteria_and_assumed_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(capsys, "show", "flex-mrt")
    assert rc == 0
    assert "INC-PLAT               Platelets ≥ 100 ×10⁹/L within 14 days." in out
    assert re.search(r"reduced_activity\s+5\.9 GBq  \(pluvicto-label, 2\.4 Table 1\)", out)
    assert re.search(r"lookback\s+14 days", out)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_and_silent_when_piped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    piped = io.StringIO()
    monkeypatch.setattr("sys.stderr", piped)
    assert list(progress([1, 2, 3], "checking")) == [1, 2, 3]
    assert piped.getvalue() == ""
    tty = _Tty()
    monkeypatch.setattr("sys.stderr", tty)
    assert list(progress([1, 2, 3], "checking")) == [1, 2, 3]
    assert "checking [" in tty.getvalue() and tty.getvalue().endswith("3/3\n")


def test_check_draws_progress_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    tty = _Tty()
    monkeypatch.setattr("sys.stderr", tty)
    files = [str(p) for p in sorted(EXAMPLES.glob("*.yaml"))]
    assert main(["check", *files]) == 0
    assert f"checking records [{'#' * 30}] {len(files)}/{len(files)}" in tty.getvalue()
