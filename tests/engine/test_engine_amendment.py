"""Amendment impact: draft revisions flip exactly the borderline example patients.

Every example patient is evaluated at each date its header documents, under
flex-mrt@1.0 and under a draft that moves one threshold.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import date
from pathlib import Path

import pytest

from flexmrt import engine
from flexmrt.engine.amendment import assess_amendment, summarise
from flexmrt.protocol import load_text, resolve
from flexmrt.server.cli import main

sys.path.insert(0, str(Path(__file__).parents[1] / "protocol"))
from protocol_helpers import amended, as_draft

EXAMPLES = Path(__file__).parents[2] / "examples" / "patients"

DRAFTS = {
    # raises the holiday PSA threshold: a decline of at least 91 % (was 90 %)
    "holiday_psa": (
        '    value: -90\n    unit: "%"\n    text: PSA change from baseline',
        '    value: -91\n    unit: "%"\n    text: PSA change from baseline',
    ),
    # lowers the kidney BED cap to 38.7 Gy (was 39 Gy)
    "kidney_cap": ("    value: 39\n    unit: Gy", "    value: 38.7\n    unit: Gy"),
    # raises the platelet threshold to 110 ×10⁹/L (was 100)
    "platelets": (
        "    value: 100\n    unit: 10^9/L\n    text: Lowest platelet",
        "    value: 110\n    unit: 10^9/L\n    text: Lowest platelet",
    ),
}
EXPECTED = {
    "holiday_psa": {("FLX-012", "action", "START_HOLIDAY", "ADMINISTER")},
    "kidney_cap": {
        ("FLX-013", "action", "ADMINISTER", "DISCONTINUE"),
        ("FLX-013", "cycles_remaining", 1, 0),
    },
    "platelets": {("FLX-014", "eligibility", "ELIGIBLE", "INELIGIBLE")},
}
RESPONSIBLE = {"holiday_psa": "HOL-ENTRY", "kidney_cap": "KIDNEY-BED-CAP", "platelets": "INC-PLAT"}


def _documented_cases() -> list[tuple[engine.Record, date]]:
    cases = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        text = path.read_text("utf-8")
        header = text.split("record_version")[0]
        record = engine.read_record_text(text, str(path))
        cases += [
            (record, date.fromisoformat(d))
            for d in sorted(set(re.findall(r"--as-of (\d{4}-\d{2}-\d{2})", header)))
        ]
    return cases


def _draft(name: str) -> str:
    old, new = DRAFTS[name]
    return as_draft(amended(old, new))


@pytest.mark.parametrize("name", sorted(DRAFTS))
def test_amendment_flips_exactly_the_expected_patients(name: str) -> None:
    old, new = resolve("flex-mrt@1.0"), load_text(_draft(name))
    results = list(assess_amendment(old, new, _documented_cases()))
    flips = {
        (r.subject_id, c.field, c.old, c.new)
        for r in results
        for c in r.changes
        if c.field != "activity_gbq" and c.field != "cycle"
    }
    assert flips == EXPECTED[name]
    changed = [r for r in results if r.changed]
    assert all(RESPONSIBLE[name] in [rule.id for rule in r.rules] for r in changed)
    summary = summarise(old, new, results)
    assert summary.changed == len(changed) == 1
    assert summary.unchanged == len(results) - 1 >= 20


def test_same_revision_changes_nothing() -> None:
    p = resolve("flex-mrt@1.0")
    results = list(assess_amendment(p, p, _documented_cases()))
    assert not any(r.changed or r.rules for r in results)


def test_cli_replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    draft = tmp_path / "flex-mrt-1.1-draft.yaml"
    draft.write_text(_draft("platelets"), "utf-8")
    records = [
        str(EXAMPLES / "flx-014-platelets-borderline.yaml"),
        str(EXAMPLES / "flx-001-eligible.yaml"),
    ]
    args = [
        "replay",
        "--from",
        "flex-mrt@1.0",
        "--to",
        str(draft),
        *records,
        "--as-of",
        "2025-01-15",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "FLX-014 (2025-01-15): eligibility ELIGIBLE → INELIGIBLE" in out
    assert "rule INC-PLAT: MET → NOT_MET" in out
    assert out.strip().endswith("2 subject(s), 1 unchanged, 1 changed (eligibility 1)")
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["changed"] == 1 and len(data["subjects"]) == 2


def test_cli_replay_needs_records_or_log() -> None:
    assert main(["replay", "--from", "flex-mrt", "--to", "flex-mrt"]) == 2
