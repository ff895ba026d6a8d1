"""The kidney BED line of `flexmrt decide` never contradicts the cap rule's note.

A DISCONTINUE for the kidney cap may say "a 5.9 GBq cycle would still fit"; the BED line
then names the activity its count is for, so the two never read as "0 more cycles fit"
beside "a 5.9 GBq cycle would still fit".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flexmrt.server.cli import main

FLX011 = str(Path(__file__).parents[2] / "examples" / "patients" / "flx-011-kidney-cap.yaml")


def test_cap_note_and_cycle_count_agree(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["decide", FLX011, "--protocol", "flex-mrt", "--as-of", "2025-08-18"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "a 5.9 GBq cycle would still fit" in out
    assert "0 more cycle(s) fit" not in out
    assert "0 more cycle(s) at 7.4 GBq fit" in out
