"""The coordinator's worklist: the events every patient's schedule lists, overdue first,
the same on the CLI (text, JSON, CSV, iCalendar) and over gRPC (GetWorklist, streamed)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from server_helpers import decisions

from flexmrt import engine
from flexmrt.protocol import Registry, parse_duration
from flexmrt.server._gen.flexmrt.v1 import decision_pb2 as pb
from flexmrt.server.cli import main
from flexmrt.server.worklist_export import CSV_COLUMNS, to_csv, to_ics

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples" / "patients").glob("*.yaml"))
# Dates that put the examples in every state: screening, overdue cycles and surveillance,
# holidays, withheld, completed and discontinued.
DATES = ["2025-01-16", "2025-04-14", "2025-04-22", "2025-09-01", "2025-10-05", "2025-11-12"]
_REGISTRY = Registry.bundled()


def _records() -> list[engine.Record]:
    return [engine.read_record_text(p.read_text("utf-8"), str(p)) for p in EXAMPLES]


def _answer(as_of: str, horizon: str = "P4W") -> engine.Worklist:
    day = date.fromisoformat(as_of)
    protocol = _REGISTRY.resolve("flex-mrt", day)
    schedules = [engine.schedule(protocol, r, day, parse_duration(horizon)) for r in _records()]
    return engine.worklist(schedules, day, horizon)


def _worklist(as_of: str, horizon: str = "P4W") -> dict[str, Any]:
    return dict(_answer(as_of, horizon).to_json())


def _cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["worklist", *map(str, EXAMPLES), "--protocol", "flex-mrt", *args, "--json"]) == 0
    return dict(json.loads(capsys.readouterr().out))


@pytest.mark.parametrize("as_of", DATES)
def test_every_patients_schedule_is_listed_overdue_first(
    as_of: str, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = _cli_json(capsys, "--as-of", as_of, "--horizon", "P4W")
    day = date.fromisoformat(as_of)
    protocol = _REGISTRY.resolve("flex-mrt", day)
    listed = 0
    for record in _records():
        events = engine.schedule(protocol, record, day, parse_duration("P4W")).to_json()["events"]
        rows = [i for i in answer["items"] if i["subject_id"] == record.subject_id]
        key = ("date", "kind", "what", "cycle", "window_start", "days_past_due")
        assert sorted(tuple(str(r.get(k)) for k in key) for r in rows) == sorted(
            tuple(str(e.get(k)) for k in key) for e in events
        ), record.subject_id
        assert sum(r["overdue"] for r in rows) == sum(bool(e.get("overdue")) for e in events)
        listed += len(events)
    assert len(answer["items"]) == listed
    flags = [not i["overdue"] for i in answer["items"]]
    assert flags == sorted(flags), "overdue rows come first"
    for group in (True, False):
        dates = [i["date"] for i in answer["items"] if i["overdue"] is group]
        assert dates == sorted(dates)
    assert len(answer["patients"]) == len(EXAMPLES)


def test_overdue_rows_carry_days_overdue_and_the_limit() -> None:
    answer = _worklist("2025-04-22", "P2W")
    overdue = [i for i in answer["items"] if i["overdue"]]
    assert [
        (i["subject_id"], i["kind"], i["days_past_due"], i["overdue_limit_days"]) for i in overdue
    ] == [("FLX-006", "cycle", 97, None), ("FLX-010", "cycle", 8, 28)]
    assert answer["items"][: len(overdue)] == overdue  # overdue first, by due date
    # FLX-006 still awaits cycle 1 (target the randomisation day, window closed on 01-22):
    # no delay rule counts from before cycle 1, so no limit
    assert overdue[0]["cycle"] == 1 and overdue[0]["window_end"] == "2025-01-22"
    assert overdue[1]["window_start"] == "2025-04-07" and overdue[1]["window_end"] == "2025-04-21"


def test_missing_data_are_those_the_decision_waits_for() -> None:
    answer = _worklist("2025-01-16")
    by_subject = {p["subject_id"]: p for p in answer["patients"]}
    assert by_subject["FLX-006"]["action"] == "NEED_DATA"
    assert any("PLAT" in m for m in by_subject["FLX-006"]["missing"])
    waiting = [i for i in answer["items"] if i["subject_id"] == "FLX-006"]
    assert waiting and all(i["missing"] == by_subject["FLX-006"]["missing"] for i in waiting)
    assert all(not p["missing"] for p in answer["patients"] if p["action"] != "NEED_DATA")


def test_ics_parses_back_with_icalendar_one_event_per_row() -> None:
    from icalendar import Calendar

    typed = _answer("2025-09-01")
    answer = typed.to_json()
    calendar = Calendar.from_ical(to_ics(typed))
    assert calendar.errors == []
    assert str(calendar["VERSION"]) == "2.0" and "flexmrt" in str(calendar["PRODID"])
    events = list(calendar.walk("VEVENT"))
    assert len(events) == len(answer["items"]) > 0
    assert len({str(e["UID"]) for e in events}) == len(events), "UIDs are unique"
    for event, item in zip(events, answer["items"], strict=True):
        assert event.errors == []
        assert event.decoded("DTSTART") == date.fromisoformat(item["date"])
        assert event.decoded("DTEND") == date.fromisoformat(item["date"]) + timedelta(days=1)
        assert "DTSTAMP" in event
        assert item["subject_id"] in str(event["SUMMARY"])
        assert str(event["SUMMARY"]).startswith("OVERDUE") == item["overdue"]
        for missing in item["missing"]:
            assert missing in str(event["DESCRIPTION"])
    assert to_ics(typed) == to_ics(_answer("2025-09-01")), "the same worklist, the same bytes"


def test_csv_round_trips_every_row() -> None:
    typed = _answer("2025-09-01")
    answer = typed.to_json()
    rows = list(csv.DictReader(io.StringIO(to_csv(typed), newline="")))
    assert len(rows) == len(answer["items"]) > 0
    for row, item in zip(rows, answer["items"], strict=True):
        assert list(row) == list(CSV_COLUMNS)
        assert row["subject_id"] == item["subject_id"] and row["date"] == item["date"]
        assert row["what"] == item["what"]
        assert row["overdue"] == ("yes" if item["overdue"] else "no")
        assert row["days_past_due"] == (
            "" if item["days_past_due"] is None else str(item["days_past_due"])
        )
        assert row["cycle"] == ("" if item["cycle"] is None else str(item["cycle"]))
        assert row["missing"] == "; ".join(item["missing"])


def _run(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flexmrt.server.cli", "worklist", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        **kwargs,
    )


def test_cli_writes_csv_and_ics_and_reports_a_bad_record(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("record_version: 1\nsubject: {id: X-1, sex: Q}\n", encoding="utf-8")
    out_csv, out_ics = tmp_path / "w.csv", tmp_path / "w.ics"
    run = _run(
        *map(str, EXAMPLES),
        str(bad),
        "--protocol",
        "flex-mrt",
        "--as-of",
        "2025-04-22",
        "--csv",
        str(out_csv),
        "--ics",
        str(out_ics),
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert f"{bad}: not scheduled" in run.stderr and "/subject/sex" in run.stderr
    lines = run.stdout.splitlines()
    assert lines[1].startswith("  OVERDUE 2025-01-15  FLX-006")
    assert lines[2].startswith("  OVERDUE 2025-04-14  FLX-010")
    assert out_csv.read_text("utf-8").count("\n") == 1 + run.stdout.count(
        "\n  OVERDUE "
    ) + run.stdout.count("\n  due ")
    assert out_ics.read_bytes().startswith(b"BEGIN:VCALENDAR")
    assert "\r" not in run.stderr, "no progress bar when stderr is not a terminal"


def test_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    import pty

    primary, secondary = pty.openpty()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "flexmrt.server.cli",
            "worklist",
            *map(str, EXAMPLES),
            "--protocol",
            "flex-mrt",
            "--as-of",
            "2025-04-22",
        ],
        stdout=subprocess.PIPE,
        stderr=secondary,
        text=True,
        cwd=ROOT,
    )
    os.close(secondary)
    seen = b""
    try:
        while chunk := os.read(primary, 4096):
            seen += chunk
    except OSError:  # the terminal is closed once the child has gone
        pass
    os.close(primary)
    assert run.returncode == 0
    assert f"scheduling [{'#' * 30}] {len(EXAMPLES)}/{len(EXAMPLES)}".encode() in seen


def test_bad_horizon_is_a_usage_error() -> None:
    run = _run(str(EXAMPLES[0]), "--protocol", "flex-mrt", "--horizon", "four weeks")
    assert run.returncode == 2 and "--horizon" in run.stderr and "Traceback" not in run.stderr


def test_grpc_get_worklist_streams_the_same_rows(channel) -> None:  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT / "tests" / "imports"))
    from fhir_export import record_to_bundle

    records = _records()
    fhir = next(i for i, r in enumerate(records) if r.subject_id == "FLX-009")  # overdue labs
    others = [r for i, r in enumerate(records) if i != fhir]
    as_of, horizon = "2025-09-01", "P4W"
    request = pb.GetWorklistRequest(
        protocol_ref="flex-mrt",
        record_json=[json.dumps(r.doc) for r in others],
        record_fhir_json=[json.dumps(record_to_bundle(records[fhir].doc))],
        as_of=as_of,
        horizon=horizon,
    )
    streamed = list(decisions(channel).GetWorklist(request))
    want = _worklist(as_of, horizon)["items"]
    assert len(streamed) == len(want) > 0
    for got, item in zip(streamed, want, strict=True):
        assert (got.subject_id, got.event.date, got.event.kind, got.event.what) == (
            item["subject_id"],
            item["date"],
            item["kind"],
            item["what"],
        )
        assert got.event.overdue == item["overdue"]
        assert list(got.missing) == item["missing"]
        assert pb.Action.Name(got.action) == f"ACTION_{item['action']}"
        assert got.follows_decision == item["follows_decision"]
        assert got.protocol.ref == "flex-mrt@1.1" and got.as_of == as_of
        if got.subject_id == "FLX-009":
            assert got.source == "record_fhir_json[0]"
        else:
            index = next(i for i, r in enumerate(others) if r.subject_id == got.subject_id)
            assert got.source == f"record_json[{index}]"
    assert any(got.source == "record_fhir_json[0]" and got.event.overdue for got in streamed)


def test_grpc_get_worklist_refuses_bad_input_with_the_field(channel) -> None:  # type: ignore[no-untyped-def]
    import grpc
    from server_helpers import violations

    stub = decisions(channel)
    with pytest.raises(grpc.RpcError) as err:
        list(stub.GetWorklist(pb.GetWorklistRequest(protocol_ref="flex-mrt")))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    good = json.dumps(_records()[0].doc)
    bad = json.dumps({"record_version": 1, "subject": {"id": "X", "sex": "Q"}})
    request = pb.GetWorklistRequest(protocol_ref="flex-mrt", record_json=[good, bad])
    with pytest.raises(grpc.RpcError) as err:
        list(stub.GetWorklist(request))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert any(field.startswith("record_json[1]/subject/sex") for field, _ in violations(err.value))
