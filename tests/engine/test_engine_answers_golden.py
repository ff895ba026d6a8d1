"""Canonical JSON of every rule case and example answer is byte-identical to the pinned one.

See ``answers_golden.py``: a changed hash means a changed answer (and a changed decision
log entry on replay); re-pin only a change made on purpose.
"""

from __future__ import annotations

import json

from answers_golden import GOLDEN, digests


def test_every_answer_is_byte_identical_to_the_golden() -> None:
    pinned = json.loads(GOLDEN.read_text("utf-8"))
    now = digests()
    assert len(pinned) > 300  # every case and example is pinned, not a sample
    assert sorted(now) == sorted(pinned), "answers added or gone: re-pin on purpose"
    changed = sorted(name for name in pinned if now[name] != pinned[name])
    assert not changed, f"{len(changed)} answer(s) changed: {changed[:20]}"
