"""CDISC SDTM in (CSV and Dataset-JSON 1.1): round trip of every example, errors located."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sdtm_export import records_to_domains, write_csv, write_dataset_json

from flexmrt.engine import read_record_text
from flexmrt.protocol.canonical import canonical_json
from flexmrt.server.imports import ConversionError
from flexmrt.server.imports.sdtm import read_study

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples" / "patients").glob("*.yaml"))


def _docs() -> list[dict[str, object]]:
    return [read_record_text(p.read_text(encoding="utf-8"), str(p)).doc for p in EXAMPLES]


@pytest.mark.parametrize("writer", [write_csv, write_dataset_json], ids=["csv", "dataset-json"])
def test_every_example_round_trips_through_sdtm(writer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    docs = _docs()
    writer(records_to_domains(docs), tmp_path)
    results = read_study(tmp_path)
    assert [r.record["subject"]["id"] for r in results] == [d["subject"]["id"] for d in docs]  # type: ignore[index]
    for doc, result in zip(docs, results, strict=True):
        assert canonical_json(result.record) == canonical_json(doc)


def test_unknown_lab_unit_names_the_file_and_row(tmp_path: Path) -> None:
    write_csv(records_to_domains(_docs()[:1]), tmp_path)
    path = tmp_path / "lb.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows[2]["LBSTRESU"] = "furlongs"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ConversionError) as err:
        read_study(tmp_path)
    assert err.value.issues[0].pointer == f"{path} row 3"


def test_unread_variables_and_tests_are_reported(tmp_path: Path) -> None:
    domains = records_to_domains(_docs()[:1])
    domains["LB"][0]["LBNAM"] = "Central lab"
    domains["LB"].append({**domains["LB"][0], "LBSEQ": 99, "LBTESTCD": "GLUC"})
    write_csv(domains, tmp_path)
    notes = [str(n) for n in read_study(tmp_path)[0].notes]
    assert any("LBNAM" in n for n in notes)
    assert any("GLUC" in n for n in notes)


def test_cli_import_sdtm_writes_one_record_per_subject(tmp_path: Path) -> None:
    write_dataset_json(records_to_domains(_docs()), tmp_path / "sdtm")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "flexmrt.server.cli",
            "import",
            "sdtm",
            str(tmp_path / "sdtm"),
            "--out-dir",
            str(tmp_path / "records"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    written = sorted(p.name for p in (tmp_path / "records").glob("*.yaml"))
    assert len(written) == len(EXAMPLES)
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "flexmrt.server.cli",
            "import",
            "sdtm",
            str(tmp_path / "nope"),
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert json.loads(missing.stdout)["error"]["code"] == "not_found"


def test_the_shipped_sdtm_folder_is_flx_008_and_flx_010() -> None:
    results = read_study(ROOT / "examples" / "sdtm")
    names = ["flx-008-holiday-psa-restart.yaml", "flx-010-thrombocytopenia.yaml"]
    for result, name in zip(results, names, strict=True):
        path = ROOT / "examples" / "patients" / name
        expected = read_record_text(path.read_text(encoding="utf-8")).canonical
        assert canonical_json(result.record) == expected
