"""FHIR R4 Bundle → patient record.

The Bundle is first validated by ``fhir.resources`` (its R4B models, which read the R4
resources used here): a resource with an unknown element, a wrong type or a malformed
date is refused with the element's path. Values are then read from the validated JSON
itself, so dates and decimals keep the exact text the sending system wrote.

What is read (the README's "Records from FHIR" section has the table):

- Patient: identifier (or id) → subject.id, gender → sex, birthDate, deceasedDateTime.
- Observation, by LOINC: labs (each analyte's mass and molar codes, UCUM units, reference
  ranges), ECOG performance status (89247-1), body weight (29463-7). Status: final,
  amended and corrected results are used — a corrected or amended result replaces an
  earlier one with the same identifier; preliminary results are used and marked;
  entered-in-error, cancelled and registered results are left out and listed.
- MedicationAdministration of 177Lu-PSMA-617: treatment cycles with their activity.
- MedicationStatement / Procedure with a prior-therapy class: prior therapies.
- AdverseEvent: term, CTCAE grade, onset, resolution, relatedness (suspectEntity causality).
- Consent (date), ResearchSubject (arm, randomisation date, withdrawal), Condition
  (liver metastases), EpisodeOfCare (treatment holidays), and flexmrt-coded Observations
  for the PSMA PET/CT reads and post-cycle SPECT/CT results.

Elements FHIR has no place for (a CTCAE grade, a cycle number, a resolution date) travel
as extensions under :data:`EXT`; flexmrt's own codes are in :data:`FLEXMRT`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from .common import ConversionError, ImportResult, problem

__all__ = [
    "EXT",
    "FLEXMRT",
    "LAB_LOINC",
    "LIVER_METASTASIS_SNOMED",
    "LOINC",
    "SNOMED",
    "THERAPY_CLASS",
    "UCUM",
    "UCUM_TO_RECORD",
    "bundle_to_record",
]

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
FLEXMRT = "https://flexmrt.org/fhir/CodeSystem/flexmrt"
THERAPY_CLASS = "https://flexmrt.org/fhir/CodeSystem/prior-therapy-class"
EXT = "https://flexmrt.org/fhir/StructureDefinition/"
LIVER_METASTASIS_SNOMED = "94381002"  # secondary malignant neoplasm of liver
ECOG_LOINC = "89247-1"
WEIGHT_LOINC = "29463-7"

# LOINC code → record test code; mass and molar codes where both exist.
LAB_LOINC: dict[str, str] = {
    "718-7": "HGB",
    "59260-0": "HGB",
    "777-3": "PLAT",
    "6690-2": "WBC",
    "751-8": "NEUT",
    "26499-4": "NEUT",
    "2160-0": "CREAT",
    "14682-9": "CREAT",
    "1975-2": "BILI",
    "14631-6": "BILI",
    "1920-8": "AST",
    "1742-6": "ALT",
    "1751-7": "ALB",
    "2857-1": "PSA",
    "2986-8": "TESTO",
    "14913-8": "TESTO",
}

# UCUM code → the spellings a record accepts for that unit (the first is the default; a
# quantity whose human-readable ``unit`` is one of the others keeps that spelling).
UCUM_TO_RECORD: dict[str, tuple[str, ...]] = {
    "g/dL": ("g/dL",),
    "g/L": ("g/L", "G/L"),
    "mmol/L": ("mmol/L",),
    "10*9/L": ("10^9/L", "G/L"),
    "10*3/uL": ("10^3/uL", "10^3/µL"),
    "/uL": ("/uL", "/µL"),
    "/mm3": ("/mm3",),
    "{cells}/uL": ("cells/uL",),
    "/nL": ("10^9/L",),
    "mg/dL": ("mg/dL",),
    "umol/L": ("umol/L", "µmol/L"),
    "U/L": ("U/L", "IU/L"),
    "[IU]/L": ("IU/L",),
    "ng/mL": ("ng/mL",),
    "ug/L": ("ug/L", "µg/L"),
    "ng/dL": ("ng/dL",),
    "nmol/L": ("nmol/L",),
    "kg": ("kg",),
    "g": ("g",),
    "[lb_av]": ("lb",),
    "GBq": ("GBq",),
    "MBq": ("MBq",),
    "kBq": ("kBq",),
    "mCi": ("mCi",),
    "Ci": ("Ci",),
    "mL": ("mL",),
    "mm": ("mm",),
    "h": ("h",),
    "Gy": ("Gy",),
}

_RESULT_STATUSES = {"final", "amended", "corrected", "preliminary"}
_LEFT_OUT_STATUSES = {"entered-in-error", "cancelled", "registered", "unknown"}

# flexmrt-coded Observation components → record keys, with how their value is read.
_SPECT_COMPONENTS = {
    "cycle": ("cycle", "integer"),
    "hours-post-injection": ("hours_post_injection", "quantity"),
    "tumour-volume": ("tumour_volume_ml", "quantity"),
    "new-lesions": ("new_lesions", "boolean"),
    "kidney-dose": ("kidney_dose_gy", "quantity"),
    "kidney-teff": ("kidney_teff_h", "quantity"),
    "teff-source": ("teff_source", "string"),
}
_PET_COMPONENTS = {
    "psma-vol": ("psma_vol_ml", "quantity"),
    "new-lesions": ("new_lesions", "boolean"),
    "recip": ("recip", "code"),
}


# Elements that identify or describe a resource rather than carry a fact about the patient:
# never reported (the Bundle holds one patient, so every reference points at them).
_BOOKKEEPING = {"resourceType", "id", "meta", "text", "implicitRules", "language", "contained"}
_BOOKKEEPING |= {"subject", "patient", "individual", "study"}

# Elements each resource's handler reads (besides the bookkeeping); every other element
# present is reported as unmapped. Observation elements depend on what it is: see
# :data:`_OBSERVATION_VALUES`. Consent.scope and .category are required by FHIR R4 and
# describe the consent (every active Consent in the Bundle is taken as the trial's).
_READ: dict[str, set[str]] = {
    "Patient": {"identifier", "gender", "birthDate", "deceasedDateTime"},
    "Observation": {"status", "identifier", "category", "code", "effectiveDateTime"},
    "MedicationAdministration": {
        "status",
        "extension",
        "medicationCodeableConcept",
        "effectiveDateTime",
        "effectivePeriod",
        "dosage",
    },
    "MedicationStatement": {"status", "category", "medicationCodeableConcept", "effectivePeriod"},
    "Procedure": {"status", "category", "code", "performedPeriod"},
    "AdverseEvent": {"extension", "actuality", "event", "date", "detected", "suspectEntity"},
    "Consent": {"status", "scope", "category", "dateTime"},
    "ResearchSubject": {"status", "period", "assignedArm", "extension"},
    "Condition": {"code", "verificationStatus"},
    "EpisodeOfCare": {"status", "type", "period"},
}
_OBSERVATION_VALUES = {
    "lab": {"valueQuantity", "referenceRange"},
    "ecog": {"valueInteger", "valueCodeableConcept"},
    "weight": {"valueQuantity"},
    "own": {"component"},
}
# Extensions each resource may carry (name under EXT); any other is reported.
_EXTENSIONS: dict[str, set[str]] = {
    "MedicationAdministration": {"cycle"},
    "AdverseEvent": {"ctcae-grade", "resolution-date"},
    "ResearchSubject": {"withdrawal-reason"},
}
# Statuses of a fact that did not happen or was recorded in error: left out and listed.
_NOT_HAPPENED = {
    "MedicationStatement": {"entered-in-error", "not-taken", "intended"},
    "Procedure": {"entered-in-error", "not-done", "preparation"},
    "Consent": {"entered-in-error", "draft", "proposed", "rejected"},
    "EpisodeOfCare": {"entered-in-error", "cancelled", "planned", "waitlist"},
    "ResearchSubject": {"entered-in-error"},
}
# 177Lu-PSMA-617 (lutetium Lu 177 vipivotide tetraxetan): how a MedicationAdministration
# names it (text or coding display, case-insensitive); other medicines are not cycles.
_LU_PSMA_NAMES = ("psma-617", "psma 617", "vipivotide", "pluvicto")

# Observation status ranks when one result arrives in several versions (same identifier):
# the highest decides — a withdrawal retracts every version, a correction replaces the
# original, a final result replaces a preliminary one. Equal ranks: the latest
# meta.lastUpdated (else issued), else the later entry in the Bundle.
_STATUS_RANK = {
    "registered": 0,
    "preliminary": 1,
    "final": 2,
    "amended": 3,
    "corrected": 3,
    "cancelled": 4,
    "entered-in-error": 4,
    "unknown": -1,
}


def bundle_to_record(text: str, source: str = "bundle") -> ImportResult:
    """Convert a FHIR Bundle (JSON text) for one patient; ConversionError if it cannot be."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConversionError(
            "invalid_json",
            f"{source}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            [problem("invalid_json", exc.msg, f"line {exc.lineno}")],
        ) from None
    _validate(raw, source)
    return _Converter(raw, source).convert()


