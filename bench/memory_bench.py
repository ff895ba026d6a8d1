"""Peak memory of the commands that read a lot: audit verify, study, replay, dose.

Usage: python -m bench.memory_bench [--smoke] [--results PATH] [--only dose] [--before REV]

Each command runs in a fresh process; its peak RSS is that process's own VmHWM
(``ru_maxrss`` of a child would include the parent's size at the fork). Inputs:
a SQLite decision log of 100,000 entries (each the canonical JSON of an example
record with its own subject id, and that record's real answer), 10,000 record files
(the same record, one subject id each), a log of 10,000 distinct decisions for
``replay --log``, and the dose phantom at 256³ (CT at twice the in-plane
resolution). The same commands also run from the tree of revision ``BEFORE``
(before streaming and the in-place CT volume), or of ``--before REV``, in the same run.
``--only dose`` measures the dose command alone (section ``memory-dose``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bench.common import RESULTS, Table, cli_module, extract, section_header, write_section

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "5ae3594"  # before streaming study/replay and the in-place CT volume
EXAMPLE = ROOT / "examples" / "patients" / "flx-001-eligible.yaml"
AS_OF = date(2025, 1, 15)
_MEASURE = """
import sys
from MODULE import main
rc = main(sys.argv[1:])
with open("/proc/self/status") as status:
    hwm = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
sys.stderr.write(f"VmHWM {hwm}\\n")
sys.exit(rc)
"""


@dataclass(frozen=True)
class Sizes:
    entries: int
    records: int
    dose: int  # SPECT voxels per side


FULL = Sizes(100_000, 10_000, 256)
SMOKE = Sizes(500, 50, 32)


def _record_text() -> tuple[str, dict[str, Any]]:
    """The example record's canonical JSON with a subject-id placeholder, and the record."""
    from flexmrt import engine
    from flexmrt.protocol import canonical_json

    record = engine.read_record_text(EXAMPLE.read_text(), str(EXAMPLE))
    doc = json.loads(json.dumps(record.doc))
    doc["subject"]["id"] = "@ID@"
    return canonical_json(doc), doc


def make_records(folder: Path, count: int) -> list[Path]:
    """``count`` record files, one subject id each."""
    text, _ = _record_text()
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"s{i:05d}.json"
        path.write_text(text.replace("@ID@", f"S{i:05d}"))
        paths.append(path)
    return paths


def make_log(path: Path, count: int) -> None:
    """A SQLite decision log of ``count`` entries, sealed and chained as the service does."""
    from flexmrt import engine
    from flexmrt.protocol import Registry, canonical_json
    from flexmrt.server.decision_log import LogEntry, open_log

    text, _ = _record_text()
    protocol = Registry.bundled().resolve("flex-mrt", AS_OF)
    record = engine.read_record_json(text.replace("@ID@", "S000000"), "record")
    answer = engine.decide(protocol, record, AS_OF)  # the real answer (its size matters)
    log = open_log(path)
    try:
        batch = []
        for i in range(count):
            input_json = text.replace("@ID@", f"S{i:06d}")
            batch.append(
                LogEntry(
                    decision_id=answer.envelope.decision_id,
                    kind="next_action",
                    caller="bench",
                    subject_id=f"S{i:06d}",
                    protocol_ref=protocol.ref,
                    protocol_sha256=protocol.sha256,
                    input_json=input_json,
                    input_sha256=hashlib.sha256(input_json.encode()).hexdigest(),
                    as_of=AS_OF.isoformat(),
                    engine_version=engine.ENGINE_VERSION,
                    answer_json=canonical_json(answer.to_json()),
                )
            )
            if len(batch) == 2000 or i == count - 1:
                log.append_many(batch)
                batch = []
    finally:
        log.close()


