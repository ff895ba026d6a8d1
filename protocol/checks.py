"""Semantic checks that JSON Schema cannot express.

Run after the schema passes, on the plain document. Each check yields Issues with
a JSON pointer; the loader adds file positions. Codes: unknown_parameter,
unknown_rule, unknown_citation, unknown_arm, duplicate_id, unknown_unit,
unit_mismatch, missing_unit, invalid_duration, grade_table_overlap,
grade_table_gap, invalid_value, missing_evidence, unknown_time_zone, out_of_range.

Every number has a physical range (protocol.units.RANGES, by what it measures);
fields the engine divides by (α/β, half-lives, activities, the BED cap) must be
above zero, and cycle counts are whole numbers from 1 to MAX_CYCLES.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .durations import parse_duration
from .errors import Issue
from .units import (
    ANALYTES,
    FIELD_UNITS,
    QUANTITIES,
    RANGES,
    RELATIVE_UNITS,
    UnitError,
    quantity_of,
    to_canonical,
)
from .vocabulary import MEASURES, RULE_KINDS

__all__ = ["MAX_CYCLES", "semantic_issues"]

MAX_CYCLES = 100  # cycles of one arm; a protocol's own limit is far lower

# Expected quantity of value-or-param fields, by pointer pattern (``*`` = any index).
_FIELD_KINDS: dict[tuple[str, ...], str] = {
    ("arms", "*", "activity"): "activity",
    ("arms", "*", "interval"): "duration",
    ("arms", "*", "window"): "duration",
    ("arms", "*", "max_cycles"): "count",
    ("dose_modification", "reduced_activity"): "activity",
    ("dose_modification", "activity_bands", "standard_tolerance"): "percent",
    ("dose_modification", "activity_bands", "reduced_tolerance"): "percent",
    ("organ_limits", "kidney_bed", "cap"): "dose",
    ("organ_limits", "kidney_bed", "alpha_beta"): "dose",
    ("organ_limits", "kidney_bed", "repair_half_time"): "time",
    ("organ_limits", "kidney_bed", "effective_half_life_default"): "time",
    ("organ_limits", "kidney_bed", "dose_per_activity_default"): "dose_per_activity",
    ("organ_limits", "organs_at_risk", "*", "alpha_beta"): "dose",
    ("organ_limits", "organs_at_risk", "*", "repair_half_time"): "time",
    ("organ_limits", "organs_at_risk", "*", "effective_half_life_default"): "time",
    ("organ_limits", "organs_at_risk", "*", "dose_per_activity_default"): "dose_per_activity",
    ("organ_limits", "organs_at_risk", "*", "dose_per_activity_sd"): "dose_per_activity",
    ("organ_limits", "organs_at_risk", "*", "limit", "value"): "dose",
    ("holidays", "assess_after_cycles"): "list",
    ("holidays", "surveillance_overdue_after"): "duration",
    ("holidays", "surveillance_grace"): "duration",
    ("holidays", "baseline_window"): "duration",
    ("schedules", "*", "*", "every"): "duration",
    ("schedules", "*", "*", "window"): "duration",
    ("schedules", "end"): "duration",
    ("response", "recip", "pr_change"): "percent",
    ("response", "recip", "pd_change"): "percent",
    ("response", "pcwg3", "rise_pct"): "percent",
    ("response", "pcwg3", "rise_abs"): "lab:PSA",
    ("response", "pcwg3", "confirm_after"): "duration",
    ("response", "pcwg3", "no_decline_from"): "duration",
    ("response", "psa_response", "psa50"): "percent",
    ("response", "psa_response", "psa90"): "percent",
}
_WHERE_KINDS = {field: kind for field, (_, kind) in FIELD_UNITS.items()}
# Fields the engine divides by or scales with: zero or below has no physical meaning.
_POSITIVE = {
    ("arms", "*", "activity"),
    ("dose_modification", "reduced_activity"),
    ("organ_limits", "kidney_bed", "cap"),
    ("organ_limits", "kidney_bed", "alpha_beta"),
    ("organ_limits", "kidney_bed", "repair_half_time"),
    ("organ_limits", "kidney_bed", "effective_half_life_default"),
    ("organ_limits", "kidney_bed", "dose_per_activity_default"),
}


def semantic_issues(doc: dict[str, Any]) -> list[Issue]:
    checker = _Checker(doc)
    return list(checker.run())


class _Checker:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.params: dict[str, Any] = doc.get("parameters", {})
        self.rules: dict[str, Any] = doc.get("rules", {})
        self.citations = {c["id"] for c in doc["protocol"]["citations"]}
        self.arms = {a["id"] for a in doc["arms"]}

    def run(self) -> Iterator[Issue]:
        yield from self._parameters()
        yield from self._references(self.doc, ())
        yield from self._field_kinds()
        yield from self._rules_everywhere()
        yield from self._duplicate_ids()
        yield from self._grade_tables()
        yield from self._arms()
        yield from self._time_zone()
        yield from self._organs_at_risk()
        yield from self._holiday_evidence()
        yield from self._ranges()

    # -- parameters -------------------------------------------------------------
    def _parameters(self) -> Iterator[Issue]:
        for name, p in self.params.items():
            unit = p.get("unit")
            if unit is None:
                continue
            try:
                quantity_of(unit)
            except UnitError:
                yield Issue(
                    "unknown_unit",
                    f"parameter {name!r} has unknown unit {unit!r}",
                    f"/parameters/{name}/unit",
                    expected="a known unit (GBq, Gy, h, mL/min, 10^9/L, g/dL, %, xULN …)",
                    found=unit,
                    fix="write the unit as listed in protocol/units.py",
                )

    # -- references to params, rules, citations, arms ----------------------------
    def _references(self, node: Any, path: tuple[str, ...]) -> Iterator[Issue]:
        if isinstance(node, dict):
            if set(node) == {"param"} and isinstance(node["param"], str):
                if node["param"] not in self.params:
                    yield Issue(
                        "unknown_parameter",
                        f"unknown parameter {node['param']!r}",
                        _ptr(path),
                        expected="a name under /parameters",
                        found=node["param"],
                        fix="define it under parameters or fix the name",
                    )
                return
            cited = node.get("citation")
            if path and path[-1] == "source" and cited is not None and cited not in self.citations:
                yield Issue(
                    "unknown_citation",
                    f"unknown citation {cited!r}",
                    _ptr((*path, "citation")),
                    expected="an id in /protocol/citations",
                    found=str(cited),
                    fix="add the citation or fix the id",
                )
            ref = node.get("ref") if set(node) == {"ref"} else None
            if isinstance(ref, str) and ref not in self.rules:
                yield Issue(
                    "unknown_rule",
                    f"unknown rule {ref!r}",
                    _ptr((*path, "ref")),
                    expected="a name under /rules",
                    found=ref,
                    fix="define it under rules or fix the name",
                )
            for key, value in node.items():
                yield from self._references(value, (*path, key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from self._references(value, (*path, str(i)))

    # -- units of fields that take a value or a parameter ---------------------------
    def _field_kinds(self) -> Iterator[Issue]:
        for pattern, kind in _FIELD_KINDS.items():
            for path, value in _match(self.doc, pattern):
                yield from self._check_kind(value, kind, path)

    def _check_kind(self, value: Any, kind: str, path: tuple[str, ...]) -> Iterator[Issue]:
        if not (isinstance(value, dict) and "param" in value):
            if kind == "duration" and isinstance(value, str):
                yield from _duration_issue(value, _ptr(path))
            return
        p = self.params.get(value["param"])
        if p is None:
            return  # reported as unknown_parameter
        where = f"/parameters/{value['param']}/value"
        if kind == "duration":
            yield from _duration_issue(p["value"], where, used_at=_ptr(path))
        elif kind == "list":
            if not isinstance(p["value"], list):
                yield Issue(
                    "invalid_value",
                    f"parameter {value['param']!r} must be a list",
                    where,
                    expected="a list",
                    found=repr(p["value"]),
                )
        else:
            yield from self._unit_fits(value["param"], p, kind, _ptr(path))

    def _unit_fits(self, name: str, p: dict[str, Any], kind: str, used_at: str) -> Iterator[Issue]:
        unit = p.get("unit")
        if isinstance(p["value"], bool) or not isinstance(p["value"], int | float):
            yield Issue(
                "invalid_value",
                f"parameter {name!r} used at {used_at} must be a number",
                f"/parameters/{name}/value",
                expected=f"a number in {_kind_units(kind)}",
                found=repr(p["value"]),
            )
            return
        if unit is None:
            yield Issue(
                "missing_unit",
                f"parameter {name!r} used at {used_at} has no unit",
                f"/parameters/{name}",
                expected=_kind_units(kind),
                found="no unit",
                fix=f"add unit: {_kind_units(kind).split(',')[0]}",
            )
            return
        if not _fits(unit, kind):
            yield Issue(
                "unit_mismatch",
                f"parameter {name!r} is in {unit} but {used_at} needs {_kind_label(kind)}",
                f"/parameters/{name}/unit",
                expected=_kind_units(kind),
                found=unit,
                fix=f"give {name} a value in {_kind_units(kind)}",
            )

    # -- rules ------------------------------------------------------------------------
    def _rules_everywhere(self) -> Iterator[Issue]:
        for path, rule in _find_rules(self.doc, ()):
            yield from self._rule(rule, path)

    def _rule(self, rule: dict[str, Any], path: tuple[str, ...]) -> Iterator[Issue]:
        kind, body = next(iter(rule.items()))
        at = (*path, kind)
        if kind == "lab":
            yield from self._lab(body, at)
        elif kind == "measure":
            yield from self._measure(body, at)
        elif kind in ("count", "since"):
            for field, cond in (body.get("where") or {}).items():
                if isinstance(cond, dict):
                    for v in cond.values():
                        yield from self._check_kind(
                            v, _WHERE_KINDS.get(field, "count"), (*at, "where", field)
                        )
            if kind == "since":
                yield from self._check_kind(body["value"], "duration", (*at, "value"))
            else:
                yield from self._check_kind(body["value"], "count", (*at, "value"))
        if isinstance(body, dict) and "within" in body:
            yield from self._check_kind(body["within"], "duration", (*at, "within"))

    def _lab(self, body: dict[str, Any], at: tuple[str, ...]) -> Iterator[Issue]:
        kind = f"lab:{body['test']}"
        if body["op"] == "exists":
            return
        if "value" not in body:
            yield Issue(
                "invalid_value",
                "a lab threshold needs a value",
                _ptr(at),
                expected="value and unit, or value: {param: NAME}",
                found="no value",
            )
            return
        if isinstance(body["value"], dict):
            yield from self._check_kind(body["value"], kind, (*at, "value"))
        elif "unit" not in body:
            yield Issue(
                "missing_unit",
                f"lab threshold on {body['test']} has no unit",
                _ptr(at),
                expected=_kind_units(kind),
                found="no unit",
                fix="add unit: …",
            )
        elif not _fits(body["unit"], kind):
            yield Issue(
                "unit_mismatch",
                f"unit {body['unit']!r} does not fit {body['test']}",
                _ptr((*at, "unit")),
                expected=_kind_units(kind),
                found=body["unit"],
            )

    def _measure(self, body: dict[str, Any], at: tuple[str, ...]) -> Iterator[Issue]:
        name, value = body["name"], body["value"]
        kind = MEASURES[name].quantity
        if kind is None:
            allowed = MEASURES[name].values
            values = value if isinstance(value, list) else [value]
            bad = [v for v in values if v not in allowed]
            if bad or isinstance(value, dict):
                yield Issue(
                    "invalid_value",
                    f"measure {name} takes one of {list(allowed)}",
                    _ptr((*at, "value")),
                    expected=str(list(allowed)),
                    found=repr(value),
                )
            return
        if isinstance(value, dict):
            yield from self._check_kind(value, kind, (*at, "value"))
        elif kind == "duration":
            yield from _duration_issue(value, _ptr((*at, "value")))
        elif not _is_number(value):
            yield Issue(
                "invalid_value",
                f"measure {name} compares with a number",
                _ptr((*at, "value")),
                expected=f"a number in {_kind_units(kind)}, or {{param: NAME}}",
                found=_short(value),
            )
        elif "unit" in body and not _fits(body["unit"], kind):
            yield Issue(
                "unit_mismatch",
                f"unit {body['unit']!r} does not fit measure {name}",
                _ptr((*at, "unit")),
                expected=_kind_units(kind),
                found=body["unit"],
            )

    # -- ids, grade tables, arms ----------------------------------------------------------
    def _duplicate_ids(self) -> Iterator[Issue]:
        seen: dict[str, str] = {}
        for path, ident in _criterion_ids(self.doc):
            pointer = _ptr(path)
            if ident in seen:
                yield Issue(
                    "duplicate_id",
                    f"id {ident!r} is already used at {seen[ident]}",
                    pointer,
                    expected="a unique id",
                    found=ident,
                    fix="give each criterion, rule and trigger its own id",
                )
            else:
                seen[ident] = pointer

    def _grade_tables(self) -> Iterator[Issue]:
        for i, tox in enumerate(self.doc["dose_modification"]["toxicities"]):
            rows = sorted((r["grades"][0], r["grades"][1], j) for j, r in enumerate(tox["rows"]))
            base = ("dose_modification", "toxicities", str(i), "rows")
            for lo, hi, j in rows:
                if lo > hi:
                    yield Issue(
                        "invalid_value",
                        f"grade range [{lo}, {hi}] is reversed",
                        _ptr((*base, str(j), "grades")),
                        expected="[low, high]",
                        found=f"[{lo}, {hi}]",
                    )
            for (_lo1, hi1, j1), (lo2, _hi2, j2) in itertools.pairwise(rows):
                where = _ptr((*base, str(j2), "grades"))
                if lo2 <= hi1 and tox["hit_policy"] == "unique":
                    yield Issue(
                        "grade_table_overlap",
                        f"toxicity {tox['id']!r}: rows {j1} and {j2} both cover grade {lo2}",
                        where,
                        expected=f"grades from {hi1 + 1}",
                        found=f"from {lo2}",
                        fix="make the grade ranges disjoint, or use hit_policy: priority",
                    )
                elif lo2 > hi1 + 1:
                    yield Issue(
                        "grade_table_gap",
                        f"toxicity {tox['id']!r}: no row covers grade {hi1 + 1}",
                        where,
                        expected=f"grades from {hi1 + 1}",
                        found=f"from {lo2}",
                        fix="extend a row so the table covers every grade in its range",
                    )

    def _holiday_evidence(self) -> Iterator[Issue]:
        """With per-item surveillance (holidays.surveillance_grace), every periodic holiday
        schedule item must say what in the record shows it done, or it is never checked."""
        if "surveillance_grace" not in (self.doc.get("holidays") or {}):
            return
        for i, item in enumerate(self.doc.get("schedules", {}).get("holiday", [])):
            if "every" in item and "evidence" not in item:
                yield Issue(
                    "missing_evidence",
                    f"holiday schedule item {item['id']!r} has no evidence",
                    f"/schedules/holiday/{i}",
                    expected="evidence: {labs: [TESTCD, …]} or evidence: {scan: pet_ct}",
                    found="no evidence",
                    fix="name the lab tests or the scan that show the item done",
                )

    def _arms(self) -> Iterator[Issue]:
        seen: set[str] = set()
        for i, arm in enumerate(self.doc["arms"]):
            if arm["id"] in seen:
                yield Issue("duplicate_id", f"arm id {arm['id']!r} repeats", f"/arms/{i}/id")
            seen.add(arm["id"])
            if not isinstance(arm["activity"], dict) and "activity_unit" not in arm:
                yield Issue(
                    "missing_unit",
                    f"arm {arm['id']!r} activity has no unit",
                    f"/arms/{i}/activity",
                    expected="activity_unit: GBq",
                    found="no unit",
                )
            elif "activity_unit" in arm and not _fits(arm["activity_unit"], "activity"):
                yield Issue(
                    "unit_mismatch",
                    f"arm {arm['id']!r} activity is not in activity units",
                    f"/arms/{i}/activity_unit",
                    expected=_kind_units("activity"),
                    found=arm["activity_unit"],
                )
        listed = [
            *self.doc.get("organ_limits", {}).get("kidney_bed", {}).get("arms", []),
            *self.doc["study"]["allocation"],
        ]
        for rule_path, rule in _stop_rule_arms(self.doc):
            listed += rule
            del rule_path
        for arm_id in listed:
            if arm_id not in self.arms:
                yield Issue(
                    "unknown_arm",
                    f"unknown arm {arm_id!r}",
                    "/arms",
                    expected=f"one of {sorted(self.arms)}",
                    found=arm_id,
                )

    def _organs_at_risk(self) -> Iterator[Issue]:
        """Each organ at risk listed once."""
        seen: set[str] = set()
        organs = self.doc.get("organ_limits", {}).get("organs_at_risk") or []
        for i, organ in enumerate(organs):
            if organ["id"] in seen:
                yield Issue(
                    "duplicate_id",
                    f"organ at risk {organ['id']!r} is listed twice",
                    f"/organ_limits/organs_at_risk/{i}/id",
                    expected="each organ at risk once",
                    found=organ["id"],
                    fix="merge the two entries",
                )
            seen.add(organ["id"])

    def _time_zone(self) -> Iterator[Issue]:
        """``site_time_zone`` must name an IANA time zone (America/Los_Angeles, UTC)."""
        if "site_time_zone" not in self.params:
            return
        zone = self.params["site_time_zone"]["value"]
        try:
            ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError):
            yield Issue(
                "unknown_time_zone",
                f"site_time_zone {zone!r} is not an IANA time zone",
                "/parameters/site_time_zone/value",
                expected="an IANA time zone name such as America/Los_Angeles or UTC",
                found=str(zone),
                fix="write the zone as the tz database names it (Region/City)",
            )

    # -- physical ranges ----------------------------------------------------------------
    def _ranges(self) -> Iterator[Issue]:
        """Each number in its physical range: one issue per place (the first found)."""
        seen: set[str] = set()
        for issue in self._range_issues():
            if issue.pointer not in seen:
                seen.add(issue.pointer)
                yield issue

    def _range_issues(self) -> Iterator[Issue]:
        for name, p in self.params.items():
            yield from self._parameter_range(name, p)
        for pattern, kind in _FIELD_KINDS.items():
            for path, value in _match(self.doc, pattern):
                yield from self._field_range(path, value, kind)
        for path, rule in _find_rules(self.doc, ()):
            yield from self._rule_range(rule, path)

    def _parameter_range(self, name: str, p: dict[str, Any]) -> Iterator[Issue]:
        value, unit = p["value"], p.get("unit")
        where = f"/parameters/{name}/value"
        if isinstance(value, list):
            for i, item in enumerate(value):
                if _is_number(item):
                    yield from _in_range(item, "count", f"{where}/{i}", f"parameter {name!r}")
            return
        if not _is_number(value) or not isinstance(unit, str):
            return
        try:
            kind = quantity_of(unit)
        except UnitError:
            return  # reported as unknown_unit
        canonical = to_canonical(value, unit, kind) if kind in QUANTITIES else value
        yield from _in_range(canonical, kind, where, f"parameter {name!r}", value, unit)

    def _field_range(self, path: tuple[str, ...], value: Any, kind: str) -> Iterator[Issue]:
        """Above zero where the engine divides; cycle counts from 1 to MAX_CYCLES."""
        pattern = tuple("*" if p.isdigit() else p for p in path)
        number, unit, where = self._resolved(path, value)
        if not _is_number(number):
            return
        if kind in QUANTITIES and unit in QUANTITIES[kind][1]:
            number = to_canonical(number, unit, kind)
        if pattern in _POSITIVE and number <= 0:
            yield _range_issue(where, f"{_ptr(path)} must be above zero", "> 0", number, unit)
        elif path[-1] == "max_cycles" and not (
            float(number).is_integer() and 1 <= number <= MAX_CYCLES
        ):
            yield _range_issue(
                where, f"{_ptr(path)} is a number of cycles", f"1 to {MAX_CYCLES}", number, unit
            )
        elif kind not in RANGES or not _is_number(value):
            return  # a parameter's own range is checked with the parameter
        else:
            unit = self._inline_unit(path) or QUANTITIES.get(kind, ("",))[0]
            yield from _in_range(number, kind, where, _ptr(path), value, unit)

    def _resolved(self, path: tuple[str, ...], value: Any) -> tuple[Any, str | None, str]:
        if isinstance(value, dict) and "param" in value:
            p = self.params.get(value["param"])
            if p is None:
                return None, None, ""
            return p["value"], p.get("unit"), f"/parameters/{value['param']}/value"
        return value, self._inline_unit(path), _ptr(path)

    def _inline_unit(self, path: tuple[str, ...]) -> str | None:
        if path[0] == "arms" and path[-1] == "activity":
            unit = self.doc["arms"][int(path[1])].get("activity_unit")
            return unit if isinstance(unit, str) else None
        return None

    def _rule_range(self, rule: dict[str, Any], path: tuple[str, ...]) -> Iterator[Issue]:
        kind, body = next(iter(rule.items()))
        if not isinstance(body, dict) or not _is_number(body.get("value")):
            return
        at = _ptr((*path, kind, "value"))
        value, unit = body["value"], body.get("unit")
        if kind == "lab":
            quantity = "relative" if unit in RELATIVE_UNITS else "concentration"
            yield from _in_range(value, quantity, at, f"lab threshold on {body['test']}")
        elif kind == "measure":
            measure = MEASURES[body["name"]].quantity
            if measure in RANGES and measure in QUANTITIES:
                unit = unit if unit in QUANTITIES[measure][1] else QUANTITIES[measure][0]
                number = to_canonical(value, unit, measure)
                yield from _in_range(number, measure, at, f"measure {body['name']}", value, unit)
        elif kind == "count":
            yield from _in_range(value, "count", at, "count threshold")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _in_range(
    number: float,
    kind: str,
    where: str,
    what: str,
    written: Any = None,
    unit: str | None = None,
) -> Iterator[Issue]:
    low, high, whole = RANGES[kind]
    label = "a whole number " if whole else ""
    if not (low <= number <= high) or (whole and not float(number).is_integer()):
        yield _range_issue(
            where,
            f"{what} is outside the physical range of a {kind.replace('_', ' ')}",
            f"{label}from {low:g} to {high:g} {QUANTITIES.get(kind, ('',))[0]}".rstrip(),
            written if written is not None else number,
            unit,
        )


def _range_issue(where: str, message: str, expected: str, found: Any, unit: str | None) -> Issue:
    return Issue(
        "out_of_range",
        message,
        where,
        expected=expected,
        found=f"{_short(found)} {unit or ''}".rstrip(),
        fix="check the number and its unit",
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _stop_rule_arms(doc: dict[str, Any]) -> Iterator[tuple[str, list[str]]]:
    for i, rule in enumerate(doc["stop_rules"]):
        if "arms" in rule:
            yield f"/stop_rules/{i}/arms", rule["arms"]


def _duration_issue(value: Any, pointer: str, used_at: str = "") -> Iterator[Issue]:
    try:
        parse_duration(value)
    except ValueError:
        extra = f" (used at {used_at})" if used_at else ""
        yield Issue(
            "invalid_duration",
            f"{_short(value)} is not an ISO 8601 duration of at most 100 years{extra}",
            pointer,
            expected="an ISO 8601 duration such as P6W, P14D, P3M, PT72H",
            found=_short(value),
        )


def _fits(unit: str, kind: str) -> bool:
    if kind.startswith("lab:"):
        test = kind[4:]
        return unit in RELATIVE_UNITS or unit in ANALYTES[test][2]
    return kind in QUANTITIES and unit in QUANTITIES[kind][1]


def _kind_units(kind: str) -> str:
    if kind.startswith("lab:"):
        return ", ".join([*ANALYTES[kind[4:]][2], *RELATIVE_UNITS])
    if kind == "duration":
        return "an ISO 8601 duration"
    return ", ".join(QUANTITIES[kind][1])


def _kind_label(kind: str) -> str:
    return f"a {kind[4:]} value" if kind.startswith("lab:") else f"a {kind.replace('_', ' ')}"


def _ptr(path: tuple[str, ...]) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in path)


def _match(node: Any, pattern: tuple[str, ...], path: tuple[str, ...] = ()) -> Iterator[Any]:
    if not pattern:
        yield path, node
        return
    head, rest = pattern[0], pattern[1:]
    if isinstance(node, dict):
        keys = list(node) if head == "*" else [head] if head in node else []
        for key in keys:
            yield from _match(node[key], rest, (*path, key))
    elif isinstance(node, list) and head == "*":
        for i, item in enumerate(node):
            yield from _match(item, rest, (*path, str(i)))


def _find_rules(node: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every leaf rule in the document (inside criteria, named rules and triggers)."""
    if isinstance(node, dict):
        if (
            len(node) == 1
            and next(iter(node)) in RULE_KINDS
            and path
            and (path[-1] in ("rule", "not") or path[-2:-1] in (("all",), ("any",), ("rules",)))
        ):
            kind, body = next(iter(node.items()))
            if kind in ("all", "any"):
                for i, child in enumerate(body):
                    yield from _find_rules(child, (*path, kind, str(i)))
            elif kind == "not":
                yield from _find_rules(body, (*path, "not"))
            else:
                yield path, node
            return
        for key, value in node.items():
            yield from _find_rules(value, (*path, key))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _find_rules(item, (*path, str(i)))


def _criterion_ids(doc: dict[str, Any]) -> Iterator[tuple[tuple[str, ...], str]]:
    for section in ("inclusion", "exclusion"):
        for i, c in enumerate(doc["eligibility"][section]):
            yield ("eligibility", section, str(i), "id"), c["id"]
    for i, c in enumerate(doc["decision"].get("pre_dose", [])):
        yield ("decision", "pre_dose", str(i), "id"), c["id"]
    for i, c in enumerate(doc["stop_rules"]):
        yield ("stop_rules", str(i), "id"), c["id"]
    for key in ("entry", "restart"):
        if "holidays" in doc:
            yield ("holidays", key, "id"), doc["holidays"][key]["id"]
    for i, tox in enumerate(doc["dose_modification"]["toxicities"]):
        yield ("dose_modification", "toxicities", str(i), "id"), tox["id"]
        for j, trig in enumerate(tox.get("triggers", [])):
            yield ("dose_modification", "toxicities", str(i), "triggers", str(j), "id"), trig["id"]
