"""`flexmrt serve` (the gRPC service), `flexmrt audit …` and `flexmrt log migrate`.

``serve`` runs until SIGTERM or SIGINT, then shuts down gracefully: health turns
NOT_SERVING, in-flight calls finish (up to ``--grace-seconds``), the log is
flushed (and a last checkpoint signed), exit 0. ``--db`` is a SQLite file or a
``postgresql://`` URL (one chain for any number of replicas). ``audit verify``
exits 1 when the chain, its head or a signed checkpoint does not verify, and 1
with a message when the log cannot be read; ``audit checkpoint`` exports the
latest signed checkpoint; ``log migrate`` copies a verified chain into an empty
log and verifies the copy.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

__all__ = ["register"]

_DEFAULT_DB = "var/flexmrt.sqlite"
_DB_HELP = f"decision log: a SQLite file or a postgresql:// URL (default {_DEFAULT_DB})"
_ORIGIN_HELP = "checkpoint origin and key name (default flexmrt.local/decision-log)"


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the gRPC service (protocols, decisions, dosimetry)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=50051, help="port (default 50051; 0 = any free)")
    p.add_argument("--db", default=_DEFAULT_DB, help=_DB_HELP)
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
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="server processes sharing the port (default 1; see README: several processes)",
    )
    p.add_argument(
        "--max-call-seconds",
        type=float,
        default=300.0,
        help="cancel any call running longer than this",
    )
    p.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        default="info",
        help="process log level (default info; debug adds a line per logged answer)",
    )
    p.add_argument(
        "--grace-seconds",
        type=float,
        default=30.0,
        help="time in-flight calls get to finish on shutdown",
    )
    p.add_argument(
        "--checkpoint-key",
        metavar="PEM",
        help="sign checkpoints of the log with this Ed25519 private key (none without it)",
    )
    p.add_argument(
        "--dev-checkpoint-key",
        metavar="PEM",
        help="development only (`make run`): sign with this key, making it first if the file "
        "does not exist, and say so; a production server takes --checkpoint-key",
    )
    p.add_argument(
        "--checkpoint-every", type=int, default=1000, metavar="N", help="… every N entries"
    )
    p.add_argument(
        "--checkpoint-seconds",
        type=float,
        default=60.0,
        metavar="T",
        help="… and every T seconds when the log grew (default 60), and on shutdown",
    )
    p.add_argument("--checkpoint-origin", dest="origin", default=None, help=_ORIGIN_HELP)
    p.set_defaults(func=_serve)
    _register_audit(sub)
    _register_log(sub)


def _register_audit(sub: Any) -> None:
    audit = sub.add_parser("audit", help="check the decision log, export or sign checkpoints")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="SUBCOMMAND")
    audit_sub.required = True
    v = audit_sub.add_parser("verify", help="verify the hash chain (exit 1 when broken)")
    v.add_argument("--db", default=_DEFAULT_DB, help=_DB_HELP)
    v.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="also check the log against this signed checkpoint (needs --public-key)",
    )
    v.add_argument(
        "--public-key",
        metavar="KEY",
        help="the checkpoint signer's public key (PEM, or a note verifier key)",
    )
    v.add_argument(
        "--wait-seconds",
        type=float,
        default=5.0,
        help="how long to wait for a locked SQLite log (default 5)",
    )
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
    c = audit_sub.add_parser(
        "checkpoint", help="print the latest signed checkpoint (for an external witness)"
    )
    c.add_argument("--db", default=_DEFAULT_DB, help=_DB_HELP)
    c.add_argument(
        "--sign",
        metavar="PEM",
        help="verify the log and sign a new checkpoint of it now with this key first",
    )
    c.add_argument("--origin", default=None, help=_ORIGIN_HELP)
    c.add_argument("--out", metavar="FILE", help="write it to FILE instead of stdout")
    c.set_defaults(func=_checkpoint)
    k = audit_sub.add_parser("keygen", help="make an Ed25519 key for signing checkpoints")
    k.add_argument("--out", required=True, metavar="PEM", help="private key file (public: PEM.pub)")
    k.add_argument("--origin", default=None, help=_ORIGIN_HELP)
    k.set_defaults(func=_keygen)


def _register_log(sub: Any) -> None:
    group = sub.add_parser("log", help="move the decision log between stores")
    log_sub = group.add_subparsers(dest="log_command", metavar="SUBCOMMAND")
    log_sub.required = True
    m = log_sub.add_parser(
        "migrate", help="copy a verified chain into an empty log (SQLite or PostgreSQL)"
    )
    m.add_argument("--from", dest="source", required=True, metavar="DB", help="the log to copy")
    m.add_argument("--to", dest="target", required=True, metavar="DB", help="an empty log")
    m.set_defaults(func=_migrate)


def _serve(args: Any) -> int:
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if bool(args.tls_cert) != bool(args.tls_key) or (args.client_ca and not args.tls_cert):
        print(
            "usage error: --tls-cert and --tls-key go together; --client-ca needs them",
            file=sys.stderr,
        )
        return 2
    if args.workers < 1:
        print("usage error: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.dev_checkpoint_key:
        if args.checkpoint_key:
            print(
                "usage error: --checkpoint-key and --dev-checkpoint-key exclude each other",
                file=sys.stderr,
            )
            return 2
        code = _dev_key(args)
        if code:
            return code
    if args.workers > 1:
        from flexmrt.server.workers import serve_workers

        return serve_workers(args)
    try:
        service, port = build_service(args)
    except ServeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return _run(service, args, port)


class ServeError(Exception):
    """The service cannot be built from the command line given (message in words)."""


def describe(args: Any) -> tuple[str, str]:
    """(transport security, authentication) in words, for the start-up line."""
    tls = "mTLS" if args.client_ca else "TLS" if args.tls_cert else "plaintext"
    return tls, "tokens" if args.tokens else "none"


def build_service(
    args: Any,
    port: int | None = None,
    *,
    log: Any = None,
    reuse_port: bool = False,
    sign: bool = True,
) -> tuple[Any, int]:
    """The service ``flexmrt serve`` runs, from its arguments; :class:`ServeError` if not.

    ``log`` replaces the log named by ``--db`` (a worker's :class:`RemoteLog`);
    ``sign=False`` leaves checkpoints to whoever owns the log.
    """
    from flexmrt.protocol import ProtocolError, Registry
    from flexmrt.server.app import Limits, create_server
    from flexmrt.server.security import TokenStore, server_credentials

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
            reuse_port=reuse_port,
        )
        return create_server(
            f"{args.host}:{args.port if port is None else port}",
            db=args.db,
            registry=registry,
            log=log,
            tokens=tokens,
            credentials=credentials,
            limits=limits,
            checkpoints=checkpoint_policy(args) if sign else None,
        )
    except (ProtocolError, OSError, ValueError) as error:
        raise ServeError(str(error)) from None


def _dev_key(args: Any) -> int:
    """``--dev-checkpoint-key``: the key made when it does not exist yet (said on stderr),
    then used as ``--checkpoint-key``; 0, or 1 when it cannot be made."""
    from flexmrt.server.decision_log.checkpoint import CheckpointError, generate_key

    path = Path(args.dev_checkpoint_key)
    if not path.exists():
        try:
            generate_key(path)
        except (OSError, CheckpointError) as error:
            return _error(f"{path}: cannot make the development checkpoint key ({error})")
        print(
            f"flexmrt: made a DEVELOPMENT checkpoint signing key: {path} (public key "
            f"{path}.pub). It signs this machine's checkpoints only; a production server "
            "takes --checkpoint-key with a key made by `flexmrt audit keygen` and kept "
            "by its operators.",
            file=sys.stderr,
            flush=True,
        )
    args.checkpoint_key = str(path)
    return 0


def checkpoint_policy(args: Any) -> Any:
    """The checkpoint signing ``--checkpoint-key`` asks for (None without it)."""
    from flexmrt.server.app import CheckpointPolicy
    from flexmrt.server.decision_log.checkpoint import Signer

    if not args.checkpoint_key:
        return None
    return CheckpointPolicy(
        Signer.from_file(args.checkpoint_key, _origin(args)),
        every=args.checkpoint_every,
        seconds=args.checkpoint_seconds,
    )


def _run(service: Any, args: Any, port: int) -> int:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    service.start()
    log = logging.getLogger("flexmrt.server")
    tls, auth = describe(args)
    signing = "signed checkpoints" if args.checkpoint_key else "no checkpoints"
    if args.dev_checkpoint_key:
        signing += ", development key"
    log.info(
        "serving on %s:%d (%s, auth %s, log %s, %s)",
        args.host,
        port,
        tls,
        auth,
        service.log.location,
        signing,
    )
    print(f"flexmrt serving on {args.host}:{port}", flush=True)
    while not stop.wait(0.5):
        pass
    return shutdown(service, args.grace_seconds)


def shutdown(service: Any, grace: float) -> int:
    """Stop ``service`` within ``grace`` (+ about a second); exit status 0."""
    logging.getLogger("flexmrt.server").info(
        "shutting down: finishing in-flight calls (up to %.0f s)", grace
    )
    if service.stop(grace):
        # A call stuck outside Python would hold the interpreter's exit (it joins the
        # call threads); the log is closed, so nothing is lost by not waiting for it.
        logging.shutdown()
        sys.stdout.flush()
        os._exit(0)
    return 0


def _origin(args: Any) -> str:
    from flexmrt.server.decision_log.checkpoint import DEFAULT_ORIGIN

    return str(args.origin or DEFAULT_ORIGIN)


def _error(message: str, as_json: bool = False) -> int:
    """A log that cannot be read or checked: say so (stderr, or JSON on stdout), exit 1."""
    if as_json:
        print(json.dumps({"ok": False, "error": message}, indent=2, sort_keys=True))
    else:
        print(f"error: {message}", file=sys.stderr)
    return 1


def _verify(args: Any) -> int:
    from flexmrt.server.decision_log import LogError
    from flexmrt.server.decision_log.audit import read_checkpoint, verify_log
    from flexmrt.server.decision_log.checkpoint import CheckpointError
    from flexmrt.server.decision_log.replay import replay_all

    if bool(args.checkpoint) != bool(args.public_key):
        print("usage error: --checkpoint and --public-key go together", file=sys.stderr)
        return 2
    try:
        checkpoint = read_checkpoint(args.checkpoint, args.public_key) if args.checkpoint else None
        report = verify_log(args.db, checkpoint, wait_s=args.wait_seconds)
        mismatches = replay_all(args.db, args.protocols) if args.replay else []
    except (LogError, CheckpointError) as error:
        return _error(str(error), args.json)
    ok = report.ok and not mismatches
    where = _redacted(args.db)
    if args.json:
        print(
            json.dumps(
                {
                    "ok": ok,
                    "entries": report.entries,
                    "checkpoint_size": checkpoint.size if checkpoint else None,
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
        against = ""
        if checkpoint is not None and report.ok:
            against = f", matches the signed checkpoint of {checkpoint.size} entries"
        replayed = ", every decision replays identically" if args.replay and ok else ""
        print(f"{where}: {report.entries} entries, chain {state}{against}{replayed}")
    return 0 if ok else 1


def _redacted(location: str) -> str:
    from flexmrt.server.decision_log.postgres import redact

    return redact(location)


def _checkpoint(args: Any) -> int:
    from flexmrt.server.decision_log import LogError
    from flexmrt.server.decision_log.audit import export_checkpoint, sign_checkpoint
    from flexmrt.server.decision_log.checkpoint import CheckpointError, Signer

    try:
        if args.sign:
            text = sign_checkpoint(args.db, Signer.from_file(args.sign, _origin(args)))
        else:
            text = export_checkpoint(args.db)
    except (LogError, CheckpointError) as error:
        return _error(str(error))
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"checkpoint of {text.splitlines()[1]} entries written to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def _keygen(args: Any) -> int:
    from flexmrt.server.decision_log.checkpoint import CheckpointError, Signer, generate_key

    out = Path(args.out)
    if out.exists():
        return _error(f"{out}: exists; a checkpoint key is never overwritten")
    try:
        signer = Signer(generate_key(out), _origin(args))
    except (OSError, CheckpointError) as error:
        return _error(f"{out}: {error}")
    print(f"private key: {out} (keep it secret; give it to `flexmrt serve --checkpoint-key`)")
    print(f"public key:  {out}.pub")
    print(f"verifier key: {signer.verifier_key()}")
    return 0


def _migrate(args: Any) -> int:
    from flexmrt.server.decision_log import LogError
    from flexmrt.server.decision_log.audit import migrate

    try:
        done = migrate(args.source, args.target)
    except LogError as error:
        return _error(str(error))
    target = _redacted(args.target)
    for problem in done.report.problems:
        print(f"BROKEN  entry {problem.sequence}: {problem.message}")
    if not done.report.ok:
        print(f"{target}: the copy does not verify")
        return 1
    print(
        f"{target}: {done.entries} entries and {done.checkpoints} checkpoint(s) copied from "
        f"{_redacted(args.source)}; chain intact, same tree head"
    )
    return 0
