"""Property tests: load → canonical JSON → load is the identity; the hash ignores form."""

from __future__ import annotations

import json
import random
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from protocol_helpers import bundled_text

from flexmrt.protocol import canonical_json, load_text, sha256_hex
from flexmrt.protocol.yamlio import read_yaml

# Printable text: YAML forbids most control characters (JSON escapes them).
_text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    _text,
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)


def _doubles(value: Any) -> Any:
    """RFC 8785 numbers are IEEE doubles: compare every number as a float."""
    if isinstance(value, dict):
        return {k: _doubles(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_doubles(v) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


@given(_json)
def test_canonical_json_round_trips(value: Any) -> None:
    text = canonical_json(value)
    assert _doubles(json.loads(text)) == _doubles(value)
    assert canonical_json(json.loads(text)) == text


@given(st.dictionaries(st.text(max_size=6), _scalars, max_size=8), st.randoms())
def test_hash_is_stable_across_key_order(value: dict[str, Any], rnd: random.Random) -> None:
    keys = list(value)
    rnd.shuffle(keys)
    assert sha256_hex({k: value[k] for k in keys}) == sha256_hex(value)


@given(_json)
def test_canonical_json_is_valid_yaml_with_same_data(value: Any) -> None:
    data, _ = read_yaml(canonical_json({"v": value}))
    assert _doubles(data) == _doubles({"v": value})


@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_canonical_number_round_trips_exactly(x: float) -> None:
    assert float(canonical_json(x)) == x


def test_control_characters_are_a_yaml_error_not_a_crash() -> None:
    import pytest

    from flexmrt.protocol import ProtocolError

    with pytest.raises(ProtocolError) as caught:
        read_yaml("a: \x7f\n")
    assert caught.value.code == "yaml_syntax"


def test_canonical_numbers_follow_rfc8785() -> None:
    cases = {
        1.0: "1",
        -0.0: "0",
        1e21: "1e+21",
        1e-7: "1e-7",
        0.000001: "0.000001",
        123456789012345680000.0: "123456789012345680000",
        2.5: "2.5",
        -1.5e-10: "-1.5e-10",
        4.5e15: "4500000000000000",
    }
    for number, text in cases.items():
        assert canonical_json(number) == text, number
    assert canonical_json({"b": 1, "a": [True, None, "é"]}) == '{"a":[true,null,"é"],"b":1}'


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(["flex-mrt-1.0.yaml", "pluvicto-label-1.0.yaml"]), st.integers(0, 3))
def test_protocol_load_canonical_load_is_identity(name: str, indent: int) -> None:
    first = load_text(bundled_text(name))
    again = load_text(json.dumps(first.doc, indent=indent or None, ensure_ascii=False))
    assert again.doc == first.doc
    assert again.sha256 == first.sha256
    assert load_text(canonical_json(first.doc)).sha256 == first.sha256


@given(_json)
@example(2.0**53)  # integral, at least 2^53, under 1e16: Python prints "….0", ES6 does not
@example([1e15 + 0.5, -(2.0**60)])
def test_fast_path_agrees_with_the_reference_serialiser(value: Any) -> None:
    from flexmrt.protocol.canonical import _emit

    assert canonical_json(value) == "".join(_emit(value))


@given(st.dictionaries(st.text(max_size=4), st.integers(), max_size=6))
def test_key_order_is_utf16_even_beyond_the_bmp(value: dict[str, Any]) -> None:
    text = canonical_json({**value, "\U0001f600": 1, "\ufb01": 2})
    assert text.index('"\ufb01"') > text.index('"\U0001f600"')
