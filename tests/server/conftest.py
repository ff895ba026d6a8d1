"""A real flexmrt server on 127.0.0.1, port 0, with its decision log in tmp_path."""

from __future__ import annotations

import grpc
import pytest

from flexmrt.server.app import create_server


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


@pytest.fixture(scope="session")
def postgres_cluster():
    """A PostgreSQL server for the whole session (skips without the binaries)."""
    from postgres_server import require_postgres, running_postgres

    with running_postgres(require_postgres()) as url:
        yield url


@pytest.fixture
def postgres_url(postgres_cluster, request):
    """A fresh, empty database on the session's PostgreSQL server; its URL."""
    import re

    import psycopg

    name = "t_" + re.sub(r"\W", "_", request.node.name.lower())[:50]
    with psycopg.connect(postgres_cluster, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return postgres_cluster.rsplit("/", 1)[0] + "/" + name
