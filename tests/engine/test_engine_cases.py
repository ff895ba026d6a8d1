"""Every rule case in tests/cases/ (one YAML file per case; the id is its path)."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_cases import CASES, case_paths, match, read_yaml, run_case

_REQUIRED = {"note", "protocol", "as_of", "call", "want"}


@pytest.mark.parametrize("path", case_paths(), ids=lambda p: str(p.relative_to(CASES)))
def test_case(path: Path) -> None:
    case = read_yaml(path)
    assert set(case) >= _REQUIRED, f"{path}: missing {_REQUIRED - set(case)}"
    assert "record" in case or "record_file" in case or "cohort" in case
    match(run_case(case), case["want"])


def test_corpus_size() -> None:
    assert len(case_paths()) >= 80
