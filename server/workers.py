"""`flexmrt serve --workers N`: N server processes sharing one port, one decision log.

One Python process serves about one core (the GIL); N processes bind the same
host:port with ``SO_REUSEPORT`` and the kernel spreads connections over them. The
parent starts the workers (``spawn``: no fork under gRPC), reports when all serve,
replaces a worker that dies, and on SIGTERM/SIGINT stops them all within
``--grace-seconds``.

The log stays one chain:

- **SQLite** (the default): the parent owns the file and its one writer
  (:class:`~server.decision_log.remote.LogWriterService`) and signs the checkpoints;
  workers hand their entries to it over a Unix socket and read the file directly.
  Several processes writing one SQLite file would serialise on its lock with
  sleeping retries instead.
- **PostgreSQL**: every worker writes to the database itself, exactly like separate
  replicas (appends serialise on the chain head row); each signs checkpoints when
  given a key.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import secrets
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

__all__ = ["serve_workers"]

_log = logging.getLogger("flexmrt.server")
_START_S = 120.0  # a worker that is not serving by then is a failed start
_CTX = multiprocessing.get_context("spawn")


@dataclass
class _Writer:
    """Where workers send their entries (SQLite), or nothing (PostgreSQL)."""

    address: str | None = None
    authkey: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    service: Any = None


def serve_workers(args: Any) -> int:
    """Run ``args.workers`` worker processes until SIGTERM/SIGINT; the exit status."""
    from flexmrt.server.cli.serve_cmds import ServeError, checkpoint_policy, describe
    from flexmrt.server.decision_log.postgres import is_postgres_url

    try:
        holder, port = _reserve_port(args.host, args.port)
    except OSError as error:
        print(f"error: cannot bind {args.host}:{args.port} ({error})", file=sys.stderr)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    writer = _Writer()
    with holder, tempfile.TemporaryDirectory(prefix="flexmrt-") as private:
        try:
            if not is_postgres_url(str(args.db)):
                writer.address = str(Path(private) / "log-writer.sock")
                writer.service = _start_writer(args, writer, checkpoint_policy(args))
        except (ServeError, OSError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        try:
            workers = [_Worker(args, port, writer) for _ in range(args.workers)]
            for worker in workers:
                worker.wait_ready()
        except ServeError as error:
            print(f"error: {error}", file=sys.stderr)
            _stop_all(locals().get("workers", []), args.grace_seconds)
            writer.service and writer.service.close()
            return 1
        tls, auth = describe(args)
        _log.info(
            "serving on %s:%d with %d worker processes (%s, auth %s, log %s)",
            args.host,
            port,
            args.workers,
            tls,
            auth,
            _where(args.db),
        )
        print(f"flexmrt serving on {args.host}:{port} ({args.workers} workers)", flush=True)
        while not stop.wait(0.5):
            _replace_dead(workers, args, port, writer)
        _log.info("shutting down %d workers (up to %.0f s)", len(workers), args.grace_seconds)
        _stop_all(workers, args.grace_seconds)
        if writer.service is not None:
            writer.service.close()
    _log.info("stopped")
    return 0


def _where(db: object) -> str:
    from flexmrt.server.decision_log.postgres import redact

    return redact(str(db))


def _reserve_port(host: str, port: int) -> tuple[socket.socket, int]:
    """A bound (not listening) SO_REUSEPORT socket holding the port for the workers."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    holder = socket.socket(family, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        holder.bind((host.strip("[]"), port))
    except OSError:
        holder.close()
        raise
    return holder, int(holder.getsockname()[1])


def _start_writer(args: Any, writer: _Writer, policy: Any) -> Any:
    from flexmrt.server.decision_log import open_log
    from flexmrt.server.decision_log.checkpointer import CheckpointedLog
    from flexmrt.server.decision_log.remote import LogWriterService

    log = open_log(args.db)
    if policy is not None:
        log = CheckpointedLog(log, policy.signer, policy.every, policy.seconds)
    assert writer.address is not None
    return LogWriterService(log, writer.address, writer.authkey)


class _Worker:
    """One worker process and the pipe it reports on (EOF on it tells the worker to stop)."""

    def __init__(self, args: Any, port: int, writer: _Writer) -> None:
        self._pipe, child = _CTX.Pipe()
        self.process = _CTX.Process(
            target=_worker_main,
            args=(args, port, writer.address, writer.authkey, child),
            name="flexmrt-worker",
        )
        self.process.start()
        child.close()

    def wait_ready(self) -> None:
        from flexmrt.server.cli.serve_cmds import ServeError

        if not self._pipe.poll(_START_S):
            raise ServeError(f"a worker did not start within {_START_S:.0f} s")
        try:
            message = self._pipe.recv()
        except EOFError:
            raise ServeError(
                f"a worker exited on start (exit code {self.process.exitcode})"
            ) from None
        if message != "ready":
            raise ServeError(str(message))

    def stop(self) -> None:
        if self.process.is_alive() and self.process.pid is not None:
            os.kill(self.process.pid, signal.SIGTERM)

    def close(self) -> None:
        self._pipe.close()


def _replace_dead(workers: list[_Worker], args: Any, port: int, writer: _Writer) -> None:
    from flexmrt.server.cli.serve_cmds import ServeError

    for i, worker in enumerate(workers):
        if worker.process.is_alive():
            continue
        _log.error("worker %d exited (code %s); starting another", i, worker.process.exitcode)
        worker.close()
        workers[i] = _Worker(args, port, writer)
        try:
            workers[i].wait_ready()
        except ServeError as error:
            _log.error("the replacement worker failed: %s", error)


def _stop_all(workers: list[_Worker], grace: float) -> None:
    """SIGTERM every worker; each stops within the grace period, or is killed after it."""
    for worker in workers:
        worker.stop()
    end = time.monotonic() + grace + 5.0
    for worker in workers:
        worker.process.join(max(end - time.monotonic(), 0.0))
        if worker.process.is_alive():
            _log.error("worker %s did not stop; killing it", worker.process.pid)
            worker.process.kill()
            worker.process.join()
        worker.close()


def _worker_main(
    args: Any, port: int, writer: str | None, authkey: bytes, pipe: Connection
) -> None:
    """A worker process: serve on the shared port until SIGTERM or the parent goes away."""
    from flexmrt.server.cli.serve_cmds import ServeError, build_service, shutdown
    from flexmrt.server.decision_log import LogError

    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format=f"%(asctime)s %(levelname)s %(name)s[{os.getpid()}]: %(message)s",
    )
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent forwards Ctrl-C as SIGTERM
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        log = None
        if writer is not None:
            from flexmrt.server.decision_log.remote import RemoteLog

            log = RemoteLog(writer, authkey, args.db)
        service, _ = build_service(args, port, log=log, reuse_port=True, sign=writer is None)
    except (ServeError, LogError) as error:
        pipe.send(str(error))
        sys.exit(1)
    service.start()
    pipe.send("ready")
    threading.Thread(target=_parent_watch, args=(pipe, stop), daemon=True).start()
    while not stop.wait(0.5):
        pass
    sys.exit(shutdown(service, args.grace_seconds))


def _parent_watch(pipe: Connection, stop: threading.Event) -> None:
    """Stop when the parent closes the pipe or dies."""
    with contextlib.suppress(EOFError, OSError):
        pipe.recv()
    stop.set()
