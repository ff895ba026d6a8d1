"""`flexmrt` command line: a thin edge over protocol/, engine/ and gpu_dose/.

Each command group lives in its own module with a ``register(subparsers)``
function; this module only assembles them. Exit codes: 0 when the command did
its job (whatever the clinical answer), 1 for invalid input, 2 for usage errors.
A usage error names the misspelt command or flag and the closest one it knows;
with ``--json`` it is printed as JSON on stdout, as every other error is.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from .common import UsageError

__all__ = ["main"]

# Command-group modules, in the order their commands appear in --help.
_GROUPS = (
    "flexmrt.server.cli.protocol_cmds",
    "flexmrt.server.cli.schema_cmds",
    "flexmrt.server.cli.boundary_cmds",
    "flexmrt.server.cli.engine_cmds",
    "flexmrt.server.cli.worklist_cmds",
    "flexmrt.server.cli.amendment_cmds",
    "flexmrt.server.cli.report_cmds",
    "flexmrt.server.cli.import_cmds",
    "flexmrt.server.cli.dose_cmds",
    "flexmrt.server.cli.serve_cmds",
)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error raises UsageError instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    from flexmrt.engine import ENGINE_VERSION

    try:
        package = version("flexmrt")
    except PackageNotFoundError:  # running from a source tree that is not installed
        package = "unknown"
    return f"flexmrt {package} (engine {ENGINE_VERSION})"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="flexmrt",
        description="Run a radioligand-therapy trial protocol as data.",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in _GROUPS:
        importlib.import_module(name).register(sub)
    return parser


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _flags(parser: argparse.ArgumentParser) -> list[str]:
    return [s for a in parser._actions for s in a.option_strings if s.startswith("--")]


def _explain(parser: argparse.ArgumentParser, argv: list[str], error: UsageError) -> str:
    """The usage error in words, with "did you mean" for a misspelt command or flag."""
    text = str(error)
    commands = _subparsers(parser)
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is not None and first not in commands and "invalid choice" in text:
        close = difflib.get_close_matches(first, list(commands), n=1, cutoff=0.5)
        hint = f"; did you mean `flexmrt {close[0]}`?" if close else ""
        return f"flexmrt: unknown command {first!r}{hint} (`flexmrt --help` lists them)"
    command = commands.get(first or "")
    unknown = [a.split("=", 1)[0] for a in argv if a.startswith("-") and a != "-"]
    known = _flags(command) if command else _flags(parser)
    known += ["-h", "--help"] + (["--version"] if command is None else [])
    for flag in unknown:
        if flag in known or (command and any(k.startswith(flag) for k in known)):
            continue
        close = difflib.get_close_matches(flag, known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        where = f"flexmrt {first}" if command else "flexmrt"
        return f"{where}: unknown flag {flag}{hint} (`{where} --help` lists the flags)"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in args_list
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(args_list)
        if extra:
            raise UsageError(f"flexmrt {args.command}: unrecognized arguments: {' '.join(extra)}")
    except UsageError as error:  # exit 2, as argparse itself exits on a usage error
        raise SystemExit(_usage(_explain(parser, args_list, error), as_json)) from None
    try:
        return int(args.func(args))
    except UsageError as error:  # found by the command itself (a bad --as-of): exit code 2
        return _usage(str(error), as_json)
    except BrokenPipeError:  # `flexmrt show … | head`
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _usage(message: str, as_json: bool) -> int:
    if as_json:
        error: dict[str, Any] = {"code": "usage", "message": message}
        print(json.dumps({"error": error}, indent=2, sort_keys=True, ensure_ascii=False))
    else:
        print(f"{message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
