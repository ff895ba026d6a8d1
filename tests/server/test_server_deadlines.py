"""A runaway call ends at its deadline, and SIGTERM ends a loaded server within its grace.

The runaway is a real request a real `flexmrt serve` accepts: a record of 140,000 lab
rows (under the 16 MiB record limit) whose parsing and evaluation take many seconds
of Python. Python threads cannot be killed; these tests check that the server stops
the work anyway (the deadline interrupts it), so the call's thread is free again and
shutdown does not wait for it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

import grpc
import pytest
from serve_processes import Serve
from server_helpers import AS_OF, ROOT, decisions, eligibility_request, example_record

from flexmrt.server._gen.flexmrt.v1 import decision_pb2

pytestmark = pytest.mark.slow
_LABS = 140_000


def _runaway_request() -> decision_pb2.DecideNextActionRequest:
    record = example_record()
    labs = record["labs"]
    record["labs"] = labs * (_LABS // len(labs))
    return decision_pb2.DecideNextActionRequest(
        protocol_ref="flex-mrt", record_json=json.dumps(record), as_of=AS_OF
    )


def _server(tmp_path, *args: str) -> Serve:
    return Serve(str(tmp_path / "log.sqlite"), *args).ready()


@pytest.fixture
def runaway():
    return _runaway_request()


def test_a_call_past_its_deadline_stops_running(tmp_path, runaway):
    """With one call thread: the thread is free again right after the runaway's deadline."""
    server = _server(tmp_path, "--max-workers", "1")
    try:
        with grpc.insecure_channel(server.address) as ch:
            with pytest.raises(grpc.RpcError) as err:
                decisions(ch).DecideNextAction(runaway, timeout=1.0)
            assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            # Without the interrupt the only call thread would go on parsing for many
            # seconds, and this call would wait behind it past its own deadline.
            answer = decisions(ch).EvaluateEligibility(eligibility_request(), timeout=5)
            assert answer.log_sequence == 1
    finally:
        stderr = server.close()
    assert "DecideNextAction ran past its deadline" in stderr


def test_sigterm_ends_a_loaded_server_within_the_grace_period(tmp_path, runaway):
    server = _server(tmp_path, "--grace-seconds", "1", "--max-workers", "8")
    acked: list[int] = []
    stop = threading.Event()

    def client() -> None:
        with grpc.insecure_channel(server.address) as ch:
            while not stop.is_set():
                try:
                    acked.append(
                        decisions(ch)
                        .EvaluateEligibility(eligibility_request(), timeout=5)
                        .log_sequence
                    )
                except grpc.RpcError:
                    return

    def runaway_client() -> None:
        with grpc.insecure_channel(server.address) as ch, pytest.raises(grpc.RpcError):
            decisions(ch).DecideNextAction(runaway, timeout=120)

    threads = [threading.Thread(target=client) for _ in range(4)]
    threads.append(threading.Thread(target=runaway_client))
    try:
        for t in threads:
            t.start()
        time.sleep(1.5)  # the runaway is being parsed; the clients are answered
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        code = server.proc.wait(timeout=20)
        took = time.monotonic() - started
    finally:
        stop.set()
        stderr = server.close()
        for t in threads:
            t.join(30)
    assert code == 0, stderr
    assert took < 1 + 5, f"exit took {took:.1f} s with --grace-seconds 1"
    assert acked, "the clients got no answer before the shutdown"
    audit = subprocess.run(
        [
            sys.executable,
            "-m",
            "flexmrt.server.cli",
            "audit",
            "verify",
            "--db",
            str(server.db),
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    report = json.loads(audit.stdout)
    assert report["ok"], report
    assert report["entries"] >= max(acked)  # every acknowledged answer is in the log
