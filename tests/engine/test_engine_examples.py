"""The example patients reproduce their documented outcomes through the CLI.

Each ``examples/patients/*.yaml`` starts with lines of the form
``# Documented outcome: flexmrt CALL FILE --protocol REF --as-of DATE → OUTCOME
[cycle N] [at X GBq] [(RULE-ID, …)]``; the rule ids must be among the fired rules
(decide) or the criteria not met (eligibility).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from flexmrt.server.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "patients"
_LINE = re.compile(
    r"^# Documented outcome: flexmrt (?P<args>.+?) → (?P<outcome>[A-Z_]+)"
    r"(?: cycle (?P<cycle>\d+))?(?: at (?P<gbq>[\d.]+) GBq)?(?: \((?P<ids>[^)]*)\))?\s*$"
)


def _documented() -> list[Any]:
    params = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.startswith("# Documented outcome:"):
                continue
            m = _LINE.match(line)
            assert m, f"{path.name}: cannot parse {line!r}"
            params.append(pytest.param(m.groupdict(), id=f"{path.stem}:{m['args'].split()[-1]}"))
    return params


def test_at_least_ten_examples() -> None:
    assert len(list(EXAMPLES.glob("flx-*.yaml"))) >= 10
    assert len(_documented()) >= 10


@pytest.mark.parametrize("doc", _documented())
def test_documented_outcome(doc: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    args = doc["args"].split()
    args[1] = str(ROOT / args[1])
    assert main([*args, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    if args[0] == "eligibility":
        assert answer["outcome"] == doc["outcome"]
        ids = {c["id"] for c in answer["criteria"] if c["outcome"] != "MET"}
    else:
        assert answer["action"] == doc["outcome"]
        ids = {r["id"] for r in answer["reasons"]}
    if doc["cycle"]:
        assert answer["cycle"] == int(doc["cycle"])
    if doc["gbq"]:
        assert answer["activity_gbq"] == pytest.approx(float(doc["gbq"]))
    wanted = {i.strip() for i in (doc["ids"] or "").split(",") if i.strip()}
    assert wanted <= ids, f"{wanted - ids} not among {sorted(ids)}"


def test_population_teff_is_flagged_estimated_to_the_decision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A spect_ct T_eff with teff_source population is an estimate in the kidney BED."""
    src = EXAMPLES / "flx-011-kidney-cap.yaml"
    text = src.read_text().replace(
        "kidney_teff_h: 40.0}", "kidney_teff_h: 40.0, teff_source: population}"
    )
    flagged = tmp_path / "flagged.yaml"
    flagged.write_text(text)
    results = []
    for path in (src, flagged):
        args = ["decide", str(path), "--protocol", "flex-mrt", "--as-of", "2025-08-18", "--json"]
        assert main(args) == 0
        results.append(json.loads(capsys.readouterr().out)["kidney_bed"])
    measured, population = results
    assert not any(c["teff_estimated"] for c in measured["cycles"])
    assert all(c["teff_estimated"] for c in population["cycles"]) and population["estimated"]
