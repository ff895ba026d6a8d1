"""CDISC SDTM datasets → patient records (one per USUBJID).

A study folder holds one file per domain, as CDISC Dataset-JSON 1.1 (``lb.json``) or CSV
(``lb.csv``): DM (demographics, arm, consent, death), EX (177Lu-PSMA-617 cycles), LB (labs),
VS (body weight), QS (ECOG), AE (adverse events), CM (prior therapies), MH (liver
metastases), DS (withdrawal, treatment holidays) and TR/RS (PSMA PET/CT and post-cycle
SPECT/CT results). LBTESTCD and LBSTRESU map onto the record's test codes and units
(:data:`LB_UNITS`). Variables a domain carries that flexmrt does not read are listed once
per domain as notes; rows it cannot use are refused with their file and row.

The variables flexmrt reads, per domain, are in :data:`READ` (the README's "Records from
CDISC SDTM" section lists them).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from .common import ConversionError, ImportResult, problem

__all__ = ["LB_UNITS", "READ", "read_study"]

# SDTM standard units (LBSTRESU, as CDISC Controlled Terminology writes them) → record unit.
LB_UNITS: dict[str, str] = {
    "g/dL": "g/dL",
    "g/L": "g/L",
    "mmol/L": "mmol/L",
    "10^9/L": "10^9/L",
    "10^3/uL": "10^3/uL",
    "/uL": "/uL",
    "/mm3": "/mm3",
    "mg/dL": "mg/dL",
    "umol/L": "umol/L",
    "U/L": "U/L",
    "IU/L": "IU/L",
    "ng/mL": "ng/mL",
    "ug/L": "ug/L",
    "ng/dL": "ng/dL",
    "nmol/L": "nmol/L",
}
_LAB_TESTS = {"HGB", "PLAT", "WBC", "NEUT", "CREAT", "BILI", "AST", "ALT", "ALB", "TESTO", "PSA"}

# Variables read per domain (anything else a domain carries is reported once as unmapped).
READ: dict[str, set[str]] = {
    "DM": {
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "SEX",
        "BRTHDTC",
        "RFICDTC",
        "ARMCD",
        "RFRANDTC",
        "DTHDTC",
    },
    "EX": {
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "EXSEQ",
        "EXTRT",
        "VISITNUM",
        "EXDOSE",
        "EXDOSU",
        "EXSTDTC",
    },
    "LB": {
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "LBSEQ",
        "LBTESTCD",
        "LBSTRESN",
        "LBSTRESU",
        "LBSTNRLO",
        "LBSTNRHI",
        "LBDTC",
        "LBSTAT",
    },
    "VS": {"STUDYID", "DOMAIN", "USUBJID", "VSSEQ", "VSTESTCD", "VSSTRESN", "VSSTRESU", "VSDTC"},
    "QS": {"STUDYID", "DOMAIN", "USUBJID", "QSSEQ", "QSTESTCD", "QSSTRESN", "QSDTC"},
    "AE": {
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "AESEQ",
        "AETERM",
        "AETOXGR",
        "AESTDTC",
        "AEENDTC",
        "AEREL",
    },
    "CM": {"STUDYID", "DOMAIN", "USUBJID", "CMSEQ", "CMTRT", "CMCLAS", "CMSTDTC", "CMENDTC"},
    "MH": {"STUDYID", "DOMAIN", "USUBJID", "MHSEQ", "MHTERM", "MHDECOD", "MHOCCUR"},
    "DS": {"STUDYID", "DOMAIN", "USUBJID", "DSSEQ", "DSDECOD", "DSTERM", "DSSTDTC", "DSENDTC"},
    "TR": {
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "TRSEQ",
        "TRGRPID",
        "TRLNKID",
        "TRTESTCD",
        "TRORRES",
        "TRSTRESN",
        "TRSTRESC",
        "TRMETHOD",
        "TRDTC",
        "VISITNUM",
    },
    "RS": {"STUDYID", "DOMAIN", "USUBJID", "RSSEQ", "RSGRPID", "RSTESTCD", "RSSTRESC", "RSDTC"},
}
LIVER_METASTASES_TERM = "LIVER METASTASES"
_AE_REL = {"RELATED": True, "Y": True, "NOT RELATED": False, "N": False, "UNKNOWN": "unknown"}


def read_study(folder: str | Path) -> list[ImportResult]:
    """One record per USUBJID (in DM order); ConversionError naming file and row if not."""
    root = Path(folder)
    if not root.is_dir():
        raise ConversionError(
            "not_found",
            f"{root}: no such folder",
            [problem("not_found", "no such folder", str(root), fix="give the SDTM folder")],
        )
    domains = {name: _read_domain(root, name) for name in READ}
    if domains["DM"] is None:
        raise ConversionError(
            "sdtm_no_dm",
            f"{root}: no DM domain (dm.json or dm.csv)",
            [problem("sdtm_no_dm", "DM is required", str(root), fix="export DM with the study")],
        )
    return _Study(domains).convert()


def _read_domain(root: Path, name: str) -> tuple[str, list[dict[str, Any]]] | None:
    for path in (root / f"{name.lower()}.json", root / f"{name.upper()}.json"):
        if path.is_file():
            return str(path), _dataset_json(path)
    for path in (root / f"{name.lower()}.csv", root / f"{name.upper()}.csv"):
        if path.is_file():
            return str(path), _csv(path)
    return None


def _dataset_json(path: Path) -> list[dict[str, Any]]:
    """Rows of a CDISC Dataset-JSON 1.1 file (``columns`` + ``rows``)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConversionError(
            "sdtm_unreadable",
            f"{path}: not Dataset-JSON ({exc})",
            [problem("sdtm_unreadable", str(exc)[:200], str(path))],
        ) from None
    columns = doc.get("columns") if isinstance(doc, dict) else None
    rows = doc.get("rows") if isinstance(doc, dict) else None
    if not isinstance(columns, list) or not isinstance(rows, list):
        raise ConversionError(
            "sdtm_unreadable",
            f"{path}: Dataset-JSON 1.1 needs 'columns' and 'rows'",
            [problem("sdtm_unreadable", "missing columns/rows", str(path))],
        )
    names = [str(c.get("name")) for c in columns if isinstance(c, dict)]
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(names):
            raise ConversionError(
                "sdtm_row",
                f"{path}: row {i + 1} has {len(row) if isinstance(row, list) else '?'} values "
                f"for {len(names)} columns",
                [problem("sdtm_row", "row length differs from columns", f"{path} row {i + 1}")],
            )
        out.append({k: v for k, v in zip(names, row, strict=True) if v not in (None, "")})
    return out


