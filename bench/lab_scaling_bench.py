"""How `decide` grows with the lab history: 10, 100, 1,000 and 10,000 lab rows.

Usage: python -m bench.lab_scaling_bench [--smoke] [--results PATH]

Record: the long investigational-arm history of ``bench.decision_bench`` (12 cycles
given, so `decide` answers COMPLETED and still assesses every toxicity), its labs
replaced by N rows: one panel of eight tests (HGB, PLAT, WBC, NEUT, CREAT, ALT, AST,
PSA) a day from screening on, so the number of lab days grows with N, as it does for a
patient followed for years. Each `decide` runs in a fresh process per tree and size
(`decide` on a fresh Record, as for each request); the tree of revision ``BEFORE``
(before labs were indexed by test and day) runs the same record in the same run,
interleaved with today's, for the time it took. Its answers are not today's (the organs
at risk and engine version 0.2.0 came after it), so today's answer is compared byte for
byte with that of revision ``REFERENCE`` (before the per-row costs were taken out: the
record rebuilt in the site zone, every bound of every grade read again), which must be
the same.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import RESULTS, Table, extract, fmt_ms, section_header, write_section
from bench.decision_bench import long_record

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "52c8ceb"  # before labs were indexed by test and day (engine/context.py)
REFERENCE = "17b72b9"  # the same answers, before the per-row costs were taken out
SIZES = (10, 100, 1_000, 10_000)
SMOKE = (10, 100)
_PANEL = (  # test, unit, reference low, high, typical value
    ("HGB", "g/dL", 13.0, 17.0, 14.0),
    ("PLAT", "10^9/L", 150, 400, 210),
    ("WBC", "10^9/L", 4.0, 10.0, 5.5),
    ("NEUT", "10^9/L", 1.8, 7.5, 3.5),
    ("CREAT", "mg/dL", 0.7, 1.2, 1.0),
    ("ALT", "U/L", 7, 56, 25),
    ("AST", "U/L", 10, 40, 28),
    ("PSA", "ng/mL", None, None, 48.0),
)
_WORKER = """
import dataclasses, datetime, hashlib, json, sys, time
import engine, protocol
from flexmrt.protocol import canonical_json
data = json.load(open(sys.argv[1]))
as_of, calls = datetime.date.fromisoformat(sys.argv[2]), int(sys.argv[3])
proto = protocol.resolve("flex-mrt")
record = engine.parse_record(data)
answer = engine.decide(proto, dataclasses.replace(record), as_of)
doc = answer.to_json() if hasattr(answer, "to_json") else answer
doc = json.loads(doc) if isinstance(doc, str) else doc
times, cpu = [], []
for _ in range(calls):
    started, cpu_started = time.perf_counter(), time.process_time()
    engine.decide(proto, dataclasses.replace(record), as_of)
    times.append(time.perf_counter() - started)
    cpu.append(time.process_time() - cpu_started)
calls = 0
def count(frame, event, arg):
    global calls
    calls += event in ("call", "c_call")
