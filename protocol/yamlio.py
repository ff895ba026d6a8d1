"""Strict YAML reading: plain JSON-like data plus the source position of every node.

YAML 1.2 core-schema scalars only, with no surprises: ``NO`` and ``yes`` stay
strings, ``2.10`` stays the number 2.1 (and the schema then says a string was
expected), and bare dates stay strings (ISO 8601 text, validated by the schema).
Duplicate keys, anchors/aliases that merge keys, and non-string keys are errors.
"""

from __future__ import annotations

import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import Issue, ProtocolError

__all__ = ["Positions", "escape_pointer", "read_yaml"]

Positions = dict[str, tuple[int, int]]

_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_NULL = {"", "~", "null", "Null", "NULL"}
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}


def escape_pointer(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def read_yaml(text: str, file: str = "") -> tuple[Any, Positions]:
    """Parse ``text``; return (data, positions by JSON pointer). Raises ProtocolError."""
    try:
        node = YAML(typ="safe", pure=True).compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        issue = Issue(
            code="yaml_syntax",
            message=f"YAML syntax error: {exc.problem}",
            file=file,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
            fix="correct the YAML syntax at this position",
        )
        raise ProtocolError("yaml_syntax", f"{file or '<input>'}: invalid YAML", [issue]) from exc
    except YAMLError as exc:  # e.g. ReaderError: characters YAML does not allow
        issue = Issue(
            code="yaml_syntax",
            message=f"YAML error: {exc}",
            file=file,
            fix="remove control characters; save the file as UTF-8",
        )
        raise ProtocolError("yaml_syntax", f"{file or '<input>'}: invalid YAML", [issue]) from exc
    if node is None:
        issue = Issue(code="empty_document", message="the document is empty", file=file)
        raise ProtocolError("empty_document", f"{file or '<input>'}: empty document", [issue])
    builder = _Builder(file)
    data = builder.build(node, "")
    if builder.issues:
        first = builder.issues[0]
        raise ProtocolError(first.code, f"{file or '<input>'}: invalid YAML", builder.issues)
    return data, builder.positions


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.positions: Positions = {}
        self.issues: list[Issue] = []

    def build(self, node: Node, pointer: str) -> Any:
        self.positions[pointer] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, MappingNode):
            return self._mapping(node, pointer)
        if isinstance(node, SequenceNode):
            return [self.build(item, f"{pointer}/{i}") for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return _scalar(node)

    def _mapping(self, node: MappingNode, pointer: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self._issue(key_node, pointer, "yaml_merge_key", "merge keys (<<) are not allowed")
                continue
            key = _scalar(key_node) if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                self._issue(key_node, pointer, "non_string_key", f"key {key!r} is not a string")
                continue
            child = f"{pointer}/{escape_pointer(key)}"
            if key in out:
                first = self.positions.get(child, (0, 0))
                self._issue(
                    key_node,
                    child,
                    "duplicate_key",
                    f"duplicate key {key!r} (first defined at line {first[0]})",
                )
                continue
            out[key] = self.build(value_node, child)
        return out

    def _issue(self, node: Node, pointer: str, code: str, message: str) -> None:
        self.issues.append(
            Issue(
                code=code,
                message=message,
                pointer=pointer,
                file=self.file,
                line=node.start_mark.line + 1,
                column=node.start_mark.column + 1,
                fix="each key once, written out in full",
            )
        )


def _scalar(node: ScalarNode) -> Any:
    """Resolve a scalar by the YAML 1.2 core schema; quoted scalars are always strings."""
    text: str = node.value
    if node.style in ("'", '"', "|", ">"):
        return text
    if text in _NULL:
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    return text
