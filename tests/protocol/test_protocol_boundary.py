"""Boundary tests generated from every bundled protocol revision (`flexmrt test-protocol`).

Every numeric threshold, look-back window and count of each revision gets records at the
threshold and one step either side; the engine must flip exactly where the rule's
declared comparator, value and unit say. The last tests break the engine on purpose — a
binary-float comparison, one wrong unit factor — and show the generator catching it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

import engine.exact
import engine.response
import engine.rules
import protocol.units
from protocol import Registry
from protocol.boundary import generate
from protocol.boundary import reference as ref
from server.boundary import test_protocol
from server.cli import main

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
