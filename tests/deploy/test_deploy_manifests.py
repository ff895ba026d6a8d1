"""deploy/kubernetes: every manifest validates against the Kubernetes schemas that
kubernetes-validate bundles (offline: the network is shut during validation), and the
pieces fit together (the command line flexmrt accepts, probes, headless Service, grace).
"""

from __future__ import annotations

import copy
import socket
from pathlib import Path

import pytest
import yaml
from kubernetes_validate import utils as kv

from flexmrt.server.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))
KUBERNETES = "1.29"  # the oldest version the manifests are written for (native gRPC probes: 1.27)


def _documents() -> list[dict]:
    return [d for path in MANIFESTS for d in yaml.safe_load_all(path.read_text()) if d]


def _kind(kind: str, name: str) -> dict:
    return next(d for d in _documents() if d["kind"] == kind and d["metadata"]["name"] == name)


@pytest.fixture
def offline(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access during validation")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_every_manifest_validates_offline(offline):
    assert MANIFESTS
    for doc in _documents():
        kv.validate(doc, KUBERNETES, strict=True)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["spec"]["template"]["spec"]["containers"][0].update(imagePullPolicee="x"),
        lambda d: d["spec"].update(replicas="three"),
        lambda d: d["spec"]["template"]["spec"]["containers"][0].pop("name"),
    ],
    ids=["unknown field", "wrong type", "missing name"],
)
def test_the_validator_refuses_a_broken_deployment(offline, mutate):
    broken = copy.deepcopy(_kind("Deployment", "flexmrt"))
    mutate(broken)
    with pytest.raises(kv.ValidationError):
        kv.validate(broken, KUBERNETES, strict=True)


def test_replicas_share_one_postgres_log_behind_a_headless_service():
    deployment = _kind("Deployment", "flexmrt")
    service = _kind("Service", "flexmrt")
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    args = build_parser().parse_args(container["args"])  # flexmrt accepts its command line
    assert args.db.startswith("postgresql://") and "@flexmrt-postgres:" in args.db
    assert ":" not in args.db.split("://")[1].split("@")[0], "no password in the arguments"
    assert deployment["spec"]["replicas"] > 1
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    port = {p["name"]: p["containerPort"] for p in container["ports"]}["grpc"]
    assert args.port == port
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"]["port"] == port
    assert pod["spec"]["terminationGracePeriodSeconds"] >= args.grace_seconds + 5
    assert _kind("Service", "flexmrt-postgres")["spec"]["ports"][0]["port"] == 5432
