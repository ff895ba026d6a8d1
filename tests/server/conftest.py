"""A real flexmrt server on 127.0.0.1, port 0, with its decision log in tmp_path."""

from __future__ import annotations

import grpc
import pytest

from server.app import create_server


@pytest.fixture
def service(tmp_path):
    """The running service (stopped after the test) and its port."""
    svc, port = create_server("127.0.0.1:0", db=tmp_path / "log.sqlite")
    svc.start()
    yield svc, port
    svc.stop(grace=2)


@pytest.fixture
def channel(service):
    _, port = service
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield ch
