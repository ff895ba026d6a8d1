"""study_status reads its records once, as a stream (one record in memory at a time)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flexmrt import engine, protocol

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "patients").glob("*.yaml"))


def test_a_stream_of_records_gives_the_answer_of_the_list():
    records = [engine.read_record_text(p.read_text(), str(p)) for p in EXAMPLES]
    records.append(records[0])  # a duplicate subject is counted
    flex = protocol.resolve("flex-mrt")
    on = date(2025, 6, 1)
    streamed = engine.study_status(flex, (r for r in records), on)
    assert streamed == engine.study_status(flex, records, on)
    assert streamed.duplicates == 1
