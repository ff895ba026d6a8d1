"""A clean install: the wheel, installed in a fresh venv outside the repository, serves and decides.

The repository keeps its top-level folders (protocol/, engine/, gpu_dose/, server/); the wheel
must put nothing but the ``flexmrt`` namespace into site-packages, carry its package data
(schemas, protocol revisions, S-value tables), declare every dependency it imports (the venv
gets them from the package index, not from this environment), and work from any directory.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parents[1]
TOP = ("protocol", "engine", "gpu_dose", "server")
EXAMPLE = ROOT / "examples" / "patients" / "flx-010-thrombocytopenia.yaml"


def test_code_imports_itself_only_through_the_flexmrt_namespace() -> None:
    """``import engine`` would load a second copy of a module under another name (and fail
    where only the wheel is installed): every absolute import of the four folders says
    ``flexmrt.``."""
    bare = []
    for folder in (*TOP, "tests", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                bare += [
                    f"{path.relative_to(ROOT)}:{node.lineno}: {n}"
                    for n in names
                    if n.split(".")[0] in TOP
                ]
    assert not bare, "import these as flexmrt.<name>:\n" + "\n".join(bare)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (whl,) = out.glob("flexmrt-*.whl")
    return whl


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv outside the repository with the wheel and its declared dependencies."""
    home = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(home / "v")], check=True)
    pip = subprocess.run(
        [str(home / "v" / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    return home / "v"


def test_the_wheel_holds_only_the_flexmrt_namespace_and_its_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {
        "flexmrt",
        wheel.name.split("-py3")[0] + ".dist-info",
    }
    assert not [n for n in names if "__pycache__" in n]
    for data in (
        "flexmrt/protocol/schema/protocol.schema.json",
        "flexmrt/protocol/revisions/flex-mrt-1.1.yaml",
        "flexmrt/engine/schema/record.schema.json",
        "flexmrt/gpu_dose/data/vsv/177Lu4.8mmsoft.txt",
        "flexmrt/server/_gen/flexmrt/v1/decision_pb2.py",
    ):
        assert data in names
    # every module in the repository is in the wheel
    for folder in TOP:
        for path in (ROOT / folder).rglob("*.py"):
            assert f"flexmrt/{path.relative_to(ROOT).as_posix()}" in names, path


def _site_packages(venv: Path) -> Path:
    (site,) = venv.glob("lib/python*/site-packages")
    return site


def test_installed_files_are_under_flexmrt_only(venv: Path) -> None:
    (record,) = _site_packages(venv).glob("flexmrt-*.dist-info/RECORD")
    paths = [line.split(",")[0] for line in record.read_text().splitlines() if line]
    outside = [
        p for p in paths if not p.startswith(("flexmrt/", "flexmrt-", "../../../bin/flexmrt"))
    ]
    assert not outside, outside
    for name in TOP:
        assert not (_site_packages(venv) / name).exists()


def _env() -> dict[str, str]:
    # nothing from this checkout or its environment: no PYTHONPATH, run from elsewhere
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}


def test_installed_flexmrt_decides_outside_the_repository(venv: Path, tmp_path: Path) -> None:
    record = tmp_path / "record.yaml"
    record.write_bytes(EXAMPLE.read_bytes())
    argv = ["decide", str(record), "--protocol", "flex-mrt", "--as-of", "2025-04-22", "--json"]
    done = subprocess.run(
        [str(venv / "bin" / "flexmrt"), *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    installed = json.loads(done.stdout)
    here = subprocess.run(
        [sys.executable, "-m", "flexmrt.server.cli", *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert here.returncode == 0, here.stderr
    # the same answer as the checkout gives: same decision id, same action
    assert installed["decision_id"] == json.loads(here.stdout)["decision_id"]
    assert installed["action"] == json.loads(here.stdout)["action"]


def test_installed_flexmrt_serves_and_answers_health_checks(venv: Path, tmp_path: Path) -> None:
    argv = [str(venv / "bin" / "flexmrt"), "serve", "--host", "127.0.0.1", "--port", "0"]
    argv += ["--db", str(tmp_path / "log.sqlite")]
    proc = subprocess.Popen(
        argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("flexmrt serving on"), line + (
            proc.stderr.read() if proc.stderr else ""
        )
        address = line.split()[3]
        with grpc.insecure_channel(address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            for service in ("", "flexmrt.v1.DecisionService"):
                reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=30)
                assert reply.status == health_pb2.HealthCheckResponse.SERVING, service
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
