"""The checkpoint timer and the signing key: `flexmrt serve --checkpoint-seconds T` signs
a checkpoint T seconds after the log grew, without N entries; `flexmrt audit keygen`
makes the key; `flexmrt serve` refuses to start with a key it cannot use.

Real `flexmrt serve` processes on 127.0.0.1, a real SQLite log, real key files.
Signatures and tree heads are checked with ``cryptography`` and hashlib against the
C2SP signed-note and RFC 9162 definitions (``test_server_checkpoints``), not with the
project's own modules.
"""

from __future__ import annotations

import base64
import hashlib
import signal
import sqlite3
import stat
import subprocess
import sys
import time

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from serve_processes import Serve
from server_helpers import ROOT, decisions, eligibility_request, example_record
from test_server_checkpoints import ORIGIN, _leaves, _mth, _read_note, _stored_sizes

from flexmrt.server.cli import main

_TIMER_S = 1.0  # --checkpoint-seconds of the timer test


def _keygen(capsys, path) -> tuple[int, str]:
    code = main(["audit", "keygen", "--out", str(path)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _public(path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    assert isinstance(key, Ed25519PublicKey)
    return key


def _stored(db) -> list[tuple[int, str]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT tree_size, text FROM checkpoints ORDER BY tree_size").fetchall()
    finally:
        conn.close()


def _wait_for_size(db, size: int, limit_s: float = 30.0) -> list[int]:
    """The stored checkpoint sizes once the latest is ``size`` (or ``limit_s`` has passed)."""
    until = time.monotonic() + limit_s
    sizes = _stored_sizes(db)
    while (not sizes or sizes[-1] != size) and time.monotonic() < until:
        time.sleep(0.05)
        sizes = _stored_sizes(db)
    return sizes


# ---- the timer: a checkpoint T seconds after the log grew, fewer than N entries ------------


def test_serve_signs_a_checkpoint_after_t_seconds_without_n_entries(tmp_path, capsys):
    key = tmp_path / "keys" / "log.pem"
    assert _keygen(capsys, key)[0] == 0
    public = _public(tmp_path / "keys" / "log.pem.pub")
    db = tmp_path / "log.sqlite"
    serve = Serve(
        str(db),
        "--checkpoint-key", str(key),
        "--checkpoint-every", "1000",
        "--checkpoint-seconds", str(_TIMER_S),
        "--grace-seconds", "2",
    ).ready()  # fmt: skip
    try:
        record = example_record()
        with grpc.insecure_channel(serve.address) as ch:
            stub = decisions(ch)

            def decide(n: int) -> None:
                for _ in range(n):
                    stub.EvaluateEligibility(eligibility_request(record), timeout=30)

            decide(2)
            sizes = _wait_for_size(db, 2)
            assert sizes and sizes[-1] == 2, f"no checkpoint of 2 entries by the timer: {sizes}"
            # the timer may have fired between the two calls (a checkpoint of 1 entry too)
            assert set(sizes) <= {1, 2}
            # a log that did not grow is not signed again
            time.sleep(3 * _TIMER_S)
            assert _stored_sizes(db) == sizes
            decide(1)
            assert _wait_for_size(db, 3)[-1] == 3, "no checkpoint after the log grew again"
            assert serve.proc.poll() is None  # signed while serving, not at shutdown
        serve.proc.send_signal(signal.SIGTERM)
        assert serve.proc.wait(timeout=30) == 0
    finally:
        stderr = serve.close()
    assert "checkpoint signed at tree size 3" in stderr
    stored = _stored(db)
    assert stored[-1][0] == 3, "shutdown signed again a log that had not grown"
    leaves = _leaves(db)
    for size, text in stored:
        assert _read_note(text, public) == (ORIGIN, size, _mth(leaves[:size]))


# ---- the key: made by `audit keygen`, refused by `serve` when unusable -----------------------


def test_keygen_writes_a_private_key_only_its_owner_reads_and_its_public_key(tmp_path, capsys):
    path = tmp_path / "new" / "dir" / "signer.pem"
    code, out = _keygen(capsys, path)
    assert code == 0, out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    public = _public(tmp_path / "new" / "dir" / "signer.pem.pub")
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert raw == key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    # the note verifier key it prints: name+key id+base64(0x01 ‖ key), C2SP signed-note
    kid = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + raw).digest()[:4]
    encoded = base64.b64encode(b"\x01" + raw).decode()
    verifier = f"{ORIGIN}+{kid.hex()}+{encoded}"
    assert f"verifier key: {verifier}" in out
    assert f"private key: {path}" in out and f"public key:  {path}.pub" in out


def test_keygen_never_overwrites_a_key(tmp_path, capsys):
    path = tmp_path / "signer.pem"
    assert _keygen(capsys, path)[0] == 0
    before = path.read_bytes()
    code, out = _keygen(capsys, path)
    assert code == 1
    assert f"{path}: exists; a checkpoint key is never overwritten" in out
    assert "Traceback" not in out
    assert path.read_bytes() == before


def _ec_key(path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _encrypted_key(path) -> None:
    path.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )


@pytest.mark.parametrize(
    ("make", "says", "workers"),
    [
        (None, "cannot read the checkpoint key (No such file or directory)", "1"),
        (lambda p: p.write_text("not a key\n"), "not an unencrypted PEM private key", "1"),
        (_encrypted_key, "not an unencrypted PEM private key", "1"),
        (_ec_key, "the checkpoint key must be Ed25519", "1"),
        (None, "cannot read the checkpoint key (No such file or directory)", "2"),
    ],
    ids=["missing", "not-pem", "encrypted", "not-ed25519", "missing-2-workers"],
)
def test_serve_refuses_to_start_with_a_key_it_cannot_use(tmp_path, make, says, workers):
    """Exit 1 naming the file and what is wrong with it, before serving (also with
    ``--workers 2``, which starts the processes only after the key is read)."""
    key = tmp_path / "signer.pem"
    if make is not None:
        make(key)
    db = tmp_path / "log.sqlite"
    argv = [sys.executable, "-m", "flexmrt.server.cli", "serve", "--port", "0", "--db", str(db)]
    argv += ["--workers", workers, "--checkpoint-key", str(key)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "flexmrt serving on" not in done.stdout
    assert f"error: {key}: {says}" in done.stderr
    assert "Traceback" not in done.stderr


# ---- the development key of `make run` -------------------------------------------------------


def _serve_once(db, key) -> str:
    """Serve with ``--dev-checkpoint-key key``, answer one call, SIGTERM; the stderr."""
    serve = Serve(str(db), "--dev-checkpoint-key", str(key), "--grace-seconds", "2").ready()
    try:
        with grpc.insecure_channel(serve.address) as ch:
            decisions(ch).EvaluateEligibility(eligibility_request(example_record()), timeout=30)
        serve.proc.send_signal(signal.SIGTERM)
        assert serve.proc.wait(timeout=30) == 0
    finally:
        stderr = serve.close()
    return stderr


def test_dev_checkpoint_key_is_made_once_said_so_and_signs(tmp_path):
    """`make run`'s `--dev-checkpoint-key`: the key is made when missing (0600, said on
    stderr), used to sign, and reused as it is on the next start, never remade."""
    key = tmp_path / "var" / "dev-checkpoint.pem"
    db = tmp_path / "var" / "log.sqlite"
    first = _serve_once(db, key)
    assert f"made a DEVELOPMENT checkpoint signing key: {key}" in first
    assert "signed checkpoints, development key" in first
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    made = key.read_bytes()
    public = _public(tmp_path / "var" / "dev-checkpoint.pem.pub")

    second = _serve_once(db, key)
    assert "made a DEVELOPMENT" not in second
    assert "signed checkpoints, development key" in second
    assert key.read_bytes() == made
    stored = _stored(db)
    assert [size for size, _ in stored] == [1, 2]  # one signed at each shutdown
    leaves = _leaves(db)
    for size, text in stored:
        assert _read_note(text, public) == (ORIGIN, size, _mth(leaves[:size]))


def test_dev_and_production_keys_exclude_each_other(tmp_path, capsys):
    key = tmp_path / "k.pem"
    code = main(
        ["serve", "--port", "0", "--db", str(tmp_path / "log.sqlite"),
         "--checkpoint-key", str(key), "--dev-checkpoint-key", str(key)]
    )  # fmt: skip
    assert code == 2
    assert "--checkpoint-key and --dev-checkpoint-key exclude each other" in capsys.readouterr().err
    assert not key.exists()
