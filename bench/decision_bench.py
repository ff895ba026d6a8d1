"""In-process decision benchmarks: `decide` and `eligibility` latency, and where the time goes.

Usage: python -m bench.decision_bench [--smoke] [--results PATH]

Records: every example patient (examples/patients/*.yaml, evaluated on the date
its header documents) and a synthetic long history (12 cycles given in the
investigational arm, 100 lab rows, SPECT/CT and ECOG every cycle). Latencies are
per call (p50, p99 over many calls, all operations interleaved). Tables:
``decisions`` (latency) and ``decisions-profile`` (cProfile of `decide` on the
long record, own time per function).
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import datetime as dt
import pstats
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import (
    RESULTS,
    Table,
    percentile,
    round_robin,
    section_header,
    short_path,
    write_section,
)
from flexmrt import engine, protocol

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "patients"
PROTOCOL = "flex-mrt"
_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
_AS_OF = re.compile(r"--as-of (\d{4}-\d{2}-\d{2})")
_LAB_UNITS = {
    "HGB": ("g/dL", 13.0, 17.0),
    "PLAT": ("10^9/L", 150, 400),
    "WBC": ("10^9/L", 4.0, 10.0),
    "NEUT": ("10^9/L", 1.8, 7.5),
    "CREAT": ("mg/dL", 0.7, 1.2),
    "ALT": ("U/L", 7, 56),
    "PSA": ("ng/mL", None, None),
    "AST": ("U/L", 10, 40),
    "BILI": ("mg/dL", 0.1, 1.2),
    "TESTO": ("ng/dL", None, None),
}


def example_as_of(text: str) -> dt.date:
    """The evaluation date a patient file documents in its header comment.

    The ``--as-of`` of the first documented outcome under flex-mrt (else of any
    documented outcome); else the latest date anywhere in the file.
    """
    documented = [
        line for line in text.splitlines() if line.startswith("#") and _AS_OF.search(line)
    ]
    preferred = [line for line in documented if f"--protocol {PROTOCOL}" in line] or documented
    if preferred:
        return dt.date.fromisoformat(_AS_OF.search(preferred[0]).group(1))  # type: ignore
    return max(dt.date.fromisoformat(d) for d in _DATE.findall(text))


def example_records() -> list[tuple[str, dict[str, Any] | str, dt.date]]:
    """(name, YAML text, as_of) for each example patient."""
    return [
        (p.stem, p.read_text(), example_as_of(p.read_text()))
        for p in sorted(EXAMPLES.glob("*.yaml"))
    ]


def _lab(code: str, value: float, day: dt.date) -> dict[str, Any]:
    unit, low, high = _LAB_UNITS[code]
    row: dict[str, Any] = {"testcd": code, "value": value, "unit": unit, "dtc": day.isoformat()}
    if low is not None:
        row.update(ref_low=low, ref_high=high)
    return row


_CORE = {"HGB": 12.0, "PLAT": 190, "WBC": 5.5, "NEUT": 3.5, "CREAT": 1.0, "ALT": 25}


def _labs(dates: list[dt.date]) -> list[dict[str, Any]]:
    """100 rows: the core panel and PSA on every date, AST on most, BILI/TESTO at screening."""
    rows = [_lab(code, value, day) for day in dates for code, value in _CORE.items()]
    rows += [_lab("PSA", round(48.0 * 0.85**n, 2), day) for n, day in enumerate(dates)]
    rows += [_lab("BILI", 0.6, dates[0]), _lab("TESTO", 18, dates[0])]
    rows += [_lab("AST", 28, day) for day in dates[: 100 - len(rows)]]
    if len(rows) != 100:
        raise AssertionError(f"long record has {len(rows)} lab rows, not 100")
    return rows


def long_record(cycles: int = 12) -> tuple[dict[str, Any], dt.date]:
    """A synthetic investigational-arm record with ``cycles`` given and 100 lab rows."""
    first = dt.date(2025, 1, 20)
    admin = [first + dt.timedelta(weeks=6 * n) for n in range(cycles)]
    as_of = admin[-1] + dt.timedelta(weeks=6)
    lab_days = [dt.date(2025, 1, 13)] + [d - dt.timedelta(days=3) for d in admin[1:]]
    lab_days.append(as_of - dt.timedelta(days=3))
    record = {
        "record_version": 1,
        "subject": {
            "id": "BENCH-LONG",
            "sex": "M",
            "birth_date": "1956-04-12",
            "weight": {"value": 82, "unit": "kg"},
        },
        "consent": {"date": "2025-01-10"},
        "randomisation": {"arm": "investigational", "date": "2025-01-15"},
        "history": {
            "liver_metastases": False,
            "prior_therapies": [
                {"class": "adt", "agent": "leuprolide", "start": "2019-03-01"},
                {
                    "class": "arpi",
                    "agent": "enzalutamide",
                    "start": "2020-06-01",
                    "end": "2022-08-01",
                },
                {
                    "class": "taxane",
                    "agent": "docetaxel",
                    "start": "2022-09-01",
                    "end": "2023-02-01",
                },
            ],
        },
        "screening_pet": {
            "dtc": "2025-01-08",
            "psma_vol_ml": 310,
            "psma_negative_lesions": [],
            "psma_positive_lesions": [{"site": "bone", "above_liver": True}],
        },
        "ecog": [{"dtc": d.isoformat(), "score": 1} for d in lab_days],
        "administrations": [
            {
                "cycle": n + 1,
                "dtc": f"{d.isoformat()}T09:00:00+00:00",
                "activity": {"value": 7.4, "unit": "GBq"},
            }
            for n, d in enumerate(admin)
        ],
        "spect_ct": [
            {
                "cycle": n + 1,
                "dtc": f"{(d + dt.timedelta(days=1)).isoformat()}T09:00:00+00:00",
                "hours_post_injection": 24,
                "tumour_volume_ml": round(300 * 0.93**n, 1),
                "new_lesions": False,
                "kidney_dose_gy": 1.6,
                "kidney_teff_h": 40,
            }
            for n, d in enumerate(admin)
        ],
        "pet_ct": [],
        "holidays": [],
        "adverse_events": [],
        "labs": _labs(lab_days),
    }
    return record, as_of


def cases() -> list[tuple[str, Any, dt.date]]:
    """(name, parsed record, as_of): the examples and the long record."""
    out = [
        (name, engine.read_record_text(text, name), as_of)
        for name, text, as_of in example_records()
    ]
    data, as_of = long_record()
    out.append(("long history (12 cycles, 100 labs)", engine.parse_record(data), as_of))
    return out


def operations(proto: Any) -> dict[str, Callable[[], Any]]:
    """One callable per (record, operation) row of the latency table."""
    long_data, _ = long_record()
    ops: dict[str, Callable[[], Any]] = {}
    for name, record, as_of in cases():
        for op in (engine.eligibility, engine.decide):
            # A fresh Record each call: its canonical JSON (cached per Record) is then
            # computed inside the timing, once, as it is for each gRPC request.
            ops[f"{name}|{op.__name__}"] = lambda op=op, r=record, d=as_of: op(
                proto, dataclasses.replace(r), d
            )
    ops["long history (12 cycles, 100 labs)|parse_record"] = lambda: engine.parse_record(long_data)
    return ops


def latency_section(calls: int) -> tuple[str, dict[str, Any]]:
    """Table ``decisions``: p50/p99 per record and operation, with the answer given."""
    proto = protocol.resolve(PROTOCOL)
    ops = operations(proto)
    times = round_robin(ops, calls, warmup=5)
    table = Table(["record", "operation", "answer", "p50 µs", "p99 µs", "calls/s (1 core)"])
    raw = {}
    for key, runs in times.items():
        name, op = key.split("|")
        answer = ops[key]()
        said = (
            (answer.get("action") or answer.get("outcome") or "")
            if isinstance(answer, dict)
            else "parsed"
        )
        p50, p99 = percentile(runs, 50), percentile(runs, 99)
        table.add(name, f"`{op}`", said, f"{p50 * 1e6:.0f}", f"{p99 * 1e6:.0f}", f"{1 / p50:,.0f}")
        raw[key] = {"p50_s": p50, "p99_s": p99, "calls": len(runs), "answer": said}
    examples = [k for k in times if not k.startswith("long history")]
    for op in ("eligibility", "decide"):
        pooled = [t for k in examples if k.endswith(f"|{op}") for t in times[k]]
        if pooled:
            p50, p99 = percentile(pooled, 50), percentile(pooled, 99)
            table.add(
                f"**all {len(examples) // 2} examples, pooled**",
                f"`{op}`",
                "—",
                f"{p50 * 1e6:.0f}",
                f"{p99 * 1e6:.0f}",
                f"{1 / p50:,.0f}",
            )
    note = (
        f"Protocol {PROTOCOL}; {calls} calls of each row, interleaved; examples evaluated "
        "on the date their header documents; each call gets a fresh Record, so the "
        "once-per-record canonical JSON is inside the timing. `parse_record`: validating "
        "and normalising "
        "the long record from a dict (what the gRPC edge does per request)."
    )
    return section_header("Decisions in process", note) + "\n" + table.markdown(), raw


def profile_section(calls: int, top: int = 12) -> str:
    """Table ``decisions-profile``: own time per function over ``calls`` decides."""
    proto = protocol.resolve(PROTOCOL)
    data, as_of = long_record()
    record = engine.parse_record(data)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        engine.decide(proto, dataclasses.replace(record), as_of)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)  # type: ignore
    table = Table(["function", "own time %", "cumulative %", "calls per decide"])
    for (file, line, func), (_, ncalls, tt, ct, _) in rows[:top]:
        where = f"{short_path(file)}:{line} `{func}`"
        table.add(
            where, f"{100 * tt / total:.1f}", f"{100 * ct / total:.1f}", f"{ncalls / calls:.0f}"
        )
    note = (
        f"cProfile over {calls} `decide` calls on the long record; the top {top} "
        "functions by own time (cProfile inflates per-call overhead of small functions)."
    )
    return section_header("Where `decide` spends its time", note) + "\n" + table.markdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few calls (CI)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="RESULTS.md to rewrite")
    args = parser.parse_args(argv)
    body, _ = latency_section(5 if args.smoke else 1000)
    write_section("decisions", body, args.results)
    print(body, flush=True)
    body = profile_section(3 if args.smoke else 200)
    write_section("decisions-profile", body, args.results)
    print(body, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
