"""`flexmrt` command line: a thin edge over protocol/, engine/ and gpu_dose/.

Each command group lives in its own module with a ``register(subparsers)``
function; this module only assembles them. Exit codes: 0 when the command did
its job (whatever the clinical answer), 1 for invalid input, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["main"]

# Command-group modules, in the order their commands appear in --help.
_GROUPS = (
    "server.cli.protocol_cmds",
    "server.cli.engine_cmds",
    "server.cli.amendment_cmds",
    "server.cli.report_cmds",
    "server.cli.import_cmds",
    "server.cli.dose_cmds",
    "server.cli.serve_cmds",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flexmrt",
        description="Run a radioligand-therapy trial protocol as data.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _GROUPS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:  # `flexmrt show … | head`
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
