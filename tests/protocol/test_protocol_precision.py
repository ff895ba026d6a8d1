"""Thresholds keep the precision and unit they are written with, and the CLI's day is the site's.

MISSION.md ("Arithmetic at thresholds"): a value is compared at the threshold's written
decimals + 1. A YAML float loses trailing zeros (1.50 reads as 1.5), so the loader keeps the
written decimal beside the float without changing the canonical JSON or the sha256; a limit
that reaches the engine through ``Protocol.quantity`` (the kidney cap, 39 Gy) keeps it too.
A ``count … where`` threshold written in cm is compared with a field in mm after conversion.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from protocol_helpers import amended, bundled_text

from flexmrt import engine, server
from flexmrt.protocol import canonical_json, load_text, sha256_hex
from flexmrt.protocol.numbers import WrittenNumber, written
from flexmrt.protocol.yamlio import read_yaml
from flexmrt.server.boundary import test_protocol
from flexmrt.server.cli import main

_AS_OF = date(2025, 6, 16)
_ROOT = Path(__file__).resolve().parents[2]


def _draft(old: str, new: str) -> str:
    text = bundled_text("flex-mrt-1.1.yaml")
    text = amended('  revision: "1.1"', '  revision: "1.2"', text)
    text = amended("  status: active", "  status: draft", text)
    text = amended("  supersedes: flex-mrt@1.0", '  supersedes: "flex-mrt@1.1"', text)
    return amended(old, new, text)


def test_a_yaml_number_keeps_its_written_decimals_without_changing_the_sha256() -> None:
    data, _ = read_yaml("a: 1.50\nb: 1.5\nc: 39\nd: 2.0\n")
    assert data["a"] == 1.5 and isinstance(data["a"], WrittenNumber)
    assert written(data["a"]) == Decimal("1.50") and str(written(data["a"])) == "1.50"
    assert type(data["b"]) is float and written(data["b"]) == Decimal("1.5")
    assert str(written(data["c"])) == "39" and str(written(data["d"])) == "2.0"
    same, _ = read_yaml("a: 1.5\nb: 1.5\nc: 39\nd: 2.0\n")
    assert canonical_json(data) == canonical_json(same)
    assert sha256_hex(data) == sha256_hex(same)
    assert json.dumps(data) == json.dumps(same)


def _hgb(value: str, protocol_text: str) -> str:
    protocol = load_text(protocol_text, "draft.yaml")
    rule = next(c for c in protocol.doc["eligibility"]["inclusion"] if c["id"] == "INC-HGB")
    doc = {
        "record_version": 1,
        "subject": {"id": "P", "sex": "M", "birth_date": "1957-01-10"},
        "labs": [{"testcd": "HGB", "value": float(value), "unit": "g/dL", "dtc": "2025-06-15"}],
    }
    record = engine.parse_record(doc)
    return engine.evaluate_rule(protocol, record, _AS_OF, rule["rule"]).outcome.value


def test_a_limit_written_with_trailing_zeros_is_compared_at_that_precision() -> None:
    """Haemoglobin ≥ 9.00 g/dL: 8.996 is below it (three decimals); ≥ 9 g/dL: 9.0, met."""
    nine = bundled_text("flex-mrt-1.1.yaml")
    nine_00 = _draft("  hgb_min:\n    value: 9\n", "  hgb_min:\n    value: 9.00\n")
    assert _hgb("8.996", nine) == "MET"
    assert _hgb("8.996", nine_00) == "NOT_MET"
    assert _hgb("9.0", nine_00) == "MET"


def test_the_kidney_cap_keeps_its_written_precision() -> None:
    cap = load_text(bundled_text("flex-mrt-1.1.yaml")).kidney_lq().cap_gy
    assert cap == 39.0 and written(cap) == Decimal("39")
    assert not engine.exact.compare(39.04, ">", cap)  # 39.0: not above 39
    assert engine.exact.compare(39.06, ">", cap)  # 39.1
    centi = _draft(
        "  kidney_bed_cap:\n    value: 39\n    unit: Gy\n",
        "  kidney_bed_cap:\n    value: 3900\n    unit: cGy\n",
    )
    cap_cgy = load_text(centi).kidney_lq().cap_gy
    assert cap_cgy == 39.0 and written(cap_cgy) == Decimal("39.00")  # 1 cGy is 0.01 Gy
    assert engine.exact.compare(39.006, ">", cap_cgy)


_CM = _draft(
    "  pet_negative_lymph_node_mm:\n    value: 25\n    unit: mm\n",
    "  pet_negative_lymph_node_mm:\n    value: 2.5\n    unit: cm\n",
)


def _pet_negative(size_mm: float, protocol_text: str) -> str:
    protocol = load_text(protocol_text, "draft.yaml")
    rule = next(
        c for c in protocol.doc["eligibility"]["inclusion"] if c["id"] == "INC-PET-NEGATIVE"
    )
    doc = {
        "record_version": 1,
        "subject": {"id": "P", "sex": "M", "birth_date": "1957-01-10"},
        "screening_pet": {
            "dtc": "2025-06-01",
            "psma_positive_lesions": [{"site": "bone", "above_liver": True}],
            "psma_negative_lesions": [{"site": "lymph_node", "short_axis_mm": size_mm}],
        },
    }
    record = engine.parse_record(doc)
    return engine.evaluate_rule(protocol, record, _AS_OF, rule["rule"]).outcome.value


def test_a_where_threshold_in_cm_is_converted_to_the_fields_mm() -> None:
    """Lymph node ≥ 2.5 cm excludes: a 10 mm node does not, a 25 mm node does."""
    assert _pet_negative(10, _CM) == "MET"
    assert _pet_negative(24.9, _CM) == "MET"
    assert _pet_negative(25, _CM) == "NOT_MET"


def test_test_protocol_passes_on_a_draft_with_a_where_threshold_in_cm() -> None:
    thresholds, _ = test_protocol(load_text(_CM, "draft.yaml"))
    node = [t for t in thresholds if "short_axis_mm >= 2.5 cm" in t.leaf]
    assert node and all(t.ok for t in node), [r.as_dict() for t in node for r in t.results]


def test_as_of_defaults_to_today_at_the_site(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """02:00 UTC on 1 March 2025 is still 28 February in Los Angeles (flex-mrt 1.1)."""
    monkeypatch.setattr(server.cli.common, "utc_now", lambda: datetime(2025, 3, 1, 2, tzinfo=UTC))
    record = str(_ROOT / "examples/patients/flx-001-eligible.yaml")
    assert main(["decide", "--protocol", "flex-mrt", "--json", record]) == 0
    assert json.loads(capsys.readouterr().out)["as_of"] == "2025-02-28"
    assert main(["decide", "--protocol", "pluvicto-label", "--json", record]) == 0
    assert json.loads(capsys.readouterr().out)["as_of"] == "2025-03-01"  # UTC site


_CONTROL_ARM = (
    "    activity: {param: standard_activity}\n"
    "    interval: {param: cycle_interval}\n"
    "    window: {param: cycle_window}\n"
    "    max_cycles: {param: control_max_cycles}\n"
)


def _inline_activity(value: str, unit: str) -> str:
    inline = _CONTROL_ARM.replace(
        "{param: standard_activity}\n", f"{value}\n    activity_unit: {unit}\n"
    )
    return _draft(_CONTROL_ARM, inline)


@pytest.mark.parametrize(("value", "unit"), [("7400", "MBq"), ("7.4", "GBq"), ("200", "mCi")])
def test_an_inline_arm_activity_is_read_in_its_activity_unit(value: str, unit: str) -> None:
    """7400 with activity_unit MBq is 7.4 GBq, never 7400 GBq: in the summary, and in the
    decision for a control-arm patient given 7.4 GBq twice (a full dose inside the band,
    no activity deviation), as with the bundled {param: standard_activity}."""
    draft = load_text(_inline_activity(value, unit), "draft.yaml")
    assert draft.summary()["arms"][0]["activity_gbq"] == pytest.approx(7.4, rel=1e-3)
    record = engine.read_record_text(
        (_ROOT / "examples/patients/flx-010-thrombocytopenia.yaml").read_text("utf-8")
    )
    decision = engine.decide(draft, record, date(2025, 1, 14))
    assert decision.to_json()["action"] == "ADMINISTER"
    assert decision.to_json()["activity_gbq"] == pytest.approx(7.4, rel=1e-3)
    assert "ACTIVITY-DEVIATION" not in json.dumps(decision.to_json())


def test_test_protocol_puts_the_activity_bands_of_an_inline_mbq_activity_in_gbq() -> None:
    """The boundary cases of the activity bands read the arm's activity_unit too: their
    edges are 6.66 and 8.14 GBq, not 6,660 and 8,140."""
    thresholds, _ = test_protocol(load_text(_inline_activity("7400", "MBq"), "draft.yaml"))
    bands = [t for t in thresholds if "administered activity" in t.leaf]
    assert bands and all(t.ok for t in bands), [t.leaf for t in bands if not t.ok]
    assert any("6.66 GBq" in t.leaf for t in bands), [t.leaf for t in bands]
