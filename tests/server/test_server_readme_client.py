"""The README's Python client, run as written against a real `flexmrt serve`.

The block under "### Python client" is taken from the README itself (only its address
changes, to the test server's port) and run in a fresh interpreter from the checkout,
so the example cannot drift from the service; it imports only runtime packages
(`make run` installs no test extras).
"""

from __future__ import annotations

import re
import subprocess
import sys

from serve_processes import Serve
from server_helpers import ROOT


def _readme_client() -> str:
    text = (ROOT / "README.md").read_text("utf-8")
    section = text.split("### Python client", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README: no python block under '### Python client'"
    return match.group(1)


def test_the_readme_python_client_prints_what_the_readme_says(tmp_path):
    code = _readme_client()
    assert "localhost:50051" in code
    imported = set(re.findall(r"^(?:import|from) (\w+)", code, re.M))
    assert imported <= {"json", "grpc", "yaml", "flexmrt"}, imported  # runtime packages only
    serve = Serve(str(tmp_path / "log.sqlite")).ready()
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-c", code.replace("localhost:50051", serve.address)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        serve.close()
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    # the README: "This prints `ELIGIBILITY_OUTCOME_ELIGIBLE <decision id> log entry 1`"
    assert re.fullmatch(r"ELIGIBILITY_OUTCOME_ELIGIBLE [0-9a-f]{32} log entry 1", first), first
