"""Canonical JSON (RFC 8785, JSON Canonicalization Scheme) and the sha256 identity."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

__all__ = ["canonical_json", "sha256_hex"]


def canonical_json(value: Any) -> str:
    """Serialise ``value`` per RFC 8785: sorted keys (UTF-16 order), no spaces, ES6 numbers.

    Fast path: where every number and key is one on which Python's ``json`` already
    agrees with RFC 8785 (see :func:`_prepare`), the C encoder does the work; anything
    else goes through the reference serialiser :func:`_emit`.
    """
    prepared = _prepare(value)
    if prepared is _SLOW:
        return "".join(_emit(value))
    return json.dumps(prepared, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class _Slow:
    pass


_SLOW: Any = _Slow()
_SAFE_INT = 2.0**53
# Values that ``json`` writes as RFC 8785 does (text as its characters, ints as digits).
_ATOMS = frozenset({str, int, bool, type(None)})


def _prepare(value: Any) -> Any:
    """``value`` with integral doubles as ints, or _SLOW where ``json`` would differ.

    Python's float repr equals ECMAScript's for non-integral 1e-4 ≤ |x| < 1e16 (both
    print fixed notation with the shortest round-trip digits); integral doubles below
    2^53 print exactly as ints. Key order differs only for characters ≥ U+E000
    (code point vs UTF-16 order), so those keys take the slow path. Plain dicts and lists
    are walked with their atoms (str, int, bool, None) kept inline: a record of 10,000 lab
    rows is mostly these.
    """
    kind = type(value)
    if kind is dict:
        out: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str or not (key.isascii() or max(key) < "\ue000"):
                return _SLOW
            if type(item) not in _ATOMS:
                item = _prepare(item)
                if item is _SLOW:
                    return _SLOW
            out[key] = item
        return out
    if kind is list or kind is tuple:
        items = []
        for item in value:
            if type(item) not in _ATOMS:
                item = _prepare(item)
                if item is _SLOW:
                    return _SLOW
            items.append(item)
        return items
    if isinstance(value, float):
        if value.is_integer() and abs(value) < _SAFE_INT:
            return int(value)
        # integral doubles from 2^53 up print as "….0" in Python, without it in ES6
        return value if 1e-4 <= abs(value) < 1e16 and not value.is_integer() else _SLOW
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str) or (key and max(key) >= "\ue000"):
                return _SLOW
            prepared = _prepare(item)
            if prepared is _SLOW:
                return _SLOW
            out[key] = prepared
        return out
    if isinstance(value, list | tuple):
        items = [_prepare(item) for item in value]
        return _SLOW if any(item is _SLOW for item in items) else items
    if value is None or isinstance(value, str | int):
        return value
    raise TypeError(f"cannot canonicalise {type(value).__name__}")


def sha256_hex(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def _emit(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        yield json.dumps(value)
    elif isinstance(value, int):
        yield str(value)
    elif isinstance(value, float):
        yield _number(value)
    elif isinstance(value, str):
        yield json.dumps(value, ensure_ascii=False)
    elif isinstance(value, dict):
        yield "{"
        for i, key in enumerate(sorted(value, key=lambda k: k.encode("utf-16-be"))):
            if i:
                yield ","
            yield json.dumps(key, ensure_ascii=False)
            yield ":"
            yield from _emit(value[key])
        yield "}"
    elif isinstance(value, list | tuple):
        yield "["
        for i, item in enumerate(value):
            if i:
                yield ","
            yield from _emit(item)
        yield "]"
    else:
        raise TypeError(f"cannot canonicalise {type(value).__name__}")


def _number(x: float) -> str:
    """ECMAScript Number::toString for a finite double (RFC 8785 section 3.2.2.3)."""
    if not math.isfinite(x):
        raise ValueError("NaN and infinity have no JSON form")
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    mantissa, _, exponent = repr(abs(x)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    fraction = fraction.rstrip("0") if fraction != "0" else ""
    raw = (whole + fraction).lstrip("0")
    n = len(raw) + int(exponent or 0) - len(fraction)  # value = 0.DIGITS × 10^n
    digits = raw.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return f"{sign}{digits}{'0' * (n - k)}"
    if 0 < n <= 21:
        return f"{sign}{digits[:n]}.{digits[n:]}"
    if -6 < n <= 0:
        return f"{sign}0.{'0' * -n}{digits}"
    e = n - 1
    head = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{sign}{head}e{'+' if e > 0 else '-'}{abs(e)}"
