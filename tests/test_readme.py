"""Every runnable `console` block of the READMEs prints what it shows (see readme_blocks)."""

from __future__ import annotations

from pathlib import Path

import pytest
from readme_blocks import ROOT, Block, all_blocks, blocks, execute, normalise

BLOCKS = [b for b in all_blocks() if b.run]


def test_the_readmes_have_runnable_blocks() -> None:
    for doc in ("README.md", "examples/patients/README.md"):
        assert any(b.run and b.commands for b in blocks(ROOT / doc)), doc


@pytest.mark.parametrize("block", BLOCKS, ids=[b.name for b in BLOCKS])
def test_console_block_output_is_current(block: Block) -> None:
    assert block.commands, f"{block.name}: a console block with no `$ ` command"
    for command, output in zip(block.commands, execute(block), strict=True):
        shown, real = normalise(command.output), normalise(output)
        assert shown == real, (
            f"{block.name}: `{command.shell}` printed something else than the README shows; "
            "refresh with `.venv/bin/python -m tests.readme_blocks --update`\n"
            + "\n".join(["--- README", *shown, "+++ real", *real])
        )


def test_a_drifted_output_is_caught(tmp_path: Path) -> None:
    doc = tmp_path / "README.md"
    doc.write_text(
        "x\n<!-- setup: echo hi > a.txt -->\n```console\n$ cat a.txt\nhello\n$ echo \\\n"
        "  ok\nok\n```\n\n<!-- no-run -->\n```console\n$ sleep 1000\n```\n",
        "utf-8",
    )
    first, second = blocks(doc)
    assert (first.run, second.run, first.setup) == (True, False, ["echo hi > a.txt"])
    real = execute(first)
    assert normalise(first.commands[0].output) != normalise(real[0])  # "hello" vs "hi"
    assert normalise(first.commands[1].output) == normalise(real[1]) == ["ok"]


def test_ids_and_timestamps_are_normalised() -> None:
    assert normalise(["decision 0b4b69f5295258fd9313b5128b207a42", "49fe58bd9910…  x"]) == [
        "decision <hex>",
        "<hex>  x",
    ]
    assert normalise(["at 2026-12-02T20:00:01+00:00 ok  "]) == ["at <time> ok"]


def test_update_rewrites_outputs_from_real_runs(tmp_path: Path) -> None:
    from readme_blocks import update

    doc = tmp_path / "README.md"
    doc.write_text(
        "<!-- setup: echo hi > a.txt -->\n```console\n$ cat a.txt\nstale\n$ echo two\n```\n"
        "<!-- no-run -->\n```console\n$ sleep 1000\nkept\n```\n",
        "utf-8",
    )
    assert update(doc) == 1
    assert doc.read_text("utf-8") == (
        "<!-- setup: echo hi > a.txt -->\n```console\n$ cat a.txt\nhi\n\n$ echo two\ntwo\n```\n"
        "<!-- no-run -->\n```console\n$ sleep 1000\nkept\n```\n"
    )
    assert update(doc) == 0  # current now