def _validate(raw: Any, source: str) -> None:
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    if not isinstance(raw, dict) or raw.get("resourceType") != "Bundle":
        found = raw.get("resourceType", "") if isinstance(raw, dict) else type(raw).__name__
        raise ConversionError(
            "not_a_bundle",
            f"{source}: expected a FHIR Bundle (resourceType 'Bundle')",
            [
                problem(
                    "not_a_bundle",
                    "the document is not a FHIR Bundle",
                    "/resourceType",
                    fix="send the patient's resources in one Bundle (type collection)",
                    found=str(found),
                )
            ],
        )
    try:
        Bundle.model_validate(raw)
    except ValidationError as exc:
        issues = [
            problem(
                "fhir_invalid",
                err["msg"],
                "/" + "/".join(str(part) for part in err["loc"]),
                fix="correct the element to the FHIR R4 definition of the resource",
            )
            for err in exc.errors()[:50]
        ]
        raise ConversionError(
            "fhir_invalid",
            f"{source}: {exc.error_count()} FHIR validation problem(s); first: "
            f"{issues[0].pointer}: {issues[0].message}",
            issues,
        ) from None
    except (ValueError, TypeError) as exc:  # a model that refuses a value outright
        raise ConversionError(
            "fhir_invalid",
            f"{source}: not a valid FHIR Bundle: {str(exc)[:200]}",
            [problem("fhir_invalid", str(exc)[:200], "/")],
        ) from None


