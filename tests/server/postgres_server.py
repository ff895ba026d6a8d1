"""A real PostgreSQL server for the tests: the Debian package's binaries, a fresh cluster.

``initdb`` and ``pg_ctl`` run into a temporary directory, listening on 127.0.0.1 and a
free port; as root (CI) they run as the ``postgres`` user, since initdb refuses root.
Without the binaries the tests that need it skip, unless ``FLEXMRT_REQUIRE_POSTGRES``
is set (CI), where they fail.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["postgres_bin", "running_postgres"]


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin/ folder, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    return Path(found[-1]).parent if found else None


def _version(path: str) -> int:
    part = Path(path).parts[-3]
    return int(part) if part.isdigit() else 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_postgres() -> Path:
    """The binaries, or skip (fail where FLEXMRT_REQUIRE_POSTGRES is set)."""
    found = postgres_bin()
    if found is None:
        if os.environ.get("FLEXMRT_REQUIRE_POSTGRES"):
            pytest.fail("FLEXMRT_REQUIRE_POSTGRES is set but PostgreSQL is not installed")
        pytest.skip("PostgreSQL binaries not installed (make sysdeps installs them)")
    return found


@contextmanager
def running_postgres(bindir: Path) -> Iterator[str]:
    """A fresh cluster on 127.0.0.1; yields the URL of its ``flexmrt`` database."""
    root = Path(tempfile.mkdtemp(prefix="flexmrt-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()

    def run(*argv: str) -> None:
        subprocess.run([*as_user, *argv], check=True, capture_output=True, timeout=120)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "flexmrt", "--auth=trust", "-E", "UTF8")
        options = f"-h 127.0.0.1 -p {port} -k {root} -c fsync=on -c max_connections=200"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w",
            "start")  # fmt: skip
        try:
            run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "flexmrt",
                "flexmrt")  # fmt: skip
            yield f"postgresql://flexmrt@127.0.0.1:{port}/flexmrt"
        finally:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
