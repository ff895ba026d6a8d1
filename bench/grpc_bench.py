"""gRPC benchmarks on 127.0.0.1: DecideNextAction with the decision log on and off, against Check.

Usage: python -m bench.grpc_bench [--smoke] [--results PATH]
       python -m bench.grpc_bench serve --log on|off --db PATH   (the server process)

Two server processes (:func:`server.app.create_server`): one with the embedded
SQLite decision log (WAL, synchronous=FULL, group commit: every answer durable
before its response), one with the log off (:class:`NullLog`, a benchmark-only
stand-in that keeps nothing). Clients are ``grpc.aio`` coroutines in this process,
one channel each, calling back to back for a fixed time. Each configuration is
run for several rounds, interleaved; figures are medians over the rounds. The
health Check RPC on the log-on server is the floor of the stack. Server and
clients share this machine's cores.

Tables: ``grpc`` (throughput, p50/p99, ratios, targets) and ``grpc-profile``
(where a DecideNextAction's handler time goes, by cProfile, in process).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import itertools
import json
import os
import pstats
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    RESULTS,
    Table,
    median,
    percentile,
    round_robin,
    section_header,
    short_path,
    write_section,
)

PROTOCOL = "flex-mrt"


@dataclass(frozen=True)
class Sizes:
    clients: tuple[int, ...]
    seconds: float
    rounds: int
    profile_calls: int


FULL = Sizes((1, 8, 32), 3.0, 3, 300)
SMOKE = Sizes((1, 2), 0.3, 1, 3)


class NullLog:
    """The decision log turned off (benchmark only): numbers entries and keeps nothing."""

    def __init__(self) -> None:
        self._next = itertools.count(1)
        self._lock = threading.Lock()

    def append(self, entry: Any) -> Any:
        with self._lock:
            return dataclasses.replace(entry, sequence=next(self._next))

    def get(self, sequence: int) -> None:
        return None

    def latest(self, decision_id: str) -> None:
        return None

    def by_subject(self, subject_id: str, after: int, limit: int) -> list[Any]:
        return []

    def verify(self) -> Any:
        raise NotImplementedError("the benchmark's null log keeps nothing to verify")

    def close(self) -> None:
        pass


def serve(log_on: bool, db: Path) -> int:
    """Run one server on 127.0.0.1 until stdin closes; print its port first."""
    from server.app import create_server

    service, port = create_server("127.0.0.1:0", db=db, log=None if log_on else NullLog())
    service.start()
    print(port, flush=True)
    sys.stdin.read()
    service.stop(grace=1.0)
    return 0


@contextmanager
def server_process(log_on: bool, db: Path) -> Iterator[int]:
    """A server in its own process (its own GIL); yields the port."""
    argv = [
        sys.executable,
        "-m",
        "bench.grpc_bench",
        "serve",
        "--log",
        "on" if log_on else "off",
        "--db",
        str(db),
    ]
    with subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    ) as proc:
        assert proc.stdout is not None and proc.stdin is not None
        try:
            line = proc.stdout.readline()
            if not line.strip().isdigit():
                raise RuntimeError(f"server did not start (said {line!r})")
            yield int(line)
        finally:
            proc.stdin.close()  # the server stops when its stdin closes
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def decide_request() -> tuple[Any, str]:
    """The DecideNextAction request for the first example patient, and its name."""
    from bench.decision_bench import example_records
    from server._gen.flexmrt.v1 import decision_pb2

    name, text, as_of = example_records()[0]
    import engine

    record = engine.read_record_text(text, name)
    return decision_pb2.DecideNextActionRequest(
        protocol_ref=PROTOCOL, record_json=json.dumps(record.doc), as_of=as_of.isoformat()
    ), name


def _call(channel: Any, rpc: str, request: Any) -> tuple[Any, Any]:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from server._gen.flexmrt.v1 import decision_pb2_grpc

    if rpc == "Check":
        return health_pb2_grpc.HealthStub(channel).Check, health_pb2.HealthCheckRequest()
    return decision_pb2_grpc.DecisionServiceStub(channel).DecideNextAction, request


async def _client(call: Any, request: Any, until: float, latencies: list[float]) -> None:
    while (now := time.perf_counter()) < until:
        await call(request)
        latencies.append(time.perf_counter() - now)


async def _load(
    port: int, rpc: str, request: Any, clients: int, seconds: float
) -> dict[str, float]:
    import grpc

    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{port}") for _ in range(clients)]
    try:
        calls = [_call(channel, rpc, request) for channel in channels]
        await asyncio.gather(*(call(req) for call, req in calls))  # connect, warm up
        latencies: list[float] = []
        started = time.perf_counter()
        await asyncio.gather(
            *(_client(call, req, started + seconds, latencies) for call, req in calls)
        )
        elapsed = time.perf_counter() - started
    finally:
        await asyncio.gather(*(channel.close() for channel in channels))
    return {
        "rps": len(latencies) / elapsed,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "calls": len(latencies),
    }


def load(port: int, rpc: str, request: Any, clients: int, seconds: float) -> dict[str, float]:
    """Calls per second and latency percentiles of ``clients`` back-to-back callers."""
    return asyncio.run(_load(port, rpc, request, clients, seconds))


def measure(sizes: Sizes) -> dict[tuple[str, int], dict[str, float]]:
    """Medians over interleaved rounds for each (configuration, clients)."""
    request, _ = decide_request()
    runs: dict[tuple[str, int], list[dict[str, float]]] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        server_process(True, Path(tmp) / "log.sqlite") as port_on,
        server_process(False, Path(tmp) / "unused.sqlite") as port_off,
    ):
        configs = {
            "decide, log on": (port_on, "Decide"),
            "decide, log off": (port_off, "Decide"),
            "health Check": (port_on, "Check"),
        }
        for _ in range(sizes.rounds):
            for clients in sizes.clients:
                for name, (port, rpc) in configs.items():
                    result = load(port, rpc, request, clients, sizes.seconds)
                    runs.setdefault((name, clients), []).append(result)
    return {key: {k: median(r[k] for r in rs) for k in rs[0]} for key, rs in runs.items()}


def _fs_of(path: Path) -> str:
    """The file system type holding ``path`` (from /proc/mounts), for the fsync note."""
    try:
        mounts = [line.split()[:3] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return "unknown"
    target = str(path.resolve())
    best = max(
        (m for m in mounts if target.startswith(m[1])), key=lambda m: len(m[1]), default=None
    )
    return best[2] if best else "unknown"


def _targets(res: dict[tuple[str, int], dict[str, float]], clients: tuple[int, ...]) -> list[str]:
    best = max(res[("decide, log on", c)]["rps"] for c in clients)
    lines = [
        f"- ≥ 1,000 decisions/s with the log on: best {best:,.0f}/s — "
        f"{'met' if best >= 1000 else 'MISSED'}"
    ]
    if 8 in clients:
        p99 = res[("decide, log on", 8)]["p99"] * 1e3
        lines.append(
            f"- p99 ≤ 20 ms at 8 clients (log on): {p99:.1f} ms — "
            f"{'met' if p99 <= 20 else 'MISSED'}"
        )
    for c in clients:
        cost = 1 - res[("decide, log on", c)]["rps"] / res[("decide, log off", c)]["rps"]
        lines.append(
            f"- log cost ≤ 30 % of throughput at {c} client(s): {100 * cost:.0f} % — "
            f"{'met' if cost <= 0.30 else 'MISSED'}"
        )
    return lines


def grpc_section(sizes: Sizes) -> tuple[str, dict[str, Any]]:
    res = measure(sizes)
    _, patient = decide_request()
    table = Table(["RPC", "clients", "calls/s", "p50 ms", "p99 ms", "log on / this (calls/s)"])
    for c in sizes.clients:
        on = res[("decide, log on", c)]["rps"]
        for name in ("decide, log on", "decide, log off", "health Check"):
            r = res[(name, c)]
            table.add(
                name,
                c,
                f"{r['rps']:,.0f}",
                f"{r['p50'] * 1e3:.2f}",
                f"{r['p99'] * 1e3:.2f}",
                f"{on / r['rps']:.2f}×",
            )
    tmp = Path(tempfile.gettempdir())
    note = (
        f"DecideNextAction for example patient {patient} ({PROTOCOL}); "
        f"{sizes.seconds:g} s per run, {sizes.rounds} rounds interleaved, medians. "
        f"Server: one process, default limits (16 worker threads); clients: grpc.aio, one "
        f"channel each, in another process on the same {os.cpu_count()} cores. Decision "
        f"log: SQLite WAL, synchronous=FULL, on {_fs_of(tmp)} ({tmp})."
    )
    body = (
        section_header("Decisions over gRPC", note)
        + "\n"
        + table.markdown()
        + "\nTargets:\n\n"
        + "\n".join(_targets(res, sizes.clients))
        + "\n"
    )
    return body, {f"{k[0]}|{k[1]}": v for k, v in res.items()}


class _Context:
    """The bits of a grpc.ServicerContext a servicer may touch, for in-process profiling."""

    def invocation_metadata(self) -> tuple[()]:
        return ()

    def abort(self, code: Any, details: str) -> None:
        raise RuntimeError(f"{code}: {details}")


def _handler_parts(servicer: Any, request: Any) -> dict[str, Any]:
    """The DecideNextAction handler's steps as separate callables (same inputs)."""
    import engine
    from engine.record import _validator
    from protocol import canonical_json, sha256_hex
    from server import convert
    from server._gen.flexmrt.v1 import decision_pb2

    protocol, record, as_of = servicer._inputs(request)
    answer = engine.decide(protocol, record, as_of)
    response = decision_pb2.DecideNextActionResponse(
        decision=convert.decision(answer), answer_json=canonical_json(answer)
    )
    doc = json.loads(request.record_json)
    return {
        "whole handler (log on)": lambda: servicer.DecideNextAction(request, _Context()),
        "record_json → Record (json.loads + engine.parse_record)": lambda: engine.parse_record(
            json.loads(request.record_json)
        ),
        "of which JSON Schema validation": lambda: list(_validator().iter_errors(doc)),
        "engine.decide": lambda: engine.decide(protocol, record, as_of),
        "canonical JSON + sha256 of record and answer (log entry)": lambda: (
            canonical_json(record.doc),
            sha256_hex(record.doc),
            canonical_json(answer),
        ),
        "log entry appended (incl. the line above; durable)": lambda: servicer._append(
            "next_action", protocol, record, as_of, answer, response
        ),
        "answer → proto (convert.decision)": lambda: convert.decision(answer),
    }


