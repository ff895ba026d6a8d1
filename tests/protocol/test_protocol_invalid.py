"""Invalid protocol files as data: each case edits the bundled FLEX-MRT text once.

A case is ``tests/protocol/invalid/NAME.yaml`` with ``note``, ``replace: {old, new}``
and ``want: {code, pointer, line_of}``: the headline issue must have that code and
JSON pointer, and sit on the line where ``line_of`` first appears in the edited text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from protocol_helpers import amended

from flexmrt.protocol import ProtocolError, load_text
from flexmrt.protocol.yamlio import read_yaml

CASES = sorted((Path(__file__).parent / "invalid").glob("*.yaml"))


def _case(path: Path) -> dict[str, Any]:
    data, _ = read_yaml(path.read_text("utf-8"), str(path))
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_invalid_protocol_case(path: Path) -> None:
    case = _case(path)
    text = amended(case["replace"]["old"], case["replace"]["new"])
    with pytest.raises(ProtocolError) as caught:
        load_text(text, "draft.yaml")
    want = case["want"]
    issues = caught.value.issues
    matching = [i for i in issues if i.code == want["code"]]
    assert matching, f"{case['note']}: got {[str(i) for i in issues]}"
    issue = matching[0]
    assert issue.file == "draft.yaml"
    if "pointer" in want:
        assert issue.pointer == want["pointer"], str(issue)
    if "line_of" in want:
        expected_line = text[: text.index(want["line_of"])].count("\n") + 1
        assert issue.line == expected_line, str(issue)
    assert issue.message and str(issue).startswith("draft.yaml:")


def test_every_problem_is_reported_at_once() -> None:
    text = amended("cap: {param: kidney_bed_cap}", "cap: {param: nope_one}")
    text = amended("rule: {ref: marrow_counts_recent}", "rule: {ref: nope_two}", text)
    text = amended("    - id: INC-HGB\n", "    - id: INC-PLAT\n", text)
    with pytest.raises(ProtocolError) as caught:
        load_text(text, "three.yaml")
    codes = sorted(i.code for i in caught.value.issues)
    assert codes == ["duplicate_id", "unknown_parameter", "unknown_rule"]


def test_schema_errors_all_listed_with_headline_first() -> None:
    text = amended("  status: active", "  status: approved")
    text = amended('  revision: "1.0"', "  revision: 1.10", text)
    with pytest.raises(ProtocolError) as caught:
        load_text(text, "two.yaml")
    pointers = {i.pointer for i in caught.value.issues}
    assert {"/protocol/status", "/protocol/revision"} <= pointers
    assert caught.value.code == caught.value.issues[0].code == "schema_violation"


def test_quoted_number_fix_is_suggested() -> None:
    text = amended('  revision: "1.0"', "  revision: 1.10")
    with pytest.raises(ProtocolError) as caught:
        load_text(text, "x.yaml")
    issue = next(i for i in caught.value.issues if i.pointer == "/protocol/revision")
    assert issue.found == "1.1"
    assert "quote it" in issue.fix


def test_bare_date_stays_iso_text(flex_text: str) -> None:
    p = load_text(amended('  effective_from: "2024-02-01"', "  effective_from: 2024-02-01"))
    assert p.doc["protocol"]["effective_from"] == "2024-02-01"


def test_every_case_is_distinct_and_documented() -> None:
    assert len(CASES) >= 20
    for path in CASES:
        case = _case(path)
        assert case["note"] and case["want"]["code"]


def test_every_quantity_has_a_physical_range() -> None:
    """Each kind a protocol number can measure has its range (protocol/units.py RANGES)."""
    from flexmrt.protocol.units import QUANTITIES, RANGES

    assert set(RANGES) == {*QUANTITIES, "relative", "concentration"}
    assert all(low < high for low, high, _ in RANGES.values())


@pytest.mark.parametrize(
    ("old", "new", "pointer", "limit"),
    [
        ("  id: flex-mrt\n", "  id: flex-mrt-" + "x" * 5000 + "\n", "/protocol/id", 64),
        ('  revision: "1.0"', '  revision: "1.0.' + "9" * 5000 + '"', "/protocol/revision", 32),
        ("  supersedes: null", "  supersedes: flex-mrt@1." + "0" * 200, "/protocol/supersedes", 97),
    ],
)
def test_an_overlong_id_or_revision_is_refused_naming_the_field(old, new, pointer, limit) -> None:
    """Protocol ids and revisions are bounded (64 and 32 characters): the headline names
    the field, the length and the limit, and quotes no more than a bounded prefix."""
    with pytest.raises(ProtocolError) as caught:
        load_text(amended(old, new), "draft.yaml")
    head = caught.value.issues[0]
    assert (head.code, head.pointer) == ("schema_violation", pointer), str(head)
    assert f"at most {limit}" in str(head) and len(str(caught.value)) < 1000
