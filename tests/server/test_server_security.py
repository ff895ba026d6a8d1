"""TLS, mutual TLS and bearer tokens with certificates generated here; caller identity
reaches the decision log."""

from __future__ import annotations

import datetime as dt
import ipaddress

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc
from server_helpers import decisions, eligibility_request

from flexmrt.server.app import create_server
from flexmrt.server.security import TokenStore, server_credentials

TOKEN = "s3cret-token-for-edc-0001"


def _pem(obj) -> bytes:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert(name, key, issuer_name, issuer_key, *, ca=False, server=False):
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files."""
    folder = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "flexmrt test CA")])
    ca = _cert("flexmrt test CA", ca_key, ca_name, ca_key, ca=True)
    files = {"ca": _pem(ca)}
    for who, server in (("server", True), ("client", False)):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(
            "edc-client" if who == "client" else "localhost", key, ca_name, ca_key, server=server
        )
        files[f"{who}_cert"], files[f"{who}_key"] = _pem(cert), _pem(key)
    for name, data in files.items():
        (folder / f"{name}.pem").write_bytes(data)
    return {name: folder / f"{name}.pem" for name in files}


def _start(tmp_path, **kwargs):
    svc, port = create_server("127.0.0.1:0", db=tmp_path / "log.sqlite", **kwargs)
    svc.start()
    return svc, port


def _client(pki, port, with_cert):
    creds = grpc.ssl_channel_credentials(
        root_certificates=pki["ca"].read_bytes(),
        private_key=pki["client_key"].read_bytes() if with_cert else None,
        certificate_chain=pki["client_cert"].read_bytes() if with_cert else None,
    )
    return grpc.secure_channel(f"127.0.0.1:{port}", creds)


def test_tls(pki, tmp_path):
    svc, port = _start(
        tmp_path, credentials=server_credentials(pki["server_cert"], pki["server_key"])
    )
    try:
        with _client(pki, port, with_cert=False) as ch:
            answer = decisions(ch).EvaluateEligibility(eligibility_request(), timeout=10)
        assert svc.log.get(answer.log_sequence).caller == "anonymous"
        with (
            grpc.insecure_channel(f"127.0.0.1:{port}") as plain,
            pytest.raises(grpc.RpcError) as err,
        ):
            decisions(plain).EvaluateEligibility(eligibility_request(), timeout=5)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        svc.stop(grace=1)


def test_mutual_tls_logs_the_certificate_subject(pki, tmp_path):
    creds = server_credentials(pki["server_cert"], pki["server_key"], pki["ca"])
    svc, port = _start(tmp_path, credentials=creds)
    try:
        with _client(pki, port, with_cert=True) as ch:
            answer = decisions(ch).EvaluateEligibility(eligibility_request(), timeout=10)
        assert "CN=edc-client" in svc.log.get(answer.log_sequence).caller
        with _client(pki, port, with_cert=False) as ch, pytest.raises(grpc.RpcError) as err:
            decisions(ch).EvaluateEligibility(eligibility_request(), timeout=5)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        svc.stop(grace=1)


@pytest.fixture
def token_service(tmp_path):
    path = tmp_path / "tokens.txt"
    path.write_text(f"# name token\nedc {TOKEN}\nscheduler another-token-0123456789\n")
    svc, port = _start(tmp_path, tokens=TokenStore.from_file(path))
    yield svc, port
    svc.stop(grace=1)


@pytest.mark.parametrize(
    "metadata",
    [(), (("authorization", "Bearer wrong-token-000000000"),), (("authorization", TOKEN),)],
)
def test_calls_without_a_valid_token_are_unauthenticated(token_service, metadata):
    _, port = token_service
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch, pytest.raises(grpc.RpcError) as err:
        decisions(ch).EvaluateEligibility(eligibility_request(), metadata=metadata, timeout=5)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_valid_token_names_the_caller(token_service):
    svc, port = token_service
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        answer = decisions(ch).EvaluateEligibility(
            eligibility_request(), metadata=(("authorization", f"Bearer {TOKEN}"),), timeout=5
        )
        health = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest())
    assert svc.log.get(answer.log_sequence).caller == "edc"
    assert health.status == health_pb2.HealthCheckResponse.SERVING  # probes need no token


@pytest.mark.parametrize("text", ["", "edc short\n", "just-one-field-0123456789\n"])
def test_malformed_token_files_are_refused(tmp_path, text):
    path = tmp_path / "tokens.txt"
    path.write_text(text)
    with pytest.raises(ValueError):
        TokenStore.from_file(path)


def test_mutual_tls_and_a_token_log_both_identities(pki, tmp_path):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"edc {TOKEN}\n")
    creds = server_credentials(pki["server_cert"], pki["server_key"], pki["ca"])
    svc, port = _start(tmp_path, credentials=creds, tokens=TokenStore.from_file(tokens))
    try:
        with _client(pki, port, with_cert=True) as ch:
            answer = decisions(ch).EvaluateEligibility(
                eligibility_request(), metadata=(("authorization", f"Bearer {TOKEN}"),), timeout=10
            )
        caller = svc.log.get(answer.log_sequence).caller
        assert caller.startswith("edc (") and "CN=edc-client" in caller
    finally:
        svc.stop(grace=1)
