"""Per-region kinetics and radiobiology through the one protocol → dose-settings function."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flexmrt.gpu_dose import phantom
from flexmrt.gpu_dose.dose_settings import dose_settings
from flexmrt.gpu_dose.pipeline import compute_dose
from flexmrt.gpu_dose.record import to_record_entry
from flexmrt.gpu_dose.regions import DEFAULTS, group_of, region_model
from flexmrt.protocol import load_text, resolve
from flexmrt.server.cli import main

SHAPE = (24, 28, 32)
FLEX = Path(__file__).parents[2] / "protocol" / "revisions" / "flex-mrt-1.0.yaml"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return phantom.make_phantom(tmp_path_factory.mktemp("regions") / "s", shape=SHAPE)


def test_groups():
    assert [group_of(n) for n in ("kidney_left", "kidneys", "Tumor 3", "lesion_a", "parotid")] == [
        "kidney",
        "kidney",
        "tumour",
        "tumour",
        "organ",
    ]


def test_pluvicto_label_claims_nothing_it_does_not_have():
    """Was (gRPC): code defaults reported as 'from protocol pluvicto-label@1.0'."""
    settings = dose_settings(resolve("pluvicto-label@1.0"))
    kidney = settings.regions.groups["kidney"]
    assert kidney.alpha_beta_gy.value == 2.6 and kidney.alpha_beta_gy.assumed
    assert kidney.alpha_beta_gy.source.startswith("default [assumed]")
    assert settings.kidney_cap_gy is None
    assert "kidney BED cap: none in pluvicto-label@1.0" in settings.notes
    assert not any("from protocol pluvicto" in n for n in settings.notes)


def test_flex_mrt_kidney_values_name_their_parameters():
    settings = dose_settings(resolve("flex-mrt@1.0"))
    kidney = settings.regions.groups["kidney"]
    assert kidney.alpha_beta_gy.source == (
        "protocol flex-mrt@1.0 parameter kidney_alpha_beta [assumed]"
    )
    assert kidney.population_teff_h.value == 35.5 and not kidney.population_teff_h.assumed
    assert settings.kidney_cap_gy == 39.0


def test_tumour_never_gets_the_kidneys_values():
    groups = region_model(resolve("flex-mrt@1.0")).groups
    tumour, kidney = groups["tumour"], groups["kidney"]
    assert tumour.alpha_beta_gy.value != kidney.alpha_beta_gy.value
    assert tumour.population_teff_h.value != kidney.population_teff_h.value
    assert tumour.population_teff_h.value == DEFAULTS["tumour"]["teff_default"][0]


def test_protocol_parameters_for_tumour_and_organs_are_read():
    src = "source: {citation: bodei2008, section: s}"
    la = "America/Los_Angeles"
    extra = (
        f"  tumour_alpha_beta: {{value: 1.5, unit: Gy, text: t, {src}, verification: assumed}}\n"
        f"  tumour_teff_default: {{value: 3, unit: d, text: t, {src}, verification: verified}}\n"
        f"  site_time_zone: {{value: {la}, text: t, {src}, verification: verified}}\n"
    )
    text = FLEX.read_text().replace("parameters:\n", "parameters:\n" + extra, 1)
    protocol = load_text(text, "flex-mrt-test.yaml")
    settings = dose_settings(protocol)
    tumour = settings.regions.groups["tumour"]
    assert tumour.alpha_beta_gy.value == 1.5
    assert tumour.population_teff_h.value == 72.0  # 3 d in hours
    assert "parameter tumour_teff_default [verified]" in tumour.population_teff_h.source
    assert tumour.repair_half_time_h.source.startswith("default [assumed]")
    assert settings.site_time_zone == "America/Los_Angeles"


def test_each_structure_uses_and_names_its_groups_parameters(study):
    result = compute_dose(study.spect, study.masks, settings=dose_settings(None))
    kidney, tumour = result.structures["kidneys"], result.structures["tumour_1"]
    assert (kidney.alpha_beta_gy, kidney.repair_half_time_h, kidney.teff_h) == (2.6, 2.8, 35.5)
    assert (tumour.alpha_beta_gy, tumour.repair_half_time_h, tumour.teff_h) == (10.0, 1.5, 60.0)
    assert tumour.teff_source == "population" and tumour.parameters["teff_h"]["estimated"]
    assert "default [assumed]" in tumour.parameters["alpha_beta_gy"]["source"]
    # the phantom's tumour_1 has a true T_eff of 60 h: its prior-half-life TIA is exact
    assert tumour.tia_mbq_h == pytest.approx(study.truth["tumour_1"]["tia_mbq_h"], rel=1e-3)


def test_cli_and_grpc_settings_come_from_the_same_function(study, tmp_path, capsys):
    rc = main(
        [
            "dose",
            *("--spect", str(study.spect[0]), "--masks", str(study.masks)),
            *("--out", str(tmp_path), "--protocol", "pluvicto-label", "--json"),
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert out["notes"] == list(dose_settings(resolve("pluvicto-label")).notes)
    assert out["regions"]["tumour"]["alpha_beta_gy"]["value"] == 10.0
    assert out["structures"]["tumour_1"]["group"] == "tumour"


def test_population_teff_is_written_with_its_source(study):
    """Was: the 35.5 h default written as kidney_teff_h, read back as a measurement."""
    result = compute_dose(study.spect, study.masks, settings=dose_settings(None))
    entry = to_record_entry(result, cycle=1)
    assert entry["kidney_teff_h"] == 35.5 and entry["teff_source"] == "population"


def test_fitted_teff_source(tmp_path):
    p = phantom.make_phantom(tmp_path, shape=SHAPE, times_h=(24.0, 72.0))
    result = compute_dose(p.spect, p.masks, settings=dose_settings(None, method="fit"))
    entry = to_record_entry(result, cycle=1)
    assert entry["teff_source"] == "fitted" and entry["kidney_teff_h"] == pytest.approx(40.0)
    assert result.single_time_point is None
