"""Mutations of real inputs, drawn by Hypothesis: text, structure, numbers, dates, unicode.

A mutated input starts from a seed (a bundled protocol, an example patient, a rule
case record) and applies one to four edits. Each edit is drawn by Hypothesis (which
edit, where, what), then applied by plain Python, so one drawn example costs little
more than the edit itself and Hypothesis can replay and shrink it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from hypothesis import strategies as st

# Values that have broken parsers before, or sit at an edge: huge and odd numbers,
# impossible and extreme dates, YAML features a protocol refuses, unicode that does
# not encode, deep nesting.
NUMBERS = [
    "0",
    "-0",
    "-1",
    "0.0",
    "3.0",
    "2147483647",
    "2147483648",
    "-2147483649",
    "9223372036854775808",
    "9" * 30,
    "9" * 500,
    "1e308",
    "1e309",
    "-1e309",
    "1e-400",
    "4.9e-324",
    "9007199254740993",
    ".inf",
    "-.inf",
    ".nan",
    "NaN",
    "Infinity",
    "-Infinity",
    "0x1F",
    "0o17",
    "1_000",
    "1e999999",
]
DATES = [
    "0001-01-01",
    "9999-12-31",
    "2026-02-30",
    "2025-13-01",
    "2025-00-10",
    "2024-02-29",
    "1799-12-31",
    "2200-01-01",
    "2025-01-15T25:00:00Z",
    "2025-01-15T10:00:00",
    "2025-01-15T10:00:00+24:00",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "2025-1-5",
    "20250115",
    "P99999999Y",
    "P0D",
    "PT0.5H",
]
TOKENS = [
    "*a",
    "&a ",
    "<<: ",
    "!!python/object/apply:os.system ['true']",
    "!!binary aGVsbG8=",
    "- ",
    ": ",
    "[" * 70,
    "{" * 70,
    "]",
    "}",
    "'",
    '"',
    "\t",
    "\x00",
    "\x1b",
    "\r",
    "\ufeff",
    "\u202e",
    "\u2028",
    "\ud800",
    "\udfff",
    "\U0001f600",
    "é",
    "\\ud800",
    "%YAML 1.1\n---\n",
    "---\n",
    "...\n",
    "? ",
    "|",
    ">",
    "#",
    "null",
    "~",
    "true",
    "NO",
    "x" * 5000,
]
_DEEP: Any = []
for _ in range(40):
    _DEEP = [_DEEP]
SCALARS: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    3.0,
    2**31,
    2**63,
    -(2**63) - 1,
    10**30,
    1e300,
    -1e300,
    1e-320,
    0.1,
    "",
    " ",
    "\ud800",
    "x" * 5000,
    "FLX-\U0001f600",
    [],
    {},
    _DEEP,
    list(range(50)),
    {"param": "nope"},
    {"param": 7},
    *DATES,
]

_NUMBER = re.compile(r"(?<![\w.-])-?\d+(?:\.\d+)?(?![\w-])")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?")


def _pick(items: list[Any], i: int) -> Any:
    return items[i % len(items)]


def _text_edit(text: str, op: int, a: float, b: float, i: int) -> str:
    """One text-level edit at relative positions ``a``/``b`` with payload index ``i``."""
    n = len(text)
    p, q = sorted((int(a * n), int(b * n)))
    if op == 0:  # replace one character
        return text[:p] + _pick(TOKENS, i)[:1] + text[p + 1 :]
    if op == 1:  # insert a token
        return text[:p] + _pick(TOKENS, i) + text[p:]
    if op == 2:  # delete a span (at most 200 characters)
        return text[:p] + text[min(q, p + 200) :]
    if op == 3:  # duplicate a span elsewhere
        span = text[p : min(q, p + 400)]
        at = int(((a + b) % 1.0) * n)
        return text[:at] + span + text[at:]
    if op == 4:  # swap two lines
        lines = text.split("\n")
        x, y = int(a * len(lines)), int(b * len(lines))
        if x < len(lines) and y < len(lines):
            lines[x], lines[y] = lines[y], lines[x]
        return "\n".join(lines)
    if op == 5:  # a number becomes an odd number
        return _nth_sub(_NUMBER, text, a, _pick(NUMBERS, i))
    if op == 6:  # a date becomes an odd date
        return _nth_sub(_DATE, text, a, _pick(DATES, i))
    # op 7: truncate
    return text[: max(p, 1)]


def _nth_sub(pattern: re.Pattern[str], text: str, a: float, new: str) -> str:
    found = list(pattern.finditer(text))
    if not found:
        return text
    m = found[int(a * len(found)) % len(found)]
    return text[: m.start()] + new + text[m.end() :]


_SEED_NODES: dict[int, tuple[Any, list[tuple[Any, ...]]]] = {}


def _paths(data: Any) -> list[tuple[Any, ...]]:
    """The path of every node of ``data`` (a seed's are listed once and kept)."""
    known = _SEED_NODES.get(id(data))
    if known is not None and known[0] is data:
        return known[1]
    return _nodes(data)


def _nodes(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _nodes(v, (*path, k))
    elif isinstance(data, list):
        for j, v in enumerate(data):
            out += _nodes(v, (*path, j))
    return out


_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's emitter where built


def _copy(data: Any) -> Any:
    """A deep copy of JSON-like data (lists, dicts, scalars), without deepcopy's memo."""
    if isinstance(data, dict):
        return {k: _copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_copy(v) for v in data]
    return data


def _along(data: Any, path: tuple[Any, ...]) -> tuple[Any, Any]:
    """(a copy of ``data``, the parent of ``path`` in it): only the containers on the
    path are copied, so every other subtree is still the seed's own (see :func:`_dump`)."""
    root = data.copy()
    parent = root
    for key in path[:-1]:
        parent[key] = parent[key].copy()
        parent = parent[key]
    return root, parent


def _structure_edit(data: Any, op: int, a: float, i: int) -> Any:
    """One edit of the parsed document: replace, delete, wrap or duplicate a node."""
    paths = _paths(data)
    path = paths[int(a * len(paths)) % len(paths)]
    if not path:
        return _copy(_pick(SCALARS, i)) if op == 0 else data
    data, parent = _along(data, path)
    key = path[-1]
    if op == 0:  # replace by an odd value
        parent[key] = _copy(_pick(SCALARS, i))
    elif op == 1:  # delete
        del parent[key]
    elif op == 2:  # wrap in a list (a list where a scalar goes) or a mapping
        parent[key] = [parent[key]] if i % 2 else {"value": parent[key]}
    elif op == 3 and isinstance(parent, list):  # duplicate a list item
        parent.append(_copy(parent[key]))
    elif op == 3 and isinstance(parent, dict):  # rename the key
        parent[f"{key}_x" if i % 2 else str(key).upper()] = parent.pop(key)
    elif op == 4 and isinstance(parent[key], list):  # grow a list
        parent[key] = parent[key] * (2 + i % 50)
    elif op == 4:  # nest deeply
        value: Any = parent[key]
        for _ in range(10 + 10 * (i % 10)):
            value = [value]
        parent[key] = value
    return data


# The YAML of each top-level section of a seed, by (key, id of the section): a document
# whose edits left a section untouched still holds the seed's own object there, and its
# text is the same, so only the edited sections are dumped again.
_SEED_SECTIONS: dict[tuple[str, int], tuple[Any, str]] = {}


def _remember(seed: Any, yaml_text: bool) -> None:
    """Keep a seed's node paths and (for YAML) the text of each of its sections."""
    if id(seed) not in _SEED_NODES:
        _SEED_NODES[id(seed)] = (seed, _nodes(seed))
    if yaml_text and isinstance(seed, dict):
        for key, value in seed.items():
            if (key, id(value)) not in _SEED_SECTIONS:
                _SEED_SECTIONS[key, id(value)] = (value, _yaml({key: value}))


def _yaml(data: Any) -> str:
    try:
        return str(yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False))
    except UnicodeEncodeError:  # libyaml cannot write a lone surrogate; the pure emitter
        # escapes it ("\uD800"), which is what the parsers must then refuse
        return str(yaml.dump(data, Dumper=yaml.SafeDumper, allow_unicode=True, sort_keys=False))


def _sections(data: dict[Any, Any]) -> str:
    """``data`` as block YAML, one top-level key at a time (the same text as one dump)."""
    parts = []
    for key, value in data.items():
        known = _SEED_SECTIONS.get((key, id(value))) if isinstance(key, str) else None
        parts.append(known[1] if known and known[0] is value else _yaml({key: value}))
    return "".join(parts)


def _dump(data: Any, as_json: bool) -> str:
    if as_json:
        return json.dumps(data, ensure_ascii=bool(len(str(data)) % 2), allow_nan=True)
    try:
        return _sections(data) if isinstance(data, dict) and data else _yaml(data)
    except yaml.YAMLError:
        return json.dumps(data)


@st.composite
def mutated(draw: Any, seeds: list[tuple[str, Any]], as_json: bool) -> str:
    """A seed's text with 1–4 text edits, or its data with 1–3 structure edits."""
    text, data = draw(st.sampled_from(seeds))
    unit = st.floats(0, 1, exclude_max=True)
    if data is not None and draw(st.booleans()):
        _remember(data, yaml_text=not as_json)
        for _ in range(draw(st.integers(1, 3))):
            data = _structure_edit(
                data, draw(st.integers(0, 4)), draw(unit), draw(st.integers(0, 60))
            )
        text = _dump(data, as_json)
        if not draw(st.booleans()):
            return text
    for _ in range(draw(st.integers(1, 4))):
        text = _text_edit(
            text, draw(st.integers(0, 7)), draw(unit), draw(unit), draw(st.integers(0, 60))
        )
    return text
