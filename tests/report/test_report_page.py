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

import engine
from protocol import resolve
from server.cli import main

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
    assert f"<span class='action {decision['action']}'>" in page
    for rule in decision["reasons"]:
        assert f"<b>{rule['id']}</b>" in page
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
    from gpu_dose import make_phantom

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
