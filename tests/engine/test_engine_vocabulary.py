"""Each vocabulary of the rule language is one set: the JSON Schema's enum, the registry
that declares it, what the semantic checks accept and what the engine dispatches.

The schemas are hand-edited files; the registries sit beside their code
(protocol.vocabulary, engine.rules, engine.measures, engine.exact, engine.decision,
protocol.units, protocol.organs, engine.ctcae). A name added to or dropped from any one
of them fails here. The behavioural tests put every schema name through the loader (JSON
Schema + semantic checks) and the evaluator, so a name the schema allows but the checks or
the evaluator do not know fails too, not only a set that differs.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from flexmrt.engine import toxicity
from flexmrt.engine.context import Context
from flexmrt.engine.ctcae import LAB_TERMS
from flexmrt.engine.decision import CATEGORIES
from flexmrt.engine.exact import COMPARATORS
from flexmrt.engine.measures import MEASURE_HANDLERS
from flexmrt.engine.record import read_record_text, record_schema
from flexmrt.engine.rules import COLLECTIONS, RULE_HANDLERS, Evaluator
from flexmrt.engine.tristate import RuleResult
from flexmrt.protocol import (
    ORGANS_AT_RISK,
    Protocol,
    ProtocolError,
    load_text,
    protocol_schema,
    resolve,
)
from flexmrt.protocol.boundary import builders
from flexmrt.protocol.organs import LIMIT_ACTIONS, LIMIT_QUANTITIES
from flexmrt.protocol.units import ANALYTES, QUANTITIES
from flexmrt.protocol.vocabulary import MEASURES, RULE_KINDS, declared

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = protocol_schema()
DEFS = SCHEMA["$defs"]
RULE = DEFS["rule"]["properties"]
RECORD = record_schema()
EXAMPLE = ROOT / "examples" / "patients" / "flx-010-thrombocytopenia.yaml"
AS_OF = date(2025, 5, 20)


def _same(*names: Any) -> None:
    """Every collection of names is the same set, and none lists a name twice."""
    sets = [set(n) for n in names]
    assert all(len(s) == len(list(n)) for s, n in zip(sets, names, strict=True)), names
    assert all(s == sets[0] for s in sets), [sorted(map(str, s)) for s in sets]


# -- the sets ---------------------------------------------------------------------------


def test_rule_kinds_are_one_set() -> None:
    _same(RULE, RULE_KINDS, RULE_HANDLERS)


def test_measures_are_one_set() -> None:
    _same(RULE["measure"]["properties"]["name"]["enum"], MEASURES, MEASURE_HANDLERS)


def test_each_measure_has_a_quantity_or_its_categories() -> None:
    for spec in MEASURES.values():
        if spec.quantity is None:
            assert spec.values, spec.name
        else:
            assert spec.quantity in QUANTITIES or spec.quantity == "duration", spec.name
            assert not spec.values, spec.name
        assert spec.label, spec.name


def test_comparators_are_one_set() -> None:
    ops = set(COMPARATORS)
    _same(DEFS["op"]["enum"], ops)
    _same(DEFS["where"]["additionalProperties"]["oneOf"][2]["propertyNames"]["enum"], ops)
    _same(RULE["lab"]["properties"]["op"]["enum"], ops | {"exists"})
    _same(RULE["measure"]["properties"]["op"]["enum"], ops | {"in"})
    assert set(RULE["field"]["properties"]["op"]["enum"]) <= ops | {"exists", "absent"}


def test_collections_are_one_set() -> None:
    _same(DEFS["collection"]["enum"], COLLECTIONS)
    assert RULE["since"]["properties"]["event"]["$ref"] == "#/$defs/collection"


def test_decision_categories_are_one_set() -> None:
    precedence = SCHEMA["properties"]["decision"]["properties"]["precedence"]
    _same(precedence["items"]["enum"], CATEGORIES)
    assert precedence["minItems"] == precedence["maxItems"] == len(CATEGORIES)


def test_toxicity_actions_are_one_set() -> None:
    """A toxicity row's action and the severities that rank actions (worst one wins)."""
    _same(DEFS["action"]["enum"], toxicity._SEVERITY)


