"""FHIR R4 Bundles in: round trip of every example, statuses honoured, nothing dropped silently."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from fhir_export import record_to_bundle

from flexmrt.engine import eligibility, parse_record, read_record_text
from flexmrt.protocol import Registry
from flexmrt.protocol.canonical import canonical_json
from flexmrt.server.imports import ConversionError
from flexmrt.server.imports.fhir import LOINC, UCUM, bundle_to_record

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples" / "patients").glob("*.yaml"))


def _record(path: Path):  # type: ignore[no-untyped-def]
    return read_record_text(path.read_text(encoding="utf-8"), str(path))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_round_trips_to_the_same_canonical_json(path: Path) -> None:
    original = _record(path)
    bundle = json.dumps(record_to_bundle(original.doc))
    result = bundle_to_record(bundle)
    assert canonical_json(result.record) == original.canonical
    assert result.notes == []
    # Same canonical input → same identity, so decision ids are identical.
    assert parse_record(result.record).canonical == original.canonical


def _plat(value: float, dtc: str, status: str, accession: str) -> dict[str, object]:
    return {
        "resource": {
            "resourceType": "Observation",
            "status": status,
            "identifier": [{"system": "urn:lab:accession", "value": accession}],
            "code": {"coding": [{"system": LOINC, "code": "777-3"}]},
            "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": dtc,
            "valueQuantity": {"value": value, "unit": "10*9/L", "system": UCUM, "code": "10*9/L"},
        }
    }


def test_corrected_replaces_and_entered_in_error_is_ignored_in_the_decision() -> None:
    protocol = Registry.bundled().resolve("flex-mrt@1.0")
    base = record_to_bundle(_record(EXAMPLES[0]).doc)  # FLX-001, eligible on 2025-01-15
    low = copy.deepcopy(base)
    low["entry"].append(_plat(40, "2025-01-14T09:00:00-08:00", "final", "ACC-9"))
    as_of = date(2025, 1, 15)
    low_record = parse_record(bundle_to_record(json.dumps(low)).record)
    assert eligibility(protocol, low_record, as_of).outcome == "INELIGIBLE"

    fixed = copy.deepcopy(low)
    fixed["entry"].append(_plat(180, "2025-01-14T09:00:00-08:00", "corrected", "ACC-9"))
    fixed["entry"].append(_plat(30, "2025-01-14T12:00:00-08:00", "entered-in-error", "ACC-10"))
    result = bundle_to_record(json.dumps(fixed))
    plats = [lab["value"] for lab in result.record["labs"] if lab["testcd"] == "PLAT"]
    assert 40 not in plats and 30 not in plats and 180 in plats
    kinds = sorted(note.kind for note in result.notes)
    assert kinds == ["ignored", "ignored"]  # the replaced result and the entered-in-error one
    assert eligibility(protocol, parse_record(result.record), as_of).outcome == "ELIGIBLE"


def test_preliminary_result_is_used_and_marked() -> None:
    bundle = record_to_bundle(_record(EXAMPLES[0]).doc)
    bundle["entry"].append(_plat(200, "2025-01-14T09:00:00-08:00", "preliminary", "ACC-P"))
    result = bundle_to_record(json.dumps(bundle))
    assert [n.kind for n in result.notes] == ["marked"]
    assert "preliminary" in result.notes[0].message


def test_unmapped_resources_and_codes_are_reported_not_dropped() -> None:
    bundle = record_to_bundle(_record(EXAMPLES[0]).doc)
    bundle["entry"].append({"resource": {"resourceType": "Device", "id": "pump"}})
    glucose = _plat(5.5, "2025-01-14T09:00:00-08:00", "final", "ACC-G")
    glucose["resource"]["code"] = {"coding": [{"system": LOINC, "code": "2345-7"}]}  # type: ignore[index]
    bundle["entry"].append(glucose)
    result = bundle_to_record(json.dumps(bundle))
    messages = [str(n) for n in result.notes]
    assert any("Device" in m for m in messages)
    assert any("2345-7" in m for m in messages)


def test_a_lab_in_an_unknown_unit_is_refused_with_its_path() -> None:
    bundle = record_to_bundle(_record(EXAMPLES[0]).doc)
    odd = _plat(210, "2025-01-14T09:00:00-08:00", "final", "ACC-U")
    odd["resource"]["valueQuantity"] = {"value": 210, "system": UCUM, "code": "10*6/L"}  # type: ignore[index]
    bundle["entry"].append(odd)
    with pytest.raises(ConversionError) as err:
        bundle_to_record(json.dumps(bundle))
    issue = err.value.issues[0]
    assert issue.pointer.startswith(f"/entry/{len(bundle['entry']) - 1}/resource")
    assert "unit" in issue.message and issue.found == "10*6/L"


def test_invalid_fhir_is_refused_with_the_element_path() -> None:
    bundle = record_to_bundle(_record(EXAMPLES[0]).doc)
    bundle["entry"][0]["resource"]["gendre"] = "male"
    with pytest.raises(ConversionError) as err:
        bundle_to_record(json.dumps(bundle))
    assert err.value.code == "fhir_invalid"
    assert any("gendre" in i.pointer for i in err.value.issues)


def test_a_prior_therapy_without_a_class_is_an_error_not_a_pass() -> None:
    # Washouts depend on the class: a therapy that cannot be classified must not vanish.
    bundle = record_to_bundle(_record(EXAMPLES[4]).doc)  # FLX-005, washout
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "MedicationStatement":
            del entry["resource"]["category"]
    with pytest.raises(ConversionError) as err:
        bundle_to_record(json.dumps(bundle))
    assert "class" in err.value.issues[0].message


def test_cli_import_fhir_writes_a_record_that_check_accepts(tmp_path: Path) -> None:
    bundle = tmp_path / "flx-010.json"
    original = _record(EXAMPLES[9])
    bundle.write_text(json.dumps(record_to_bundle(original.doc)), encoding="utf-8")
    out = tmp_path / "flx-010.yaml"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "flexmrt.server.cli",
            "import",
            "fhir",
            str(bundle),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    assert read_record_text(out.read_text(encoding="utf-8")).canonical == original.canonical
    check = subprocess.run(
        [sys.executable, "-m", "flexmrt.server.cli", "check", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_cli_import_fhir_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"resourceType": "Patient"}', encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "flexmrt.server.cli", "import", "fhir", str(bad), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert json.loads(run.stdout)["error"]["code"] == "not_a_bundle"


def test_the_shipped_example_bundle_is_flx_010() -> None:
    bundle = (ROOT / "examples" / "fhir" / "flx-010-bundle.json").read_text(encoding="utf-8")
    original = _record(ROOT / "examples" / "patients" / "flx-010-thrombocytopenia.yaml")
    assert canonical_json(bundle_to_record(bundle).record) == original.canonical
