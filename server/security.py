"""TLS, mutual TLS and bearer tokens: server credentials and caller identity.

Tokens come from a file, one per line: ``NAME TOKEN`` (``#`` starts a comment).
Only SHA-256 digests of the tokens are kept in memory; comparison is constant-time.
The caller identity written to the decision log is the token's NAME, else the
client certificate's subject (mTLS), else ``anonymous``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

import grpc

__all__ = ["TokenStore", "certificate_subject", "server_credentials"]


def server_credentials(
    cert: str | Path, key: str | Path, client_ca: str | Path | None = None
) -> grpc.ServerCredentials:
    """TLS with ``cert``/``key`` (PEM); with ``client_ca``, clients must present a
    certificate signed by it (mutual TLS)."""
    pair = (Path(key).read_bytes(), Path(cert).read_bytes())
    root = Path(client_ca).read_bytes() if client_ca else None
    return grpc.ssl_server_credentials(
        [pair], root_certificates=root, require_client_auth=root is not None
    )


@dataclass(frozen=True)
class TokenStore:
    """Bearer tokens by SHA-256 digest → name."""

    names_by_digest: dict[bytes, str]

    @classmethod
    def from_file(cls, path: str | Path) -> TokenStore:
        found: dict[bytes, str] = {}
        for number, line in enumerate(Path(path).read_text("utf-8").splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 2 or len(parts[1]) < 16:
                raise ValueError(
                    f"{path}:{number}: expected 'NAME TOKEN' with a token of 16 or more characters"
                )
            found[_digest(parts[1])] = parts[0]
        if not found:
            raise ValueError(f"{path}: no tokens")
        return cls(found)

    def name_for(self, authorization: str | None) -> str | None:
        """The token's name for an ``authorization: Bearer …`` value, or None."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        digest = _digest(authorization[len("Bearer ") :].strip())
        for known, name in self.names_by_digest.items():
            if hmac.compare_digest(known, digest):
                return name
        return None


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def certificate_subject(context: grpc.ServicerContext) -> str | None:
    """The verified client certificate's subject (mTLS), or None."""
    auth = context.auth_context()
    for key in ("x509_subject", "x509_common_name"):
        values = auth.get(key)
        if values:
            prefix = "" if key == "x509_subject" else "CN="
            return prefix + values[0].decode("utf-8", "replace")
    return None