def run(argv: list[str], tree: Path = ROOT) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of `flexmrt ARGV` from ``tree`` in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE.replace("MODULE", cli_module(tree)), *argv],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seconds = time.perf_counter() - started
    hwm = [line.split()[1] for line in proc.stderr.splitlines() if line.startswith("VmHWM")]
    if not hwm or proc.returncode not in (0, 1):
        raise RuntimeError(f"flexmrt {argv[0]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return seconds, int(hwm[0]) / 1024


@dataclass(frozen=True)
class Row:
    command: str
    work: str
    target_mib: float
    argv: list[str]


def rows(sizes: Sizes, tmp: Path, only: str | None = None) -> Iterator[Row]:
    """The commands to measure (their inputs are made on the way); ``only``: dose alone."""
    if only == "dose":
        yield from _dose_rows(sizes, tmp)
        return
    log = tmp / "audit.sqlite"
    make_log(log, sizes.entries)
    yield Row(
        "audit verify", f"{sizes.entries:,} entries", 200, ["audit", "verify", "--db", str(log)]
    )
    records = [str(p) for p in make_records(tmp / "records", sizes.records)]
    on = ["--as-of", AS_OF.isoformat()]
    yield Row(
        "study",
        f"{sizes.records:,} records",
        200,
        ["study", "--protocol", "flex-mrt", *on, *records],
    )
    yield Row(
        "replay",
        f"{sizes.records:,} records",
        200,
        ["replay", "--from", "flex-mrt", "--to", "pluvicto-label", *on, *records],
    )
    decisions = tmp / "decisions.sqlite"
    make_log(decisions, sizes.records)
    yield Row(
        "replay --log",
        f"{sizes.records:,} decisions",
        200,
        ["replay", "--from", "flex-mrt", "--to", "pluvicto-label", "--log", str(decisions)],
    )
    yield from _dose_rows(sizes, tmp)


def _dose_rows(sizes: Sizes, tmp: Path) -> Iterator[Row]:
    if sizes.dose:
        work = f"{sizes.dose}³ SPECT, CT {2 * sizes.dose}²×{sizes.dose}"
        yield Row("dose", work, 800, _dose(sizes, tmp))


def _dose(sizes: Sizes, tmp: Path) -> list[str]:
    from flexmrt.gpu_dose import phantom

    n = sizes.dose
    study = phantom.make_phantom(tmp / "phantom", shape=(n, n, n), voxel_mm=4.8)
    return [
        "dose",
        "--spect",
        str(study.spect[0]),
        "--masks",
        str(study.masks),
        "--ct",
        str(study.ct),
        "--out",
        str(tmp / "dose-out"),
        "--device",
        "cpu",
        "--teff-h",
        "kidney=35.5",
        "--teff-h",
        "tumour=60",
    ]


def measure(
    sizes: Sizes, before: str | None, only: str | None = None
) -> tuple[list[tuple[Row, tuple[float, float], Any]], bool]:
    """(row, (s, MiB) now, (s, MiB) before or None) for every row; whether before ran."""
    out = []
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        old = extract(before, tmp) if before else None
        for row in rows(sizes, tmp, only):
            now = run(row.argv)
            then = _quiet(lambda row=row: run(row.argv, old)) if old else None  # type: ignore[misc]
            out.append((row, now, then))
    return out, old is not None


def _quiet(fn: Callable[[], tuple[float, float]]) -> tuple[float, float] | None:
    try:
        return fn()
    except RuntimeError:
        return None


def section(sizes: Sizes, before: str | None, only: str | None = None) -> str:
    results, ran_before = measure(sizes, before, only)
    table = Table(["command", "input", "peak RSS MiB", "s", "before: MiB", "before: s", "target"])
    verdicts = []
    for row, (seconds, mib), then in results:
        table.add(
            f"`flexmrt {row.command}`",
            row.work,
            f"{mib:,.0f}",
            f"{seconds:.1f}",
            f"{then[1]:,.0f}" if then else "—",
            f"{then[0]:.1f}" if then else "—",
            f"< {row.target_mib:.0f} MiB",
        )
        verdicts.append(
            f"- `flexmrt {row.command}` over {row.work}: {mib:,.0f} MiB — "
            f"{'met' if mib < row.target_mib else 'MISSED'}"
        )
    note = (
        "Peak RSS (VmHWM) of each command in a fresh process, one run each; seconds are wall "
        "time on a machine others share (indicative only). "
        + (
            f"'before' is the same command from revision {before}, in the same run; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end."
            if ran_before
            else "'before' not run at this size."
        )
    )
    return (
        section_header("Peak memory of the commands that read a lot", note)
        + "\n"
        + table.markdown()
        + "\nTargets:\n\n"
        + "\n".join(verdicts)
        + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small inputs (CI)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="RESULTS.md to rewrite")
    parser.add_argument("--only", choices=["dose"], help="measure this command alone")
    parser.add_argument("--before", default=BEFORE, help="revision to compare with")
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else FULL
    body = section(sizes, before=None if args.smoke else args.before, only=args.only)
    write_section(f"memory-{args.only}" if args.only else "memory", body, args.results)
    print(body, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