def profile_section(calls: int, top: int = 12) -> str:
    """Where a DecideNextAction handler's time goes (log on): its steps timed, then cProfile."""
    from protocol import Registry
    from server.decision_log import open_log
    from server.servicers import DecisionServicer

    request, patient = decide_request()
    with tempfile.TemporaryDirectory() as tmp:
        log = open_log(Path(tmp) / "log.sqlite")
        servicer = DecisionServicer(Registry.bundled(), log)
        parts = _handler_parts(servicer, request)
        times = round_robin(parts, max(calls // 3, 1), warmup=1)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(calls):
            servicer.DecideNextAction(request, _Context())
        profiler.disable()
        log.close()
    split = Table(["step of one DecideNextAction (in process, no network)", "median ms"])
    for name, runs in times.items():
        split.add(name, f"{median(runs) * 1e3:.2f}")
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    by_own = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)  # type: ignore
    table = Table(["function (by own time)", "own %", "cumulative %", "calls per RPC"])
    for (file, line, func), (_, ncalls, tt, ct, _) in by_own[:top]:
        table.add(
            f"{short_path(file)}:{line} `{func}`",
            f"{100 * tt / total:.1f}",
            f"{100 * ct / total:.1f}",
            f"{ncalls / calls:g}",
        )
    note = (
        f"Example patient {patient}, SQLite log on. Steps timed directly "
        f"({max(calls // 3, 1)} interleaved rounds), then cProfile over {calls} handler "
        "calls (the log's writer thread is not profiled: its commit shows as a wait)."
    )
    return (
        section_header("Where a DecideNextAction's time goes", note)
        + "\n"
        + split.markdown()
        + "\n"
        + table.markdown()
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:
        p = argparse.ArgumentParser(prog="grpc_bench serve")
        p.add_argument("--log", choices=("on", "off"), required=True)
        p.add_argument("--db", type=Path, required=True)
        a = p.parse_args(argv[1:])
        return serve(a.log == "on", a.db)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="short runs, few clients (CI)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="RESULTS.md to rewrite")
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else FULL
    body, _ = grpc_section(sizes)
    write_section("grpc", body, args.results)
    print(body, flush=True)
    body = profile_section(sizes.profile_calls)
    write_section("grpc-profile", body, args.results)
    print(body, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