def test_lab_tests_are_one_set() -> None:
    _same(RULE["lab"]["properties"]["test"]["enum"], ANALYTES)
    _same(
        DEFS["schedule_item"]["properties"]["evidence"]["properties"]["labs"]["items"]["enum"],
        ANALYTES,
    )
    _same(RECORD["$defs"]["lab"]["properties"]["testcd"]["enum"], ANALYTES)
    _same(
        DEFS["toxicity"]["properties"]["grade_of"]["properties"]["labs"]["items"]["enum"], LAB_TERMS
    )


def test_organs_at_risk_are_one_set() -> None:
    organ = DEFS["organ_at_risk"]["properties"]
    _same(organ["id"]["enum"], ORGANS_AT_RISK)
    _same(organ["limit"]["properties"]["quantity"]["enum"], LIMIT_QUANTITIES)
    _same(organ["limit"]["properties"]["action"]["enum"], LIMIT_ACTIONS)
    scan = RECORD["properties"]["spect_ct"]["items"]["properties"]
    _same(scan["organs_at_risk"]["propertyNames"]["enum"], ORGANS_AT_RISK)


def test_the_boundary_generator_builds_declared_measures_in_their_units() -> None:
    """protocol.boundary builds records for some measures: each one declared, and a unit it
    names is the canonical unit of the measure's quantity."""
    assert set(builders.MEASURES) | set(builders.DATED) | builders.WHOLE <= set(MEASURES)
    for name, unit in builders.MEASURE_UNITS.items():
        quantity = MEASURES[name].quantity
        assert quantity is not None and unit == QUANTITIES[quantity][0], name


def test_an_undeclared_name_is_refused_where_it_is_registered() -> None:
    with pytest.raises(ValueError, match="measure 'egfr_mdrd' is not declared"):
        declared("measure", "egfr_mdrd", MEASURES)


# -- every name through the loader's checks and the evaluator ---------------------------


def _value(name: str) -> Any:
    """A threshold a measure rule may compare ``name`` with."""
    spec = MEASURES[name]
    if spec.quantity is None:
        return spec.values[0]
    return "P14D" if spec.quantity == "duration" else 1


def _loaded(rule: dict[str, Any]) -> Protocol:
    """flex-mrt 1.1 with ``rule`` added as the named rule ``probe``: through the JSON
    Schema and every semantic check, as any protocol file is."""
    doc = copy.deepcopy(resolve("flex-mrt@1.1").doc)
    doc["rules"]["probe"] = rule
    return load_text(_text(doc), "probe.yaml")


def _text(doc: dict[str, Any]) -> str:
    """The document as YAML, without the anchors a shared object would get."""
    return yaml.safe_dump(json.loads(json.dumps(doc)), sort_keys=False)


def _evaluated(protocol: Protocol, rule: dict[str, Any]) -> RuleResult:
    record = read_record_text(EXAMPLE.read_text("utf-8"), str(EXAMPLE))
    return Evaluator(Context.of(protocol, record, AS_OF)).evaluate(rule)


# One rule of each kind; a kind added to the schema needs an example here.
_KIND_EXAMPLES: dict[str, dict[str, Any]] = {
    "all": {"all": [{"lab": {"test": "HGB", "op": "exists"}}]},
    "any": {"any": [{"lab": {"test": "HGB", "op": "exists"}}]},
    "not": {"not": {"lab": {"test": "HGB", "op": "exists"}}},
    "ref": {"ref": "marrow_counts_recent"},
    "lab": {"lab": {"test": "PLAT", "op": ">=", "value": 100, "unit": "10^9/L"}},
    "measure": {"measure": {"name": "age", "op": ">=", "value": 18}},
    "grade": {"grade": {"of": "PLAT", "op": ">=", "value": 3}},
    "count": {"count": {"of": "administrations", "op": ">=", "value": 1}},
    "since": {"since": {"event": "prior_therapies", "op": ">=", "value": "P4W", "if_none": "met"}},
    "field": {"field": {"path": "consent.date", "op": "exists"}},
}


@pytest.mark.parametrize("kind", sorted(RULE))
def test_every_rule_kind_loads_and_evaluates(kind: str) -> None:
    assert kind in _KIND_EXAMPLES, f"add an example rule of kind {kind!r}"
    rule = _KIND_EXAMPLES[kind]
    assert isinstance(_evaluated(_loaded(rule), rule), RuleResult)


