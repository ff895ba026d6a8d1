"""Shared benchmark plumbing: machine facts, timing, percentiles, tables, RESULTS.md sections.

Every figure is a median over repeated runs; contenders compared in one table are
timed round-robin (one run of each per round), so drift on a shared machine hits
them alike and their ratio is measured in the same run.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import re
import statistics
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "RESULTS",
    "Table",
    "cli_module",
    "extract",
    "fmt_ms",
    "fmt_ratio",
    "machine",
    "machine_line",
    "percentile",
    "read_section",
    "round_robin",
    "section_header",
    "short_path",
    "timed",
    "write_section",
]

RESULTS = Path(__file__).with_name("RESULTS.md")
ROOT = Path(__file__).resolve().parent.parent


def extract(rev: str, into: Path) -> Path | None:
    """The repository tree at ``rev`` (git archive) under ``into``; None when unavailable."""
    archive = into / f"{rev}.tar"
    try:
        with archive.open("wb") as out:
            subprocess.run(["git", "archive", rev], cwd=ROOT, stdout=out, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    tree = into / rev
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def cli_module(tree: Path) -> str:
    """The module that runs `flexmrt` from the source ``tree`` (a checkout or a revision's
    archive): ``flexmrt.server.cli`` where its setup.py installs the packages as
    ``flexmrt.*``, else ``server.cli`` from its own folders — under ``flexmrt.server.cli``
    the installed checkout, not that tree, would answer."""
    setup = tree / "setup.py"
    namespaced = tree == ROOT or (setup.is_file() and "flexmrt." in setup.read_text())
    return "flexmrt.server.cli" if namespaced else "server.cli"


_LIBS = ("numpy", "scipy", "pydicom", "highdicom", "grpcio", "protobuf", "cupy-cuda12x")


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else platform.machine()


def _memory_gib() -> float | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    match = re.search(r"^MemTotal:\s*(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) / 2**20 if match else None


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """Cores, CPU model, memory, Python and library versions of this process's machine."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    libs = {name: v for name in _LIBS if (v := _version(name))}
    return {
        "cores": cores,
        "cpu": _cpu_model(),
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "libs": libs,
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
    }


def machine_line(info: dict[str, Any] | None = None) -> str:
    """One line naming the machine, for the head of each table."""
    m = info or machine()
    mem = f"{m['memory_gib']:.0f} GiB" if m["memory_gib"] else "memory unknown"
    libs = ", ".join(f"{k} {v}" for k, v in m["libs"].items())
    return f"{m['cores']} cores ({m['cpu']}), {mem}; Python {m['python']}; {libs}"


def section_header(title: str, note: str = "") -> str:
    """A section's heading with the date and the machine it was measured on."""
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"### {title}", "", f"Measured {today} on {machine_line()}."]
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds one call of ``fn`` took, and what it returned."""
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def round_robin(
    contenders: dict[str, Callable[[], Any]], repeats: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Seconds per run of each contender, interleaved: one of each per round."""
    for _ in range(warmup):
        for fn in contenders.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            times[name].append(timed(fn)[0])
    return times


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100), linear between closest ranks (NumPy's default)."""
    data = sorted(values)
    if not data:
        raise ValueError("percentile of no values")
    pos = (len(data) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def median(values: Iterable[float]) -> float:
    return statistics.median(values)


def fmt_ms(seconds: float) -> str:
    """Milliseconds with three significant figures."""
    ms = seconds * 1e3
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def fmt_ratio(value: float) -> str:
    return f"{value:.2f}×"


class Table:
    """A Markdown table built row by row."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self.rows: list[list[str]] = []

    def add(self, *cells: Any) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"row has {len(cells)} cells, table has {len(self.columns)}")
        self.rows.append([str(c) for c in cells])

    def markdown(self) -> str:
        head = "| " + " | ".join(self.columns) + " |"
        rule = "|" + "|".join("---" for _ in self.columns) + "|"
        body = ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join([head, rule, *body]) + "\n"


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"


def write_section(name: str, body: str, path: Path = RESULTS) -> None:
    """Replace the text between ``name``'s markers in ``path`` (append the section if new)."""
    begin, end = _markers(name)
    block = f"{begin}\n{body.rstrip()}\n{end}"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def read_section(name: str, path: Path = RESULTS) -> str | None:
    """The text between ``name``'s markers in ``path``, or None."""
    begin, end = _markers(name)
    text = path.read_text() if path.exists() else ""
    match = re.search(re.escape(begin) + r"\n(.*?)\n" + re.escape(end), text, re.DOTALL)
    return match.group(1) if match else None


def short_path(file: str) -> str:
    """A profiled function's file: relative to the repository, or from site-packages on."""
    path = Path(file)
    root = RESULTS.resolve().parent.parent
    if (
        path.is_absolute()
        and path.resolve().is_relative_to(root)
        and "site-packages" not in path.parts
    ):
        return str(path.resolve().relative_to(root))
    if "site-packages" in path.parts:
        return "/".join(path.parts[path.parts.index("site-packages") + 1 :])
    return "/".join(path.parts[-2:]) if path.suffix else file
