"""Boundary tests generated from every bundled protocol revision (`flexmrt test-protocol`).

Every numeric threshold, look-back window and count of each revision gets records at the
threshold and one step either side; the engine must flip exactly where the rule's
declared comparator, value and unit say. The last tests break the engine on purpose — a
binary-float comparison, one wrong unit factor — and show the generator catching it.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

import pytest

from flexmrt import engine, protocol
from flexmrt.protocol import Registry
from flexmrt.protocol.boundary import generate
from flexmrt.protocol.boundary import reference as ref
from flexmrt.server.boundary import test_protocol
from flexmrt.server.cli import main

_REVISIONS = Registry.bundled().all()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    rc = main(list(argv))
    return rc, capsys.readouterr().out


@pytest.mark.parametrize("revision", _REVISIONS, ids=lambda p: p.ref)
def test_every_threshold_flips_where_the_protocol_says(revision: object) -> None:
    thresholds, _ = test_protocol(revision)  # type: ignore[arg-type]
    assert len(thresholds) >= 40
    failures = [
        f"{t.rule_id} {t.leaf}: {r.case.what} expected {r.case.expected}, got {r.actual}"
        for t in thresholds
        for r in t.results
        if not r.ok
    ]
    assert not failures, "\n".join(failures)


def test_cases_sit_at_and_either_side_of_each_threshold() -> None:
    cases, _ = generate(Registry.bundled().resolve("flex-mrt").doc)
    renal = {c.what: c.expected for c in cases if c.rule_id == "INC-RENAL"}
    assert renal["CREAT 1.79 mg/dL (ULN 1.2)"] == "MET"
    assert renal["CREAT 1.80 mg/dL (ULN 1.2)"] == "MET"  # 1.5 × 1.2 exactly
    assert renal["CREAT 1.81 mg/dL (ULN 1.2)"] == "NOT_MET"
    assert renal["CREAT dated 14 days before"] == "MET"  # the window is inclusive
    assert renal["CREAT dated 15 days before"] == "INDETERMINATE"
    grade3 = {c.what: c.expected for c in cases if "CREAT grade ≥ 3" in c.leaf}
    assert grade3["CREAT 4.20 mg/dL (ULN 1.4)"] == "NOT_MET"  # 3.0 × ULN is grade 2
    assert grade3["CREAT 4.21 mg/dL (ULN 1.4)"] == "MET"
    hgb = {c.what: c.expected for c in cases if c.rule_id == "INC-HGB"}
    assert {hgb["HGB 80 g/L"], hgb["HGB 90 g/L"], hgb["HGB 100 g/L"]} == {"NOT_MET", "MET"}
    washout = {c.what: c.expected for c in cases if c.rule_id == "EXC-SYSTEMIC-WASHOUT"}
    assert washout["one matching prior_therapies ending 28 days before"] == "NOT_MET"
    assert washout["one matching prior_therapies ending 29 days before"] == "MET"


def test_the_generator_has_its_own_unit_factors() -> None:
    """Each unit the engine converts is in the generator's table, with the same value."""
    for test, (_, canonical, factors) in protocol.units.ANALYTES.items():
        for unit in factors:
            assert unit in ref.LAB_UNITS[test], f"{test} {unit} has no generator factor"
            one = ref.convert(Decimal(1), unit, canonical, test)
            assert float(one) == pytest.approx(factors[unit], rel=1e-12), (test, unit)


def test_test_protocol_cli_passes_on_bundled(capsys: pytest.CaptureFixture[str]) -> None:
    for ref_ in ("flex-mrt", "pluvicto-label"):
        rc, out = _run(capsys, "test-protocol", ref_)
        assert rc == 0, out
        assert "every rule flips where its text says" in out


def _binary(number: object) -> Decimal:
    """The decimal value of the binary float nearest to ``number``: float arithmetic."""
    return Decimal(float(number))  # type: ignore[arg-type]


def test_a_float_comparison_in_the_engine_fails_with_a_clear_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in (engine.exact, engine.rules, engine.response):
        monkeypatch.setattr(module, "as_decimal", _binary)
    rc, out = _run(capsys, "test-protocol", "flex-mrt")
    assert rc == 1
    assert (
        "FAIL  INC-RENAL  CREAT <= 1.5 xULN within P14D" in out
        and "at       CREAT 1.80 mg/dL (ULN 1.2) → MET, but the engine says NOT_MET" in out
    ), out
    assert 'record: {"record_version":1' in out  # the record that shows it
    assert "do not flip where the text says" in out.splitlines()[-1]


