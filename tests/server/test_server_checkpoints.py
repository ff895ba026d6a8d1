"""Signed checkpoints of the decision log: written by the service, exported, verified.

Keys are real Ed25519 keys (``cryptography``); the log is a real SQLite file (and a
real PostgreSQL server for the migration); the service is ``flexmrt serve`` in its
own process or a real gRPC server on 127.0.0.1. Signatures, tree heads and
inclusion proofs are checked here by an independent implementation of C2SP
signed-note and RFC 9162 (hashlib only), not by the project's own modules.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import signal
import sqlite3
import time

import grpc
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from serve_processes import Serve
from server_helpers import decisions, eligibility_request, example_record

from flexmrt.server._gen.flexmrt.v1 import decision_pb2
from flexmrt.server.app import CheckpointPolicy, create_server
from flexmrt.server.cli import main
from flexmrt.server.decision_log import LogEntry, open_log
from flexmrt.server.decision_log.checkpoint import Signer

ORIGIN = "flexmrt.local/decision-log"


# ---- an independent C2SP checkpoint and RFC 9162 implementation ----------------------------


def _leaf(entry_hash_hex: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(entry_hash_hex)).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH, by its recursive definition."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return _node(_mth(leaves[:k]), _mth(leaves[k:]))


def _root_from_path(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes | None:
    """RFC 9162 §2.1.3.2: the root an inclusion proof leads to (None: malformed proof)."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            r = _node(p, r)
            while fn % 2 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def _read_note(text: str, public: Ed25519PublicKey, name: str = ORIGIN) -> tuple[str, int, bytes]:
    """(origin, size, root) of a C2SP checkpoint whose Ed25519 signature by ``public`` verifies."""
    lines = text.split("\n")
    assert text.endswith("\n")
    origin, size, root_b64, blank, signature_line = lines[:5]
    assert blank == "" and lines[5:] == [""], text
    assert size.isdigit()
    root = base64.b64decode(root_b64, validate=True)
    assert len(root) == 32
    assert signature_line.startswith("\u2014 " + name + " ")
    raw_sig = base64.b64decode(signature_line.rsplit(" ", 1)[1], validate=True)
    raw_key = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_id = hashlib.sha256(name.encode() + b"\n\x01" + raw_key).digest()[:4]
    assert raw_sig[:4] == key_id
    body = f"{origin}\n{size}\n{root_b64}\n".encode()
    public.verify(raw_sig[4:], body)  # raises InvalidSignature
    return origin, int(size), root


def _leaves(db) -> list[bytes]:
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT entry_hash FROM entries ORDER BY sequence").fetchall()
    conn.close()
    return [_leaf(h) for (h,) in rows]


def _stored_sizes(db) -> list[int]:
    conn = sqlite3.connect(db)
    try:
        return [s for (s,) in conn.execute("SELECT tree_size FROM checkpoints ORDER BY tree_size")]
    finally:
        conn.close()


# ---- fixtures ---------------------------------------------------------------------------------


def _write_key(tmp_path, name: str) -> tuple[str, str, Ed25519PublicKey]:
    key = Ed25519PrivateKey.generate()
    private = tmp_path / f"{name}.pem"
    public = tmp_path / f"{name}.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return str(private), str(public), key.public_key()


@pytest.fixture
def key(tmp_path):
    """(private PEM path, public PEM path, public key) of the log's signing key."""
    return _write_key(tmp_path, "signer")


@pytest.fixture
def other_key(tmp_path):
    return _write_key(tmp_path, "other")


def _entry(i: int) -> LogEntry:
    return LogEntry(
        decision_id=f"d{i}",
        kind="eligibility",
        caller="test",
        subject_id=f"S-{i}",
        protocol_ref="flex-mrt@1.0",
        protocol_sha256="ab" * 32,
        input_json=f'{{"i":{i}}}',
        input_sha256="cd" * 32,
        as_of="2025-01-15",
        engine_version="0",
        answer_json=f'{{"answer":{i}}}',
    )


@pytest.fixture
def signed(tmp_path, key, capsys):
    """A log of 6 entries with a checkpoint of it signed by ``key`` in checkpoint.txt."""
    db = tmp_path / "log.sqlite"
    log = open_log(db)
    for i in range(6):
        log.append(_entry(i))
    log.close()
    out = tmp_path / "checkpoint.txt"
    assert main(["audit", "checkpoint", "--db", str(db), "--sign", key[0], "--out", str(out)]) == 0
    capsys.readouterr()
    return db, out