def _csv(path: Path) -> list[dict[str, Any]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return [
                {k: v for k, v in row.items() if k and v not in (None, "")}
                for row in csv.DictReader(handle)
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConversionError(
            "sdtm_unreadable",
            f"{path}: not a readable CSV ({exc})",
            [problem("sdtm_unreadable", str(exc)[:200], str(path))],
        ) from None


def _number(value: Any) -> int | float:
    """A numeric SDTM value (CSV text or JSON number) as int when integral text, else float."""
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, int | float):
        return value
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    return float(text)


class _Study:
    def __init__(self, domains: dict[str, tuple[str, list[dict[str, Any]]] | None]) -> None:
        self.domains = domains
        self.issues: list[Any] = []

    def rows(self, name: str, usubjid: str) -> list[tuple[str, dict[str, Any]]]:
        found = self.domains.get(name)
        if found is None:
            return []
        path, rows = found
        picked = [(f"{path} row {i + 1}", r) for i, r in enumerate(rows)]
        picked = [(w, r) for w, r in picked if r.get("USUBJID") == usubjid]
        seq = f"{name}SEQ"
        return sorted(picked, key=lambda wr: _number(wr[1].get(seq, 0)))

    def bad(self, where: str, message: str, fix: str = "") -> None:
        self.issues.append(problem("sdtm_unmappable", message, where, fix=fix))

    def convert(self) -> list[ImportResult]:
        dm_path, dm_rows = self.domains["DM"] or ("", [])
        results = []
        for i, dm in enumerate(dm_rows):
            where = f"{dm_path} row {i + 1}"
            if "USUBJID" not in dm:
                self.bad(where, "a DM row needs USUBJID")
                continue
            result = ImportResult({"record_version": 1})
            self.subject(result, where, dm)
            results.append(result)
        for name, found in self.domains.items():
            if found is None:
                continue
            path, rows = found
            extra = sorted({k for r in rows for k in r} - READ[name])
            for result in results:
                if extra:
                    result.note("unmapped", path, f"variables not read: {', '.join(extra)}")
        if self.issues:
            raise ConversionError(
                self.issues[0].code,
                f"{len(self.issues)} problem(s); first: {self.issues[0].pointer}: "
                f"{self.issues[0].message}",
                self.issues,
            )
        return results

    def subject(self, result: ImportResult, where: str, dm: dict[str, Any]) -> None:
        rec = result.record
        usubjid = str(dm["USUBJID"])
        subject: dict[str, Any] = {"id": usubjid, "sex": dm.get("SEX")}
        if dm.get("SEX") not in {"M", "F"}:
            self.bad(where, "SEX must be M or F", fix="set DM.SEX")
        if "BRTHDTC" in dm:
            subject["birth_date"] = dm["BRTHDTC"]
        rec["subject"] = subject
        if "RFICDTC" in dm:
            rec["consent"] = {"date": str(dm["RFICDTC"])[:10]}
        for _w, vs in self.rows("VS", usubjid):
            if vs.get("VSTESTCD") == "WEIGHT":
                subject["weight"] = {"value": _number(vs["VSSTRESN"]), "unit": vs["VSSTRESU"]}
        history: dict[str, Any] = {}
        for w, mh in self.rows("MH", usubjid):
            if str(mh.get("MHDECOD", mh.get("MHTERM", ""))).upper() == LIVER_METASTASES_TERM:
                history["liver_metastases"] = mh.get("MHOCCUR", "Y") == "Y"
            else:
                result.note("unmapped", w, "medical history term not read by flexmrt")
        therapies = []
        for w, cm in self.rows("CM", usubjid):
            if "CMCLAS" not in cm or "CMSTDTC" not in cm:
                self.bad(w, "a prior therapy needs CMCLAS (its class) and CMSTDTC")
                continue
            therapy = {"class": cm["CMCLAS"], "agent": cm.get("CMTRT"), "start": cm["CMSTDTC"]}
            if therapy["agent"] is None:
                therapy.pop("agent")
            if "CMENDTC" in cm:
                therapy["end"] = cm["CMENDTC"]
            therapies.append(therapy)
        history["prior_therapies"] = therapies
        rec["history"] = history
        self.screening_and_imaging(result, usubjid)
        ecog = [
            {"dtc": qs["QSDTC"], "score": _number(qs["QSSTRESN"])}
            for _w, qs in self.rows("QS", usubjid)
            if qs.get("QSTESTCD") == "ECOG"
        ]
        if ecog:
            rec["ecog"] = ecog
        labs = []
        for w, lb in self.rows("LB", usubjid):
            if lb.get("LBSTAT") == "NOT DONE":
                result.note("ignored", w, "LBSTAT NOT DONE")
                continue
            test = lb.get("LBTESTCD")
            unit = LB_UNITS.get(str(lb.get("LBSTRESU", "")))
            if test not in _LAB_TESTS:
                result.note("unmapped", w, f"LBTESTCD {test} is not read by flexmrt")
                continue
            if unit is None or "LBSTRESN" not in lb or "LBDTC" not in lb:
                self.bad(w, f"{test}: needs LBSTRESN, a known LBSTRESU and LBDTC")
                continue
            lab: dict[str, Any] = {
                "testcd": test,
                "value": _number(lb["LBSTRESN"]),
                "unit": unit,
                "dtc": lb["LBDTC"],
            }
            if "LBSTNRLO" in lb:
                lab["ref_low"] = _number(lb["LBSTNRLO"])
            if "LBSTNRHI" in lb:
                lab["ref_high"] = _number(lb["LBSTNRHI"])
            labs.append(lab)
        if labs:
            rec["labs"] = labs
        if "ARMCD" in dm and "RFRANDTC" in dm:
            rec["randomisation"] = {"arm": dm["ARMCD"], "date": str(dm["RFRANDTC"])[:10]}
        administrations = []
        for w, ex in self.rows("EX", usubjid):
            if "VISITNUM" not in ex or "EXDOSE" not in ex or "EXSTDTC" not in ex:
                self.bad(w, "an EX row needs VISITNUM (the cycle), EXDOSE, EXDOSU and EXSTDTC")
                continue
            administrations.append(
                {
                    "cycle": int(_number(ex["VISITNUM"])),
                    "dtc": ex["EXSTDTC"],
                    "activity": {"value": _number(ex["EXDOSE"]), "unit": ex.get("EXDOSU", "GBq")},
                }
            )
        if administrations:
            rec["administrations"] = administrations
            rec["spect_ct"] = self.spect(usubjid)
            rec["pet_ct"] = self.pets(usubjid)
            rec["holidays"] = self.holidays(usubjid)
            rec["adverse_events"] = self.adverse_events(usubjid)
        for _w, ds in self.rows("DS", usubjid):
            if ds.get("DSDECOD") in {"WITHDRAWAL BY SUBJECT", "WITHDRAWN"}:
                withdrawal = {"date": str(ds["DSSTDTC"])[:10]}
                if "DSTERM" in ds:
                    withdrawal["reason"] = ds["DSTERM"]
                rec["withdrawal"] = withdrawal
        if "DTHDTC" in dm:
            rec["death"] = {"date": str(dm["DTHDTC"])[:10]}

    # TR rows are grouped by TRGRPID: SCREENING (screening PET), PET-n (on-study PET) and
    # SPECT-n (post-cycle SPECT/CT); RS rows with RSTESTCD RECIP carry the read per group.
    def _groups(self, usubjid: str) -> dict[str, list[dict[str, Any]]]:
        groups: dict[str, list[dict[str, Any]]] = {}
        for _w, tr in self.rows("TR", usubjid):
            groups.setdefault(str(tr.get("TRGRPID", "")), []).append(tr)
        return groups

    def screening_and_imaging(self, result: ImportResult, usubjid: str) -> None:
        rows = self._groups(usubjid).get("SCREENING")
        if not rows:
            return
        pet: dict[str, Any] = {"dtc": rows[0]["TRDTC"]}
        positive, negative = [], []
        for tr in rows:
            code = tr.get("TRTESTCD")
            if code == "PSMAVOL":
                pet["psma_vol_ml"] = _number(tr["TRSTRESN"])
            elif code == "PSMAPOS":
                positive.append(
                    {"site": tr["TRSTRESC"], "above_liver": tr.get("TRORRES") == "ABOVE LIVER"}
                )
            elif code == "PSMANEG":
                negative.append({"site": tr["TRSTRESC"], "short_axis_mm": _number(tr["TRORRES"])})
        pet["psma_positive_lesions"] = positive
        pet["psma_negative_lesions"] = negative
        result.record["screening_pet"] = pet

    def pets(self, usubjid: str) -> list[dict[str, Any]]:
        recip = {
            str(rs.get("RSGRPID")): rs["RSSTRESC"]
            for _w, rs in self.rows("RS", usubjid)
            if rs.get("RSTESTCD") == "RECIP"
        }
        out = []
        for group, rows in self._groups(usubjid).items():
            if not group.startswith("PET-"):
                continue
            pet: dict[str, Any] = {"dtc": rows[0]["TRDTC"]}
            for tr in rows:
                if tr.get("TRTESTCD") == "PSMAVOL":
                    pet["psma_vol_ml"] = _number(tr["TRSTRESN"])
                elif tr.get("TRTESTCD") == "NEWLES":
                    pet["new_lesions"] = tr.get("TRSTRESC") == "Y"
            if group in recip:
                pet["recip"] = recip[group]
            out.append(pet)
        return out

    def spect(self, usubjid: str) -> list[dict[str, Any]]:
        keys = {
            "HPI": "hours_post_injection",
            "TUMVOL": "tumour_volume_ml",
            "KIDDOSE": "kidney_dose_gy",
            "KIDTEFF": "kidney_teff_h",
        }
        out = []
        for group, rows in self._groups(usubjid).items():
            if not group.startswith("SPECT-"):
                continue
            entry: dict[str, Any] = {
                "cycle": int(_number(rows[0]["VISITNUM"])),
                "dtc": rows[0]["TRDTC"],
            }
            for tr in rows:
                code = tr.get("TRTESTCD")
                if code in keys:
                    entry[keys[code]] = _number(tr["TRSTRESN"])
                elif code == "NEWLES":
                    entry["new_lesions"] = tr.get("TRSTRESC") == "Y"
                elif code == "TEFFSRC":
                    entry["teff_source"] = tr["TRSTRESC"]
            out.append(entry)
        return out

    def holidays(self, usubjid: str) -> list[dict[str, Any]]:
        out = []
        for _w, ds in self.rows("DS", usubjid):
            if ds.get("DSDECOD") == "TREATMENT HOLIDAY":
                holiday = {"start": str(ds["DSSTDTC"])[:10]}
                if "DSENDTC" in ds:
                    holiday["end"] = str(ds["DSENDTC"])[:10]
                out.append(holiday)
        return out

    def adverse_events(self, usubjid: str) -> list[dict[str, Any]]:
        out = []
        for w, ae in self.rows("AE", usubjid):
            if "AETERM" not in ae or "AETOXGR" not in ae or "AESTDTC" not in ae:
                self.bad(w, "an AE row needs AETERM, AETOXGR (CTCAE grade) and AESTDTC")
                continue
            event: dict[str, Any] = {
                "term": ae["AETERM"],
                "grade": int(_number(ae["AETOXGR"])),
                "start": ae["AESTDTC"],
            }
            if "AEENDTC" in ae:
                event["end"] = ae["AEENDTC"]
            if "AEREL" in ae:
                rel = _AE_REL.get(str(ae["AEREL"]).upper())
                if rel is None:
                    self.bad(w, f"AEREL {ae['AEREL']!r}: expected RELATED, NOT RELATED or UNKNOWN")
                else:
                    event["related"] = rel
            out.append(event)
        return out
