"""Evaluation of the protocol's rule vocabulary against one patient on one day.

Kinds: all / any / not / ref, lab (latest result within a window; absolute units
converted, xULN / xLLN / xBaseline against the reference range or baseline),
measure (named derived measures), grade (CTCAE v5 of a lab or of adverse events),
count and since (record collections: an interval without an end, or ending after the
evaluation day, is ongoing and lasts until that day), field (plain record fields).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final, TypeVar

from flexmrt.protocol import Protocol
from flexmrt.protocol.durations import Duration, add_duration
from flexmrt.protocol.units import (
    ANALYTES,
    QUANTITIES,
    RELATIVE_UNITS,
    analyte_to_canonical,
    quantity_convert,
    to_canonical,
)
from flexmrt.protocol.vocabulary import MEASURES, RULE_KINDS, declared

from .answers import Observation
from .context import Context, lab_evidence, window_start
from .ctcae import LAB_TERMS, grade_lab
from .exact import COMPARATORS, as_decimal, compare, lab_in, reference_in, where_threshold
from .measures import measure
from .record import AdverseEvent, Lab, Record
from .tristate import RuleResult, combine_all, combine_any, negate

__all__ = ["COLLECTIONS", "RULE_HANDLERS", "Evaluator", "evaluate_rule"]

# Comparators of plain values (exact decimals are compared by engine.exact.compare); a
# measure rule's ``in`` tests membership of a list.
_OPS: Final[Mapping[str, Callable[[Any, Any], bool]]] = MappingProxyType(
    {**COMPARATORS, "in": lambda a, b: a in b}
)
# (fields, the item's last day or None when undated, pointer) of one collection entry.
_Item = tuple[dict[str, Any], date | None, str]
_Handler = TypeVar("_Handler", bound=Callable[..., Any])
_HANDLERS: dict[str, Callable[..., RuleResult]] = {}
_COLLECTIONS: dict[str, tuple[str, Callable[..., list[_Item] | None]]] = {}
#: The evaluator's handler of each rule kind (protocol.vocabulary.RULE_KINDS), by name.
RULE_HANDLERS: Final[Mapping[str, Callable[..., RuleResult]]] = MappingProxyType(_HANDLERS)
#: The record collections ``count`` and ``since`` rules read: name → (what a missing one
#: is called, its items).
COLLECTIONS: Final[Mapping[str, tuple[str, Callable[..., list[_Item] | None]]]] = MappingProxyType(
    _COLLECTIONS
)


def _kind(name: str) -> Callable[[_Handler], _Handler]:
    """Register the decorated method as the handler of rule kind ``name``."""

    def register(handler: _Handler) -> _Handler:
        _HANDLERS[declared("rule kind", name, RULE_KINDS)] = handler
        return handler

    return register


def _collection(name: str, label: str) -> Callable[[_Handler], _Handler]:
    """Register the decorated method as the items of record collection ``name``; ``label``
    says what is not recorded when the record lacks it."""

    def register(items: _Handler) -> _Handler:
        _COLLECTIONS[name] = (label, items)
        return items

    return register


def evaluate_rule(
    protocol: Protocol, record: Record, as_of: date, rule: dict[str, Any]
) -> RuleResult:
    """One rule of the protocol's vocabulary for ``record`` on ``as_of`` (data after it ignored)."""
    return Evaluator(Context.of(protocol, record, as_of)).evaluate(rule)


