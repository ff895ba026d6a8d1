"""`dose-batch` on Dask: a two-worker LocalCluster gives what the serial run gives,
summaries stream to batch.jsonl, and the CLI takes --scheduler."""

from __future__ import annotations

import io
import json

import pytest
from distributed import Client, LocalCluster

from flexmrt.gpu_dose import phantom
from flexmrt.gpu_dose.batch import dose_study, find_studies, run_batch
from flexmrt.gpu_dose.pipeline import Settings
from flexmrt.server.cli import main

SETTINGS = Settings(dose_method="local", device="cpu")


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    for n, name in enumerate(("p1", "p2", "p3")):
        phantom.make_phantom(
            root / "in" / name, shape=(24, 24, 24), voxel_mm=8.0, activity_scale=1 + 0.1 * n
        )
    return root


def _structures(path) -> dict:
    return json.loads(path.read_text())["structures"]


def test_two_dask_workers_equal_the_serial_run(studies, tmp_path):
    serial = [
        dose_study(f, tmp_path / "serial" / f.name, SETTINGS) for f in find_studies(studies / "in")
    ]
    stream = io.StringIO()
    # two workers in this process (worker processes cost ~20 s to start on a busy CI box;
    # what a remote worker needs — the task pickled — is checked below)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        assert len(client.scheduler_info()["workers"]) == 2
        parallel = run_batch(
            studies / "in", tmp_path / "dask", SETTINGS, client=client, progress=stream
        )
    assert [s["study"] for s in parallel] == ["p1", "p2", "p3"]
    for a, b in zip(serial, parallel, strict=True):
        assert a["status"] == b["status"] == "ok"
        assert a["kidneys_mean_gy"] == b["kidneys_mean_gy"]
        assert _structures(tmp_path / "serial" / a["study"] / "results.json") == _structures(
            tmp_path / "dask" / b["study"] / "results.json"
        )
    lines = (tmp_path / "dask" / "batch.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["study"] for line in lines) == ["p1", "p2", "p3"]
    assert "3/3" in stream.getvalue()


def test_a_task_travels_to_a_remote_worker(studies, tmp_path):
    """What --scheduler sends a worker: the function and its arguments, pickled."""
    import cloudpickle

    folder = find_studies(studies / "in")[0]
    task = cloudpickle.loads(cloudpickle.dumps((dose_study, folder, tmp_path / "x", SETTINGS)))
    summary = task[0](*task[1:])
    assert summary["status"] == "ok" and task[3] == SETTINGS


def test_cli_dose_batch_on_a_local_cluster_and_a_bad_scheduler(studies, tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["dose-batch", str(studies / "in"), "--out", str(out), "--dose-method", "local"]
    assert main([*args, "--workers", "2"]) == 0
    assert "p3" in capsys.readouterr().out and (out / "batch.jsonl").exists()
    assert main([*args, "--workers", "0"]) == 2
    assert "--workers must be at least 1" in capsys.readouterr().err


def test_a_busy_dashboard_port_does_not_stop_the_batch(studies, tmp_path):
    """Dask's default dashboard port 8787 held by someone else (another cluster, another
    user's notebook): the batch's own cluster takes any free port, without a warning."""
    import socket

    holder = socket.socket()
    try:
        holder.bind(("", 8787))
        holder.listen()
    except OSError:
        pass  # already held by someone else: the situation under test
    try:
        summaries = run_batch(studies / "in", tmp_path / "out", SETTINGS, progress=None)
    finally:
        holder.close()
    assert [s["status"] for s in summaries] == ["ok", "ok", "ok"]