@pytest.mark.parametrize("name", RULE["measure"]["properties"]["name"]["enum"])
def test_every_measure_loads_and_evaluates(name: str) -> None:
    rule = {"measure": {"name": name, "op": "==", "value": _value(name)}}
    assert isinstance(_evaluated(_loaded(rule), rule), RuleResult)


def _op_rules() -> list[tuple[str, dict[str, Any]]]:
    """A rule for each comparator each rule kind's schema allows."""
    rules = []
    for op in RULE["lab"]["properties"]["op"]["enum"]:
        rules.append(("lab", {"lab": {"test": "PLAT", "op": op, "value": 100, "unit": "10^9/L"}}))
    for op in RULE["measure"]["properties"]["op"]["enum"]:
        value = ["CR", "PR"] if op == "in" else "PD"
        rules.append(("measure", {"measure": {"name": "recip", "op": op, "value": value}}))
    for op in RULE["field"]["properties"]["op"]["enum"]:
        body = {"path": "subject.sex", "op": op, "value": "M"}
        rules.append(("field", {"field": body}))
    for op in DEFS["op"]["enum"]:
        rules.append(("count", {"count": {"of": "administrations", "op": op, "value": 1}}))
        rules.append(("grade", {"grade": {"of": "PLAT", "op": op, "value": 2}}))
        where = {"activity_gbq": {op: 7.4}}
        rules.append(
            ("where", {"count": {"of": "administrations", "where": where, "op": ">=", "value": 0}})
        )
    return rules


@pytest.mark.parametrize(("kind", "rule"), _op_rules(), ids=lambda x: str(x)[:60])
def test_every_comparator_loads_and_evaluates(kind: str, rule: dict[str, Any]) -> None:
    assert isinstance(_evaluated(_loaded(rule), rule), RuleResult)


@pytest.mark.parametrize("of", DEFS["collection"]["enum"])
def test_every_collection_loads_and_evaluates(of: str) -> None:
    for rule in (
        {"count": {"of": of, "op": ">=", "value": 0}},
        {"since": {"event": of, "op": ">=", "value": "P1D", "if_none": "met"}},
    ):
        assert isinstance(_evaluated(_loaded(rule), rule), RuleResult)


# A rule of each kind whose window (or, for ``since``, whose duration) is the parameter
# ``soon``, which is no duration: the semantic checks report it only if they look inside
# that kind of rule. ``field`` has nothing but its path and value, ``ref`` only a name
# (an unknown one is reported wherever it stands), so neither has a window to get wrong.
_SOON = {"param": "soon"}
_BAD_LAB = {"lab": {"test": "HGB", "op": "exists", "within": _SOON}}
_BAD_WINDOW: dict[str, dict[str, Any]] = {
    "all": {"all": [_BAD_LAB]},
    "any": {"any": [_BAD_LAB]},
    "not": {"not": _BAD_LAB},
    "lab": _BAD_LAB,
    "measure": {"measure": {"name": "ecog", "op": "<=", "value": 1, "within": _SOON}},
    "grade": {"grade": {"of": "PLAT", "op": ">=", "value": 3, "within": _SOON}},
    "count": {"count": {"of": "administrations", "op": ">=", "value": 1, "within": _SOON}},
    "since": {"since": {"event": "holidays", "op": ">=", "value": _SOON, "if_none": "met"}},
}


@pytest.mark.parametrize("kind", sorted(set(RULE) - {"field", "ref"}))
def test_the_checks_look_inside_every_rule_kind(kind: str) -> None:
    assert kind in _BAD_WINDOW, f"add a rule of kind {kind!r} with a bad window"
    doc = copy.deepcopy(resolve("flex-mrt@1.1").doc)
    doc["parameters"]["soon"] = {**doc["parameters"]["lookback"], "value": "soon"}
    doc["rules"]["probe"] = _BAD_WINDOW[kind]
    with pytest.raises(ProtocolError) as err:
        load_text(_text(doc), "probe.yaml")
    found = [(i.code, i.pointer) for i in err.value.issues]
    assert ("invalid_duration", "/parameters/soon/value") in found, found
