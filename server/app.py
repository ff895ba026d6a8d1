"""Assemble the gRPC server: servicers, health, reflection (v1, v1alpha), interceptor, limits, TLS.

``create_server("127.0.0.1:0", …)`` returns the (not yet started) service and the
port it bound, so tests can use port 0. :meth:`Service.stop` is the graceful
shutdown: health turns NOT_SERVING, new calls are refused, in-flight calls get
``grace`` seconds to finish (computation still running then is interrupted, see
:mod:`server.deadline`), then the decision log is flushed and closed.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from flexmrt.protocol import Registry
from flexmrt.server._gen.flexmrt.v1 import decision_pb2 as _decision
from flexmrt.server._gen.flexmrt.v1 import decision_pb2_grpc as _decision_grpc
from flexmrt.server._gen.flexmrt.v1 import dosimetry_pb2 as _dosimetry
from flexmrt.server._gen.flexmrt.v1 import dosimetry_pb2_grpc as _dosimetry_grpc
from flexmrt.server._gen.flexmrt.v1 import protocol_pb2 as _protocol
from flexmrt.server._gen.flexmrt.v1 import protocol_pb2_grpc as _protocol_grpc
from flexmrt.server.deadline import Deadlines
from flexmrt.server.decision_log import DecisionLog, open_log
from flexmrt.server.decision_log.checkpoint import Signer
from flexmrt.server.decision_log.checkpointer import CheckpointedLog
from flexmrt.server.edge import EdgeInterceptor
from flexmrt.server.reflection import enable_reflection
from flexmrt.server.security import TokenStore
from flexmrt.server.servicers import DecisionServicer, DosimetryServicer, ProtocolServicer

__all__ = ["CheckpointPolicy", "Limits", "Service", "create_server"]

_log = logging.getLogger("flexmrt.server")
SERVICE_NAMES = tuple(
    module.DESCRIPTOR.services_by_name[name].full_name
    for module, name in (
        (_protocol, "ProtocolService"),
        (_decision, "DecisionService"),
        (_dosimetry, "DosimetryService"),
    )
)


@dataclass(frozen=True)
class Limits:
    """Resource limits of one server process."""

    max_message_bytes: int = 64 * 1024 * 1024  # both directions; RT Dose files are large
    max_workers: int = 16  # threads serving calls
    max_concurrent_rpcs: int = 256  # beyond this, RESOURCE_EXHAUSTED
    max_call_s: float = 300.0  # server-side cap on any call's duration
    max_dose_jobs: int = 1  # concurrent dose computations (memory, GPU)
    # Inputs refused before parsing (parsing runs in C and cannot be interrupted):
    max_record_bytes: int = 16 * 1024 * 1024  # one record_json (≈ 150,000 lab rows)
    max_protocol_bytes: int = 1024 * 1024  # one protocol's YAML text (bundled: ~35 KB)
    reuse_port: bool = False  # let other processes bind the same port (serve --workers)


@dataclass(frozen=True)
class CheckpointPolicy:
    """Sign a checkpoint of the log every ``every`` entries or ``seconds`` s, and on shutdown."""

    signer: Signer
    every: int = 1000
    seconds: float = 60.0


class Service:
    """A running (or ready) flexmrt gRPC server with its health service and log."""

    def __init__(
        self,
        server: grpc.Server,
        health_servicer: health.HealthServicer,
        log: DecisionLog,
        deadlines: Deadlines | None = None,
    ) -> None:
        self.server = server
        self.health = health_servicer
        self.log = log
        self.deadlines = deadlines or Deadlines()

    def start(self) -> None:
        self.server.start()
        for name in ("", *SERVICE_NAMES):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    def stop(self, grace: float = 30.0) -> int:
        """Graceful shutdown: NOT_SERVING, finish in-flight calls, close the log.

        Calls still computing after ``grace`` seconds are interrupted; the log is
        closed at most about a second later. Returns how many calls were still
        running then (stuck outside Python; the caller may exit without them).
        """
        self.health.enter_graceful_shutdown()
        stopped = self.server.stop(grace)
        self.deadlines.shorten_all(grace)
        stopped.wait(grace + 1.0)
        self.deadlines.wait_idle(1.0)
        left = self.deadlines.in_flight
        self.log.close()
        if left:
            _log.warning("stopped with %d call(s) still running past the grace period", left)
        else:
            _log.info("stopped")
        return left

    def wait(self) -> None:
        self.server.wait_for_termination()


def create_server(
    address: str = "127.0.0.1:0",
    *,
    db: str | Path = "var/flexmrt.sqlite",
    registry: Registry | None = None,
    log: DecisionLog | None = None,
    tokens: TokenStore | None = None,
    credentials: grpc.ServerCredentials | None = None,
    limits: Limits | None = None,
    checkpoints: CheckpointPolicy | None = None,
) -> tuple[Service, int]:
    """Build the server bound to ``address`` ("host:port"; port 0 picks a free one).

    ``db`` is a SQLite path or a ``postgresql://`` URL; with ``checkpoints`` the log
    signs checkpoints of itself while the service runs and once more on shutdown.
    """
    limits = limits or Limits()
    registry = registry or Registry.bundled()
    log = log if log is not None else open_log(db)
    if checkpoints is not None:
        log = CheckpointedLog(log, checkpoints.signer, checkpoints.every, checkpoints.seconds)
    deadlines = Deadlines()
    server = grpc.server(
        ThreadPoolExecutor(max_workers=limits.max_workers, thread_name_prefix="rpc"),
        interceptors=[EdgeInterceptor(tokens, limits.max_call_s, deadlines)],
        maximum_concurrent_rpcs=limits.max_concurrent_rpcs,
        options=[
            ("grpc.max_receive_message_length", limits.max_message_bytes),
            ("grpc.max_send_message_length", limits.max_message_bytes),
            ("grpc.so_reuseport", 1 if limits.reuse_port else 0),
        ],
    )
    _protocol_grpc.add_ProtocolServiceServicer_to_server(
        ProtocolServicer(registry, limits.max_protocol_bytes, limits.max_record_bytes), server
    )
    _decision_grpc.add_DecisionServiceServicer_to_server(
        DecisionServicer(registry, log, limits.max_record_bytes, limits.max_message_bytes), server
    )
    _dosimetry_grpc.add_DosimetryServiceServicer_to_server(
        DosimetryServicer(registry, limits.max_dose_jobs), server
    )
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    enable_reflection((*SERVICE_NAMES, health.SERVICE_NAME), server)
    try:
        if credentials is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, credentials)
    except RuntimeError:
        port = 0
    if port == 0:
        log.close()
        raise OSError(f"cannot bind {address}")
    return Service(server, health_servicer, log, deadlines), port
