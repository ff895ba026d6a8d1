"""`make fuzz`: drive each target with mutated inputs; count outcomes; keep what fails.

    python tests/fuzz/run.py [--target protocol|record|grpc ...] [--count N] [--minutes M]
                             [--seed S]

Each target runs until it has tried ``--count`` inputs (default 100,000) or for
``--minutes`` (default 60, or FUZZ_MINUTES), whichever comes first, and says which.
Inputs are drawn in batches of :data:`BATCH` with seeds from ``--seed`` (printed), so
a run can be repeated and Hypothesis' bookkeeping stays the size of one batch.
Inputs that fail (an unhandled exception, a refusal without code or location, an
INTERNAL/UNKNOWN status, a hang) are written under ``tests/fuzz/corpus/<target>/``,
where ``tests/fuzz/test_fuzz.py`` replays them on every test run. Exit status 1 when
any input failed.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import contextlib

from fuzz_strategies import STRATEGIES
from fuzz_targets import Failure, Hang, run_one, save_failure
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as fixed_seed

BATCH = 1000  # inputs per Hypothesis run


class _Stop(BaseException):
    """The time limit of a target was reached."""


def fuzz(target: str, count: int, seconds: float, seed: int = 0) -> tuple[Counter[str], int, bool]:
    """Run ``target``; (outcome counts, failures, whether the count was reached)."""
    outcomes: Counter[str] = Counter()
    failures = 0
    start = time.monotonic()
    last_report = start
    rng = random.Random(seed)

    def one(data: object) -> None:
        nonlocal failures, last_report
        if time.monotonic() - start > seconds:
            raise _Stop()
        try:
            outcome = run_one(target, data)
        except Failure as failure:
            failures += 1
            outcome = f"FAILURE {failure.signature}"
            path = save_failure(target, data)
            print(f"  {outcome} -> {path}", flush=True)
        except Hang:
            failures += 1
            outcome = "HANG"
            print(f"  HANG -> {save_failure(target, data)}", flush=True)
        outcomes[outcome] += 1
        now = time.monotonic()
        if now - last_report > 60:
            last_report = now
            print(f"  {target}: {sum(outcomes.values()):,} inputs, {now - start:.0f} s", flush=True)

    strategy = STRATEGIES[target]()
    while (done := sum(outcomes.values())) < count and time.monotonic() - start <= seconds:
        batch = settings(
            max_examples=min(BATCH, count - done),
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )(fixed_seed(rng.getrandbits(64))(given(strategy)(one)))
        with contextlib.suppress(_Stop):
            batch()
        if sum(outcomes.values()) == done:  # a batch that ran nothing: stop, do not spin
            break
    done = sum(outcomes.values())
    return outcomes, failures, done >= count


def _report(target: str, outcomes: Counter[str], failures: int, reached: bool, count: int) -> None:
    total = sum(outcomes.values())
    accepted = outcomes.get("accepted", 0)
    refused = sum(n for k, n in outcomes.items() if k.startswith("refused:"))
    hangs = outcomes.get("HANG", 0)
    print(
        f"{target}: {total:,} inputs: {accepted:,} accepted, {refused:,} refused, "
        f"{failures - hangs:,} unhandled, {hangs:,} hangs"
    )
    for key, n in sorted(outcomes.items(), key=lambda kv: -kv[1]):
        print(f"    {n:>8,}  {key}")
    if not reached:
        print(f"  {target}: stopped at the time limit before {count:,} inputs ({total:,} run)")


def _results(
    rows: list[tuple[str, Counter[str], int, bool, float]], count: int, minutes: float
) -> str:
    """The bench/RESULTS.md section of this run: inputs and outcomes per target."""
    from bench.common import section_header

    full = count >= 100_000 and minutes >= 60
    note = (
        "A full run (`make fuzz`)."
        if full
        else f"A shortened run: at most {count:,} inputs or {minutes:g} min per target "
        "(a full run is 100,000 inputs or 60 min)."
    )
    lines = [
        section_header("Fuzzing (`make fuzz`)", note),
        "| target | inputs | accepted | refused | unhandled | hangs | minutes | count reached |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for target, outcomes, failures, reached, seconds in rows:
        hangs = outcomes.get("HANG", 0)
        refused = sum(n for k, n in outcomes.items() if k.startswith("refused:"))
        lines.append(
            f"| {target} | {sum(outcomes.values()):,} | {outcomes.get('accepted', 0):,} | "
            f"{refused:,} | {failures - hangs:,} | {hangs:,} | {seconds / 60:.1f} | "
            f"{'yes' if reached else 'no (time limit)'} |"
        )
    codes: Counter[str] = Counter()
    for _, outcomes, *_ in rows:
        codes.update({k[8:]: n for k, n in outcomes.items() if k.startswith("refused:")})
    top = ", ".join(f"{code} {n:,}" for code, n in codes.most_common(12))
    lines += ["", f"Refusals by code (most frequent): {top}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", action="append", choices=sorted(STRATEGIES))
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("FUZZ_MINUTES", 60)))
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument(
        "--record", action="store_true", help="write the counts to bench/RESULTS.md"
    )
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)  # the server's own log lines are not the report
    bad = 0
    rows = []
    for target in args.target or sorted(STRATEGIES):
        started, cpu = time.monotonic(), time.process_time()
        print(
            f"{target}: up to {args.count:,} inputs or {args.minutes:g} min, seed {args.seed}",
            flush=True,
        )
        outcomes, failures, reached = fuzz(target, args.count, args.minutes * 60, args.seed)
        _report(target, outcomes, failures, reached, args.count)
        seconds = time.monotonic() - started
        cpu = time.process_time() - cpu  # this process's own CPU time (a shared machine)
        n = sum(outcomes.values())
        print(
            f"  {target}: {seconds:.0f} s, {n / max(seconds, 1e-9):.1f} inputs/s; "
            f"{cpu:.0f} CPU-s, {n / max(cpu, 1e-9):.1f} inputs per CPU-s",
            flush=True,
        )
        rows.append((target, outcomes, failures, reached, seconds))
        bad += failures
    if args.record:
        from bench.common import write_section

        write_section("fuzz", _results(rows, args.count, args.minutes))
        print("counts written to bench/RESULTS.md")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
