"""A short fuzz pass per target, and every input kept in the corpus replayed.

The corpus (``tests/fuzz/corpus/<target>/``) holds inputs that once broke a parser,
found by ``make fuzz`` or written from a reproducer; each must now be accepted or
refused with the project's error. The bounded pass draws FUZZ_EXAMPLES_<TARGET>
inputs per target (defaults below: together well under a minute on two cores).
"""

from __future__ import annotations

import os

import pytest
from fuzz_strategies import STRATEGIES
from fuzz_targets import TARGETS, corpus_files, decode, run_one
from hypothesis import HealthCheck, Phase, given, settings

_DEFAULT_EXAMPLES = {"protocol": 80, "record": 300, "grpc": 200}


def _examples(target: str) -> int:
    return int(os.environ.get(f"FUZZ_EXAMPLES_{target.upper()}", _DEFAULT_EXAMPLES[target]))


def _replay_cases() -> list[tuple[str, object]]:
    return [(t, p) for t in sorted(TARGETS) for p in corpus_files(t)]


@pytest.mark.parametrize(
    ("target", "path"), _replay_cases(), ids=[f"{t}/{p.name}" for t, p in _replay_cases()]
)
def test_corpus_input_is_accepted_or_refused(target, path):
    outcome = run_one(target, decode(target, path))
    assert outcome == "accepted" or outcome.startswith("refused:")


def test_every_target_has_a_corpus():
    """Each target keeps the reproducers of the crash classes it once had."""
    for target in TARGETS:
        assert corpus_files(target), f"tests/fuzz/corpus/{target}/ is empty"


def _bounded(target: str):
    @settings(
        max_examples=_examples(target),
        database=None,
        deadline=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(STRATEGIES[target]())
    def check(data):
        outcome = run_one(target, data)
        assert outcome == "accepted" or outcome.startswith("refused:")

    return check


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_bounded_fuzz_pass(target):
    _bounded(target)()