def test_a_wrong_unit_factor_in_the_engine_fails_with_a_clear_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    hgb = dict(protocol.units._ANALYTE_EXACT["HGB"])
    hgb["mmol/L"] = (Decimal("1.6"), Decimal(1))  # 1.611 g/dL per mmol/L, mistyped
    monkeypatch.setitem(protocol.units._ANALYTE_EXACT, "HGB", hgb)
    rc, out = _run(capsys, "test-protocol", "flex-mrt")
    assert rc == 1
    assert "FAIL  myelosuppression  CTCAE v5 HGB grade ≥ 3: < 8.0 g/dL" in out, out
    assert "at       HGB 4.966 mmol/L → NOT_MET, but the engine says MET" in out, out


@pytest.mark.parametrize("revision", _REVISIONS, ids=lambda p: p.ref)
def test_section_thresholds_have_boundary_records(revision: object) -> None:
    """RECIP, PCWG3, PSA50/90, kidney cap, activity bands, holiday surveillance: all built."""
    cases, uncovered = generate(revision.doc)  # type: ignore[attr-defined]
    assert not [u for u in uncovered if "no boundary records" in u.why]
    owners = {c.rule_id for c in cases}
    assert {"response.recip", "response.pcwg3", "response.psa_response", "DISC-DELAY"} <= owners
    doc = revision.doc  # type: ignore[attr-defined]
    if "kidney_bed" in doc.get("organ_limits", {}):
        assert "organ_limits.kidney_bed" in owners
    if doc["dose_modification"].get("activity_bands"):
        assert "dose_modification.activity_bands" in owners
    if doc.get("holidays"):
        assert {"holidays", "HOL-ENTRY"} <= owners


def test_section_cases_sit_where_the_settings_say() -> None:
    cases, _ = generate(Registry.bundled().resolve("flex-mrt").doc)
    cap = {c.position: c.expected for c in cases if c.rule_id == "organ_limits.kidney_bed"}
    assert cap == {"outside": "NOT_MET", "at": "NOT_MET", "inside": "MET"}  # strictly above
    band = {
        c.what: c.expected
        for c in cases
        if c.rule_id == "dose_modification.activity_bands" and "6.66" in c.leaf
    }
    assert band["cycle 3 at 6.66 GBq"] == band["cycle 3 at 180 mCi"] == "MET"  # closed
    assert band["cycle 3 at 6.65 GBq"] == band["cycle 3 at 6650 MBq"] == "NOT_MET"
    psa = {c.what: c.expected for c in cases if c.leaf.startswith("PSA overdue")}
    assert psa["PSA last at the holiday start; as of due + 7 days"] == "NOT_MET"
    assert psa["PSA last at the holiday start; as of due + 8 days"] == "MET"
    window = {c.what: c.expected for c in cases if "RECIP baseline" in c.leaf}
    assert window["first PSMA PET/CT 28 days after the holiday start"] == "MET"
    assert window["first PSMA PET/CT 29 days after the holiday start"] == "INDETERMINATE"


def _failures(protocol_ref: str, owner: str) -> list[str]:
    thresholds, _ = test_protocol(Registry.bundled().resolve(protocol_ref))
    return [
        f"{r.case.position} {r.case.what}"
        for t in thresholds
        if t.rule_id == owner
        for r in t.results
        if not r.ok
    ]


def test_a_kidney_cap_that_includes_the_cap_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """ "Exceed" is strictly greater: a cap compared with >= is caught at the cap itself."""
    monkeypatch.setattr(
        engine.bed.KidneyBed,
        "exceeded",
        property(lambda self: engine.exact.compare(self.projected_gy, ">=", self.cap_gy)),
    )
    failed = _failures("flex-mrt", "organ_limits.kidney_bed")
    assert failed == ["at kidney dose 5.6864 Gy × 6 cycles: projected BED 39.0001 Gy"]


def test_open_activity_bands_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bands are closed: an edge compared strictly is caught at every edge, in every unit."""
    monkeypatch.setattr(
        engine.activity, "_at_least", lambda v, e: engine.activity._rounded(v, e) > e
    )
    failed = _failures("flex-mrt", "dose_modification.activity_bands")
    assert "at cycle 3 at 6.66 GBq" in failed and "at cycle 3 at 180 mCi" in failed
    assert "at cycle 3 at 5.31 GBq" in failed


def test_a_late_surveillance_grace_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """Surveillance overdue one day late (grace + 1) is caught on the day after the grace."""
    original = engine.surveillance.holiday_surveillance

    def late(*args: object, **kwargs: object) -> list[object]:
        return [
            dataclasses.replace(i, overdue=i.overdue and args[0].as_of > i.due + timedelta(8))  # type: ignore[attr-defined]
            for i in original(*args, **kwargs)  # type: ignore[arg-type]
        ]

    monkeypatch.setattr(engine.decision, "holiday_surveillance", late)
    failed = _failures("flex-mrt", "holidays")
    assert "inside PSA last at the holiday start; as of due + 8 days" in failed