class Evaluator:
    """Evaluates rules for ``ctx``; ``at`` moves the evaluation day back (toxicity history)."""

    def __init__(self, ctx: Context, at: date | None = None) -> None:
        self.ctx = ctx
        self.at = at or ctx.as_of
        self.protocol = ctx.protocol

    def evaluate(self, rule: dict[str, Any]) -> RuleResult:
        kind, body = next(iter(rule.items()))
        return _HANDLERS[kind](self, body)

    # -- combinators ------------------------------------------------------------
    @_kind("all")
    def _all(self, body: list[dict[str, Any]]) -> RuleResult:
        return combine_all([self.evaluate(r) for r in body])

    @_kind("any")
    def _any(self, body: list[dict[str, Any]]) -> RuleResult:
        return combine_any([self.evaluate(r) for r in body])

    @_kind("not")
    def _not(self, body: dict[str, Any]) -> RuleResult:
        return negate(self.evaluate(body))

    @_kind("ref")
    def _ref(self, name: str) -> RuleResult:
        return self.evaluate(self.protocol.doc["rules"][name])

    # -- leaves -------------------------------------------------------------------
    def _within(self, body: dict[str, Any]) -> Duration | None:
        return self.protocol.duration(body["within"]) if "within" in body else None

    @_kind("lab")
    def _lab(self, body: dict[str, Any]) -> RuleResult:
        test, op = body["test"], body["op"]
        within = self._within(body)
        lab = self.ctx.latest_lab(test, within, self.at)
        if lab is None:
            span = (
                f" within {within.human()} before {self.at}"
                if within
                else f" on or before {self.at}"
            )
            return RuleResult.unknown(f"no {ANALYTES[test][0]} ({test}) result{span}")
        observed = [lab_evidence(lab)]
        if op == "exists":
            return RuleResult.of(True, observed)
        threshold, unit, note, missing = self._lab_threshold(test, body, lab)
        if threshold is None:
            return RuleResult.unknown(missing, observed)
        observed[0] = replace(
            observed[0],
            threshold=round(analyte_to_canonical(test, float(threshold), unit), 6),
            threshold_from=note,
        )
        return RuleResult.of(compare(lab_in(lab, unit), op, threshold), observed)

    def _lab_threshold(
        self, test: str, body: dict[str, Any], lab: Lab
    ) -> tuple[Decimal | None, str, str, str]:
        """(threshold, the unit it is in, how it was derived, what is missing).

        An absolute threshold stays in its written unit; a multiple of a reference limit
        or of the baseline is in the unit the lab was reported in: 1.5 × ULN 1.2 = 1.80.
        """
        value, unit = self.protocol.raw(body["value"])
        unit = str(body.get("unit", unit))
        if unit not in RELATIVE_UNITS:
            return as_decimal(value), unit, f"{value:g} {unit}", ""
        if unit == "xBaseline":
            base = self.ctx.baseline_lab(test)
            ref = None if base is None else lab_in(base, lab.written_unit)
            label = "baseline (on or before cycle 1)"
        else:
            ref = reference_in(lab, "high" if unit == "xULN" else "low", lab.written_unit)
            label = "upper reference limit" if unit == "xULN" else "lower reference limit"
        if ref is None:
            return None, "", "", f"no {label} for {test} dated {lab.day}"
        shown = analyte_to_canonical(test, float(ref), lab.written_unit)
        return as_decimal(value) * ref, lab.written_unit, f"{value:g} × {label} {shown:g}", ""

    @_kind("measure")
    def _measure(self, body: dict[str, Any]) -> RuleResult:
        name, op = body["name"], body["op"]
        m = measure(self.ctx, name, self._within(body), body.get("scan", "latest"), self.at)
        if m.value is None:
            if m.not_applicable:
                return RuleResult.of(False, m.observed, [f"{name}: {m.missing}"])
            return RuleResult.unknown(f"{name}: {m.missing}", m.observed)
        target = self._measure_target(name, body)
        return RuleResult.of(
            self._measure_compare(name, body, m.value, target),
            [
                *m.observed,
                Observation(name, m.value, m.unit, compared=f"{op} {target}"),
            ],
        )

    def _measure_target(self, name: str, body: dict[str, Any]) -> Any:
        kind = MEASURES[name].quantity
        if kind == "duration":
            return self.protocol.duration(body["value"]).days
        value, _ = self.protocol.raw(body["value"])
        if kind is None or isinstance(value, list | str | bool):
            return value
        if isinstance(body["value"], dict):  # {param: NAME}: in the parameter's unit
            return self.protocol.quantity(body["value"], kind)
        return to_canonical(float(value), body.get("unit", QUANTITIES[kind][0]), kind)

    def _measure_compare(self, name: str, body: dict[str, Any], value: Any, target: Any) -> bool:
        """Numbers compare in the threshold's written unit and precision (see engine.exact)."""
        op, kind = body["op"], MEASURES[name].quantity
        if kind is None or not _is_number(value) or isinstance(target, list | str | bool):
            return bool(_OPS[op](value, target))
        if kind == "duration":
            return compare(value, op, target)
        written, unit = self.protocol.raw(body["value"])
        unit = str(unit or body.get("unit") or QUANTITIES[kind][0])
        in_unit = quantity_convert(as_decimal(value), QUANTITIES[kind][0], unit, kind)
        return compare(in_unit, op, as_decimal(written))

    @_kind("grade")
    def _grade(self, body: dict[str, Any]) -> RuleResult:
        of, op, target = body["of"], body["op"], body["value"]
        if of in ANALYTES:
            lab = self.ctx.latest_lab(of, self._within(body), self.at)
            if lab is None:
                return RuleResult.unknown(f"no {ANALYTES[of][0]} result to grade")
            base = self.ctx.baseline_lab(of)
            grade, note = grade_lab(lab, base)
            ev = replace(lab_evidence(lab), ctcae_grade=grade, term=LAB_TERMS.get(of, of))
            return RuleResult.of(_OPS[op](grade, target), [ev], [note] if note else [])
        if self.ctx.record.adverse_events is None:
            return RuleResult.unknown("adverse event history not recorded")
        events = [
            a
            for a in self.ctx.record.adverse_events
            if a.term == of.lower() and a.start <= self.at and (a.end is None or a.end >= self.at)
        ]
        grade = max((a.grade for a in events), default=0)
        observed = [_ae_evidence(a) for a in events]
        return RuleResult.of(_OPS[op](grade, target), observed)

    def _last_day(self, end: date | None) -> date:
        """The last day an interval (therapy, adverse event, holiday) lasts, seen on ``at``.

        Without an end, or ending after ``at``, it is ongoing: it lasts until ``at``, so a
        washout counted from its end has not begun and it lies within every window.
        """
        return self.at if end is None or end > self.at else end

    def _items(self, of: str) -> list[_Item] | None:
        """The entries of collection ``of``; None when the record does not hold it.
        Intervals that start after ``at`` are not yet known."""
        items: list[_Item] | None = _COLLECTIONS[of][1](self, of)
        return items

    @_collection("prior_therapies", "prior therapy history")
    def _prior_therapies(self, of: str) -> list[_Item] | None:
        therapies = self.ctx.record.therapies
        if therapies is None:
            return None
        return [
            (
                {"class": t.cls, "agent": t.agent},
                self._last_day(t.end),
                f"/history/prior_therapies/{t.index}",
            )
            for t in therapies
            if t.start <= self.at
        ]

    @_collection("psma_positive_lesions", "screening PSMA PET read")
    @_collection("psma_negative_lesions", "screening PSMA PET read")
    def _lesions(self, of: str) -> list[_Item] | None:
        pet = self.ctx.record.screening_pet
        if pet is None:
            return None
        return [(dict(x), None, f"/screening_pet/{of}/{i}") for i, x in enumerate(pet[of])]

    @_collection("adverse_events", "adverse event history")
    def _adverse_events(self, of: str) -> list[_Item] | None:
        events = self.ctx.record.adverse_events
        if events is None:
            return None
        return [
            (
                {"term": a.term, "grade": a.grade},
                self._last_day(a.end),
                f"/adverse_events/{a.index}",
            )
            for a in events
            if a.start <= self.at
        ]

    @_collection("administrations", "administration history")
    def _administrations(self, of: str) -> list[_Item] | None:
        given = self.ctx.record.administrations
        if given is None:
            return None
        return [
            (
                {"cycle": a.cycle, "activity_gbq": a.activity_gbq},
                a.day,
                f"/administrations/{a.index}",
            )
            for a in given
        ]

    @_collection("holidays", "holiday history")
    def _holidays(self, of: str) -> list[_Item] | None:
        holidays = self.ctx.record.holidays
        if holidays is None:
            return None
        return [
            ({"start": h.start.isoformat()}, self._last_day(h.end), f"/holidays/{i}")
            for i, h in enumerate(holidays)
            if h.start <= self.at
        ]

    def _matching(self, body: dict[str, Any], of: str) -> list[_Item] | None:
        items = self._items(of)
        if items is None:
            return None
        where = body.get("where") or {}
        return [
            it for it in items if all(self._where(it[0].get(k), c, k) for k, c in where.items())
        ]

    def _where(self, actual: Any, cond: Any, key: str) -> bool:
        if isinstance(cond, list):
            return actual in cond
        if isinstance(cond, dict):
            ((op, value),) = cond.items()
            number, unit = self.protocol.raw(value)
            if actual is None:
                return False
            if _is_number(actual) and _is_number(number):
                return compare(actual, op, where_threshold(number, unit, key))
            return bool(_OPS[op](actual, number))
        return bool(actual == cond)

    @_kind("count")
    def _count(self, body: dict[str, Any]) -> RuleResult:
        of = body["of"]
        matching = self._matching(body, of)
        if matching is None:
            return RuleResult.unknown(f"{_COLLECTIONS[of][0]} not recorded")
        within = self._within(body)
        if within is not None:
            start = add_duration(self.at, within, -1)
            matching = [m for m in matching if m[1] is None or m[1] >= start]
        target = self.protocol.integer(body["value"])
        observed = [Observation(of, len(matching), "count", matches=tuple(m[2] for m in matching))]
        return RuleResult.of(_OPS[body["op"]](len(matching), target), observed)

    @_kind("since")
    def _since(self, body: dict[str, Any]) -> RuleResult:
        of = body["event"]
        matching = self._matching(body, of)
        if matching is None:
            return RuleResult.unknown(f"{_COLLECTIONS[of][0]} not recorded")
        dated = [m for m in matching if m[1] is not None]
        if not dated:
            return RuleResult.of(body["if_none"] == "met", [], [f"no matching {of}"])
        last = max(dated, key=lambda m: m[1] or date.min)
        assert last[1] is not None
        days = (self.at - last[1]).days
        limit = self.protocol.duration(body["value"]).days
        return RuleResult.of(
            _OPS[body["op"]](days, limit),
            [Observation(f"days since {of}", days, "d", pointer=last[2])],
        )

    @_kind("field")
    def _field(self, body: dict[str, Any]) -> RuleResult:
        path, op = body["path"], body["op"]
        value: Any = self.ctx.record.doc
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        value = self._field_as_of(path, value)
        pointer = "/" + path.replace(".", "/")
        observed = [] if value is None else [Observation(path, value, "", pointer=pointer)]
        if op == "exists":
            return RuleResult.of(value is not None, observed)
        if op == "absent":
            return RuleResult.of(value is None, observed)
        if value is None:
            return RuleResult.unknown(f"{path} not recorded")
        return RuleResult.of(_OPS[op](value, body["value"]), observed)

    def _field_as_of(self, path: str, value: Any) -> Any:
        """Dated fields (death, withdrawal, consent) count only from their date."""
        if isinstance(value, str) and path.endswith(".date") and len(value) >= 10:
            return value if date.fromisoformat(value[:10]) <= self.at else None
        return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _ae_evidence(a: AdverseEvent) -> Observation:
    return Observation(
        a.term,
        a.grade,
        "CTCAE grade",
        date=a.start.isoformat(),
        pointer=f"/adverse_events/{a.index}",
    )


__all__ += ["window_start"]
