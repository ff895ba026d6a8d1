"""The bundled revisions: valid, identified by sha256, resolvable by reference and date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from protocol_helpers import amended, as_draft, bundled_text

from flexmrt.protocol import ProtocolError, Registry, load_text, resolve
from flexmrt.protocol.canonical import sha256_hex


def test_both_protocols_validate() -> None:
    refs = [p.ref for p in Registry.bundled().all()]
    assert refs == ["flex-mrt@1.0", "flex-mrt@1.1", "pluvicto-label@1.0", "pluvicto-label@1.1"]


def test_identity_is_sha256_of_canonical_json() -> None:
    p = resolve("flex-mrt@1.0")
    assert p.sha256 == sha256_hex(p.doc)
    reformatted = load_text(bundled_text().replace("\n\n", "\n\n\n") + "\n# trailing comment\n")
    assert reformatted.sha256 == p.sha256


def test_kidney_lq_values_follow_mission() -> None:
    lq = resolve("flex-mrt").kidney_lq()
    assert (lq.alpha_beta_gy, lq.repair_half_time_h, lq.cap_gy) == (2.6, 2.8, 39.0)
    assert (lq.effective_half_life_h, lq.gy_per_gbq) == (35.5, 0.43)
    assert resolve("pluvicto-label").kidney_lq().cap_gy is None


def test_assumed_values_are_flagged() -> None:
    params = resolve("flex-mrt").doc["parameters"]
    for name in (
        "kidney_alpha_beta",
        "kidney_repair_half_time",
        "holiday_psa_change",
        "holiday_tumour_change",
        "anc_min",
        "reduced_activity",
        "lookback",
    ):
        assert params[name]["verification"] == "assumed", name
    for name in ("kidney_bed_cap", "standard_activity", "investigational_max_cycles"):
        assert params[name]["verification"] == "verified", name


def test_every_criterion_carries_source_and_verification() -> None:
    doc = resolve("flex-mrt").doc
    criteria = [
        *doc["eligibility"]["inclusion"],
        *doc["eligibility"]["exclusion"],
        *doc["stop_rules"],
        doc["holidays"]["entry"],
        doc["holidays"]["restart"],
        *doc["dose_modification"]["toxicities"],
    ]
    for c in criteria:
        assert c["source"]["citation"] and c["source"]["section"], c["id"]
        assert c["verification"] in ("verified", "assumed"), c["id"]


def test_resolution_by_id_revision_date_and_path(tmp_path: Path) -> None:
    draft = tmp_path / "flex-mrt-1.2.yaml"
    draft.write_text(as_draft(bundled_text()), "utf-8")
    reg = Registry.bundled([tmp_path])
    assert reg.resolve("flex-mrt").revision == "1.1"  # drafts are never "in force"
    assert reg.resolve("flex-mrt@1.2").status == "draft"
    assert reg.resolve(str(draft)).revision == "1.2"
    with pytest.raises(ProtocolError) as caught:
        reg.resolve("flex-mrt", on=date(2023, 1, 1))
    assert caught.value.code == "not_in_force"
    with pytest.raises(ProtocolError) as caught:
        reg.resolve("flex-mrt@9.9")
    assert caught.value.code == "not_found"


def test_active_revision_in_force_on_a_date(tmp_path: Path) -> None:
    text = as_draft(bundled_text(), "1.2")
    text = amended("  status: draft", "  status: active", text)
    text = amended('  effective_from: "2024-02-01"', '  effective_from: "2025-06-01"', text)
    (tmp_path / "flex-mrt-1.2.yaml").write_text(text, "utf-8")
    reg = Registry.bundled([tmp_path])
    assert reg.resolve("flex-mrt", on=date(2025, 5, 31)).revision == "1.1"
    assert reg.resolve("flex-mrt", on=date(2025, 6, 1)).revision == "1.2"


def test_supersedes_must_exist(tmp_path: Path) -> None:
    text = as_draft(bundled_text(), "1.2").replace('"flex-mrt@1.0"', '"flex-mrt@0.9"')
    (tmp_path / "flex-mrt-1.2.yaml").write_text(text, "utf-8")
    with pytest.raises(ProtocolError) as caught:
        Registry.bundled([tmp_path])
    assert caught.value.code == "unknown_supersedes"
    assert caught.value.issues[0].pointer == "/protocol/supersedes"
    assert caught.value.issues[0].line is not None


def test_resolution_by_date_is_the_latest_in_force_of_every_revision(tmp_path: Path) -> None:
    """The index ``resolve`` bisects answers as the latest (effective_from, revision) in
    force over every non-draft revision would: same-day revisions, 1.10 after 1.3, days
    before the first."""
    for revision, day in (("1.2", "2025-06-01"), ("1.3", "2025-06-01"), ("1.10", "2025-09-01")):
        text = as_draft(bundled_text(), revision)
        text = amended("  status: draft", "  status: active", text)
        text = amended('  effective_from: "2024-02-01"', f'  effective_from: "{day}"', text)
        (tmp_path / f"flex-mrt-{revision}.yaml").write_text(text, "utf-8")
    reg = Registry.bundled([tmp_path])

    def rev(p: object) -> tuple[int, ...]:
        return tuple(int(x) for x in p.revision.split("."))  # type: ignore[attr-defined]

    active = [p for p in reg.all() if p.id == "flex-mrt" and p.status != "draft"]
    first = min(active, key=lambda p: (p.effective_from, rev(p)))
    days = ["2023-01-01", "2024-01-31", "2024-02-01", "2025-05-31", "2025-06-01", "2025-08-31"]
    for day in [date.fromisoformat(d) for d in [*days, "2025-09-01", "2030-01-01"]]:
        in_force = [p for p in active if p.effective_from <= day]
        if not in_force:
            with pytest.raises(ProtocolError) as caught:
                reg.resolve("flex-mrt", on=day)
            assert caught.value.message == (
                f"no revision of 'flex-mrt' is in force on {day}: the first, {first.ref}, "
                f"takes effect on {first.effective_from}"
            )
            continue
        expected = max(in_force, key=lambda p: (p.effective_from, rev(p)))
        assert reg.resolve("flex-mrt", on=day) is expected, day
    assert reg.resolve("flex-mrt").revision == "1.10"
    assert reg.resolve("flex-mrt", on=date(2025, 6, 1)).revision == "1.3"
    with pytest.raises(ProtocolError) as caught:
        reg.resolve("flex-mrtx")
    assert caught.value.code == "not_found"
