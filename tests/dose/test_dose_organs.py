"""Organs at risk in a dose study: names mapped to roles, each organ reported with its
uncertainty and marrow method, and carried by the post-cycle record entry."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from flexmrt import engine
from flexmrt.gpu_dose import uncertainty
from flexmrt.gpu_dose.dose_settings import dose_settings
from flexmrt.gpu_dose.phantom import make_phantom
from flexmrt.gpu_dose.pipeline import compute_dose
from flexmrt.gpu_dose.record import to_record_entry
from flexmrt.gpu_dose.roles import is_marrow_voi, organ_ids, role_of
from flexmrt.protocol import ORGANS_AT_RISK, resolve

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("name", "role", "organ"),
    [
        ("Kidney_L", "organ_at_risk", "kidneys"),
        ("Left Kidney", "organ_at_risk", "kidneys"),
        ("Parotid_R", "organ_at_risk", "salivary_glands"),
        ("Glnd_Submand_L", "organ_at_risk", "salivary_glands"),
        ("lacrimal-gland.left", "organ_at_risk", "lacrimal_glands"),
        ("Red Marrow", "organ_at_risk", "bone_marrow"),
        ("Lumbar_L2_L4", "organ_at_risk", "bone_marrow"),
        ("Vertebra L3", "organ_at_risk", "bone_marrow"),
        ("Liver", "organ_at_risk", "liver"),
        ("liver_lesion_1", "tumour", None),  # a tumour word wins over the organ it sits in
        ("Tumor 2", "tumour", None),
        ("Spleen", "other", None),
        ("L3_lesion", "tumour", None),
    ],
)
def test_structure_names_map_through_the_table(name, role, organ):
    assert (role_of(name).role, role_of(name).organ) == (role, organ)


def test_marrow_voi_is_told_from_a_marrow_mask():
    assert is_marrow_voi("Lumbar_L2_L4") and not is_marrow_voi("Red Marrow")


def test_one_registry_of_organs_at_risk():
    """The schema enums, the protocol registry and the name table name the same organs."""
    schema = json.loads((ROOT / "protocol/schema/protocol.schema.json").read_text())
    record = json.loads((ROOT / "engine/schema/record.schema.json").read_text())
    spect = record["properties"]["spect_ct"]["items"]["properties"]["organs_at_risk"]
    assert set(schema["$defs"]["organ_at_risk"]["properties"]["id"]["enum"]) == set(ORGANS_AT_RISK)
    assert set(spect["propertyNames"]["enum"]) == set(ORGANS_AT_RISK)
    assert organ_ids() == set(ORGANS_AT_RISK)
    bundled = {o["id"] for o in resolve("flex-mrt").doc["organ_limits"]["organs_at_risk"]}
    assert bundled == set(ORGANS_AT_RISK)


def test_single_scan_uncertainty_is_smallest_near_48_h():
    u24, _ = uncertainty.single_time_point_u_rel("prior-half-life", 24.0, 35.5, "population")
    u48, _ = uncertainty.single_time_point_u_rel("prior-half-life", 48.0, 35.5, "population")
    own, basis = uncertainty.single_time_point_u_rel("prior-half-life", 48.0, 35.5, "patient_prior")
    assert u48 < u24 and own < u48 and "patient prior" in basis


def test_fit_uncertainty_from_the_covariance():
    times = [24.0, 48.0, 96.0]
    exact = [100 * 2 ** (-t / 40) for t in times]
    # two points leave no residual: the measurement noise of each point still counts
    two = uncertainty.fit_u_rel(times[:2], exact[:2])
    assert two > 0 and uncertainty.fit_u_rel(times[:2], exact[:2], activity_u_rel=0) == 0
    assert uncertainty.fit_u_rel(times, exact) < two  # a third point narrows it
    noisy = [exact[0] * 1.15, exact[1] * 0.85, exact[2] * 1.15]
    assert uncertainty.fit_u_rel(times, noisy) > uncertainty.fit_u_rel(times, exact)


def test_surface_fraction_of_a_cube():
    mask = np.zeros((5, 5, 5), bool)
    mask[1:4, 1:4, 1:4] = True
    assert uncertainty.surface_fraction(mask) == pytest.approx(26 / 27)


@pytest.fixture(scope="module")
def oar_study(tmp_path_factory):
    phantom = make_phantom(
        tmp_path_factory.mktemp("oar"), organs_at_risk=True, shape=(40, 40, 48), times_h=(48.0,)
    )
    settings = dose_settings(resolve("flex-mrt"), device="cpu", dose_method="local")
    return compute_dose(phantom.spect, phantom.masks, None, settings)


def test_every_organ_at_risk_is_reported_by_role(oar_study):
    organs = oar_study.organs_at_risk
    assert set(organs) == set(ORGANS_AT_RISK)
    assert organs["salivary_glands"]["parts"] == [
        "Glnd_Submand_L",
        "Glnd_Submand_R",
        "Parotid_L",
        "Parotid_R",
    ]
    assert organs["bone_marrow"]["marrow"]["method"] == "image_lumbar_voi"
    assert "marrow_voi_scaling" in organs["bone_marrow"]["marrow"]["scaling_source"]
    parotid = oar_study.structures["Parotid_L"]
    assert (parotid.role, parotid.organ, parotid.alpha_beta_gy) == (
        "organ_at_risk",
        "salivary_glands",
        3.0,
    )  # the salivary glands' own α/β, not the generic organ value
    assert oar_study.structures["tumour_1"].role == "tumour"
    # local deposition: the liver's mean dose is its uniform truth (0.09 Gy/GBq class)
    for organ in organs.values():
        u = organ["uncertainty"]
        assert u["calibration"] == uncertainty.CALIBRATION_U_REL
        assert u["time_integration"] > 0 and u["volume"] > 0
        assert organ["dose_u_gy"] == pytest.approx(organ["mean_gy"] * u["combined"], rel=1e-3)


def test_the_record_entry_carries_every_organ_and_is_a_valid_record(oar_study):
    entry = to_record_entry(oar_study, 1)
    assert set(entry["organs_at_risk"]) == set(ORGANS_AT_RISK)
    assert entry["organs_at_risk"]["kidneys"]["dose_gy"] == entry["kidney_dose_gy"]
    assert entry["organs_at_risk"]["bone_marrow"]["method"] == "image_lumbar_voi"
    record = {
        "record_version": 1,
        "subject": {"id": "FLX-OAR", "sex": "M"},
        "randomisation": {"arm": "investigational", "date": "2024-02-20"},
        "administrations": [
            {
                "cycle": 1,
                "dtc": "2024-03-04T09:30:00+01:00",
                "activity": {"value": 7.4, "unit": "GBq"},
            }
        ],
        "spect_ct": [entry],
    }
    answer = engine.decide(resolve("flex-mrt"), engine.parse_record(record), date(2024, 4, 10))
    salivary = next(o for o in answer.organs_at_risk or () if o.organ == "salivary_glands")
    assert salivary.cycles[0].dose_gy == entry["organs_at_risk"]["salivary_glands"]["dose_gy"]
    assert not salivary.cycles[0].dose_estimated
    assert salivary.cumulative_bed_u_gy is not None and salivary.cumulative_bed_u_gy > 0
    # the typed answer round-trips through its JSON (a logged answer reads back the same)
    assert engine.Decision.from_json(answer.to_json()) == answer


def test_patient_kinetics_come_from_fitted_earlier_cycles_only():
    from flexmrt.gpu_dose.record import patient_kinetics

    spect = [
        {
            "cycle": 1,
            "dtc": "2025-01-21",
            "kidney_dose_gy": 3.0,
            "kidney_teff_h": 42.0,
            "teff_source": "fitted",
            "organs_at_risk": {
                "liver": {"dose_gy": 0.6, "teff_h": 50.0, "teff_source": "fitted"},
                "salivary_glands": {"dose_gy": 4.0, "teff_h": 35.0, "teff_source": "population"},
            },
        },
        {
            "cycle": 2,
            "dtc": "2025-03-04",
            "kidney_dose_gy": 3.1,
            "kidney_teff_h": 38.0,
            "teff_source": "fitted",
        },
        {
            "cycle": 3,
            "dtc": "2025-04-15",
            "kidney_dose_gy": 3.2,
            "kidney_teff_h": 30.0,
            "teff_source": "patient_prior",
        },
        {
            "cycle": 4,
            "dtc": "2025-05-27",
            "kidney_dose_gy": 3.2,
            "kidney_teff_h": 20.0,
            "teff_source": "fitted",
        },
    ]
    record = engine.parse_record(
        {"record_version": 1, "subject": {"id": "K", "sex": "M"}, "spect_ct": spect}
    )
    own = patient_kinetics(record, 4)
    assert own == {"kidneys": (40.0, [1, 2]), "liver": (50.0, [1])}  # cycle 4 is not earlier
    assert patient_kinetics(record, 1) == {}
