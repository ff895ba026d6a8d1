"""Test helper: a patient record written as the FHIR R4 Bundle a hospital would send.

The inverse of ``server.imports.fhir`` for the round-trip tests; it uses the codes a
laboratory system sends (LOINC, UCUM), one resource per fact.
"""

from __future__ import annotations

from typing import Any

from flexmrt.server.imports.fhir import (
    EXT,
    FLEXMRT,
    LAB_LOINC,
    LIVER_METASTASIS_SNOMED,
    LOINC,
    SNOMED,
    THERAPY_CLASS,
    UCUM,
    UCUM_TO_RECORD,
)

_FIRST_LOINC = {test: code for code, test in reversed(list(LAB_LOINC.items()))}
_TO_UCUM = {
    unit: code for code, spellings in reversed(list(UCUM_TO_RECORD.items())) for unit in spellings
}


def _q(value: Any, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": _TO_UCUM[unit]}


def _own(code: str) -> dict[str, Any]:
    return {"coding": [{"system": FLEXMRT, "code": code}]}


def record_to_bundle(record: dict[str, Any]) -> dict[str, Any]:
    resources: list[dict[str, Any]] = []
    subject = record["subject"]
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": "p1",
        "identifier": [{"system": "urn:flexmrt:usubjid", "value": subject["id"]}],
        "gender": {"M": "male", "F": "female"}[subject["sex"]],
    }
    if "birth_date" in subject:
        patient["birthDate"] = subject["birth_date"]
    if "death" in record:
        patient["deceasedDateTime"] = record["death"]["date"]
    resources.append(patient)
    ref = {"reference": "Patient/p1"}
    if "weight" in subject:
        resources.append(
            {
                "resourceType": "Observation",
                "status": "final",
                "code": {"coding": [{"system": LOINC, "code": "29463-7"}]},
                "subject": ref,
                "effectiveDateTime": record["consent"]["date"],
                "valueQuantity": _q(subject["weight"]["value"], subject["weight"]["unit"]),
            }
        )
    if "consent" in record:
        resources.append(
            {
                "resourceType": "Consent",
                "status": "active",
                "scope": {"text": "research"},
                "category": [{"text": "research consent"}],
                "patient": ref,
                "dateTime": record["consent"]["date"],
            }
        )
    if "randomisation" in record or "withdrawal" in record:
        rs: dict[str, Any] = {
            "resourceType": "ResearchSubject",
            "status": "on-study",
            "study": {"reference": "ResearchStudy/flex-mrt"},
            "individual": ref,
            "period": {},
        }
        if "randomisation" in record:
            rs["assignedArm"] = record["randomisation"]["arm"]
            rs["period"]["start"] = record["randomisation"]["date"]
        if "withdrawal" in record:
            rs["status"] = "withdrawn"
            rs["period"]["end"] = record["withdrawal"]["date"]
            if "reason" in record["withdrawal"]:
                rs["extension"] = [
                    {
                        "url": EXT + "withdrawal-reason",
                        "valueString": record["withdrawal"]["reason"],
                    }
                ]
        resources.append(rs)
    history = record.get("history", {})
    if "liver_metastases" in history:
        resources.append(
            {
                "resourceType": "Condition",
                "code": {"coding": [{"system": SNOMED, "code": LIVER_METASTASIS_SNOMED}]},
                "verificationStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                            "code": "confirmed" if history["liver_metastases"] else "refuted",
                        }
                    ]
                },
                "subject": ref,
            }
        )
    for therapy in history.get("prior_therapies", []):
        period = {
            "start": therapy["start"],
            **({"end": therapy["end"]} if "end" in therapy else {}),
        }
        resources.append(
            {
                "resourceType": "MedicationStatement",
                "status": "completed" if "end" in therapy else "active",
                "category": {"coding": [{"system": THERAPY_CLASS, "code": therapy["class"]}]},
                "medicationCodeableConcept": {"text": therapy.get("agent", therapy["class"])},
                "subject": ref,
                "effectivePeriod": period,
            }
        )
    if "screening_pet" in record:
        pet = record["screening_pet"]
        comps: list[dict[str, Any]] = []
        if "psma_vol_ml" in pet:
            comps.append({"code": _own("psma-vol"), "valueQuantity": _q(pet["psma_vol_ml"], "mL")})
        for lesion in pet["psma_positive_lesions"]:
            comps.append(
                {
                    "extension": [
                        {"url": EXT + "above-liver", "valueBoolean": lesion["above_liver"]}
                    ],
                    "code": _own("psma-positive-lesion"),
                    "valueString": lesion["site"],
                }
            )
        for lesion in pet["psma_negative_lesions"]:
            comps.append(
                {
                    "extension": [
                        {
                            "url": EXT + "short-axis",
                            "valueQuantity": _q(lesion["short_axis_mm"], "mm"),
                        }
                    ],
                    "code": _own("psma-negative-lesion"),
                    "valueString": lesion["site"],
                }
            )
        resources.append(_obs(_own("screening-psma-pet"), pet["dtc"], ref, component=comps))
    for ecog in record.get("ecog", []):
        code = {"coding": [{"system": LOINC, "code": "89247-1"}]}
        resources.append(_obs(code, ecog["dtc"], ref, valueInteger=ecog["score"]))
    for i, lab in enumerate(record.get("labs", [])):
        code = {"coding": [{"system": LOINC, "code": _FIRST_LOINC[lab["testcd"]]}]}
        extra: dict[str, Any] = {"valueQuantity": _q(lab["value"], lab["unit"])}
        rng: dict[str, Any] = {}
        if "ref_low" in lab:
            rng["low"] = _q(lab["ref_low"], lab["unit"])
        if "ref_high" in lab:
            rng["high"] = _q(lab["ref_high"], lab["unit"])
        if rng:
            extra["referenceRange"] = [rng]
        extra["identifier"] = [{"system": "urn:lab:accession", "value": f"L{i}"}]
        resources.append(_obs(code, lab["dtc"], ref, **extra))
    for adm in record.get("administrations", []):
        act = adm["activity"]
        resources.append(
            {
                "resourceType": "MedicationAdministration",
                "extension": [{"url": EXT + "cycle", "valueInteger": adm["cycle"]}],
                "status": "completed",
                "medicationCodeableConcept": {"text": "177Lu-PSMA-617"},
                "subject": ref,
                "effectiveDateTime": adm["dtc"],
                "dosage": {"dose": _q(act["value"], act["unit"])},
            }
        )
    spect_units = {
        "hours_post_injection": ("hours-post-injection", "h"),
        "tumour_volume_ml": ("tumour-volume", "mL"),
        "kidney_dose_gy": ("kidney-dose", "Gy"),
        "kidney_teff_h": ("kidney-teff", "h"),
    }
    for spect in record.get("spect_ct", []):
        comps = [{"code": _own("cycle"), "valueInteger": spect["cycle"]}]
        for key, value in spect.items():
            if key in spect_units:
                code_name, unit = spect_units[key]
                comps.append({"code": _own(code_name), "valueQuantity": _q(value, unit)})
            elif key == "new_lesions":
                comps.append({"code": _own("new-lesions"), "valueBoolean": value})
            elif key == "teff_source":
                comps.append({"code": _own("teff-source"), "valueString": value})
        resources.append(_obs(_own("post-cycle-spect-ct"), spect["dtc"], ref, component=comps))
    for pet in record.get("pet_ct", []):
        comps = []
        if "psma_vol_ml" in pet:
            comps.append({"code": _own("psma-vol"), "valueQuantity": _q(pet["psma_vol_ml"], "mL")})
        if "new_lesions" in pet:
            comps.append({"code": _own("new-lesions"), "valueBoolean": pet["new_lesions"]})
        if "recip" in pet:
            comps.append(
                {
                    "code": _own("recip"),
                    "valueCodeableConcept": {"coding": [{"system": FLEXMRT, "code": pet["recip"]}]},
                }
            )
        resources.append(_obs(_own("psma-pet"), pet["dtc"], ref, component=comps))
    for holiday in record.get("holidays", []):
        period = {
            "start": holiday["start"],
            **({"end": holiday["end"]} if "end" in holiday else {}),
        }
        resources.append(
            {
                "resourceType": "EpisodeOfCare",
                "status": "finished" if "end" in holiday else "active",
                "type": [_own("treatment-holiday")],
                "patient": ref,
                "period": period,
            }
        )
    for ae in record.get("adverse_events", []):
        resource: dict[str, Any] = {
            "resourceType": "AdverseEvent",
            "extension": [{"url": EXT + "ctcae-grade", "valueInteger": ae["grade"]}],
            "actuality": "actual",
            "event": {"text": ae["term"]},
            "subject": ref,
            "date": ae["start"],
        }
        if "end" in ae:
            resource["extension"].append(
                {"url": EXT + "resolution-date", "valueDateTime": ae["end"]}
            )
        if "related" in ae:
            code = {True: "related", False: "not-related"}.get(ae["related"], "unknown")
            resource["suspectEntity"] = [
                {
                    "instance": {"display": "177Lu-PSMA-617"},
                    "causality": [{"assessment": {"coding": [{"system": FLEXMRT, "code": code}]}}],
                }
            ]
        resources.append(resource)
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def _obs(code: dict[str, Any], dtc: str, ref: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": code,
        "subject": ref,
        "effectiveDateTime": dtc,
        **extra,
    }
