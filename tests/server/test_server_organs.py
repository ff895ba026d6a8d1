"""Organs at risk across cycles reach every edge: the gRPC Decision and `flexmrt decide`."""

from __future__ import annotations

import importlib.util
import json
from datetime import date
from pathlib import Path

from server_helpers import decisions, record_json

from flexmrt import engine
from flexmrt.protocol import resolve
from flexmrt.server import convert
from flexmrt.server._gen.flexmrt.v1 import decision_pb2 as pb
from flexmrt.server.cli import main

CASES = Path(__file__).resolve().parents[1] / "cases"
_spec = importlib.util.spec_from_file_location(
    "engine_cases", CASES.parent / "engine" / "engine_cases.py"
)
assert _spec is not None and _spec.loader is not None
engine_cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(engine_cases)
STRADDLES = CASES / "kidney" / "cap-interval-straddles.yaml"


def _case_record(path: Path) -> tuple[dict, str]:
    case = engine_cases.read_yaml(path)
    return engine_cases.build_record(case), str(case["as_of"])


def test_grpc_carries_every_organ_and_the_kidney_interval(channel):
    record, as_of = _case_record(STRADDLES)
    request = pb.DecideNextActionRequest(
        protocol_ref="flex-mrt", record_json=record_json(record), as_of=as_of
    )
    answer = decisions(channel).DecideNextAction(request).decision
    expected = engine.decide(
        resolve("flex-mrt"), engine.parse_record(record), date.fromisoformat(as_of)
    )
    assert answer == convert.decision(expected)
    assert answer.action == pb.ACTION_NEED_DATA
    assert [o.organ for o in answer.organs_at_risk] == [
        "kidneys",
        "salivary_glands",
        "lacrimal_glands",
        "bone_marrow",
        "liver",
    ]
    kidneys = answer.organs_at_risk[0]
    assert kidneys.limit_gy == 39.0 and kidneys.limit_action == "curtail"
    assert kidneys.HasField("cumulative_bed_u_gy") and kidneys.projected_u_gy > 0
    kb = answer.kidney_bed
    assert kb.cycles_remaining == 1
    assert (kb.cycles_remaining_low, kb.cycles_remaining_high) == (0, 2)
    assert kb.projected_low_gy < 39.0 < kb.projected_high_gy
    # an organ without uncertainty data leaves its u unset, never 0
    assert not answer.organs_at_risk[1].HasField("cumulative_bed_u_gy")


def test_cli_decide_prints_the_organs_and_the_interval(tmp_path, capsys):
    record, as_of = _case_record(STRADDLES)
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record))
    assert main(["decide", str(path), "--protocol", "flex-mrt", "--as-of", as_of]) == 0
    out = capsys.readouterr().out
    assert "kidney BED after the next cycle ± 2u: 29.89–47.55 Gy" in out
    assert "0–2 more cycle(s) fit across it" in out
    assert "missing: a 48 h SPECT/CT or a second scan for cycle 5" in out
    for name in ("kidneys", "salivary glands", "lacrimal glands", "red bone marrow", "liver"):
        assert f"    {name}" in out
