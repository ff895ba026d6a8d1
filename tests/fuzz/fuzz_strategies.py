"""The Hypothesis strategy of each fuzz target, seeded from the repository's real files."""

from __future__ import annotations

import base64
from typing import Any

from fuzz_mutate import DATES, NUMBERS, mutated
from fuzz_targets import METHODS, protocol_seeds, record_seeds
from hypothesis import strategies as st

_REFS = [
    "flex-mrt",
    "flex-mrt@1.0",
    "pluvicto-label@1.0",
    "pluvicto-label",
    "flex-mrt@9.9",
    "nope",
    "flex-mrt@",
    "@1.0",
    "sha256:" + "0" * 64,
    "x" * 3000,
    "flex-mrt@" + "9" * 400,
    "FLEX-MRT\U0001f600",
    "../../etc/passwd",
]
_TEXT = [
    "",
    " ",
    "2025-01-15",
    "1",
    "-1",
    "abc",
    "x" * 70_000,
    "\U0001f600",
    "\x00",
    "FLX-001",
    "%s%n",
    "' OR 1=1 --",
    *DATES,
    *NUMBERS,
]


def _clean(text: str) -> str:
    """A string protobuf can carry (lone surrogates replaced; raw inputs test bad UTF-8)."""
    return text.encode("utf-8", "replace").decode("utf-8")


def protocol_inputs() -> st.SearchStrategy[str]:
    return mutated(protocol_seeds(), as_json=False)


def record_inputs() -> st.SearchStrategy[tuple[str, bool]]:
    return st.booleans().flatmap(
        lambda as_json: st.tuples(
            st.one_of(
                mutated(record_seeds(), as_json), st.sampled_from(record_seeds()).map(_first)
            ),
            st.just(as_json),
        )
    )


def _first(pair: tuple[str, Any]) -> str:
    return pair[0]


def _record_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from([t for t, _ in record_seeds() if t.startswith("{")]),
        mutated(record_seeds(), as_json=True),
        st.sampled_from(_TEXT),
    ).map(_clean)


def _fields() -> st.SearchStrategy[dict[str, Any]]:
    text = st.one_of(st.sampled_from(_TEXT), st.text(max_size=40)).map(_clean)
    refs = st.one_of(st.sampled_from(_REFS), text)
    return st.fixed_dictionaries(
        {},
        optional={
            "protocol_ref": refs,
            "ref": refs,
            "from_ref": refs,
            "to_ref": refs,
            "record_json": _record_text(),
            "as_of": st.one_of(st.sampled_from(["2025-01-15", "2025-08-18"]), text),
            "on": text,
            "horizon": st.one_of(st.sampled_from(["P6M", "P1W"]), text),
            "decision_id": text,
            "subject_id": st.one_of(st.just("FLX-001"), text),
            "sequence": st.integers(0, 2**64 - 1),
            "include_proof": st.booleans(),
            "page_size": st.integers(-(2**31), 2**31 - 1),
            "page_token": st.one_of(st.just("1"), text),
            "file_name": text,
            "yaml_text": st.one_of(text, protocol_inputs().map(_clean)),
            "to_yaml_text": st.one_of(text, protocol_inputs().map(_clean)),
        },
    )


def _with_lists(doc: dict[str, Any]) -> dict[str, Any]:
    """Only the method's own fields; several records get a list (0–3) of texts."""
    import importlib

    _, module, message = METHODS[doc["method"]]
    pb = importlib.import_module(f"flexmrt.server._gen.flexmrt.v1.{module}_pb2")
    names = getattr(pb, message).DESCRIPTOR.fields_by_name
    doc["fields"] = {k: v for k, v in doc["fields"].items() if k in names}
    if doc["method"] in ("GetStudyStatus", "AssessAmendment") and "record_json" in doc["fields"]:
        text = doc["fields"]["record_json"]
        doc["fields"]["record_json"] = [text] * (len(text) % 4)
    return doc


def grpc_inputs() -> st.SearchStrategy[dict[str, Any]]:
    method = st.sampled_from(sorted(METHODS))
    structured = st.fixed_dictionaries({"method": method, "fields": _fields()}).map(_with_lists)
    raw = st.fixed_dictionaries(
        {
            "method": method,
            "raw": st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode("ascii")),
        }
    )
    return st.one_of(structured, structured, structured, raw)


STRATEGIES = {"protocol": protocol_inputs, "record": record_inputs, "grpc": grpc_inputs}
