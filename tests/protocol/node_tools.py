"""Node.js packages the editor-support tests drive for real (Ajv, yaml-language-server).

They are installed once with npm into a cache folder (``$XDG_CACHE_HOME/flexmrt/node``,
else ``~/.cache/flexmrt/node``), pinned. Without node and npm, or when the install fails
(no network), the tests skip and say why — unless FLEXMRT_REQUIRE_NODE is set, when they
fail instead.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

#: Pinned versions (npm registry names).
AJV = ("ajv@8.20.0", "ajv-formats@3.0.1")
YAML_LANGUAGE_SERVER = ("yaml-language-server@1.19.2",)  # 2.x needs node 22


def _unavailable(reason: str) -> None:
    if os.environ.get("FLEXMRT_REQUIRE_NODE"):
        pytest.fail(f"FLEXMRT_REQUIRE_NODE is set but {reason}")
    pytest.skip(reason)


def node() -> str:
    found = shutil.which("node")
    if found is None:
        _unavailable("node is not installed")
    return str(found)


def packages(specs: tuple[str, ...]) -> Path:
    """A folder whose node_modules holds ``specs`` (installed on first use)."""
    node()
    npm = shutil.which("npm")
    if npm is None:
        _unavailable("npm is not installed")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = cache / "flexmrt" / "node" / "-".join(s.replace("/", "_") for s in specs)
    if (folder / ".installed").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(
        [str(npm), "install", "--prefix", str(folder), "--no-audit", "--no-fund", *specs],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if run.returncode != 0:
        _unavailable(f"npm install {' '.join(specs)} failed: {run.stderr.strip()[-300:]}")
    (folder / ".installed").write_text("ok\n")
    return folder


def yaml_diagnostics(document: Path, timeout: float = 90) -> list[dict[str, Any]]:
    """What yaml-language-server (over LSP on stdio, as an editor runs it) reports for
    ``document``: the diagnostics of its first non-empty publishDiagnostics, or []."""
    folder = packages(YAML_LANGUAGE_SERVER)
    server = folder / "node_modules" / "yaml-language-server" / "bin" / "yaml-language-server"
    process = subprocess.Popen(
        [node(), str(server), "--stdio"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    client = _Lsp(process, time.monotonic() + timeout)
    try:
        client.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": None,
                "capabilities": {"workspace": {"configuration": True}},
            },
        )
        client.notify("initialized", {})
        client.notify("workspace/didChangeConfiguration", {"settings": {"yaml": _SETTINGS}})
        client.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": document.as_uri(),
                    "languageId": "yaml",
                    "version": 1,
                    "text": document.read_text("utf-8"),
                }
            },
        )
        return client.diagnostics()
    finally:
        process.kill()
        process.communicate()  # waits, and closes the pipes


# Validation on, and no schemas fetched from the network: only the modeline's.
_SETTINGS = {"validate": True, "schemaStore": {"enable": False}}


class _Lsp:
    """The client side of the Language Server Protocol's JSON-RPC framing, minimal."""

    def __init__(self, process: subprocess.Popen[bytes], deadline: float) -> None:
        self.process, self.deadline, self.next_id = process, deadline, 1

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.process.stdin.flush()

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: dict[str, Any]) -> Any:
        ident, self.next_id = self.next_id, self.next_id + 1
        self.send({"id": ident, "method": method, "params": params})
        while (message := self.receive()) is not None:
            if message.get("id") == ident and "method" not in message:
                return message.get("result")
            self.answer(message)
        raise AssertionError(f"yaml-language-server did not answer {method}")

    def diagnostics(self) -> list[dict[str, Any]]:
        while (message := self.receive()) is not None:
            if message.get("method") == "textDocument/publishDiagnostics":
                if message["params"]["diagnostics"]:
                    return list(message["params"]["diagnostics"])
            else:
                self.answer(message)
        return []

    def answer(self, message: dict[str, Any]) -> None:
        """Answer the server's own requests: settings for each configuration item asked."""
        if "id" in message and "method" in message:
            items = message.get("params", {}).get("items", [])
            result = (
                [_SETTINGS for _ in items]
                if message["method"] == "workspace/configuration"
                else None
            )
            self.send({"id": message["id"], "result": result})

    def receive(self) -> dict[str, Any] | None:
        """The next message, or None once the deadline has passed."""
        stdout = self.process.stdout
        assert stdout is not None
        remaining = self.deadline - time.monotonic()
        if remaining <= 0 or not select.select([stdout], [], [], remaining)[0]:
            return None
        length = 0
        while line := stdout.readline().strip():
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return dict(json.loads(stdout.read(length)))
