"""Strict YAML reading: plain JSON-like data plus the source position of every node.

YAML 1.2 core-schema scalars only, with no surprises: ``NO`` and ``yes`` stay
strings, ``2.10`` stays the number 2.1 (and the schema then says a string was
expected) that remembers it was written ``2.10``
(:class:`protocol.numbers.WrittenNumber`), and bare dates stay strings (ISO 8601
text, validated by the schema).
Duplicate keys, merge keys, anchors/aliases and non-string keys are errors; so are
documents nested deeper than :data:`MAX_DEPTH` and numbers beyond the range of
a double (an integer literal of thousands of digits, ``1e999``) (see :func:`_scalar`).

The text is composed into nodes by PyYAML's C loader (libyaml), which keeps the
line and column of every node; scalars are then resolved here by the core schema,
not by PyYAML's YAML 1.1 resolver.
"""

from __future__ import annotations

import math
import re
import sys
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import Issue, ProtocolError
from .numbers import from_text

__all__ = ["MAX_DEPTH", "Positions", "escape_pointer", "read_yaml"]

Positions = dict[str, tuple[int, int]]

MAX_DEPTH = 64  # nesting levels (mappings and lists); documents here need fewer than 15
_DOUBLE_MAX = int(sys.float_info.max)  # every number must convert to a finite double
_MAX_NUMBER_TEXT = 400  # a longer number literal is refused before conversion

_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_NULL = {"", "~", "null", "Null", "NULL"}
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_MERGE = "tag:yaml.org,2002:merge"
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # C loader where libyaml is built
_NODE_TAG = {
    ScalarNode: "tag:yaml.org,2002:str",
    SequenceNode: "tag:yaml.org,2002:seq",
    MappingNode: "tag:yaml.org,2002:map",
}


class _Loader(_BaseLoader):  # type: ignore[misc]
    """The composer's loader, minus PyYAML's YAML 1.1 tag resolution.

    Scalars are resolved by :func:`_resolve` from their text and style, never by tag,
    so the composer needs to tell apart only the merge key ``<<`` (refused); the
    regular-expression resolver it would run on every scalar is skipped.
    """

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode and implicit[0] and value == "<<":
            return _MERGE
        return _NODE_TAG[kind]


def escape_pointer(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def read_yaml(text: str, file: str = "") -> tuple[Any, Positions]:
    """Parse ``text``; return (data, positions by JSON pointer). Raises ProtocolError."""
    where = file or "<input>"
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        problem = exc.problem
        lines = text.splitlines()
        if (
            mark
            and mark.line < len(lines)
            and lines[mark.line][mark.column : mark.column + 1] == "\t"
        ):
            problem = "found a '\\t' (tab) character; YAML forbids tabs for indentation"
        issue = Issue(
            code="yaml_syntax",
            message=f"YAML syntax error: {problem}",
            file=file,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
            fix="correct the YAML syntax at this position",
        )
        raise ProtocolError("yaml_syntax", f"{where}: invalid YAML", [issue]) from None
    except yaml.YAMLError as exc:  # e.g. ReaderError: characters YAML does not allow
        issue = Issue(
            code="yaml_syntax",
            message=f"YAML error: {exc}",
            file=file,
            fix="remove control characters; save the file as UTF-8",
        )
        raise ProtocolError("yaml_syntax", f"{where}: invalid YAML", [issue]) from None
    except UnicodeEncodeError as exc:  # a lone surrogate in a str that never was UTF-8
        issue = Issue(
            code="yaml_syntax",
            message=f"text is not valid Unicode (a lone surrogate at character {exc.start})",
            file=file,
            fix="save the file as UTF-8",
        )
        raise ProtocolError("yaml_syntax", f"{where}: invalid YAML", [issue]) from None
    if node is None:
        issue = Issue(code="empty_document", message="the document is empty", file=file)
        raise ProtocolError("empty_document", f"{where}: empty document", [issue])
    builder = _Builder(file)
    data = builder.build(node, "", 0)
    if builder.issues:
        first = builder.issues[0]
        raise ProtocolError(first.code, f"{where}: invalid YAML", builder.issues)
    return data, builder.positions


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.positions: Positions = {}
        self.issues: list[Issue] = []
        self.seen: set[int] = set()  # ids of the nodes built: a repeat is an alias

    def build(self, node: Node, pointer: str, depth: int) -> Any:
        self.positions[pointer] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if id(node) in self.seen:
            self._issue(
                node,
                pointer,
                "yaml_alias",
                "aliases (*name) are not allowed",
                "write the value out in full instead of an anchor (&name) and alias",
            )
            return None
        self.seen.add(id(node))
        if isinstance(node, ScalarNode):
            return self._scalar(node, pointer)
        if depth >= MAX_DEPTH:
            self._issue(
                node,
                pointer,
                "nested_too_deep",
                f"nested deeper than {MAX_DEPTH} levels",
                "flatten the structure; no field of this document nests that deep",
            )
            return None
        if isinstance(node, MappingNode):
            return self._mapping(node, pointer, depth)
        assert isinstance(node, SequenceNode)
        return [self.build(item, f"{pointer}/{i}", depth + 1) for i, item in enumerate(node.value)]

    def _mapping(self, node: MappingNode, pointer: str, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                self._issue(key_node, pointer, "yaml_merge_key", "merge keys (<<) are not allowed")
                continue
            key = _resolve(key_node) if isinstance(key_node, ScalarNode) else None
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
            out[key] = self.build(value_node, child, depth + 1)
        return out

    def _scalar(self, node: ScalarNode, pointer: str) -> Any:
        try:
            return _resolve(node)
        except _NumberError as exc:
            self._issue(node, pointer, "number_out_of_range", str(exc), exc.fix)
            return None

    def _issue(self, node: Node, pointer: str, code: str, message: str, fix: str = "") -> None:
        self.issues.append(
            Issue(
                code=code,
                message=message,
                pointer=pointer,
                file=self.file,
                line=node.start_mark.line + 1,
                column=node.start_mark.column + 1,
                fix=fix or "each key once, written out in full",
            )
        )


class _NumberError(ValueError):
    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


def _resolve(node: ScalarNode) -> Any:
    """Resolve a scalar by the YAML 1.2 core schema; quoted scalars are always strings.

    Numbers must fit a finite double (integers stay exact ints); anything
    else raises _NumberError rather than becoming a huge int or an infinity.
    """
    text: str = node.value
    if node.style in ("'", '"', "|", ">"):
        return text
    if text in _NULL:
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT.match(text):
        if len(text) > _MAX_NUMBER_TEXT:
            raise _NumberError(f"integer of {len(text)} digits", _NUMBER_FIX)
        value = int(text)
        if abs(value) > _DOUBLE_MAX:
            raise _NumberError(
                f"integer {_short(text)} is beyond the range of a double", _NUMBER_FIX
            )
        return value
    if _FLOAT.match(text):
        if len(text) > _MAX_NUMBER_TEXT:
            raise _NumberError(f"number of {len(text)} characters", _NUMBER_FIX)
        number = from_text(text)  # 1.50 keeps its written decimals (protocol.numbers)
        if not math.isfinite(number):
            raise _NumberError(
                f"number {_short(text)} is beyond the range of a double", _NUMBER_FIX
            )
        return number
    return text


_NUMBER_FIX = "write a number of physical size (or quote it if it is text)"


def _short(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:20]}…"
