"""`flexmrt serve` (the gRPC service) and `flexmrt audit verify` (the decision log).

``serve`` runs until SIGTERM or SIGINT, then shuts down gracefully: health turns
NOT_SERVING, in-flight calls finish (up to ``--grace-seconds``), the log is
flushed, exit 0. ``audit verify`` exits 1 when the hash chain is broken.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

__all__ = ["register"]

_DEFAULT_DB = "var/flexmrt.sqlite"


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the gRPC service (protocols, decisions, dosimetry)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=50051, help="port (default 50051; 0 = any free)")
    p.add_argument("--db", default=_DEFAULT_DB, help=f"decision log (default {_DEFAULT_DB})")
    p.add_argument(
        "--protocols",
        action="append",
        default=[],
        metavar="DIR",
        help="also serve the protocol YAML files in DIR (repeatable)",
    )
    p.add_argument("--tls-cert", metavar="PEM", help="server certificate chain (enables TLS)")
    p.add_argument("--tls-key", metavar="PEM", help="server private key")
    p.add_argument(
        "--client-ca",
        metavar="PEM",
        help="require client certificates signed by this CA (mutual TLS)",
    )
    p.add_argument(
        "--tokens", metavar="FILE", help="require a bearer token from FILE (lines of 'NAME TOKEN')"
    )
    p.add_argument("--max-message-mb", type=int, default=64, help="max message size (MiB)")
    p.add_argument("--max-workers", type=int, default=16, help="threads serving calls")
    p.add_argument(
        "--max-call-seconds",
        type=float,
        default=300.0,
        help="cancel any call running longer than this",
    )
    p.add_argument(
        "--grace-seconds",
        type=float,
        default=30.0,
        help="time in-flight calls get to finish on shutdown",
    )
    p.set_defaults(func=_serve)

    audit = sub.add_parser("audit", help="check the decision log")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="SUBCOMMAND")
    audit_sub.required = True
    v = audit_sub.add_parser("verify", help="verify the hash chain (exit 1 when broken)")
    v.add_argument("--db", default=_DEFAULT_DB, help=f"decision log (default {_DEFAULT_DB})")
    v.add_argument(
        "--replay",
        action="store_true",
        help="also re-run every logged decision and compare the answers",
    )
    v.add_argument(
        "--protocols",
        action="append",
        default=[],
        metavar="DIR",
        help="protocol folders needed to replay (besides the bundled ones)",
    )
    v.add_argument("--json", action="store_true", help="print the report as JSON")
    v.set_defaults(func=_verify)


def _serve(args: Any) -> int:
    from protocol import ProtocolError, Registry
    from server.app import Limits, create_server
    from server.security import TokenStore, server_credentials

    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if bool(args.tls_cert) != bool(args.tls_key) or (args.client_ca and not args.tls_cert):
        print(
            "usage error: --tls-cert and --tls-key go together; --client-ca needs them",
            file=sys.stderr,
        )
        return 2
    try:
        registry = Registry.bundled([Path(d) for d in args.protocols])
        tokens = TokenStore.from_file(args.tokens) if args.tokens else None
        credentials = (
            server_credentials(args.tls_cert, args.tls_key, args.client_ca)
            if args.tls_cert
            else None
        )
        limits = Limits(
            max_message_bytes=args.max_message_mb * 1024 * 1024,
            max_workers=args.max_workers,
            max_call_s=args.max_call_seconds,
        )
        service, port = create_server(
            f"{args.host}:{args.port}",
            db=args.db,
            registry=registry,
            tokens=tokens,
            credentials=credentials,
            limits=limits,
        )
    except (ProtocolError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return _run(
        service,
        args,
        port,
        tls="mTLS" if args.client_ca else "TLS" if args.tls_cert else "plaintext",
        auth="tokens" if tokens else "none",
    )


def _run(service: Any, args: Any, port: int, tls: str, auth: str) -> int:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    service.start()
    log = logging.getLogger("flexmrt.server")
    log.info("serving on %s:%d (%s, auth %s, log %s)", args.host, port, tls, auth, args.db)
    print(f"flexmrt serving on {args.host}:{port}", flush=True)
    while not stop.wait(0.5):
        pass
    log.info("shutting down: finishing in-flight calls (up to %.0f s)", args.grace_seconds)
    service.stop(args.grace_seconds)
    return 0


def _verify(args: Any) -> int:
    from server.decision_log.replay import replay_all
    from server.decision_log.sqlite import verify_sqlite

    try:
        report = verify_sqlite(Path(args.db))
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    mismatches = replay_all(Path(args.db), args.protocols) if args.replay else []
    ok = report.ok and not mismatches
    if args.json:
        print(
            json.dumps(
                {
                    "ok": ok,
                    "entries": report.entries,
                    "problems": [p.__dict__ for p in report.problems],
                    "replay_mismatches": mismatches,
                },
                indent=2,
                sort_keys=True,
            )
        )
    else:
        for problem in report.problems:
            print(f"BROKEN  entry {problem.sequence}: {problem.message}")
        for message in mismatches:
            print(f"REPLAY  {message}")
        state = "intact" if report.ok else "BROKEN"
        replayed = ", every decision replays identically" if args.replay and ok else ""
        print(f"{args.db}: {report.entries} entries, chain {state}{replayed}")
    return 0 if ok else 1
