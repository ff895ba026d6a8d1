"""Benchmarks kept working: each runs at smoke size and yields a well-formed table.

No timing is asserted here (performance is measured by ``make bench``, never in
tests); only that every benchmark runs, and one regression found by them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import scipy.fft

from flexmrt import engine, protocol
from flexmrt.gpu_dose.convolve import convolve_kernel

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository: bench/
from bench import (
    decision_bench,
    dose_bench,
    gpu_bench,
    grpc_bench,
    lab_scaling_bench,
    memory_bench,
    oar_bench,
)
from bench.common import percentile, read_section, write_section


def test_cpu_dose_ffts_use_every_core(monkeypatch):
    """The CPU convolution threads its FFTs over all cores (1.7× at 256³ on 2 cores)."""
    seen = []
    rfftn = scipy.fft.rfftn

    def spy(*args, **kwargs):
        seen.append(scipy.fft.get_workers())
        return rfftn(*args, **kwargs)

    monkeypatch.setattr(scipy.fft, "rfftn", spy)
    convolve_kernel(np.ones((12, 12, 12), dtype=np.float32), 4.8)
    assert seen and set(seen) == {len(os.sched_getaffinity(0))}


def _tables(text: str) -> list[list[list[str]]]:
    """Markdown tables in ``text``: rows of cells, header first (rule line dropped)."""
    tables, current = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            current.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif current:
            tables.append([r for r in current if not set("".join(r)) <= {"-"}])
            current = []
    return tables


def _well_formed(path, sections: list[str]) -> None:
    for name in sections:
        body = read_section(name, path)
        assert body is not None, f"section {name} missing"
        assert body.startswith("### ") and "Measured " in body
        tables = _tables(body)
        assert tables, f"section {name} has no table"
        for table in tables:
            assert len(table) >= 2 and all(len(r) == len(table[0]) for r in table), name
            assert all(cell for row in table for cell in row), name


def test_sections_are_rewritten_in_place(tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_text("# Results\n\nkept by hand\n")
    write_section("a", "first", path)
    write_section("b", "other", path)
    write_section("a", "second", path)
    text = path.read_text()
    assert "kept by hand" in text and "first" not in text and text.count("bench:a:begin") == 1
    assert read_section("a", path) == "second" and read_section("b", path) == "other"


def test_a_before_revision_runs_its_own_cli(tmp_path):
    """A tree from before the `flexmrt` namespace runs from its own folders; under
    `flexmrt.server.cli` the installed checkout would have answered instead."""
    tree = tmp_path / "rev"
    (tree / "server").mkdir(parents=True)
    (tree / "setup.py").write_text("from setuptools import setup\nsetup(packages=['server'])\n")
    (tree / "server" / "__init__.py").write_text("")
    (tree / "server" / "cli.py").write_text(
        "from pathlib import Path\n\ndef main(argv):\n"
        "    Path('ran-here').write_text(' '.join(argv))\n    return 0\n"
    )
    _, mib = memory_bench.run(["study", "records"], tree)
    assert (tree / "ran-here").read_text() == "study records" and mib > 0


def test_percentile_is_linear_between_ranks():
    assert percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.5
    assert percentile(list(range(101)), 99) == 99


def test_dose_bench_smoke(tmp_path):
    path = tmp_path / "RESULTS.md"
    assert dose_bench.main(["--smoke", "--results", str(path)]) == 0
    _well_formed(path, ["dose-cpu", "dose-batch", "dose-e2e"])
    assert "peak RSS" in read_section("dose-e2e", path)


def test_oar_bench_smoke(tmp_path):
    path = tmp_path / "RESULTS.md"
    assert oar_bench.main(["--smoke", "--results", str(path)]) == 0
    _well_formed(path, ["dose-oar-stages", "dose-batch-dask"])
    assert "statistics, uncertainty, organs" in read_section("dose-oar-stages", path)


def test_gpu_bench_smoke_on_numpy_stand_in(tmp_path):
    assert gpu_bench.main(["--smoke", "--stand-in", "--out", str(tmp_path)]) == 0
    _well_formed(tmp_path / "gpu_bench.md", ["dose-gpu"])
    merged = tmp_path / "merged.md"
    gpu_bench.merge(tmp_path / "gpu_bench.md", merged)
    assert read_section("dose-gpu", merged) == read_section("dose-gpu", tmp_path / "gpu_bench.md")


def test_decision_bench_smoke(tmp_path):
    path = tmp_path / "RESULTS.md"
    assert decision_bench.main(["--smoke", "--results", str(path)]) == 0
    _well_formed(path, ["decisions", "decisions-profile"])


def test_long_record_has_12_cycles_and_100_labs():
    record, as_of = decision_bench.long_record()
    assert len(record["administrations"]) == 12 and len(record["labs"]) == 100
    assert engine.decide(protocol.resolve("flex-mrt"), engine.parse_record(record), as_of)


def test_lab_scaling_bench_smoke(tmp_path):
    path = tmp_path / "RESULTS.md"
    assert lab_scaling_bench.main(["--smoke", "--results", str(path)]) == 0
    _well_formed(path, ["lab-scaling"])


def test_scaling_record_has_the_lab_rows_asked_for():
    for labs in (10, 1_000):
        record, as_of = lab_scaling_bench.scaling_record(labs)
        assert len(record["labs"]) == labs
        answer = engine.decide(protocol.resolve("flex-mrt"), engine.parse_record(record), as_of)
        assert answer.action == "COMPLETED"


def test_grpc_bench_smoke(tmp_path):
    path = tmp_path / "RESULTS.md"
    assert grpc_bench.main(["--smoke", "--results", str(path)]) == 0
    _well_formed(path, ["grpc", "grpc-profile"])
