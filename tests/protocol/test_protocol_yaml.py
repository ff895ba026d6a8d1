"""Strict YAML reading and ISO 8601 durations."""

from __future__ import annotations

from datetime import date

import pytest

from flexmrt.protocol import ProtocolError, add_duration, parse_datetime, parse_duration
from flexmrt.protocol.yamlio import read_yaml


def test_yaml12_scalars_without_surprises() -> None:
    data, positions = read_yaml("a: NO\nb: yes\nc: 2.10\nd: 2024-01-02\ne: '007'\nf: true\ng: ~\n")
    assert data == {
        "a": "NO",
        "b": "yes",
        "c": 2.1,
        "d": "2024-01-02",
        "e": "007",
        "f": True,
        "g": None,
    }
    assert positions["/c"] == (3, 4)


def test_duplicate_keys_are_reported_with_both_lines() -> None:
    with pytest.raises(ProtocolError) as caught:
        read_yaml("a: 1\nb:\n  c: 1\n  c: 2\n", "f.yaml")
    issue = caught.value.issues[0]
    assert (issue.code, issue.pointer, issue.line) == ("duplicate_key", "/b/c", 4)
    assert "line 3" in issue.message


def test_merge_keys_are_refused() -> None:
    with pytest.raises(ProtocolError) as caught:
        read_yaml("base: &b {x: 1}\nother:\n  <<: *b\n")
    assert caught.value.issues[0].code == "yaml_merge_key"


def test_empty_document() -> None:
    with pytest.raises(ProtocolError) as caught:
        read_yaml("# nothing\n")
    assert caught.value.code == "empty_document"


@pytest.mark.parametrize(
    ("text", "days"), [("P6W", 42), ("P14D", 14), ("PT72H", 3), ("P1W3D", 10), ("PT36H", 1.5)]
)
def test_durations(text: str, days: float) -> None:
    assert parse_duration(text).days == days


def test_months_step_by_calendar() -> None:
    assert add_duration(date(2025, 1, 31), parse_duration("P1M")) == date(2025, 2, 28)
    assert add_duration(date(2025, 1, 15), parse_duration("P24M")) == date(2027, 1, 15)
    assert add_duration(date(2025, 3, 15), parse_duration("P14D"), -1) == date(2025, 3, 1)


@pytest.mark.parametrize("text", ["6 weeks", "P", "PT", "P1.5W", ""])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_duration(text)


def test_datetimes_compare_in_utc() -> None:
    assert parse_datetime("2025-01-13T00:30:00+01:00").date() == date(2025, 1, 12)
    assert parse_datetime("2025-01-13").isoformat() == "2025-01-13T00:00:00+00:00"
    with pytest.raises(ValueError, match="offset"):
        parse_datetime("2025-01-13T08:00:00")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("P14D", "14 days"),
        ("P6W", "42 days"),
        ("P6M", "6 months"),
        ("PT36H", "36 h"),
        ("P1D", "1 day"),
    ],
)
def test_durations_in_plain_words(text: str, words: str) -> None:
    assert parse_duration(text).human() == words
