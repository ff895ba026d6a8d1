"""FHIR statuses and unmapped elements, end to end: a corrected lab and an entered-in-error
lab give the decision the corrected values call for — through `flexmrt import fhir` then
`flexmrt decide`, and through DecideNextAction's record_fhir_json on a real server."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
import pytest
from fhir_export import record_to_bundle

from flexmrt.engine import read_record_text
from flexmrt.server._gen.flexmrt.v1 import decision_pb2 as pb
from flexmrt.server._gen.flexmrt.v1 import decision_pb2_grpc
from flexmrt.server.app import create_server
from flexmrt.server.imports import ConversionError
from flexmrt.server.imports.fhir import LOINC, UCUM, bundle_to_record

ROOT = Path(__file__).resolve().parents[2]
FLX_007 = ROOT / "examples" / "patients" / "flx-007-control-completed.yaml"
AS_OF = "2025-04-12"  # FLX-007's documented ADMINISTER cycle 3 at 7.4 GBq


def _base() -> dict[str, Any]:
    record = read_record_text(FLX_007.read_text(encoding="utf-8"), str(FLX_007))
    return record_to_bundle(record.doc)


def _plat(value: float, dtc: str, status: str, accession: str, **extra: Any) -> dict[str, Any]:
    return {
        "resource": {
            "resourceType": "Observation",
            "status": status,
            "identifier": [{"system": "urn:lab:accession", "value": accession}],
            "code": {"coding": [{"system": LOINC, "code": "777-3"}]},
            "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": dtc,
            "valueQuantity": {"value": value, "unit": "10*9/L", "system": UCUM, "code": "10*9/L"},
            **extra,
        }
    }


DAY_BEFORE = "2025-04-11T09:00:00-07:00"


def _low() -> dict[str, Any]:
    """FLX-007 with a final platelet count of 40 ×10⁹/L (grade 3) the day before."""
    bundle = _base()
    bundle["entry"].append(_plat(40, DAY_BEFORE, "final", "ACC-9"))
    return bundle


def _corrected() -> dict[str, Any]:
    """The 40 corrected to 210 — the correction placed *before* the original in the
    Bundle (entry order means nothing in a collection) — and a later count of 20 entered in
    error."""
    bundle = _base()
    bundle["entry"].append(_plat(210, DAY_BEFORE, "corrected", "ACC-9"))
    bundle["entry"].append(_plat(40, DAY_BEFORE, "final", "ACC-9"))
    bundle["entry"].append(_plat(20, "2025-04-11T12:00:00-07:00", "entered-in-error", "ACC-10"))
    return bundle


def _decide_cli(bundle: dict[str, Any], tmp_path: Path, name: str) -> dict[str, Any]:
    source = tmp_path / f"{name}.json"
    source.write_text(json.dumps(bundle), encoding="utf-8")
    out = tmp_path / f"{name}.yaml"
    cli = [sys.executable, "-m", "flexmrt.server.cli"]
    run = subprocess.run(
        [*cli, "import", "fhir", str(source), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    run = subprocess.run(
        [*cli, "decide", str(out), "--protocol", "flex-mrt", "--as-of", AS_OF, "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    return dict(json.loads(run.stdout))


def test_cli_import_then_decide_follows_the_corrected_value(tmp_path: Path) -> None:
    low = _decide_cli(_low(), tmp_path, "low")
    assert low["action"] == "WITHHOLD"
    assert low["reasons"][0]["id"] == "TOX-MYELOSUPPRESSION"
    fixed = _decide_cli(_corrected(), tmp_path, "fixed")
    assert (fixed["action"], fixed["cycle"], fixed["activity_gbq"]) == ("ADMINISTER", 3, 7.4)


def test_the_corrected_version_wins_whatever_the_entry_order() -> None:
    result = bundle_to_record(json.dumps(_corrected()))
    plats = [lab["value"] for lab in result.record["labs"] if lab["dtc"] == DAY_BEFORE]
    assert plats == [210]
    notes = sorted((n.kind, n.message.split(" /")[0]) for n in result.notes)
    assert notes == [
        ("ignored", "status entered-in-error: not used"),
        ("ignored", "superseded by corrected"),
    ]


def test_entered_in_error_retracts_the_final_result_it_withdraws() -> None:
    bundle = _low()
    bundle["entry"].append(_plat(40, DAY_BEFORE, "entered-in-error", "ACC-9"))
    result = bundle_to_record(json.dumps(bundle))
    assert not [lab for lab in result.record["labs"] if lab["dtc"] == DAY_BEFORE]
    assert [n.kind for n in result.notes] == ["ignored", "ignored"]


def test_among_equal_statuses_the_latest_update_wins() -> None:
    bundle = _base()
    late = {"meta": {"lastUpdated": "2025-04-11T15:00:00Z"}}
    early = {"meta": {"lastUpdated": "2025-04-11T11:00:00Z"}}
    bundle["entry"].append(_plat(150, DAY_BEFORE, "corrected", "ACC-9", **late))
    bundle["entry"].append(_plat(90, DAY_BEFORE, "corrected", "ACC-9", **early))
    result = bundle_to_record(json.dumps(bundle))
    assert [lab["value"] for lab in result.record["labs"] if lab["dtc"] == DAY_BEFORE] == [150]


def _first(bundle: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind)


def test_every_element_not_read_is_reported() -> None:
    bundle = _base()
    _first(bundle, "Patient")["address"] = [{"city": "Los Angeles"}]
    lab = _plat(210, DAY_BEFORE, "final", "ACC-N")
    lab["resource"]["interpretation"] = [{"text": "normal"}]
    lab["resource"]["note"] = [{"text": "haemolysed sample"}]
    lab["resource"]["referenceRange"] = [
        {
            "low": {"value": 150, "unit": "10*9/L", "system": UCUM, "code": "10*9/L"},
            "text": "adult",
        },
        {"text": "neonate"},
    ]
    bundle["entry"].append(lab)
    admin = _first(bundle, "MedicationAdministration")
    admin["dosage"]["route"] = {"text": "intravenous"}
    admin["extension"].append({"url": "urn:site:infusion-pump", "valueString": "P-7"})
    result = bundle_to_record(json.dumps(bundle))
    where = [n.where for n in result.notes]
    for element in (
        "(Patient/p1)/address",
        "/interpretation",
        "/note",
        "/referenceRange/0/text",
        "/referenceRange/1",
        "/dosage/route",
        "/extension/1",
    ):
        assert sum(w.endswith(element) for w in where) == 1, (element, where)
    assert all(n.kind == "unmapped" for n in result.notes)


def test_a_bound_instead_of_a_value_is_refused() -> None:
    bundle = _base()
    lab = _plat(0.1, DAY_BEFORE, "final", "ACC-B")
    lab["resource"]["valueQuantity"]["comparator"] = "<"
    bundle["entry"].append(lab)
    with pytest.raises(ConversionError) as err:
        bundle_to_record(json.dumps(bundle))
    assert err.value.issues[0].found == "<0.1"
    assert "bound" in err.value.issues[0].message


def test_statuses_of_other_resources_are_honoured() -> None:
    bundle = _base()
    other = copy.deepcopy(_first(bundle, "MedicationAdministration"))
    other["medicationCodeableConcept"] = {"text": "ondansetron"}
    bundle["entry"].append({"resource": other})
    therapy = copy.deepcopy(_first(bundle, "MedicationStatement"))
    therapy["status"] = "entered-in-error"
    therapy["effectivePeriod"] = {"start": "2025-03-01"}
    bundle["entry"].append({"resource": therapy})
    ae = {
        "resourceType": "AdverseEvent",
        "actuality": "potential",
        "event": {"text": "Thrombocytopenia"},
        "subject": {"reference": "Patient/p1"},
        "date": "2025-04-01",
        "extension": [
            {"url": "https://flexmrt.org/fhir/StructureDefinition/ctcae-grade", "valueInteger": 4}
        ],
    }
    bundle["entry"].append({"resource": ae})
    result = bundle_to_record(json.dumps(bundle))
    original = read_record_text(FLX_007.read_text(encoding="utf-8"), str(FLX_007))
    assert result.record == original.doc  # nothing of the three entered the record
    assert sorted(n.kind for n in result.notes) == ["ignored", "ignored", "unmapped"]


# -- the gRPC edge --------------------------------------------------------------------------


@pytest.fixture
def stub(tmp_path: Path):  # type: ignore[no-untyped-def]
    server, port = create_server("127.0.0.1:0", db=tmp_path / "log.sqlite")
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield decision_pb2_grpc.DecisionServiceStub(channel)
    server.stop(grace=2)


def test_grpc_record_fhir_json_gives_the_corrected_decision(stub) -> None:  # type: ignore[no-untyped-def]
    def decide(bundle: dict[str, Any]) -> pb.DecideNextActionResponse:
        return stub.DecideNextAction(
            pb.DecideNextActionRequest(
                protocol_ref="flex-mrt", record_fhir_json=json.dumps(bundle), as_of=AS_OF
            )
        )

    low = decide(_low())
    assert low.decision.action == pb.ACTION_WITHHOLD
    fixed = decide(_corrected())
    assert fixed.decision.action == pb.ACTION_ADMINISTER
    assert fixed.decision.activity_gbq == pytest.approx(7.4)
    assert sorted(n.kind for n in fixed.import_notes) == ["ignored", "ignored"]
    # The same record sent as record_json gives the same decision id (one identity).
    record = bundle_to_record(json.dumps(_corrected())).record
    same = stub.DecideNextAction(
        pb.DecideNextActionRequest(
            protocol_ref="flex-mrt", record_json=json.dumps(record), as_of=AS_OF
        )
    )
    assert same.decision.decision_id == fixed.decision.decision_id
    schedule = stub.GetSchedule(
        pb.GetScheduleRequest(
            protocol_ref="flex-mrt", record_fhir_json=json.dumps(_corrected()), as_of=AS_OF
        )
    )
    assert schedule.follows_decision == fixed.decision.decision_id
    assert len(schedule.import_notes) == 2


def test_grpc_record_fhir_json_errors_are_invalid_argument_with_the_path(stub) -> None:  # type: ignore[no-untyped-def]
    from grpc_status import rpc_status

    bundle = _base()
    lab = _plat(0.1, DAY_BEFORE, "final", "ACC-B")
    lab["resource"]["valueQuantity"]["comparator"] = "<"
    bundle["entry"].append(lab)
    request = pb.EvaluateEligibilityRequest(
        protocol_ref="flex-mrt", record_fhir_json=json.dumps(bundle), as_of=AS_OF
    )
    with pytest.raises(grpc.RpcError) as err:
        stub.EvaluateEligibility(request)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(err.value)
    assert status is not None and "record_fhir_json/entry/" in str(status.details[0].value)
    both = pb.DecideNextActionRequest(
        protocol_ref="flex-mrt", record_json="{}", record_fhir_json="{}", as_of=AS_OF
    )
    with pytest.raises(grpc.RpcError) as err:
        stub.DecideNextAction(both)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not both" in (err.value.details() or "")
