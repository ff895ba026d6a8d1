"""The DICOM fuzz target: its corpus replayed, the seed accepted, and a bounded pass.

Every corpus entry is an input that once failed (a traceback, a non-finite dose, a
patient value in a log); each must now be accepted or refused with the project's
error naming a file. ``make fuzz-dicom`` runs the long pass (10,000 inputs).
"""

from __future__ import annotations

import pytest
from dicom_target import (
    SEED,
    Input,
    _mutate_bytes,
    classify,
    corpus_entries,
    inputs,
    load,
    seed_files,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

CORPUS = corpus_entries()


def test_the_seed_study_is_accepted_in_every_layout():
    for spect in ("multiframe", "slices"):
        for masks in ("seg", "rtstruct"):
            path = seed_files()[0]
            item = Input(path, (SEED / path).read_bytes(), spect, masks)
            assert classify(item).kind == "accepted", (spect, masks)


def test_the_corpus_is_there():
    assert len(CORPUS) >= 30  # the crash classes found when the target was written


@pytest.mark.parametrize("entry", CORPUS, ids=[p.name.split("@")[0] for p in CORPUS])
def test_corpus_entry_is_accepted_or_refused_with_a_dose_error(entry):
    outcome = classify(load(entry))
    assert outcome.kind in ("accepted", "refused"), f"{outcome.signature}\n{outcome.detail}"


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(inputs())
def test_bounded_pass(item):
    """40 mutated studies (about 15 s alone on 2 cores); the long pass is ``make fuzz-dicom``."""
    outcome = classify(item)
    assert outcome.kind in ("accepted", "refused"), (
        f"{outcome.signature} [{item.path}: {item.note}]\n{outcome.detail}"
    )


@settings(max_examples=30, deadline=None, database=None, phases=[Phase.generate])
@given(st.data())
def test_a_byte_mutation_of_an_emptied_file_is_still_an_input(data):
    """A first edit may truncate a file to nothing; the second (a bit flip) must not end
    the run (it once raised Hypothesis' InvalidArgument: integers(0, -1))."""
    out, note = _mutate_bytes(data.draw, b"")
    assert isinstance(out, bytes) and note