sys.setprofile(count)
engine.decide(proto, dataclasses.replace(record), as_of)
sys.setprofile(None)
sha = hashlib.sha256(canonical_json(doc).encode()).hexdigest()
out = {"times": times, "cpu": cpu, "calls": calls, "action": doc["action"], "answer_sha256": sha}
print(json.dumps(out))
"""


def scaling_record(labs: int) -> tuple[dict[str, Any], dt.date]:
    """The long record with ``labs`` lab rows, a panel a day from screening; its as_of."""
    record, as_of = long_record()
    first = dt.date(2025, 1, 13)
    rows = []
    for i in range(labs):
        test, unit, low, high, typical = _PANEL[i % len(_PANEL)]
        day = first + dt.timedelta(days=i // len(_PANEL))
        wobble = 1 + ((i * 37) % 11 - 5) / 100  # ±5 %, deterministic
        value = round(max(0.1, typical * 0.999 ** (i // 8)) if test == "PSA" else typical, 2)
        row: dict[str, Any] = {
            "testcd": test,
            "value": round(value * wobble, 2),
            "unit": unit,
            "dtc": f"{day.isoformat()}T08:00:00+00:00",
        }
        if low is not None:
            row.update(ref_low=low, ref_high=high)
        rows.append(row)
    record["labs"] = rows
    last = first + dt.timedelta(days=(labs - 1) // len(_PANEL))
    return record, max(as_of, last + dt.timedelta(days=1))


def run_worker(tree: Path, record: Path, as_of: dt.date, calls: int) -> dict[str, Any]:
    """Seconds per `decide`, wall and CPU (and the answer's action and sha256) from ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run(
        [sys.executable, "-c", _WORKER, str(record), as_of.isoformat(), str(calls)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"decide from {tree} failed: {proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    return result


def calls_for(labs: int) -> int:
    return 6 if labs >= 10_000 else 10 if labs >= 1_000 else 40


def _calls(key: str, size: int) -> int:
    """`decide` calls timed per process: the reference tree is run for its answer only,
    the tree before the index (26 s a call at 10,000 rows) fewer times at that size."""
    if key == "reference":
        return 1
    return min(calls_for(size), 3) if key == "before" and size >= 10_000 else calls_for(size)


def measure(
    sizes: tuple[int, ...], trees: dict[str, Path], rounds: int
) -> dict[int, dict[str, dict[str, Any]]]:
    """{size: {"now" | "before" | "reference": {"times", "cpu", "action",
    "answer_sha256"}}}, interleaved (the reference in the first round only)."""
    out: dict[int, dict[str, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as name:
        for size in sizes:
            data, as_of = scaling_record(size)
            path = Path(name) / f"labs-{size}.json"
            path.write_text(json.dumps(data))
            runs: dict[str, dict[str, Any]] = {}
            for round_ in range(rounds):
                for key, tree in {"now": ROOT, **trees}.items():
                    if key == "reference" and round_:
                        continue
                    got = run_worker(tree, path, as_of, _calls(key, size))
                    if key in runs:
                        runs[key]["times"] += got["times"]
                        runs[key]["cpu"] += got.get("cpu", [])
                    else:
                        runs[key] = got
            out[size] = runs
    return out


def _exponent(t0: float, t1: float, n0: int, n1: int) -> str:
    return f"{math.log(t1 / t0) / math.log(n1 / n0):.2f}"


def _load() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def section(sizes: tuple[int, ...], before: bool, rounds: int) -> str:
    load_at_start = _load()
    trees: dict[str, Path] = {}
    with tempfile.TemporaryDirectory() as name:
        for key, rev in (("before", BEFORE), ("reference", REFERENCE)) if before else ():
            tree = extract(rev, Path(name))
            if tree is not None:
                trees[key] = tree
        results = measure(sizes, trees, rounds)
    now_columns = ["lab rows", "lab days", "answer", "median ms", "CPU ms", "growth exponent"]
    now_columns.append("calls")
    then_columns = ["before: median ms", "before: exponent", "before: calls", "before ÷ now"]
    table = Table([*now_columns, *then_columns, f"same answer as {REFERENCE}"])
    medians: dict[str, dict[int, float]] = {"now": {}, "before": {}}
    cpu: dict[int, float] = {}
    previous: int | None = None
    for size in sizes:
        runs = results[size]
        for key in ("now", "before"):
            if key in runs:
                medians[key][size] = statistics.median(runs[key]["times"])
        now, then, ref = runs["now"], runs.get("before"), runs.get("reference")
        cpu[size] = statistics.median(now["cpu"])

        def exp(key: str, size: int = size, previous: int | None = previous) -> str:
            m = medians[key]
            return (
                "—"
                if previous is None or size not in m
                else _exponent(m[previous], m[size], previous, size)
            )

        table.add(
            f"{size:,}",
            f"{-(-size // len(_PANEL)):,}",
            now["action"],
            fmt_ms(medians["now"][size]),
            fmt_ms(cpu[size]),
            exp("now"),
            f"{now['calls']:,}",
            fmt_ms(medians["before"][size]) if then else "—",
            exp("before") if then else "—",
            f"{then['calls']:,}" if then else "—",
            f"{medians['before'][size] / medians['now'][size]:.1f}×" if then else "—",
            ("yes" if ref["answer_sha256"] == now["answer_sha256"] else "**NO**") if ref else "—",
        )
        previous = size
    calls = ", ".join(f"{calls_for(s) * rounds} at {s:,}" for s in sizes)
    note = (
        f"Median of `decide` calls ({calls}) in fresh processes, {rounds} rounds, today's "
        f"tree and revision {BEFORE}'s interleaved"
        + (
            f" ({_calls('before', sizes[-1]) * rounds} of {BEFORE}'s at {sizes[-1]:,})"
            if before
            else " (revision before not run at this size)"
        )
        + f"; {load_at_start} at the start, {_load()} at the end (the machine is shared, "
        "so absolute figures vary with the load; ratios are from one run). Growth exponent: "
        "log(t / t_previous) / log(N / N_previous) of the wall time — 1 is linear, 2 "
        "quadratic. 'CPU ms': median process CPU time of the same calls (less sensitive to "
        "the other work on the machine than wall time). "
        "'calls': Python and built-in function calls in one `decide` (counted with "
        f"`sys.setprofile`, independent of the load). {BEFORE} answers without the organs "
        "at risk added since, so its time is for somewhat less work. 'same answer': the "
        f"canonical JSON of today's answer and revision {REFERENCE}'s (before the per-row "
        "costs were taken out) has the same sha256."
    )
    verdict = ""
    if 1_000 in medians["now"] and 10_000 in medians["now"]:
        ratio = medians["now"][10_000] / medians["now"][1_000]
        met = "met" if ratio <= 10 else "MISSED"
        verdict = (
            f"\nTarget: `decide` on 10,000 lab rows within 10× of 1,000: {ratio:.1f}× wall time "
            f"— {met} ({cpu[10_000] / cpu[1_000]:.1f}× CPU time).\n"
        )
    return (
        section_header("`decide` against the length of the lab history", note)
        + "\n"
        + table.markdown()
        + verdict
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="10 and 100 lab rows (CI)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="RESULTS.md to rewrite")
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else SIZES
    body = section(sizes, before=not args.smoke, rounds=1 if args.smoke else 2)
    write_section("lab-scaling", body, args.results)
    print(body, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
