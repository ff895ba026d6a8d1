"""`flexmrt report`: HTML names the decision and every fired rule; figures are produced;
missing data are said; the page loads in headless Chromium with every image decoded."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from flexmrt import engine
from flexmrt.protocol import resolve
from flexmrt.server.cli import main

EXAMPLES = sorted((Path(__file__).parents[2] / "examples" / "patients").glob("*.yaml"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
AS_OF = "2025-09-01"


def _record(path: Path) -> engine.Record:
    return engine.read_record_text(path.read_text("utf-8"), str(path))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_report_for_every_example(path: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert (
        main(["report", str(path), "--protocol", "flex-mrt", "--as-of", AS_OF, "--out", str(out)])
        == 0
    )
    page = (out / "report.html").read_text("utf-8")
    decision = engine.decide(resolve("flex-mrt"), _record(path), date.fromisoformat(AS_OF))
    assert f"<span class='action {decision.action}'>" in page
    for rule in decision.reasons:
        assert f"<b>{rule.id}</b>" in page
    assert (out / "timeline.png").read_bytes().startswith(b"\x89PNG")
    assert (out / "timeline.png").stat().st_size > 10_000
    assert (out / "timeline.svg").read_text("utf-8").lstrip().startswith("<?xml")


def test_missing_data_still_renders_and_says_what_is_missing(tmp_path: Path) -> None:
    text = EXAMPLES[0].read_text("utf-8")
    stripped = re.sub(r"(?ms)^labs:\n(  - .*\n)+", "labs: []\n", text)
    assert stripped != text
    record = tmp_path / "no-labs.yaml"
    record.write_text(stripped, "utf-8")
    out = tmp_path / "r"
    assert (
        main(
            [
                "report",
                str(record),
                "--protocol",
                "flex-mrt",
                "--as-of",
                "2025-01-15",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    page = (out / "report.html").read_text("utf-8")
    assert "<h2>Missing data</h2><ul>" in page
    assert "missing: no platelets (PLAT) result" in page


def test_report_draws_dose_volume_histograms(tmp_path: Path) -> None:
    from flexmrt.gpu_dose import make_phantom

    phantom = make_phantom(tmp_path / "study", shape=(24, 24, 28))
    assert (
        main(
            [
                "dose",
                "--spect",
                str(phantom.spect[0]),
                "--masks",
                str(phantom.masks),
                "--out",
                str(tmp_path / "dose"),
            ]
        )
        == 0
    )
    out = tmp_path / "r"
    assert (
        main(
            [
                "report",
                str(EXAMPLES[0]),
                "--protocol",
                "flex-mrt",
                "--as-of",
                "2025-01-15",
                "--dose",
                str(tmp_path / "dose" / "results.json"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "Dose-volume histograms" in (out / "timeline.svg").read_text("utf-8")


def test_bad_dose_file_is_an_input_error(tmp_path: Path) -> None:
    assert (
        main(
            [
                "report",
                str(EXAMPLES[0]),
                "--protocol",
                "flex-mrt",
                "--dose",
                str(tmp_path / "none.json"),
                "--out",
                str(tmp_path / "r"),
            ]
        )
        == 1
    )


@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("FLEXMRT_REQUIRE_CHROMIUM"),
    reason="Debian's chromium is not installed (CI installs it)",
)
def test_page_loads_in_headless_chromium(tmp_path: Path) -> None:
    assert CHROMIUM is not None, "FLEXMRT_REQUIRE_CHROMIUM is set but chromium is missing"
    out = tmp_path / "r"
    assert (
        main(
            [
                "report",
                str(EXAMPLES[-1]),
                "--protocol",
                "flex-mrt",
                "--as-of",
                AS_OF,
                "--out",
                str(out),
            ]
        )
        == 0
    )
    dom = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            (out / "report.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert '<body data-images="ok">' in dom
    assert "<h2>Decision</h2>" in dom


def _report(tmp_path: Path, name: str, as_of: str, *dose: str) -> str:
    out = tmp_path / "r"
    args = ["report", str(EXAMPLES_DIR / name), "--protocol", "flex-mrt", "--as-of", as_of]
    args += ["--out", str(out)] + (["--dose", *dose] if dose else [])
    assert main(args) == 0
    return (out / "report.html").read_text("utf-8")


EXAMPLES_DIR = Path(__file__).parents[2] / "examples" / "patients"


def test_screening_eligibility_is_judged_on_the_cycle_1_day(tmp_path: Path) -> None:
    page = _report(tmp_path, "flx-010-thrombocytopenia.yaml", "2025-04-14")
    record = _record(EXAMPLES_DIR / "flx-010-thrombocytopenia.yaml")
    on_report_day = engine.eligibility(resolve("flex-mrt"), record, date(2025, 4, 14))
    assert on_report_day.outcome != "ELIGIBLE"  # the labs of a withheld cycle
    assert (
        "Eligibility checklist: ELIGIBLE — screening eligibility as of the cycle-1 "
        "administration (2025-01-20)" in page
    )


def test_before_cycle_1_screening_is_judged_on_the_report_day(tmp_path: Path) -> None:
    page = _report(tmp_path, "flx-001-eligible.yaml", "2025-01-15")
    assert "ELIGIBLE — screening eligibility as of 2025-01-15 (no cycle given yet" in page


def test_checked_and_passed_never_reads_as_a_failure(tmp_path: Path) -> None:
    page = _report(tmp_path, "flx-010-thrombocytopenia.yaml", "2025-04-22")
    checked = page.split("<h2>Checked and passed</h2>", 1)[1]
    assert "STOP-DEATH" in checked
    assert "NOT_MET" not in checked and "class='NOT_MET'" not in checked
    assert "passed (not triggered)" in checked


def test_units_and_words_are_as_a_person_writes_them(tmp_path: Path) -> None:
    page = _report(tmp_path, "flx-010-thrombocytopenia.yaml", "2025-04-22")
    assert "×10⁹/L" in page and "10^9/L" not in page
    for internal in ("None", "False", "need_data", "liver_metastases"):
        assert internal not in page.split("<p class='src'>")[0], internal


def test_without_dose_results_the_section_says_none_were_given(tmp_path: Path) -> None:
    page = _report(tmp_path, "flx-001-eligible.yaml", "2025-01-15")
    assert "<h2>Dosimetry</h2><p>No dose results were given" in page


def test_dose_table_per_structure_and_mismatches_warned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from flexmrt.gpu_dose import make_phantom

    phantom = make_phantom(tmp_path / "study", shape=(24, 24, 28))
    dose = tmp_path / "dose"
    assert (
        main(
            [
                *("dose", "--spect", str(phantom.spect[0])),
                *("--masks", str(phantom.masks), "--out", str(dose)),
            ]
        )
        == 0
    )
    capsys.readouterr()
    page = _report(
        tmp_path, "flx-008-holiday-psa-restart.yaml", "2025-10-23", str(dose / "results.json")
    )
    err = capsys.readouterr().err
    table = page.split("<h2>Dosimetry</h2>", 1)[1].split("<h2>", 1)[0]
    for column in ("mean Gy", "max Gy", "D2 Gy", "D50 Gy", "D98 Gy", "Gy/GBq", "BED Gy"):
        assert f"<th>{column}</th>" in table
    for structure in ("kidney_left", "kidney_right", "tumour_1"):
        assert f"<td>{structure}</td>" in table
    # the phantom is another patient, injected on a day FLX-008 had no cycle
    assert "the dose study is of patient" in err and "'FLX-008'" in err
    assert "has no administration that day" in err
    assert "has no administration that day" in table
    svg = (tmp_path / "r" / "timeline.svg").read_text("utf-8")
    assert "kidney_left · cycle ?" in svg


def test_timeline_draws_the_psa_response_lines_legend_and_what_is_due(tmp_path: Path) -> None:
    _report(tmp_path, "flx-010-thrombocytopenia.yaml", "2025-04-22")
    svg = (tmp_path / "r" / "timeline.svg").read_text("utf-8")
    for text in ("PSA50", "PSA90", "CTCAE v5", "grade 4", "C3 due", "at 5.9 GBq"):
        assert text in svg, text


def test_organs_at_risk_table_with_uncertainty(tmp_path: Path) -> None:
    """The decision's organs at risk on the page, each cumulative value ± u and its limit."""
    import json

    from ruamel.yaml import YAML

    case = YAML(typ="safe", pure=True).load(
        (
            Path(__file__).parents[1] / "cases" / "organs" / "missing-cycle-estimated.yaml"
        ).read_text()
    )
    base = Path(__file__).parents[1] / "cases" / case["record_file"]
    record = YAML(typ="safe", pure=True).load(base.read_text())
    record["spect_ct"] = case["patch"]["spect_ct"]
    record["spect_ct"][0]["organs_at_risk"]["salivary_glands"]["uncertainty"] = {
        "calibration": 0.05,
        "time_integration": 0.1,
        "volume": 0.2,
    }
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record, default=str))
    out = tmp_path / "report"
    args = ["report", str(path), "--protocol", "flex-mrt", "--as-of", "2025-04-14"]
    assert main([*args, "--out", str(out)]) == 0
    page = (out / "report.html").read_text("utf-8")
    table = page.split("<h3>Organs at risk (Gy, ± standard uncertainty)</h3>", 1)[1]
    assert "<td>red bone marrow</td>" in table and "dose 2 Gy (report)" in table
    assert "bed 39 Gy (curtail)" in table
    salivary = table.split("<td>salivary glands</td>", 1)[1].split("</tr>", 1)[0]
    assert " ± " in salivary and "report only" in salivary
