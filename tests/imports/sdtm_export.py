"""Test helper: patient records written as the SDTM domains an EDC exports.

The inverse of ``server.imports.sdtm`` for the round-trip tests: CSV or CDISC
Dataset-JSON 1.1, one file per domain.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

STUDY = "FLEX-MRT"


def records_to_domains(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    d: dict[str, list[dict[str, Any]]] = {
        k: [] for k in ("DM", "EX", "LB", "VS", "QS", "AE", "CM", "MH", "DS", "TR", "RS")
    }

    def add(domain: str, usubjid: str, **values: Any) -> None:
        seq = sum(1 for r in d[domain] if r["USUBJID"] == usubjid) + 1
        row = {"STUDYID": STUDY, "DOMAIN": domain, "USUBJID": usubjid}
        if domain not in {"DM"}:
            row[f"{domain}SEQ"] = seq
        row.update({k: v for k, v in values.items() if v is not None})
        d[domain].append(row)

    for rec in records:
        s = rec["subject"]
        u = s["id"]
        rand = rec.get("randomisation", {})
        add(
            "DM",
            u,
            SEX=s["sex"],
            BRTHDTC=s.get("birth_date"),
            RFICDTC=rec.get("consent", {}).get("date"),
            ARMCD=rand.get("arm"),
            RFRANDTC=rand.get("date"),
            DTHDTC=rec.get("death", {}).get("date"),
        )
        if "weight" in s:
            add(
                "VS",
                u,
                VSTESTCD="WEIGHT",
                VSSTRESN=s["weight"]["value"],
                VSSTRESU=s["weight"]["unit"],
                VSDTC=rec.get("consent", {}).get("date"),
            )
        h = rec.get("history", {})
        if "liver_metastases" in h:
            add(
                "MH",
                u,
                MHTERM="Liver metastases",
                MHDECOD="LIVER METASTASES",
                MHOCCUR="Y" if h["liver_metastases"] else "N",
            )
        for t in h.get("prior_therapies", []):
            add(
                "CM",
                u,
                CMTRT=t.get("agent"),
                CMCLAS=t["class"],
                CMSTDTC=t["start"],
                CMENDTC=t.get("end"),
            )
        pet = rec.get("screening_pet")
        if pet:
            if "psma_vol_ml" in pet:
                add(
                    "TR",
                    u,
                    TRGRPID="SCREENING",
                    TRTESTCD="PSMAVOL",
                    TRSTRESN=pet["psma_vol_ml"],
                    TRDTC=pet["dtc"],
                )
            for les in pet["psma_positive_lesions"]:
                add(
                    "TR",
                    u,
                    TRGRPID="SCREENING",
                    TRTESTCD="PSMAPOS",
                    TRSTRESC=les["site"],
                    TRORRES="ABOVE LIVER" if les["above_liver"] else "NOT ABOVE LIVER",
                    TRDTC=pet["dtc"],
                )
            for les in pet["psma_negative_lesions"]:
                add(
                    "TR",
                    u,
                    TRGRPID="SCREENING",
                    TRTESTCD="PSMANEG",
                    TRSTRESC=les["site"],
                    TRORRES=les["short_axis_mm"],
                    TRDTC=pet["dtc"],
                )
            if (
                not pet["psma_positive_lesions"]
                and not pet["psma_negative_lesions"]
                and ("psma_vol_ml" not in pet)
            ):
                add("TR", u, TRGRPID="SCREENING", TRTESTCD="PSMAREAD", TRDTC=pet["dtc"])
        for e in rec.get("ecog", []):
            add("QS", u, QSTESTCD="ECOG", QSSTRESN=e["score"], QSDTC=e["dtc"])
        for lab in rec.get("labs", []):
            add(
                "LB",
                u,
                LBTESTCD=lab["testcd"],
                LBSTRESN=lab["value"],
                LBSTRESU=lab["unit"],
                LBSTNRLO=lab.get("ref_low"),
                LBSTNRHI=lab.get("ref_high"),
                LBDTC=lab["dtc"],
            )
        for a in rec.get("administrations", []):
            add(
                "EX",
                u,
                EXTRT="177LU-PSMA-617",
                VISITNUM=a["cycle"],
                EXDOSE=a["activity"]["value"],
                EXDOSU=a["activity"]["unit"],
                EXSTDTC=a["dtc"],
            )
        keys = {
            "hours_post_injection": "HPI",
            "tumour_volume_ml": "TUMVOL",
            "kidney_dose_gy": "KIDDOSE",
            "kidney_teff_h": "KIDTEFF",
        }
        for i, sp in enumerate(rec.get("spect_ct", [])):
            group = f"SPECT-{i + 1}"
            add("TR", u, TRGRPID=group, TRTESTCD="SPECT", VISITNUM=sp["cycle"], TRDTC=sp["dtc"])
            for key, code in keys.items():
                if key in sp:
                    add(
                        "TR",
                        u,
                        TRGRPID=group,
                        TRTESTCD=code,
                        TRSTRESN=sp[key],
                        VISITNUM=sp["cycle"],
                        TRDTC=sp["dtc"],
                    )
            if "new_lesions" in sp:
                add(
                    "TR",
                    u,
                    TRGRPID=group,
                    TRTESTCD="NEWLES",
                    TRSTRESC="Y" if sp["new_lesions"] else "N",
                    VISITNUM=sp["cycle"],
                    TRDTC=sp["dtc"],
                )
            if "teff_source" in sp:
                add(
                    "TR",
                    u,
                    TRGRPID=group,
                    TRTESTCD="TEFFSRC",
                    TRSTRESC=sp["teff_source"],
                    VISITNUM=sp["cycle"],
                    TRDTC=sp["dtc"],
                )
        for i, p in enumerate(rec.get("pet_ct", [])):
            group = f"PET-{i + 1}"
            add("TR", u, TRGRPID=group, TRTESTCD="PET", TRDTC=p["dtc"])
            if "psma_vol_ml" in p:
                add(
                    "TR",
                    u,
                    TRGRPID=group,
                    TRTESTCD="PSMAVOL",
                    TRSTRESN=p["psma_vol_ml"],
                    TRDTC=p["dtc"],
                )
            if "new_lesions" in p:
                add(
                    "TR",
                    u,
                    TRGRPID=group,
                    TRTESTCD="NEWLES",
                    TRSTRESC="Y" if p["new_lesions"] else "N",
                    TRDTC=p["dtc"],
                )
            if "recip" in p:
                add("RS", u, RSGRPID=group, RSTESTCD="RECIP", RSSTRESC=p["recip"], RSDTC=p["dtc"])
        for hol in rec.get("holidays", []):
            add(
                "DS",
                u,
                DSDECOD="TREATMENT HOLIDAY",
                DSTERM="Treatment holiday",
                DSSTDTC=hol["start"],
                DSENDTC=hol.get("end"),
            )
        if "withdrawal" in rec:
            add(
                "DS",
                u,
                DSDECOD="WITHDRAWAL BY SUBJECT",
                DSTERM=rec["withdrawal"].get("reason"),
                DSSTDTC=rec["withdrawal"]["date"],
            )
        for ae in rec.get("adverse_events", []):
            rel = ae.get("related")
            add(
                "AE",
                u,
                AETERM=ae["term"],
                AETOXGR=ae["grade"],
                AESTDTC=ae["start"],
                AEENDTC=ae.get("end"),
                AEREL=None
                if rel is None
                else {True: "RELATED", False: "NOT RELATED"}.get(rel, "UNKNOWN"),
            )
    return d


def write_csv(domains: dict[str, list[dict[str, Any]]], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in domains.items():
        if not rows:
            continue
        columns = list(dict.fromkeys(k for r in rows for k in r))
        with (folder / f"{name.lower()}.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)


def write_dataset_json(domains: dict[str, list[dict[str, Any]]], folder: Path) -> None:
    """CDISC Dataset-JSON 1.1: dataset metadata, ``columns`` and ``rows`` arrays."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in domains.items():
        if not rows:
            continue
        columns = list(dict.fromkeys(k for r in rows for k in r))

        def dtype(col: str, rows: list[dict[str, Any]] = rows) -> str:
            values = [r[col] for r in rows if col in r]
            if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                return "integer"
            if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
                return "double"
            return "string"

        doc = {
            "datasetJSONCreationDateTime": "2026-01-01T00:00:00",
            "datasetJSONVersion": "1.1.0",
            "studyOID": STUDY,
            "itemGroupOID": f"IG.{name}",
            "name": name,
            "label": name,
            "records": len(rows),
            "columns": [
                {"itemOID": f"IT.{name}.{c}", "name": c, "label": c, "dataType": dtype(c)}
                for c in columns
            ],
            "rows": [[r.get(c) for c in columns] for r in rows],
        }
        (folder / f"{name.lower()}.json").write_text(json.dumps(doc), encoding="utf-8")
