"""Administered activity judged against the protocol's tolerance bands.

Bands are closed, ``[L·(1 − t), L·(1 + t)]`` around the standard and the reduced
activity (``dose_modification.activity_bands``; FLEX-MRT 1.1: 7.4 GBq ± 10 % =
6.66–8.14 GBq, 5.9 GBq ± 10 % = 5.31–6.49 GBq). Inside the standard band: a full
dose; above it: a full dose and a deviation; inside the reduced band, between the
bands or below the reduced band: the one dose reduction, and outside a band also a
deviation. Edges are computed and compared as decimals: the activity is rounded
half-even to one decimal place more than the edge is written with.

A protocol without bands (revision 1.0 documents) keeps the rule it was written
for: any activity below 99 % of the standard counts as the reduction, with no
deviation.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from flexmrt.protocol import Protocol

from .record import Administration

__all__ = ["ActivityBands", "ActivityJudgement", "activity_bands", "judge_activity"]

_LEGACY_FRACTION = Decimal("0.99")


@dataclass(frozen=True)
class ActivityBands:
    """Closed bands in GBq: (low, high) around the standard and the reduced activity."""

    standard: tuple[Decimal, Decimal]
    reduced: tuple[Decimal, Decimal]
    sourced: dict[str, Any]


@dataclass(frozen=True)
class ActivityJudgement:
    """One administration: the reduced level or not, and the deviation if outside a band."""

    admin: Administration
    reduced: bool
    deviation: str  # "" inside a band (or without bands)


def activity_bands(protocol: Protocol, standard: float, reduced: float) -> ActivityBands | None:
    """The protocol's bands around ``standard`` and ``reduced`` (GBq), None without bands."""
    spec = protocol.doc["dose_modification"].get("activity_bands")
    if not spec:
        return None
    return ActivityBands(
        _band(_dec(standard), _percent(protocol, spec["standard_tolerance"])),
        _band(_dec(reduced), _percent(protocol, spec["reduced_tolerance"])),
        spec,
    )


def judge_activity(
    admin: Administration, standard: float, bands: ActivityBands | None
) -> ActivityJudgement:
    value = _dec(admin.activity_gbq)
    if bands is None:
        return ActivityJudgement(admin, value < _dec(standard) * _LEGACY_FRACTION, "")
    (s_low, s_high), (r_low, r_high) = bands.standard, bands.reduced
    if _at_least(value, s_low):
        above = not _at_most(value, s_high)
        return ActivityJudgement(
            admin, False, _text("above the standard band", bands) if above else ""
        )
    if _at_least(value, r_low) and _at_most(value, r_high):
        return ActivityJudgement(admin, True, "")
    where = "below the reduced band" if not _at_least(value, r_low) else "between the bands"
    return ActivityJudgement(admin, True, _text(where, bands))


def _text(where: str, bands: ActivityBands) -> str:
    (s_low, s_high), (r_low, r_high) = bands.standard, bands.reduced
    return f"{where} (standard {s_low}–{s_high} GBq, reduced {r_low}–{r_high} GBq, closed)"


def _band(centre: Decimal, tolerance_pct: Decimal) -> tuple[Decimal, Decimal]:
    step = centre * tolerance_pct / Decimal(100)
    return _plain(centre - step), _plain(centre + step)


def _plain(value: Decimal) -> Decimal:
    """``value`` without trailing zeros, never in exponent notation (6.660 → 6.66, 10 → 10)."""
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral() else normal


def _percent(protocol: Protocol, ref: Any) -> Decimal:
    value, _unit = protocol.raw(ref)
    return _dec(value)


def _dec(value: Any) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))


def _rounded(value: Decimal, edge: Decimal) -> Decimal:
    """``value`` rounded half-even to one decimal place more than ``edge`` is written with."""
    places = min(int(edge.as_tuple().exponent), 0) - 1
    return value.quantize(Decimal(1).scaleb(places), rounding=ROUND_HALF_EVEN)


def _at_least(value: Decimal, edge: Decimal) -> bool:
    return _rounded(value, edge) >= edge


def _at_most(value: Decimal, edge: Decimal) -> bool:
    return _rounded(value, edge) <= edge