def _codings(concept: Any) -> list[dict[str, Any]]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding", []) if isinstance(c, dict)]


def _code_in(concept: Any, system: str) -> str | None:
    for coding in _codings(concept):
        if coding.get("system") == system and "code" in coding:
            return str(coding["code"])
    return None


def _ext(resource: dict[str, Any], name: str) -> dict[str, Any] | None:
    for ext in resource.get("extension", []):
        if ext.get("url") == EXT + name:
            return dict(ext)
    return None


def _is_lu_psma(concept: Any) -> bool:
    if not isinstance(concept, dict):
        return False
    names = [str(concept.get("text", ""))] + [str(c.get("display", "")) for c in _codings(concept)]
    return any(n in name.lower() for name in names for n in _LU_PSMA_NAMES)


def _date_part(text: str) -> str:
    return text[:10]


def _version_key(n: int, where: str, res: dict[str, Any]) -> tuple[int, float, int]:
    """Sort key of one version of a result: status rank, then update time, then order."""
    stamp = (res.get("meta") or {}).get("lastUpdated") or res.get("issued") or ""
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() if stamp else 0.0
    except ValueError:
        when = 0.0
    return (_STATUS_RANK.get(res.get("status", ""), -1), when, n)


class _Converter:
    def __init__(self, raw: dict[str, Any], source: str) -> None:
        self.raw = raw
        self.source = source
        self.result = ImportResult({"record_version": 1})
        self.issues: list[Any] = []
        self.observations: list[tuple[str, dict[str, Any]]] = []

    # -- helpers -----------------------------------------------------------------------
    def where(self, index: int, resource: dict[str, Any]) -> str:
        rid = resource.get("id")
        kind = resource.get("resourceType", "?")
        return f"/entry/{index}/resource ({kind}/{rid})" if rid else f"/entry/{index}/resource"

    def error(self, where: str, message: str, fix: str = "", found: str = "") -> None:
        self.issues.append(problem("fhir_unmappable", message, where, fix=fix, found=found))

    def quantity(self, q: Any, where: str, what: str) -> dict[str, Any] | None:
        if not isinstance(q, dict) or "value" not in q:
            self.error(where, f"{what} has no value", fix="give a valueQuantity with a value")
            return None
        if q.get("comparator"):
            self.error(
                where,
                f"{what} is {q['comparator']} {q['value']}: a bound, not a measured value",
                fix="send the measured value, or leave the result out until one is known",
                found=f"{q['comparator']}{q['value']}",
            )
            return None
        code = q.get("code") if q.get("system") == UCUM else None
        spellings = UCUM_TO_RECORD.get(code or q.get("unit", ""))
        if spellings is None:
            found = str(code or q.get("unit", ""))
            self.error(
                where,
                f"{what} is in a unit flexmrt does not read",
                fix="send the quantity with its UCUM code (system http://unitsofmeasure.org)",
                found=found,
            )
            return None
        unit = q["unit"] if q.get("unit") in spellings else spellings[0]
        return {"value": q["value"], "unit": unit}

    # -- conversion --------------------------------------------------------------------
    def convert(self) -> ImportResult:
        entries = self.raw.get("entry", [])
        patients = [
            (i, e["resource"])
            for i, e in enumerate(entries)
            if e.get("resource", {}).get("resourceType") == "Patient"
        ]
        if len(patients) != 1:
            raise ConversionError(
                "fhir_patients",
                f"{self.source}: a Bundle must hold exactly one Patient (found {len(patients)})",
                [
                    problem(
                        "fhir_patients",
                        f"{len(patients)} Patient resources",
                        "/entry",
                        fix="send one Bundle per patient",
                    )
                ],
            )
        handlers = {
            "Patient": self.patient,
            "Observation": self.observation,
            "MedicationAdministration": self.administration,
            "MedicationStatement": self.prior_therapy,
            "Procedure": self.prior_therapy,
            "AdverseEvent": self.adverse_event,
            "Consent": self.consent,
            "ResearchSubject": self.research_subject,
            "Condition": self.condition,
            "EpisodeOfCare": self.holiday,
        }
        for index, entry in enumerate(entries):
            resource = entry.get("resource")
            if not isinstance(resource, dict):
                self.result.note("unmapped", f"/entry/{index}", "entry without a resource")
                continue
            kind = resource.get("resourceType", "")
            handler = handlers.get(kind)
            where = self.where(index, resource)
            if handler is None:
                self.result.note("unmapped", where, f"{kind} resources are not read by flexmrt")
                continue
            status = resource.get("status")
            if status in _NOT_HAPPENED.get(kind, ()):
                self.result.note("ignored", where, f"status {status}: not used")
                continue
            self.refuse_modifiers(where, resource)
            if handler(index, resource) is not False and kind != "Observation":
                self.report_unread(where, resource, _READ[kind])
        self.resolve_observations()
        self.finish()
        if self.issues:
            raise ConversionError(
                self.issues[0].code,
                f"{self.source}: {len(self.issues)} problem(s); first: "
                f"{self.issues[0].pointer}: {self.issues[0].message}",
                self.issues,
            )
        return self.result

    def refuse_modifiers(self, where: str, res: dict[str, Any]) -> None:
        """A modifier extension changes the meaning of its resource: never read past one."""
        if res.get("modifierExtension"):
            urls = ", ".join(str(e.get("url")) for e in res["modifierExtension"])
            self.error(
                where + "/modifierExtension",
                "a modifier extension flexmrt does not understand changes what this resource means",
                fix="send the resource without the modifier extension, or leave it out",
                found=urls,
            )

    def report_unread(self, where: str, res: dict[str, Any], read: set[str]) -> None:
        """Every element (and extension) present but not read, as an ``unmapped`` note."""
        for key in res:
            if key not in read and key not in _BOOKKEEPING and key != "modifierExtension":
                self.result.note("unmapped", f"{where}/{key}", f"{key} is not read by flexmrt")
        known = {EXT + name for name in _EXTENSIONS.get(res.get("resourceType", ""), ())}
        for j, ext in enumerate(res.get("extension", [])):
            if ext.get("url") not in known:
                self.result.note(
                    "unmapped",
                    f"{where}/extension/{j}",
                    f"extension {ext.get('url')} is not read by flexmrt",
                )

    def finish(self) -> None:
        """The record's sections stated in full: a Bundle is the patient's whole story.

        The prior-therapy list is always written (empty: none reported); once treatment
        has begun (any administration), every treatment section is written, empty where
        nothing happened.
        """
        record = self.result.record
        record.pop("_weight_dtc", None)
        record.setdefault("history", {}).setdefault("prior_therapies", [])
        if record.get("administrations"):
            for key in ("spect_ct", "pet_ct", "holidays", "adverse_events"):
                record.setdefault(key, [])

    def patient(self, index: int, res: dict[str, Any]) -> None:
        where = self.where(index, res)
        identifiers = [i for i in res.get("identifier", []) if i.get("value")]
        subject_id = identifiers[0]["value"] if identifiers else res.get("id")
        if not subject_id:
            self.error(where, "the Patient has neither an identifier nor an id")
            return
        subject: dict[str, Any] = {"id": subject_id}
        gender = res.get("gender")
        sex = {"male": "M", "female": "F"}.get(gender or "")
        if sex is None:
            self.error(
                where + "/gender",
                "the record needs the patient's sex as male or female",
                fix="set Patient.gender to male or female",
                found=str(gender),
            )
        else:
            subject["sex"] = sex
        if "birthDate" in res:
            if len(res["birthDate"]) != 10:
                self.error(where + "/birthDate", "a birth date needs year, month and day")
            else:
                subject["birth_date"] = res["birthDate"]
        self.result.record["subject"] = {**self.result.record.get("subject", {}), **subject}
        if "deceasedDateTime" in res:
            self.result.record["death"] = {"date": _date_part(res["deceasedDateTime"])}

    def observation(self, index: int, res: dict[str, Any]) -> None:
        self.observations.append((self.where(index, res), res))

    def resolve_observations(self) -> None:
        """Apply statuses, whatever the order of the entries, then read each result.

        Versions of one result share an identifier (or a resource id). Of each group the
        version of highest status rank decides (:data:`_STATUS_RANK`): entered-in-error or
        cancelled leaves the result out altogether, corrected or amended replaces the
        original, preliminary is used and marked. Every version not used is listed.
        """
        for group in self.observation_versions():
            order = sorted(group, key=lambda item: _version_key(*item))
            (where, res), older = order[-1][1:], order[:-1]
            status = res.get("status", "")
            for _n, spot, _r in older:
                self.result.note("ignored", spot, f"superseded by {status} {where}")
            if status in _LEFT_OUT_STATUSES:
                self.result.note("ignored", where, f"status {status}: not used")
                continue
            if status == "preliminary":
                self.result.note("marked", where, "preliminary result: used, not yet final")
            self.read_observation(where, res)

    def observation_versions(self) -> list[list[tuple[int, str, dict[str, Any]]]]:
        """The Observations grouped by shared identifier or id, in Bundle order."""
        groups: list[list[tuple[int, str, dict[str, Any]]]] = []
        by_key: dict[tuple[str, str], int] = {}
        for n, (where, res) in enumerate(self.observations):
            keys = [
                (str(i.get("system", "")), str(i["value"]))
                for i in res.get("identifier", [])
                if "value" in i
            ]
            keys += [("#id", str(res["id"]))] if "id" in res else []
            found = next((by_key[k] for k in keys if k in by_key), None)
            if found is None:
                found = len(groups)
                groups.append([])
            groups[found].append((n, where, res))
            for k in keys:
                by_key.setdefault(k, found)
        return groups

    def read_observation(self, where: str, res: dict[str, Any]) -> None:
        loinc = _code_in(res.get("code"), LOINC)
        own = _code_in(res.get("code"), FLEXMRT)
        dtc = res.get("effectiveDateTime")
        if dtc is None:
            self.error(where, "an Observation needs effectiveDateTime", fix="set the result time")
            return
        record = self.result.record
        read = (
            _READ["Observation"]
            | _OBSERVATION_VALUES[
                "lab"
                if loinc in LAB_LOINC
                else "ecog"
                if loinc == ECOG_LOINC
                else "weight"
                if loinc == WEIGHT_LOINC
                else "own"
            ]
        )
        if loinc in LAB_LOINC or loinc in (ECOG_LOINC, WEIGHT_LOINC) or own:
            self.report_unread(where, res, read)
        if loinc in LAB_LOINC:
            q = self.quantity(res.get("valueQuantity"), where + "/valueQuantity", "the lab value")
            if q is None:
                return
            lab: dict[str, Any] = {"testcd": LAB_LOINC[loinc], **q, "dtc": dtc}
            lab.update(self.reference_range(where, res.get("referenceRange", [])))
            record.setdefault("labs", []).append(lab)
        elif loinc == ECOG_LOINC:
            score = res.get("valueInteger")
            if score is None:
                concept = res.get("valueCodeableConcept")
                text = next((str(c.get("code", "")) for c in _codings(concept)), "")
                score = int(text) if text.isdigit() else None
            if score is None:
                self.error(where, "an ECOG result needs an integer score 0–5")
                return
            record.setdefault("ecog", []).append({"dtc": dtc, "score": score})
        elif loinc == WEIGHT_LOINC:
            q = self.quantity(res.get("valueQuantity"), where + "/valueQuantity", "body weight")
            if q is not None:  # the latest weight wins
                latest = record.get("_weight_dtc", "")
                if dtc >= latest:
                    record["_weight_dtc"] = dtc
                    record.setdefault("subject", {})["weight"] = q
        elif own == "post-cycle-spect-ct":
            entry = {"dtc": dtc, **self.components(where, res, _SPECT_COMPONENTS)}
            record.setdefault("spect_ct", []).append(entry)
        elif own == "psma-pet":
            entry = {"dtc": dtc, **self.components(where, res, _PET_COMPONENTS)}
            record.setdefault("pet_ct", []).append(entry)
        elif own == "screening-psma-pet":
            self.screening_pet(where, res, dtc)
        else:
            code = loinc or own or json.dumps(res.get("code", {}))[:60]
            self.result.note("unmapped", where, f"Observation {code} is not read by flexmrt")

    def reference_range(self, where: str, ranges: list[dict[str, Any]]) -> dict[str, Any]:
        """The first reference range's low and high; everything else reported."""
        out: dict[str, Any] = {}
        for j, rng in enumerate(ranges):
            spot = f"{where}/referenceRange/{j}"
            if j > 0:
                self.result.note("unmapped", spot, "only the first reference range is read")
                continue
            for key in ("low", "high"):
                if key in rng:
                    q = self.quantity(rng[key], f"{spot}/{key}", f"the reference range {key}")
                    if q is not None:
                        out[f"ref_{key}"] = q["value"]
            for key in rng:
                if key not in ("low", "high"):
                    self.result.note("unmapped", f"{spot}/{key}", f"{key} is not read by flexmrt")
        return out

    def components(
        self, where: str, res: dict[str, Any], table: dict[str, tuple[str, str]]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for j, comp in enumerate(res.get("component", [])):
            code = _code_in(comp.get("code"), FLEXMRT)
            spot = f"{where}/component/{j}"
            if code not in table:
                self.result.note("unmapped", spot, f"component {code} is not read by flexmrt")
                continue
            key, kind = table[code]
            if kind == "quantity":
                q = self.quantity(comp.get("valueQuantity"), spot, code)
                if q is not None:
                    out[key] = q["value"]
            elif kind == "integer":
                out[key] = comp.get("valueInteger")
            elif kind == "boolean":
                out[key] = comp.get("valueBoolean")
            elif kind == "string":
                out[key] = comp.get("valueString")
            else:
                out[key] = next(
                    (c.get("code") for c in _codings(comp.get("valueCodeableConcept"))), None
                )
            if out.get(key) is None:
                out.pop(key, None)
                self.error(spot, f"component {code} has no {kind} value")
        return out

    def screening_pet(self, where: str, res: dict[str, Any], dtc: str) -> None:
        pet: dict[str, Any] = {"dtc": dtc, "psma_positive_lesions": [], "psma_negative_lesions": []}
        for j, comp in enumerate(res.get("component", [])):
            code = _code_in(comp.get("code"), FLEXMRT)
            spot = f"{where}/component/{j}"
            if code == "psma-vol":
                q = self.quantity(comp.get("valueQuantity"), spot, "PSMA-VOL")
                if q is not None:
                    pet["psma_vol_ml"] = q["value"]
            elif code == "psma-positive-lesion":
                above = _ext(comp, "above-liver")
                if above is None or "valueString" not in comp:
                    self.error(spot, "a PSMA-positive lesion needs its site and above-liver")
                    continue
                pet["psma_positive_lesions"].append(
                    {"site": comp["valueString"], "above_liver": above.get("valueBoolean")}
                )
            elif code == "psma-negative-lesion":
                axis = _ext(comp, "short-axis")
                if axis is None or "valueString" not in comp:
                    self.error(spot, "a PSMA-negative lesion needs its site and short axis")
                    continue
                q = self.quantity(axis.get("valueQuantity"), spot, "short axis")
                if q is not None:
                    pet["psma_negative_lesions"].append(
                        {"site": comp["valueString"], "short_axis_mm": q["value"]}
                    )
            else:
                self.result.note("unmapped", spot, f"component {code} is not read by flexmrt")
        self.result.record["screening_pet"] = pet

    def administration(self, index: int, res: dict[str, Any]) -> bool:
        where = self.where(index, res)
        if not _is_lu_psma(res.get("medicationCodeableConcept")):
            self.result.note("unmapped", where, "not 177Lu-PSMA-617: not a treatment cycle")
            return False
        if res.get("status") in {"entered-in-error", "not-done", "stopped"}:
            self.result.note("ignored", where, f"status {res.get('status')}: not a given dose")
            return False
        cycle_ext = _ext(res, "cycle")
        dose = (res.get("dosage") or {}).get("dose")
        dtc = res.get("effectiveDateTime") or (res.get("effectivePeriod") or {}).get("start")
        if cycle_ext is None or dtc is None:
            self.error(
                where,
                "a 177Lu-PSMA-617 administration needs its cycle number and time",
                fix=f"add the extension {EXT}cycle (valueInteger) and effectiveDateTime",
            )
            return False
        q = self.quantity(dose, where + "/dosage/dose", "the administered activity")
        if q is None:
            return False
        entry = {"cycle": cycle_ext.get("valueInteger"), "dtc": dtc, "activity": q}
        self.result.record.setdefault("administrations", []).append(entry)
        for key in res.get("dosage") or {}:
            if key != "dose":
                self.result.note("unmapped", f"{where}/dosage/{key}", f"{key} is not read")
        return True

    def prior_therapy(self, index: int, res: dict[str, Any]) -> None:
        where = self.where(index, res)
        category = res.get("category")
        concepts = category if isinstance(category, list) else [category]
        classes = [
            c.get("code")
            for concept in concepts
            for c in _codings(concept)
            if c.get("system") == THERAPY_CLASS
        ]
        if not classes:
            self.error(
                where,
                "a prior therapy needs its class (washouts and exclusions depend on it)",
                fix=f"add a category coding from {THERAPY_CLASS} (adt, taxane, parp_inhibitor …)",
            )
            return
        concept = res.get("medicationCodeableConcept") or res.get("code") or {}
        agent = concept.get("text") or next(
            (c.get("display") for c in _codings(concept) if c.get("display")), None
        )
        period = res.get("effectivePeriod") or res.get("performedPeriod") or {}
        if "start" not in period:
            self.error(where, "a prior therapy needs its start date", fix="set the period start")
            return
        therapy: dict[str, Any] = {"class": classes[0]}
        if agent:
            therapy["agent"] = agent
        therapy["start"] = period["start"]
        if "end" in period:
            therapy["end"] = period["end"]
        history = self.result.record.setdefault("history", {})
        history.setdefault("prior_therapies", []).append(therapy)

    def adverse_event(self, index: int, res: dict[str, Any]) -> bool:
        where = self.where(index, res)
        if res.get("actuality") == "potential":
            self.result.note("ignored", where, "a potential adverse event (a near miss): not used")
            return False
        event = res.get("event") or {}
        term = event.get("text") or next(
            (c.get("display") for c in _codings(event) if c.get("display")), None
        )
        grade = _ext(res, "ctcae-grade")
        start = res.get("date") or res.get("detected")
        if not term or grade is None or start is None:
            self.error(
                where,
                "an adverse event needs its term, CTCAE grade and onset date",
                fix=f"set event.text, date and the extension {EXT}ctcae-grade (valueInteger)",
            )
            return False
        ae: dict[str, Any] = {"term": term, "grade": grade.get("valueInteger"), "start": start}
        end = _ext(res, "resolution-date")
        if end is not None:
            ae["end"] = end.get("valueDateTime")
        for suspect in res.get("suspectEntity", []):
            for causality in suspect.get("causality", []):
                code = next((c.get("code") for c in _codings(causality.get("assessment"))), None)
                related = {"related": True, "not-related": False, "unknown": "unknown"}.get(
                    str(code)
                )
                if related is None:
                    self.result.note(
                        "unmapped", where, f"causality {code!r} is not one flexmrt reads"
                    )
                else:
                    ae["related"] = related
        self.result.record.setdefault("adverse_events", []).append(ae)
        return True

    def consent(self, index: int, res: dict[str, Any]) -> None:
        if "dateTime" not in res:
            self.error(self.where(index, res), "a Consent needs its dateTime")
            return
        self.result.record["consent"] = {"date": _date_part(res["dateTime"])}

    def research_subject(self, index: int, res: dict[str, Any]) -> None:
        where = self.where(index, res)
        period = res.get("period") or {}
        if "assignedArm" in res and "start" in period:
            self.result.record["randomisation"] = {
                "arm": res["assignedArm"],
                "date": _date_part(period["start"]),
            }
        if res.get("status") == "withdrawn":
            if "end" not in period:
                self.error(where, "a withdrawn ResearchSubject needs period.end (the date)")
                return
            withdrawal: dict[str, Any] = {"date": _date_part(period["end"])}
            reason = _ext(res, "withdrawal-reason")
            if reason is not None:
                withdrawal["reason"] = reason.get("valueString")
            self.result.record["withdrawal"] = withdrawal

    def condition(self, index: int, res: dict[str, Any]) -> bool:
        if _code_in(res.get("code"), SNOMED) != LIVER_METASTASIS_SNOMED:
            self.result.note("unmapped", self.where(index, res), "Condition not read by flexmrt")
            return False
        refuted = _code_in(
            res.get("verificationStatus"),
            "http://terminology.hl7.org/CodeSystem/condition-ver-status",
        )
        if refuted == "entered-in-error":
            self.result.note("ignored", self.where(index, res), "entered in error: not used")
            return False
        history = self.result.record.setdefault("history", {})
        history["liver_metastases"] = refuted != "refuted"
        return True

    def holiday(self, index: int, res: dict[str, Any]) -> bool:
        types = [_code_in(t, FLEXMRT) for t in res.get("type", [])]
        period = res.get("period") or {}
        if "treatment-holiday" not in types or "start" not in period:
            self.result.note("unmapped", self.where(index, res), "EpisodeOfCare not read")
            return False
        holiday = {"start": _date_part(period["start"])}
        if "end" in period:
            holiday["end"] = _date_part(period["end"])
        self.result.record.setdefault("holidays", []).append(holiday)
        return True
