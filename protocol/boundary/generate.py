"""Boundary cases for every numeric threshold, look-back window and count of a protocol.

For each rule leaf (``lab``, ``measure``, ``count``) and each CTCAE-graded lab of a
toxicity, cases sit at the threshold, one step on each side (the step is the last
written decimal place of the threshold in that unit; one day for windows; one for
counts), in every unit the generator knows for that lab. The expected outcome comes
from the leaf's declared comparator, value and unit through ``reference`` — never
from the engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from . import reference as ref
from .builders import DATED, ITEMS, MEASURE_UNITS, MEASURES, VARIANTS, WHOLE
from .records import AS_OF, base, cycles, lab
from .sections import section_cases

__all__ = ["BoundaryCase", "Uncovered", "generate"]

MET, NOT_MET, UNKNOWN = "MET", "NOT_MET", "INDETERMINATE"


@dataclass(frozen=True)
class BoundaryCase:
    """One record on one side of one boundary, and the outcome the protocol's text implies."""

    rule_id: str
    leaf: str  # the leaf in words: "HGB >= 9 g/dL"
    rule: dict[str, Any]  # the leaf to evaluate
    position: str  # at | inside | outside
    what: str  # the varied fact: "HGB 8 g/dL", "lab 15 days before"
    expected: str  # MET | NOT_MET | INDETERMINATE
    record: dict[str, Any] = field(repr=False)
    as_of: date = AS_OF
    # None: evaluate ``rule``. Else the engine's whole decision is taken and read by the
    # probe (kind, argument): ("reason", id) that reason's outcome (NOT_MET when not listed),
    # ("present", id) MET when listed, ("no_reason", id) MET when not listed,
    # ("action", A) MET when the action is A, ("activity", GBq) MET when the next cycle's
    # activity is that, ("response", key) the response summary's yes/no, ("overdue", what)
    # MET when holiday surveillance names that item overdue.
    probe: tuple[str, str] | None = None


@dataclass(frozen=True)
class Uncovered:
    """A threshold the generator does not build cases for, and why."""

    rule_id: str
    leaf: str
    why: str


def generate(doc: dict[str, Any]) -> tuple[list[BoundaryCase], list[Uncovered]]:
    """Every boundary case of protocol document ``doc``, and the thresholds left out."""
    gen = _Generator(doc)
    for rule_id, leaf in _leaves(doc):
        gen.leaf(rule_id, leaf)
    for tox in doc.get("dose_modification", {}).get("toxicities", []):
        for test in tox.get("grade_of", {}).get("labs", []):
            gen.ctcae(str(tox["id"]), test)
    section_cases(gen)
    return gen.cases, gen.uncovered


