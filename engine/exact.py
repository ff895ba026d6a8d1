"""Threshold comparisons in exact decimals, at the precision the threshold is written.

A threshold such as "≤ 1.5 × ULN" with ULN 1.2 is 1.80, never 1.7999999999999998.
The value is converted to the threshold's unit with decimal factors, rounded half-even
to the threshold's written decimals + 1 (1.80 → three decimals), then compared: a value
exactly at a threshold lands on the side its comparator says. Numbers that arrive as
floats are read back as the shortest decimal that prints them (``repr``), which is the
decimal that was written; a protocol number that carries its written decimal
(``protocol.numbers.WrittenNumber``: ``1.50``, or 39 Gy through ``Protocol.quantity``)
is read as that decimal, so a limit keeps the precision it is written with.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Context, Decimal
from functools import cache
from types import MappingProxyType
from typing import Any, Final

from flexmrt.protocol.numbers import written
from flexmrt.protocol.units import FIELD_UNITS, analyte_convert, quantity_convert

from .record import Lab

__all__ = [
    "COMPARATORS",
    "as_decimal",
    "compare",
    "first_met",
    "lab_in",
    "reference_in",
    "where_threshold",
]

#: The comparators a rule may write (the schema's ``op``), by their symbol.
COMPARATORS: Final[Mapping[str, Callable[[Any, Any], bool]]] = MappingProxyType(
    {
        "<": operator.lt,
        "<=": operator.le,
        ">": operator.gt,
        ">=": operator.ge,
        "==": operator.eq,
        "!=": operator.ne,
    }
)


def as_decimal(number: Decimal | float | int | str) -> Decimal:
    """``number`` as the decimal it was written as (a float through its shortest repr,
    a protocol number through the text it was written with)."""
    return number if type(number) is Decimal else written(number)


def rounded(value: Decimal, threshold: Decimal) -> Decimal:
    """``value`` rounded half-even to one decimal more than ``threshold`` is written with."""
    exponent = min(int(threshold.as_tuple().exponent), 0) - 1
    digits = max(value.adjusted(), 0) - exponent + 2  # enough for any magnitude
    return value.quantize(_quantum(exponent), context=_rounding(max(digits, 28)))


@cache
def _quantum(exponent: int) -> Decimal:
    """10 ** ``exponent``, made once per exponent."""
    return Decimal(1).scaleb(exponent)


@cache
def _rounding(precision: int) -> Context:
    """A half-even context of ``precision`` digits, made once per precision (only its
    flags change in use, and no result depends on them)."""
    return Context(prec=precision, rounding=ROUND_HALF_EVEN)


def compare(value: Decimal | float | int, op: str, threshold: Decimal | float | int) -> bool:
    """``value op threshold``, with ``value`` rounded to the threshold's precision + 1."""
    limit, number = as_decimal(threshold), as_decimal(value)
    if not (number.is_finite() and limit.is_finite()):
        return COMPARATORS[op](number, limit)
    return COMPARATORS[op](rounded(number, limit), limit)


def first_met(value: Decimal, op: str, limits: Iterable[Decimal]) -> int | None:
    """The index of the first of ``limits`` for which ``compare(value, op, limit)`` holds
    (None if none), the value rounded once for each precision the limits are written with
    (a CTCAE grade tries up to four bounds of one precision)."""
    number = as_decimal(value)
    at: dict[int, Decimal] = {}  # the value rounded, by the limit's exponent
    for i, limit in enumerate(limits):
        if not (number.is_finite() and limit.is_finite()):
            met = COMPARATORS[op](number, limit)
        else:
            exponent = int(limit.as_tuple().exponent)
            if exponent not in at:
                at[exponent] = rounded(number, limit)
            met = COMPARATORS[op](at[exponent], limit)
        if met:
            return i
    return None


def lab_in(lab: Lab, unit: str) -> Decimal:
    """The lab value in ``unit``: exactly as written when reported in that unit."""
    if lab.written is None:  # built without its report: the canonical value
        return analyte_convert(lab.test, as_decimal(lab.value), lab.unit, unit)
    return analyte_convert(lab.test, as_decimal(lab.written), lab.written_unit, unit)


def reference_in(lab: Lab, which: str, unit: str) -> Decimal | None:
    """The lab's reported lower (``low``) or upper (``high``) reference limit in ``unit``."""
    if lab.written is None:
        canonical = lab.ref_low if which == "low" else lab.ref_high
        return None if canonical is None else _in_unit(lab, canonical, lab.unit, unit)
    written = lab.written_low if which == "low" else lab.written_high
    return None if written is None else _in_unit(lab, written, lab.written_unit, unit)


def _in_unit(lab: Lab, number: float, from_unit: str, unit: str) -> Decimal:
    return analyte_convert(lab.test, as_decimal(number), from_unit, unit)


def where_threshold(number: Any, unit: str | None, field: str) -> Decimal:
    """A ``count … where`` threshold in the unit of the record field it is compared with:
    ``short_axis_mm >= 1.0 cm`` is 10.0 mm (a field's unit is the suffix of its name)."""
    value = as_decimal(number)
    spec = FIELD_UNITS.get(field)
    if unit is None or spec is None or unit == spec[0]:
        return value
    return quantity_convert(value, unit, spec[0], spec[1])
