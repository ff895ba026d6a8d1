"""Signed checkpoints of the decision log: a tree head in the C2SP checkpoint format.

A checkpoint (C2SP tlog-checkpoint) is a signed note (C2SP signed-note)::

    <origin>
    <tree size>
    <base64 root hash>

    — <key name> <base64(key id || Ed25519 signature)>

The body (the three lines, final newline included) is signed with Ed25519; the key
id is the first 4 bytes of SHA-256(key name || 0x0A || 0x01 || public key). The
root is the RFC 9162 tree head over the first ``tree size`` entries
(:mod:`server.decision_log.merkle`). A checkpoint kept outside the log (by an
external witness) proves the log's first ``size`` entries: truncating the tail or
rewriting any of them no longer matches it.

Keys are Ed25519 in PEM (PKCS#8 private, SubjectPublicKeyInfo public: what
``openssl genpkey -algorithm ed25519`` writes, or ``flexmrt audit keygen``); a public
key may also be given as a note verifier key ``<name>+<hex id>+<base64(0x01 || key)>``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "DEFAULT_ORIGIN",
    "Checkpoint",
    "CheckpointError",
    "Signer",
    "generate_key",
    "load_public_key",
    "parse_checkpoint",
    "verify_checkpoint",
]

DEFAULT_ORIGIN = "flexmrt.local/decision-log"
_ED25519 = b"\x01"
_DASH = "\u2014 "
_NAME = re.compile(r"^[^\s+]+$")


class CheckpointError(ValueError):
    """A checkpoint or key that cannot be read, or whose signature does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log named ``origin`` had ``size`` entries with this ``root``."""

    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def key_id(name: str, public: Ed25519PublicKey) -> bytes:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(name.encode() + b"\n" + _ED25519 + raw).digest()[:4]


class Signer:
    """Signs checkpoints with one Ed25519 key under one key name (the log's origin)."""

    def __init__(self, key: Ed25519PrivateKey, origin: str = DEFAULT_ORIGIN) -> None:
        if not _NAME.match(origin):
            raise CheckpointError(f"checkpoint origin {origin!r} must have no spaces and no '+'")
        self.key = key
        self.origin = origin
        self.public = key.public_key()

    @classmethod
    def from_file(cls, path: str | Path, origin: str = DEFAULT_ORIGIN) -> Signer:
        """The signer whose private key is the PEM file at ``path``."""
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            raise CheckpointError(
                f"{path}: cannot read the checkpoint key ({error.strerror})"
            ) from None
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as error:
            raise CheckpointError(
                f"{path}: not an unencrypted PEM private key ({error}); make one with "
                "`flexmrt audit keygen --out FILE`"
            ) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise CheckpointError(f"{path}: the checkpoint key must be Ed25519")
        return cls(key, origin)

    def sign(self, checkpoint: Checkpoint) -> str:
        """The signed note text of ``checkpoint``."""
        body = checkpoint.body()
        signature = key_id(self.origin, self.public) + self.key.sign(body.encode())
        return f"{body}\n{_DASH}{self.origin} {base64.b64encode(signature).decode()}\n"

    def verifier_key(self) -> str:
        """The note verifier key (``name+id+key``) to hand to a witness."""
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        kid = key_id(self.origin, self.public).hex()
        return f"{self.origin}+{kid}+{base64.b64encode(_ED25519 + raw).decode()}"


def generate_key(path: Path) -> Ed25519PrivateKey:
    """Write a new Ed25519 private key (PEM, mode 0600) to ``path`` and its public key beside."""
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.touch(mode=0o600, exist_ok=False)
    path.write_bytes(pem)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    path.with_name(path.name + ".pub").write_bytes(public)
    return key


def load_public_key(path: str | Path) -> tuple[Ed25519PublicKey, str | None]:
    """The public key in ``path`` (PEM or a note verifier key) and the name it carries."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path}: cannot read the public key ({error})") from None
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode())
        except ValueError as error:
            raise CheckpointError(f"{path}: not a PEM public key ({error})") from None
        if not isinstance(key, Ed25519PublicKey):
            raise CheckpointError(f"{path}: the checkpoint key must be Ed25519")
        return key, None
    parts = text.split("+")
    try:
        name, kid, encoded = parts
        raw = base64.b64decode(encoded, validate=True)
        if raw[:1] != _ED25519 or len(raw) != 33:
            raise ValueError("not an Ed25519 key")
        public = Ed25519PublicKey.from_public_bytes(raw[1:])
    except ValueError:
        raise CheckpointError(
            f"{path}: expected a PEM public key or a verifier key NAME+ID+KEY"
        ) from None
    if key_id(name, public).hex() != kid.lower():
        raise CheckpointError(f"{path}: the verifier key's id does not match its key")
    return public, name


def parse_checkpoint(text: str, where: str = "checkpoint") -> tuple[Checkpoint, list[str]]:
    """The tree head of a signed checkpoint and its signature lines (not yet verified)."""
    body, sep, signatures = text.rpartition("\n\n")
    if not sep or not body:
        raise CheckpointError(f"{where}: not a signed note (no blank line before signatures)")
    lines = (body + "\n").split("\n")[:-1]
    if len(lines) < 3:
        raise CheckpointError(f"{where}: a checkpoint has origin, size and root lines")
    origin, size_text, root_text = lines[:3]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise CheckpointError(f"{where}: line 2: tree size {size_text!r} is not a number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except ValueError:
        raise CheckpointError(f"{where}: line 3: root hash is not base64") from None
    if len(root) != 32:
        raise CheckpointError(f"{where}: line 3: root hash must be 32 bytes")
    sig_lines = [line for line in signatures.split("\n") if line]
    return Checkpoint(origin, int(size_text), root), sig_lines


def verify_checkpoint(
    text: str, public: Ed25519PublicKey, name: str | None = None, where: str = "checkpoint"
) -> Checkpoint:
    """The checkpoint in ``text`` once a signature by ``public`` verifies over it."""
    checkpoint, sig_lines = parse_checkpoint(text, where)
    name = name or checkpoint.origin
    wanted = key_id(name, public)
    body = text.rpartition("\n\n")[0] + "\n"
    for line in sig_lines:
        if not line.startswith(_DASH):
            raise CheckpointError(f"{where}: malformed signature line {line[:40]!r}")
        signer, _, encoded = line[len(_DASH) :].rpartition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise CheckpointError(f"{where}: signature of {signer} is not base64") from None
        if signer != name or raw[:4] != wanted:
            continue
        try:
            public.verify(raw[4:], body.encode())
        except InvalidSignature:
            raise CheckpointError(
                f"{where}: the signature of {name} does not verify: the checkpoint was altered "
                "or signed by another key"
            ) from None
        return checkpoint
    raise CheckpointError(f"{where}: no signature by key {name} ({wanted.hex()})")
