"""TLS, mutual TLS and bearer tokens: server credentials and caller identity.

Tokens come from a file, one per line: ``NAME TOKEN`` (``#`` starts a comment).
Only SHA-256 digests of the tokens are kept in memory; comparison is constant-time.
The caller identity written to the decision log is the token's NAME and, with
mTLS, the client certificate's subject beside it (``edc (CN=edc-client)``), else
whichever of the two there is, else ``anonymous``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import grpc

__all__ = [
    "TokenStore",
    "authorization_values",
    "caller_identity",
    "certificate_subject",
    "server_credentials",
]


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


_B64TOKEN = re.compile(r"[A-Za-z0-9._~+/-]+=*")  # RFC 6750 b64token
_BEARER = re.compile(r"Bearer ([A-Za-z0-9._~+/-]+=*)")  # exactly one space, nothing after
_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")


@dataclass(frozen=True)
class TokenStore:
    """Bearer tokens by SHA-256 digest → name.

    A tokens file line is ``NAME TOKEN`` (a token of 16 or more b64token characters:
    letters, digits, ``-._~+/`` and trailing ``=``) or ``NAME sha256:<64 hex digits>``,
    the digest of the token, so the file need not hold the token itself.
    """

    names_by_digest: dict[bytes, str]

    @classmethod
    def from_file(cls, path: str | Path) -> TokenStore:
        found: dict[bytes, str] = {}
        for number, line in enumerate(Path(path).read_text("utf-8").splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            digest = _DIGEST.fullmatch(parts[1]) if len(parts) == 2 else None
            if digest:
                found[bytes.fromhex(digest.group(1))] = parts[0]
            elif len(parts) == 2 and len(parts[1]) >= 16 and _B64TOKEN.fullmatch(parts[1]):
                found[_digest(parts[1])] = parts[0]
            else:
                raise ValueError(
                    f"{path}:{number}: expected 'NAME TOKEN' (a token of 16 or more letters, "
                    "digits or -._~+/) or 'NAME sha256:<64 hex digits>'"
                )
        if not found:
            raise ValueError(f"{path}: no tokens")
        return cls(found)

    def name_for(self, authorization: Sequence[str]) -> str | None:
        """The token's name for the ``authorization`` header values of a call, or None.

        Exactly one value, exactly ``Bearer <token>``; every known digest is compared
        (constant time, no early exit), so timing tells nothing about the tokens.
        """
        if len(authorization) != 1:
            return None
        match = _BEARER.fullmatch(authorization[0])
        if match is None:
            return None
        digest = _digest(match.group(1))
        name = None
        for known, who in self.names_by_digest.items():
            if hmac.compare_digest(known, digest):
                name = who
        return name


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def authorization_values(metadata: Sequence[tuple[str, Any]] | None) -> list[str]:
    """Every ``authorization`` value a call carries (a repeated header is not merged)."""
    return [
        v if isinstance(v, str) else v.decode("latin-1")
        for k, v in metadata or ()
        if k.lower() == "authorization"
    ]


def caller_identity(token_name: str | None, subject: str | None) -> str:
    """Who called: the token's name, the certificate subject (mTLS), both, or anonymous."""
    if token_name and subject:
        return f"{token_name} ({subject})"
    return token_name or subject or "anonymous"


def certificate_subject(context: grpc.ServicerContext) -> str | None:
    """The verified client certificate's subject (mTLS), or None."""
    # grpc documents auth_context() as "a map of strings to an iterable of bytes for each auth
    # property"; the typeshed stub's Mapping[str, bytes] has lost the iterable.
    auth = cast("Mapping[str, Sequence[bytes]]", context.auth_context())
    for key in ("x509_subject", "x509_common_name"):
        values = auth.get(key)
        if values:
            prefix = "" if key == "x509_subject" else "CN="
            return prefix + values[0].decode("utf-8", "replace")
    return None
