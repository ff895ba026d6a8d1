"""`flexmrt serve` as a real process: start, SERVING, call, SIGTERM, exit 0, audit passes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from server_helpers import ROOT, decisions, eligibility_request

from flexmrt.server._gen.flexmrt.v1 import protocol_pb2, protocol_pb2_grpc


def _cli(*args, **kwargs):
    return [sys.executable, "-m", "flexmrt.server.cli", *args]


def test_serve_answers_then_stops_cleanly_on_sigterm(tmp_path):
    db = tmp_path / "var" / "flexmrt.sqlite"
    proc = subprocess.Popen(
        _cli("serve", "--port", "0", "--db", str(db), "--log-level", "debug"),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("flexmrt serving on 127.0.0.1:"), proc.stderr.read()
        port = int(line.rsplit(":", 1)[1])
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            health = health_pb2_grpc.HealthStub(ch).Check(
                health_pb2.HealthCheckRequest(), timeout=10
            )
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            listed = protocol_pb2_grpc.ProtocolServiceStub(ch).ListProtocols(
                protocol_pb2.ListProtocolsRequest(), timeout=10
            )
            assert listed.protocols
            answer = decisions(ch).EvaluateEligibility(eligibility_request(), timeout=10)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert time.monotonic() - started < 10
        stderr = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert answer.report.decision_id in stderr  # ids only in the process log …
    assert "1956-04-12" not in stderr and "CREAT" not in stderr  # … no patient data
    audit = subprocess.run(
        _cli("audit", "verify", "--db", str(db), "--replay"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "1 entries, chain intact, every decision replays identically" in audit.stdout
