"""The README's `console` blocks, run for real and compared with what they show.

A ```console block lists commands (``$ cmd``, continued by a trailing backslash)
each followed by the output it prints (stdout and stderr together, as a terminal
shows them). Comment lines just above the fence steer it:

* ``<!-- no-run -->``: never run (servers, GPU-only commands);
* ``<!-- setup: CMD -->``: run CMD first, output unchecked (e.g. write a draft).

Every block runs in a fresh temporary folder that holds ``examples`` and
``protocol`` of this checkout (as links), with this interpreter's ``bin`` first on
``PATH``. Before comparing, decision ids and sha256s (any run of 12 or more hex
digits), timestamps and the temporary folder are normalised, so a new protocol
revision or engine version does not fail the test; everything else must match.

Refresh the outputs in place from real runs after a change::

    .venv/bin/python -m tests.readme_blocks --update
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = (ROOT / "README.md", ROOT / "examples" / "patients" / "README.md")

_FENCE = re.compile(r"^```console\s*$")
_COMMENT = re.compile(r"^<!--\s*(no-run|setup:\s*(?P<setup>.*?))\s*-->\s*$")
_HEX = re.compile(r"\b[0-9a-f]{12,}\b…?")
_STAMP = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?")


@dataclass
class Command:
    text: list[str]  # the command's lines as written (with "$ " and continuations)
    output: list[str] = field(default_factory=list)

    @property
    def shell(self) -> str:
        first, *rest = self.text
        return "\n".join([first[2:], *rest])


@dataclass
class Block:
    doc: Path
    line: int  # 1-based line of the opening fence
    end: int  # 0-based index of the closing fence
    run: bool
    setup: list[str]
    commands: list[Command]

    @property
    def name(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def blocks(doc: Path) -> list[Block]:
    """Every console block of ``doc``, with its commands and shown outputs."""
    lines = doc.read_text("utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        if not _FENCE.match(lines[i]):
            i += 1
            continue
        run, setup = True, []
        j = i - 1
        while j >= 0 and (m := _COMMENT.match(lines[j])):
            if m.group("setup") is not None:
                setup.insert(0, m.group("setup"))
            else:
                run = False
            j -= 1
        start = i
        i += 1
        commands: list[Command] = []
        while i < len(lines) and not lines[i].startswith("```"):
            line = lines[i]
            if line.startswith("$ "):
                text = [line]
                while text[-1].endswith("\\") and i + 1 < len(lines):
                    i += 1
                    text.append(lines[i])
                commands.append(Command(text))
            elif commands:
                commands[-1].output.append(line)
            i += 1
        found.append(Block(doc, start + 1, i, run, setup, commands))
        i += 1
    return found


def all_blocks() -> list[Block]:
    return [b for doc in DOCS for b in blocks(doc)]


def _trim(lines: list[str]) -> list[str]:
    out = [line.rstrip() for line in lines]
    while out and not out[-1]:
        out.pop()
    return out


def normalise(lines: list[str]) -> list[str]:
    return [_STAMP.sub("<time>", _HEX.sub("<hex>", line)) for line in _trim(lines)]


def execute(block: Block) -> list[list[str]]:
    """Run the block's setup and commands in a fresh folder; each command's output lines."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "COLUMNS": "100",
        "FLEXMRT_DEVICE": "cpu",
        "NO_COLOR": "1",
    }
    env.pop("PYTHONPATH", None)
    outputs = []
    with tempfile.TemporaryDirectory(prefix="readme-") as tmp:
        for name in ("examples", "protocol"):
            (Path(tmp) / name).symlink_to(ROOT / name)
        for cmd in block.setup:
            subprocess.run(
                ["bash", "-c", cmd], cwd=tmp, env=env, check=True, capture_output=True, timeout=60
            )
        for command in block.commands:
            done = subprocess.run(
                ["bash", "-c", command.shell],
                cwd=tmp,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=300,
                stdin=subprocess.DEVNULL,
            )
            text = done.stdout.replace(os.path.realpath(tmp) + "/", "").replace(tmp + "/", "")
            outputs.append(_trim(text.splitlines()))
    return outputs


def update(doc: Path) -> int:
    """Rewrite every runnable block's outputs in ``doc`` from real runs; blocks changed."""
    lines = doc.read_text("utf-8").splitlines()
    changed = 0
    for block in reversed([b for b in blocks(doc) if b.run]):
        outputs = execute(block)
        body: list[str] = []
        for command, output in zip(block.commands, outputs, strict=True):
            body += command.text + output
            if len(block.commands) > 1 and command is not block.commands[-1] and output:
                body.append("")
        old = lines[block.line : block.end]
        if old != body:
            changed += 1
            lines[block.line : block.end] = body
    doc.write_text("\n".join(lines) + "\n", "utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.readme_blocks", description=__doc__)
    parser.add_argument("--update", action="store_true", help="rewrite outputs from real runs")
    args = parser.parse_args(argv)
    if not args.update:
        parser.print_help()
        return 2
    for doc in DOCS:
        n = update(doc)
        print(f"{doc.relative_to(ROOT)}: {n} block(s) rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
