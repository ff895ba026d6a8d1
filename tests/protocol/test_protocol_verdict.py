"""The compiled validator gives the verdict; jsonschema still words every error.

``validate_document`` asks jsonschema-rs whether a document is valid and walks it with
jsonschema only when it is not, and then only the top-level sections the compiled
validator found invalid. The issues must be exactly those of a full jsonschema walk:
same codes, pointers, messages, order and headline, on every bundled revision, every
invalid-protocol case and every protocol in the fuzz corpus.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jsonschema.exceptions import best_match
from protocol_helpers import amended, bundled_text

from flexmrt.protocol import ProtocolError, load_text, loader
from flexmrt.protocol.checks import semantic_issues
from flexmrt.protocol.errors import Issue, locate
from flexmrt.protocol.yamlio import read_yaml

_HERE = Path(__file__).resolve().parent
_REVISIONS = ["flex-mrt-1.0.yaml", "flex-mrt-1.1.yaml", "pluvicto-label-1.0.yaml"]
_REVISIONS += ["pluvicto-label-1.1.yaml"]


def _texts() -> list[tuple[str, str]]:
    texts = [(name, bundled_text(name)) for name in _REVISIONS]
    for path in sorted((_HERE / "invalid").glob("*.yaml")):
        case, _ = read_yaml(path.read_text("utf-8"))
        texts.append((path.stem, amended(case["replace"]["old"], case["replace"]["new"])))
    corpus = _HERE.parent / "fuzz" / "corpus" / "protocol"
    for path in sorted(corpus.glob("*.yaml")):
        texts.append((path.name, path.read_bytes().decode("utf-8", "surrogatepass")))
    return texts


def _full_walk(data: Any, positions: Any, file: str) -> list[Issue]:
    """The issues as jsonschema alone gave them: every error of the whole document."""
    errors = list(loader._validator().iter_errors(data))
    if errors:
        head = best_match(errors)
        rest = sorted((e for e in errors if e is not head), key=loader._error_order)
        return [locate(loader._schema_issue(e), positions, file) for e in [head, *rest]]
    return [locate(i, positions, file) for i in semantic_issues(data)]


@pytest.mark.parametrize(("name", "text"), _texts(), ids=[n for n, _ in _texts()])
def test_the_issues_are_those_of_a_full_jsonschema_walk(name: str, text: str) -> None:
    try:
        data, positions = read_yaml(text, "draft.yaml")
    except ProtocolError:
        return  # refused before the schema: nothing to compare
    assert loader.validate_document(data, positions, "draft.yaml") == _full_walk(
        data, positions, "draft.yaml"
    )


def test_the_bundled_revisions_are_valid_to_the_compiled_validator() -> None:
    for name in _REVISIONS:
        data, _ = read_yaml(bundled_text(name))
        assert loader._schema_valid(loader._plain(data)), name


def test_an_id_with_a_trailing_newline_is_refused() -> None:
    """JSON Schema patterns are ECMA-262, where ``$`` does not match before a final
    newline (Python's ``re`` does): "flex-mrt\\n" is no protocol id, and the refusal
    names the field even though jsonschema alone would have let it through."""
    with pytest.raises(ProtocolError) as caught:
        load_text(amended("  id: flex-mrt\n", '  id: "flex-mrt\\n"\n'), "draft.yaml")
    head = caught.value.issues[0]
    assert (head.code, head.pointer, head.line) == ("schema_violation", "/protocol/id", 5)