def _leaves(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(owning rule id, leaf) for every rule of the protocol, named rules followed."""
    owners: list[tuple[str, Any]] = []
    for kind in ("inclusion", "exclusion"):
        owners += [(c["id"], c["rule"]) for c in doc["eligibility"][kind]]
    owners += [(r["id"], r["rule"]) for r in doc.get("decision", {}).get("pre_dose", [])]
    for tox in doc.get("dose_modification", {}).get("toxicities", []):
        owners += [(t["id"], t["rule"]) for t in tox.get("triggers", [])]
    owners += [(r["id"], r["rule"]) for r in doc.get("stop_rules", [])]
    for key in ("entry", "restart"):
        if key in doc.get("holidays", {}):
            owners.append((doc["holidays"][key]["id"], doc["holidays"][key]["rule"]))
    seen: set[tuple[str, str]] = set()
    for owner, rule in owners:
        for leaf in _walk(rule, doc.get("rules", {}), ()):
            seen_key = (owner, repr(leaf))
            if seen_key not in seen:
                seen.add(seen_key)
                yield owner, leaf


def _walk(rule: dict[str, Any], named: dict[str, Any], path: tuple[str, ...]) -> Iterator[Any]:
    kind, body = next(iter(rule.items()))
    if kind in ("all", "any"):
        for part in body:
            yield from _walk(part, named, path)
    elif kind == "not":
        yield from _walk(body, named, path)
    elif kind == "ref":
        if body not in path:
            yield from _walk(named[body], named, (*path, body))
    else:
        yield rule


class _Generator:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.arm = str(doc["arms"][0]["id"])
        self.cases: list[BoundaryCase] = []
        self.uncovered: list[Uncovered] = []

    # -- parameters -------------------------------------------------------------
    def resolve(self, value: Any) -> tuple[Any, str | None]:
        if isinstance(value, dict) and "param" in value:
            p = self.doc["parameters"][value["param"]]
            return p["value"], p.get("unit")
        return value, None

    def window(self, body: dict[str, Any]) -> str | None:
        return None if "within" not in body else str(self.resolve(body["within"])[0])

    def add(
        self,
        rule_id: str,
        leaf: str,
        rule: dict[str, Any],
        position: str,
        what: str,
        expected: bool | str,
        record: dict[str, Any],
        as_of: date = AS_OF,
        probe: tuple[str, str] | None = None,
    ) -> None:
        outcome = expected if isinstance(expected, str) else (MET if expected else NOT_MET)
        self.cases.append(
            BoundaryCase(rule_id, leaf, rule, position, what, outcome, record, as_of, probe)
        )

    def skip(self, rule_id: str, leaf: str, why: str) -> None:
        self.uncovered.append(Uncovered(rule_id, leaf, why))

    def leaf(self, rule_id: str, rule: dict[str, Any]) -> None:
        kind, body = next(iter(rule.items()))
        handler = {"lab": self.lab, "measure": self.measure, "count": self.count}.get(kind)
        if handler is not None:
            handler(rule_id, rule, body)

    # -- lab leaves ---------------------------------------------------------------
    def lab(self, rule_id: str, rule: dict[str, Any], body: dict[str, Any]) -> None:
        test, op = body["test"], body["op"]
        within = self.window(body)
        if op == "exists":
            text = f"{test} exists within {within}"
            unit = next(iter(ref.LAB_UNITS[test]))
            self.lab_window(
                rule_id, text, rule, test, within, lambda day: lab(test, Decimal(1), unit, day)
            )
            return
        raw, param_unit = self.resolve(body["value"])
        unit = str(body.get("unit", param_unit))
        threshold = ref.written(raw)
        text = f"{test} {op} {raw} {unit}" + (f" within {within}" if within else "")
        if unit in ("xULN", "xLLN"):
            self.lab_reference(rule_id, text, rule, test, op, threshold, unit)
        elif unit == "xBaseline":
            self.lab_baseline(rule_id, text, rule, test, op, threshold)
        else:
            self.lab_absolute(rule_id, text, rule, test, op, threshold, unit)
        if within is not None:
            self.lab_window(
                rule_id, text, rule, test, within, self.inside_lab(test, op, threshold, unit)
            )

    def inside_lab(
        self, test: str, op: str, threshold: Decimal, unit: str
    ) -> Callable[[date], dict[str, Any]]:
        """A result on the met side of the threshold, to date inside and outside a window."""
        if unit not in ("xULN", "xLLN"):
            inside = self.inside_value(op, threshold)
            return lambda day: lab(test, inside, unit, day)
        record_unit, limits = ref.REFERENCE_RANGES[test][0]
        limit = Decimal(limits[1] if unit == "xULN" else limits[0])
        value = self.inside_value(op, threshold * limit)
        return lambda day: lab(test, value, record_unit, day, limits)

    @staticmethod
    def inside_value(op: str, threshold: Decimal) -> Decimal:
        if op in ("<=", ">=", "=="):
            return threshold
        return threshold + (ref.step_of(threshold) if op == ">" else -ref.step_of(threshold))

    def sides(
        self,
        threshold: Decimal,
        op: str,
        step: Decimal,
        unit_text: str,
        holds: Callable[[Decimal], bool],
        signed: bool = False,
    ) -> list[tuple[str, Decimal, bool, str]]:
        """(position, value, expected, words) at the threshold and one step either side;
        negative values only where the quantity is ``signed`` (a change in %)."""
        out = []
        for value in (threshold - step, threshold, threshold + step):
            if value < 0 and not signed:
                continue
            met = holds(value)
            position = "at" if value == threshold else "inside" if met else "outside"
            out.append((position, value, met, f"{_plain(value)} {unit_text}"))
        return out

    def lab_absolute(
        self,
        rule_id: str,
        text: str,
        rule: dict[str, Any],
        test: str,
        op: str,
        threshold: Decimal,
        unit: str,
    ) -> None:
        for record_unit in ref.LAB_UNITS[test]:
            for position, value, met, words in self.unit_sides(
                threshold, op, unit, record_unit, test
            ):
                doc = base()
                doc["labs"] = [lab(test, value, record_unit, AS_OF)]
                self.add(rule_id, text, rule, position, f"{test} {words}", met, doc)

    def unit_sides(
        self, threshold: Decimal, op: str, unit: str, record_unit: str, test: str
    ) -> list[tuple[str, Decimal, bool, str]]:
        """The threshold and one step either side (the step of the threshold's unit), each
        written in ``record_unit`` with the fewest decimals that still lands on it."""
        out = []
        step = ref.step_of(threshold)
        for target in (threshold - step, threshold, threshold + step):
            value = _in_unit(target, threshold, unit, record_unit, test)
            if target < 0 or value is None:
                continue
            met = ref.holds(ref.convert(value, record_unit, unit, test), op, threshold)
            position = "at" if target == threshold else "inside" if met else "outside"
            out.append((position, value, met, f"{_plain(value)} {record_unit}"))
        return out

    def lab_reference(
        self,
        rule_id: str,
        text: str,
        rule: dict[str, Any],
        test: str,
        op: str,
        multiple: Decimal,
        unit: str,
    ) -> None:
        for record_unit, limits in ref.REFERENCE_RANGES.get(test, []):
            limit = Decimal(limits[1] if unit == "xULN" else limits[0])
            threshold = multiple * limit
            name = "ULN" if unit == "xULN" else "LLN"

            def holds(v: Decimal, t: Decimal = threshold) -> bool:
                return ref.holds(v, op, t)

            step = ref.step_of(threshold)
            for position, value, met, words in self.sides(threshold, op, step, record_unit, holds):
                doc = base()
                doc["labs"] = [lab(test, value, record_unit, AS_OF, limits)]
                what = f"{test} {words} ({name} {limit})"
                self.add(rule_id, text, rule, position, what, met, doc)

    def lab_baseline(
        self, rule_id: str, text: str, rule: dict[str, Any], test: str, op: str, multiple: Decimal
    ) -> None:
        baselines = {"CREAT": {"mg/dL": "1.3", "umol/L": "115"}}.get(test)
        if baselines is None:
            self.skip(rule_id, text, f"no baseline value for {test} in the generator's table")
            return
        for record_unit, written in baselines.items():
            baseline = Decimal(written)
            threshold = multiple * baseline

            def holds(v: Decimal, t: Decimal = threshold) -> bool:
                return ref.holds(v, op, t)

            step = ref.step_of(threshold)
            for position, value, met, words in self.sides(threshold, op, step, record_unit, holds):
                doc = base(arm=self.arm)
                cycles(doc, [AS_OF - timedelta(days=28)])
                doc["labs"] = [
                    lab(test, baseline, record_unit, AS_OF - timedelta(days=30)),
                    lab(test, value, record_unit, AS_OF),
                ]
                what = f"{test} {words} (baseline {baseline})"
                self.add(rule_id, text, rule, position, what, met, doc)

    def lab_window(
        self,
        rule_id: str,
        text: str,
        rule: dict[str, Any],
        test: str,
        within: str | None,
        entry: Callable[[date], dict[str, Any]],
    ) -> None:
        if within is None:
            return
        for position, day, inside in self.window_days(within):
            doc = base()
            doc["labs"] = [entry(day)]
            what = f"{test} dated {(AS_OF - day).days} days before"
            self.add(rule_id, text, rule, position, what, MET if inside else UNKNOWN, doc)

    @staticmethod
    def window_days(within: str) -> list[tuple[str, date, bool]]:
        edge = ref.back(AS_OF, within)  # the first day inside (inclusive)
        return [
            ("outside", edge - timedelta(days=1), False),
            ("at", edge, True),
            ("inside", edge + timedelta(days=1), True),
        ]

    # -- CTCAE grades ---------------------------------------------------------------
    def ctcae(self, tox_id: str, test: str) -> None:
        for grade, bound in ref.CTCAE_LOW.get(test, []):
            self.ctcae_low(tox_id, test, grade, Decimal(bound))
        for grade, bound in ref.CTCAE_HIGH.get(test, []):
            self.ctcae_high(tox_id, test, grade, Decimal(bound))

    def ctcae_low(self, tox_id: str, test: str, grade: int, bound: Decimal) -> None:
        canonical = next(iter(ref.LAB_UNITS[test]))
        text = f"CTCAE v5 {test} grade ≥ {grade}: < {bound} {canonical}"
        rule = {"grade": {"of": test, "op": ">=", "value": grade}}
        for record_unit in ref.LAB_UNITS[test]:
            limits = ref.reference_range(test, record_unit)
            for position, value, met, words in self.unit_sides(
                bound, "<", canonical, record_unit, test
            ):
                doc = base()
                doc["labs"] = [lab(test, value, record_unit, AS_OF, limits)]
                self.add(tox_id, text, rule, position, f"{test} {words}", met, doc)

    def ctcae_high(self, tox_id: str, test: str, grade: int, multiple: Decimal) -> None:
        text = f"CTCAE v5 {test} grade ≥ {grade}: > {multiple} × ULN"
        rule = {"grade": {"of": test, "op": ">=", "value": grade}}
        for record_unit, limits in ref.REFERENCE_RANGES.get(test, []):
            threshold = multiple * Decimal(limits[1])

            def holds(v: Decimal, t: Decimal = threshold) -> bool:
                return ref.holds(v, ">", t)

            step = ref.step_of(threshold)
            for position, value, met, words in self.sides(threshold, ">", step, record_unit, holds):
                doc = base()
                doc["labs"] = [lab(test, value, record_unit, AS_OF, limits)]
                what = f"{test} {words} (ULN {limits[1]})"
                self.add(tox_id, text, rule, position, what, met, doc)

    # -- measures -------------------------------------------------------------------
    def measure(self, rule_id: str, rule: dict[str, Any], body: dict[str, Any]) -> None:
        name, op = body["name"], body["op"]
        raw, unit = self.resolve(body["value"])
        builder = MEASURES.get(name)
        text = f"{name} {op} {raw}" + (f" {unit}" if unit else "")
        duration = isinstance(raw, str) and re.fullmatch(r"P\d+[DWMY]", raw) is not None
        if isinstance(raw, bool) or (not isinstance(raw, int | float) and not duration):
            return  # a category (RECIP, PCWG3, new lesions), not a threshold
        if builder is None:
            self.skip(rule_id, text, f"the generator builds no record for measure {name}")
            return
        if isinstance(raw, str):  # a duration: days, one day a step
            threshold, unit_text = Decimal((ref.back(AS_OF, raw) - AS_OF).days * -1), "days"
        else:
            threshold = ref.written(raw)
            unit_text = str(unit or body.get("unit") or "")
            canonical = MEASURE_UNITS.get(name, unit_text)
            if unit_text and unit_text != canonical:
                threshold = ref.convert(threshold, unit_text, canonical)
        step = Decimal(1) if name in WHOLE else ref.step_of(threshold)

        def holds(v: Decimal) -> bool:
            return ref.holds(v, op, threshold)

        for variant in VARIANTS.get(name, [""]):
            for position, value, met, words in self.sides(
                threshold, op, step, unit_text, holds, True
            ):
                built = builder(self, value, AS_OF, *([variant] if variant else []))
                if built is None:
                    continue
                doc, as_of = built
                what = f"{name} {words}" + (f" (creatinine in {variant})" if variant else "")
                self.add(rule_id, text, rule, position, what, met, doc, as_of)
        within = self.window(body)
        if within is not None and name in DATED:
            for position, day, inside in self.window_days(within):
                built = builder(self, self.inside_value(op, threshold), day)
                what = f"{DATED[name]} dated {(AS_OF - day).days} days before"
                self.add(rule_id, text, rule, position, what, MET if inside else UNKNOWN, built[0])
        elif within is not None:
            self.skip(rule_id, text, f"look-back window of {name}")

    # -- counts -------------------------------------------------------------------
    def count(self, rule_id: str, rule: dict[str, Any], body: dict[str, Any]) -> None:
        of, op = body["of"], body["op"]
        target = int(self.resolve(body["value"])[0])
        where = body.get("where") or {}
        within = self.window(body)
        text = f"count of {of}{self.where_text(where)} {op} {target}" + (
            f" within {within}" if within else ""
        )
        item = ITEMS.get(of)
        if item is None:
            self.skip(rule_id, text, f"the generator builds no {of}")
            return
        matching = {k: self.matching_value(c, k) for k, c in where.items()}
        for n in (target - 1, target, target + 1):
            if n < 0:
                continue
            met = ref.holds(Decimal(n), op, Decimal(target))
            position = "at" if n == target else "inside" if met else "outside"
            doc = item(base(), [matching] * n, AS_OF - timedelta(days=1))
            self.add(rule_id, text, rule, position, f"{n} matching {of}", met, doc)
        for key, cond in where.items():
            if isinstance(cond, dict):
                self.where_numeric(rule_id, text, rule, op, target, item, matching, key, cond)
        if within is not None:
            for position, day, inside in self.window_days(within):
                doc = item(base(), [matching], day)
                met = ref.holds(Decimal(1 if inside else 0), op, Decimal(target))
                what = f"one matching {of} ending {(AS_OF - day).days} days before"
                self.add(rule_id, text, rule, position, what, met, doc)

    def where_text(self, where: dict[str, Any]) -> str:
        parts = []
        for key, cond in where.items():
            if isinstance(cond, dict):
                ((op, value),) = cond.items()
                raw, unit = self.resolve(value)
                parts.append(f"{key} {op} {raw}" + (f" {unit}" if unit else ""))
            else:
                parts.append(
                    f"{key} = {'/'.join(map(str, cond)) if isinstance(cond, list) else cond}"
                )
        return f" ({', '.join(parts)})" if parts else ""

    def matching_value(self, cond: Any, key: str) -> Any:
        if isinstance(cond, list):
            return cond[0]
        if isinstance(cond, dict):
            ((op, value),) = cond.items()
            threshold, _ = self.where_threshold(value, key)
            return self.inside_value(op, threshold)
        return cond

    def where_threshold(self, value: Any, key: str) -> tuple[Decimal, str | None]:
        """A where-clause threshold in the unit of its field (the suffix of the field's name:
        ``short_axis_mm``), converted with the generator's own factors."""
        raw, unit = self.resolve(value)
        threshold = ref.written(raw)
        field_unit = key.rsplit("_", 1)[-1] if "_" in key else None
        if unit and field_unit and unit != field_unit:
            threshold = ref.convert(threshold, unit, field_unit)
        return threshold, field_unit

    def where_numeric(
        self,
        rule_id: str,
        text: str,
        rule: dict[str, Any],
        op: str,
        target: int,
        item: Any,
        matching: dict[str, Any],
        key: str,
        cond: dict[str, Any],
    ) -> None:
        ((cond_op, value),) = cond.items()
        threshold, field_unit = self.where_threshold(value, key)

        def holds(v: Decimal) -> bool:
            return ref.holds(v, cond_op, threshold)

        step = ref.step_of(threshold)
        for _, size, matches, words in self.sides(
            threshold, cond_op, step, field_unit or "", holds
        ):
            met = ref.holds(Decimal(1 if matches else 0), op, Decimal(target))
            position = "at" if size == threshold else "inside" if met else "outside"
            doc = item(base(), [{**matching, key: size}], AS_OF - timedelta(days=1))
            self.add(rule_id, text, rule, position, f"one item with {key} {words}", met, doc)


def _plain(value: Decimal) -> str:
    return format(value, "f")


def _in_unit(
    target: Decimal, threshold: Decimal, unit: str, record_unit: str, test: str
) -> Decimal | None:
    """``target`` (in ``unit``) written in ``record_unit`` with the fewest decimals that,
    converted back and rounded as the threshold is compared, is still ``target``."""
    if record_unit == unit:
        return target
    exact = ref.convert(target, unit, record_unit, test)
    scale = Decimal(1).scaleb(-ref.decimals(threshold))
    goal = target.quantize(scale)
    for places in range(0, 10):
        value = exact.quantize(Decimal(1).scaleb(-places))
        back = ref.convert(value, record_unit, unit, test)
        if ref.holds(back, "==", goal) if goal == threshold else back.quantize(scale) == goal:
            return value.normalize() if places == 0 else value
    return None
