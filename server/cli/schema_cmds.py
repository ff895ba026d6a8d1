"""`flexmrt schema protocol|record` — the JSON Schemas, for editors and other tools.

The schema is printed exactly as the package ships it (draft 2020-12, a stable ``$id``,
a description on every property), so a YAML language server or any JSON Schema
validator sees what flexmrt itself validates against.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["SCHEMAS", "register", "schema_text"]

#: Schema name → (package, resource path).
SCHEMAS = {
    "protocol": ("flexmrt.protocol", "schema/protocol.schema.json"),
    "record": ("flexmrt.engine", "schema/record.schema.json"),
}


def schema_text(name: str) -> str:
    """The shipped JSON Schema ``name`` (protocol or record), as text."""
    package, path = SCHEMAS[name]
    return resources.files(package).joinpath(path).read_text("utf-8")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "schema", help="print the protocol or record JSON Schema (for editors and validators)"
    )
    p.add_argument("name", choices=sorted(SCHEMAS), metavar="protocol|record")
    p.add_argument("--out", metavar="FILE", help="write it here instead of stdout")
    p.set_defaults(func=_schema)


def _schema(args: argparse.Namespace) -> int:
    text = schema_text(args.name)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