def _verify(capsys, db, *extra: str) -> tuple[int, str]:
    code = main(["audit", "verify", "--db", str(db), *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _copy(db, tmp_path, name: str):
    copy = tmp_path / name
    shutil.copy(db, copy)
    return copy


# ---- 1. written every N entries and on shutdown, exported, verifiable ---------------------------


def test_serve_signs_every_n_entries_and_on_shutdown_and_audit_exports_it(tmp_path, key, capsys):
    db = tmp_path / "log.sqlite"
    serve = Serve(
        str(db),
        "--checkpoint-key", key[0],
        "--checkpoint-every", "3",
        "--checkpoint-seconds", "3600",
        "--grace-seconds", "2",
    ).ready()  # fmt: skip
    try:
        record = example_record()
        with grpc.insecure_channel(serve.address) as ch:
            stub = decisions(ch)

            def decide(n: int) -> None:
                for _ in range(n):
                    stub.EvaluateEligibility(eligibility_request(record), timeout=30)

            decide(3)
            until = time.monotonic() + 20
            while _stored_sizes(db) != [3] and time.monotonic() < until:
                time.sleep(0.05)
            assert _stored_sizes(db) == [3], "no checkpoint after the 3rd entry"
            decide(2)  # fewer than N more: nothing signed until shutdown
            assert _stored_sizes(db) == [3]
        serve.proc.send_signal(signal.SIGTERM)
        assert serve.proc.wait(timeout=30) == 0
    finally:
        stderr = serve.close()
    assert "checkpoint signed at tree size 5" in stderr
    assert _stored_sizes(db) == [3, 5]

    assert main(["audit", "checkpoint", "--db", str(db)]) == 0
    text = capsys.readouterr().out
    origin, size, root = _read_note(text, key[2])
    leaves = _leaves(db)
    assert (origin, size, len(leaves)) == (ORIGIN, 5, 5)
    assert root == _mth(leaves)
    # the first checkpoint (3) also signed the tree head of the first 3 entries
    conn = sqlite3.connect(db)
    first = conn.execute("SELECT text FROM checkpoints WHERE tree_size = 3").fetchone()[0]
    conn.close()
    assert _read_note(first, key[2])[1:] == (3, _mth(leaves[:3]))
    # and the project's own verifier accepts the export with the public key
    exported = tmp_path / "exported.txt"
    exported.write_text(text)
    code, out = _verify(capsys, db, "--checkpoint", str(exported), "--public-key", key[1])
    assert code == 0 and "matches the signed checkpoint of 5 entries" in out


def test_a_tampered_export_does_not_verify(signed, key):
    _, checkpoint = signed
    text = checkpoint.read_text()
    _read_note(text, key[2])
    lines = text.split("\n")
    lines[1] = "5"
    with pytest.raises(InvalidSignature):
        _read_note("\n".join(lines), key[2])


def test_audit_checkpoint_without_one_says_so(tmp_path, capsys):
    db = tmp_path / "log.sqlite"
    log = open_log(db)
    log.append(_entry(0))
    log.close()
    assert main(["audit", "checkpoint", "--db", str(db)]) == 1
    assert "no checkpoint stored yet" in capsys.readouterr().err


# ---- 2. audit verify against a checkpoint --------------------------------------------------


def test_verify_against_checkpoint_passes_on_an_intact_log(signed, key, capsys):
    db, checkpoint = signed
    code, out = _verify(capsys, db, "--checkpoint", str(checkpoint), "--public-key", key[1])
    assert code == 0, out
    assert "6 entries, chain intact, matches the signed checkpoint of 6 entries" in out
    # entries appended after the checkpoint are fine: it proves a prefix
    log = open_log(db)
    log.append(_entry(6))
    log.close()
    code, out = _verify(capsys, db, "--checkpoint", str(checkpoint), "--public-key", key[1])
    assert code == 0 and "7 entries" in out, out


def test_verify_detects_tail_truncation_that_the_chain_alone_misses(signed, key, tmp_path, capsys):
    db, checkpoint = signed
    cut = _copy(db, tmp_path, "cut.sqlite")
    conn = sqlite3.connect(cut)
    conn.execute("DELETE FROM entries WHERE sequence > 4")
    (head,) = conn.execute("SELECT entry_hash FROM entries WHERE sequence = 4").fetchone()
    conn.execute("UPDATE chain_head SET sequence = 4, entry_hash = ?", (head,))
    conn.commit()
    conn.close()
    code, out = _verify(capsys, cut)
    assert code == 0 and "4 entries, chain intact" in out, "the chain alone should not see it"
    code, out = _verify(capsys, cut, "--checkpoint", str(checkpoint), "--public-key", key[1])
    assert code == 1, out
    assert "BROKEN  entry 5" in out and "entries 5–6 removed (tail truncated)" in out


def _rewrite_from(db, sequence: int) -> None:
    """Edit entry ``sequence``'s answer and re-seal the chain from there to the head."""
    columns = LogEntry.columns()
    conn = sqlite3.connect(db)
    rows = conn.execute(
        f"SELECT {', '.join(columns)} FROM entries WHERE sequence >= ? ORDER BY sequence",
        (sequence,),
    ).fetchall()
    (prev,) = conn.execute(
        "SELECT entry_hash FROM entries WHERE sequence = ?", (sequence - 1,)
    ).fetchone()
    for row in rows:
        entry = LogEntry(**dict(zip(columns, row, strict=True)))
        if entry.sequence == sequence:
            entry = LogEntry(**{**entry.__dict__, "answer_json": '{"answer":"forged"}'})
        entry = entry.sealed(entry.sequence, entry.recorded_at, prev)
        conn.execute(
            "UPDATE entries SET answer_json = ?, prev_hash = ?, entry_hash = ? WHERE sequence = ?",
            (entry.answer_json, entry.prev_hash, entry.entry_hash, entry.sequence),
        )
        prev = entry.entry_hash
    conn.execute("UPDATE chain_head SET entry_hash = ?", (prev,))
    conn.commit()
    conn.close()


def test_verify_detects_a_rewritten_chain_that_the_chain_alone_misses(
    signed, key, tmp_path, capsys
):
    db, checkpoint = signed
    forged = _copy(db, tmp_path, "forged.sqlite")
    _rewrite_from(forged, 3)
    code, out = _verify(capsys, forged)
    assert code == 0 and "6 entries, chain intact" in out, "the chain alone should not see it"
    code, out = _verify(capsys, forged, "--checkpoint", str(checkpoint), "--public-key", key[1])
    assert code == 1, out
    assert "BROKEN  entry 6" in out and "rewritten since it was signed" in out
    # a rewrite of the last entry only, then more entries appended on top of it
    tail = _copy(db, tmp_path, "tail.sqlite")
    _rewrite_from(tail, 6)
    log = open_log(tail)
    log.append(_entry(7))
    log.close()
    assert _verify(capsys, tail)[0] == 0
    code, out = _verify(capsys, tail, "--checkpoint", str(checkpoint), "--public-key", key[1])
    assert code == 1 and "rewritten" in out, out


def test_a_checkpoint_signed_by_another_key_is_refused(signed, key, other_key, tmp_path, capsys):
    db, checkpoint = signed
    # the right checkpoint, checked with someone else's public key
    code, out = _verify(capsys, db, "--checkpoint", str(checkpoint), "--public-key", other_key[1])
    assert code == 1 and "no signature by key" in out, out
    # a checkpoint of a forged log, signed by another key under the same name
    forged = _copy(db, tmp_path, "forged.sqlite")
    _rewrite_from(forged, 2)
    forged_cp = tmp_path / "forged-checkpoint.txt"
    args = ["audit", "checkpoint", "--db", str(forged), "--sign", other_key[0]]
    assert main([*args, "--out", str(forged_cp)]) == 0
    capsys.readouterr()
    code, out = _verify(capsys, forged, "--checkpoint", str(forged_cp), "--public-key", key[1])
    assert code == 1 and "no signature by key" in out, out
    # the same key id but an altered body: the signature does not verify
    lines = checkpoint.read_text().split("\n")
    lines[1] = "5"
    altered = tmp_path / "altered.txt"
    altered.write_text("\n".join(lines))
    code, out = _verify(capsys, db, "--checkpoint", str(altered), "--public-key", key[1])
    assert code == 1 and "does not verify" in out, out


# ---- 3. GetDecision with include_proof ----------------------------------------------------


@pytest.fixture
def signing_service(tmp_path, key):
    signer = Signer.from_file(key[0])
    svc, port = create_server(
        "127.0.0.1:0",
        db=tmp_path / "log.sqlite",
        checkpoints=CheckpointPolicy(signer, every=7, seconds=3600),
    )
    svc.start()
    yield svc, port, tmp_path / "log.sqlite"
    svc.stop(grace=2)


def test_get_decision_returns_an_inclusion_proof_to_the_signed_root(signing_service, key):
    _, port, db = signing_service
    record = example_record()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        stub = decisions(ch)
        for n in range(7):
            record["subject"]["id"] = f"P-{n}"
            stub.EvaluateEligibility(eligibility_request(record), timeout=30)
        until = time.monotonic() + 20
        while _stored_sizes(db) != [7] and time.monotonic() < until:
            time.sleep(0.05)
        assert _stored_sizes(db) == [7]
        for n in range(1, 8):
            got = stub.GetDecision(
                decision_pb2.GetDecisionRequest(sequence=n, include_proof=True), timeout=30
            )
            proof = got.inclusion_proof
            assert got.HasField("inclusion_proof")
            _, size, root = _read_note(proof.checkpoint, key[2])
            assert (proof.leaf_index, proof.tree_size, size) == (n - 1, 7, 7)
            leaf = _leaf(got.entry.entry_hash)
            assert _root_from_path(n - 1, 7, leaf, list(proof.hashes)) == root
            # the same path for another leaf does not lead there
            wrong = _leaf(hashlib.sha256(b"forged").hexdigest())
            assert _root_from_path(n - 1, 7, wrong, list(proof.hashes)) != root
        # by decision id; without include_proof there is none
        third = stub.GetDecision(decision_pb2.GetDecisionRequest(sequence=3)).entry
        by_id = stub.GetDecision(
            decision_pb2.GetDecisionRequest(decision_id=third.decision_id, include_proof=True)
        )
        assert by_id.inclusion_proof.leaf_index == by_id.entry.sequence - 1
        assert (
            _root_from_path(
                by_id.inclusion_proof.leaf_index,
                7,
                _leaf(by_id.entry.entry_hash),
                list(by_id.inclusion_proof.hashes),
            )
            == root
        )
        plain = stub.GetDecision(decision_pb2.GetDecisionRequest(sequence=1))
        assert not plain.HasField("inclusion_proof")
        # an entry after the checkpoint: no proof yet
        record["subject"]["id"] = "P-late"
        late = stub.EvaluateEligibility(eligibility_request(record), timeout=30)
        after = stub.GetDecision(
            decision_pb2.GetDecisionRequest(sequence=late.log_sequence, include_proof=True)
        )
        assert late.log_sequence == 8 and not after.HasField("inclusion_proof")
    assert _mth(_leaves(db)[:7]) == root


# ---- 4. log migrate to PostgreSQL ---------------------------------------------------------


def test_migrate_to_postgres_copies_the_chain_and_it_verifies_there(
    signed, key, postgres_url, capsys
):
    db, checkpoint = signed
    assert main(["log", "migrate", "--from", str(db), "--to", postgres_url]) == 0
    out = capsys.readouterr().out
    assert "6 entries and 1 checkpoint(s) copied" in out and "chain intact" in out
    code, out = _verify(
        capsys, postgres_url, "--checkpoint", str(checkpoint), "--public-key", key[1]
    )
    assert code == 0 and "matches the signed checkpoint of 6 entries" in out, out
    assert main(["audit", "checkpoint", "--db", postgres_url]) == 0
    assert capsys.readouterr().out == checkpoint.read_text()
    # the same entries, byte for byte
    pg = open_log(postgres_url, read_only=True)
    sqlite_log = open_log(db, read_only=True)
    try:
        assert list(pg.entries()) == list(sqlite_log.entries())
    finally:
        pg.close()
        sqlite_log.close()
    # a second migration into the now non-empty log is refused
    assert main(["log", "migrate", "--from", str(db), "--to", postgres_url]) == 1
    assert capsys.readouterr().err.startswith("error: ")
