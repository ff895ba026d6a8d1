"""Numbers as the protocol writes them: a threshold keeps the decimals it is written with.

YAML reads ``1.50`` as the float 1.5, which has lost the written precision that
comparisons at thresholds depend on (MISSION.md, "Arithmetic at thresholds": a value is
rounded to the threshold's written decimals + 1). A float whose shortest form differs
from its text is loaded as a :class:`WrittenNumber`: a float in every respect (equal,
hashed, printed and serialised as the float, so the canonical JSON and sha256 do not
change) that also carries the decimal it was written as. :func:`written` gives that
decimal for any protocol number.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

__all__ = ["WrittenNumber", "written"]


class WrittenNumber(float):
    """A float with the decimal it was written as (``WrittenNumber("1.50").written``)."""

    __slots__ = ("written",)
    written: Decimal

    def __new__(cls, text: str | Decimal) -> WrittenNumber:
        number = super().__new__(cls, float(text))
        number.written = Decimal(text)
        return number

    def __reduce__(self) -> tuple[Any, ...]:
        return (WrittenNumber, (str(self.written),))

    def __copy__(self) -> WrittenNumber:
        return self

    def __deepcopy__(self, memo: Any) -> WrittenNumber:
        return self


def written(number: Any) -> Decimal:
    """The decimal ``number`` was written as: a :class:`WrittenNumber`'s own, an int's
    digits, a float's shortest form (``repr``), a string's text."""
    if isinstance(number, WrittenNumber):
        return number.written
    if isinstance(number, bool):
        raise TypeError("a truth value is not a number")
    if isinstance(number, Decimal):
        return number
    return Decimal(repr(number) if isinstance(number, float) else str(number))


def from_text(text: str) -> float:
    """The float of a YAML number literal, as a WrittenNumber when its text says more
    than the float's shortest form (``1.50``, ``2.500``, ``1e3``)."""
    number = float(text)
    exact = Decimal(text)
    if Decimal(repr(number)).as_tuple() == exact.as_tuple():
        return number
    return WrittenNumber(exact)
