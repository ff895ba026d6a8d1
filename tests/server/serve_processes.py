"""`flexmrt serve` processes and clients driving them, for the multi-process tests."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import grpc
from server_helpers import ROOT, decisions, eligibility_request, example_record

__all__ = ["Acked", "Serve", "load", "logged_subjects", "one_connection"]


class Serve:
    """One `flexmrt serve` process on 127.0.0.1 (port 0: any free), started and ready.

    Its stderr is read as it comes (:meth:`close` returns it): a server logging every
    answer (``--log-level debug``) fills an unread pipe within a few hundred answers, and
    then blocks in its log writes — a hang of the harness, not of the server.
    """

    def __init__(self, db: str, *args: str) -> None:
        self.db = db
        argv = [
            sys.executable,
            "-m",
            "flexmrt.server.cli",
            "serve",
            "--port",
            "0",
            "--db",
            db,
            *args,
        ]
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self._stderr: list[str] = []
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    def ready(self) -> Serve:
        line = self.proc.stdout.readline()
        if not line.startswith("flexmrt serving on"):
            self.proc.kill()
            raise AssertionError(f"serve did not start: {line!r} {self.close()}")
        self.address = line.split()[3]
        return self

    def close(self) -> str:
        """Kill it if still running; its stderr."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reader.join(timeout=30)  # EOF once the server and any workers it left exit
        self.proc.stdout.close()
        if not self._reader.is_alive():  # never close a pipe under a reading thread
            self.proc.stderr.close()
        return "".join(self._stderr)


def one_connection(address: str) -> grpc.Channel:
    """A channel with its own connection (gRPC shares one per address within a process)."""
    return grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])


@dataclass
class Acked:
    """Answers acknowledged to the clients: subject id → the log sequence it was given."""

    sequences: dict[str, int] = field(default_factory=dict)
    failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client(address: str, name: str, until: float, acked: Acked) -> None:
    record = example_record()
    n = 0
    with one_connection(address) as ch:
        stub = decisions(ch)
        while time.monotonic() < until:
            n += 1
            record["subject"]["id"] = f"{name}-{n}"
            try:
                answer = stub.EvaluateEligibility(eligibility_request(record), timeout=10)
            except grpc.RpcError:
                with acked.lock:
                    acked.failures += 1
                time.sleep(0.05)
                continue
            with acked.lock:
                acked.sequences[record["subject"]["id"]] = answer.log_sequence


def load(
    addresses: list[str], clients: int, seconds: float, acked: Acked
) -> list[threading.Thread]:
    """Start ``clients`` callers spread over ``addresses`` for ``seconds``; their threads."""
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(
            target=_client, args=(addresses[i % len(addresses)], f"S{i}", until, acked)
        )
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    return threads


def logged_subjects(entries) -> dict[str, list[int]]:
    """subject id → the sequences of its entries."""
    found: dict[str, list[int]] = {}
    for entry in entries:
        found.setdefault(entry.subject_id, []).append(entry.sequence)
    return found
