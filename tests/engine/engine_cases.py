"""Rule cases as data: load ``tests/cases/**/*.yaml``, run the engine, match ``want``.

A case file holds one case:

- ``note``: what the case shows (and the rule or boundary it pins);
- ``protocol``: a protocol reference (``flex-mrt``, ``pluvicto-label@1.0``);
- the record: ``record`` (inline), or ``record_file`` (a path relative to
  ``tests/cases/``) changed by, in this order,
  ``patch`` (deep merge: mappings merge key by key, anything else replaces,
  ``null`` deletes the key), ``remove`` (``{list: [match, …]}`` drops the items of a
  top-level list whose fields equal all of one match's) and ``append``
  (``{list: [item, …]}`` appends to a top-level list, created when absent; a dotted
  key such as ``history.prior_therapies`` reaches into a mapping);
- ``as_of``: the evaluation date; ``call``: eligibility | decide | schedule | study
  (| check, which only validates the record); ``horizon`` for schedule;
  ``cohort`` for study: ``[{arm, n, date}]`` generates ``n`` randomised subjects;
- ``want``: a subset of the answer (see ``match``).

Matching: a mapping matches when each of its keys matches the answer's value; a
list of entries with ``id`` (criteria, reasons, checked) is looked up by id — the
wanted value may be an outcome string (for criteria), a mapping to match, or, for
a wanted list of ids, mere presence; ``not_reasons`` lists ids that must not fire
and ``first_reason`` names the rule that won;
``{approx: x, abs: tol}`` compares numbers; ``{contains: text}`` looks for text in
a string or in any string of a list; ``events`` (schedule) lists events that must
each match one event of the answer, ``not_events`` events that must match none; other
lists match element by element.
"""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from flexmrt import engine
from flexmrt.protocol import Registry, parse_duration

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "cases"
_REGISTRY = Registry.bundled()


def case_paths() -> list[Path]:
    return sorted(p for p in CASES.rglob("*.yaml") if "_base" not in p.parts)


def read_yaml(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def deep_merge(base: Any, patch: Any) -> Any:
    """``patch`` over ``base``: mappings merge recursively, ``None`` deletes, else replace."""
    if not isinstance(base, dict) or not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = deep_merge(out.get(key), value)
    return out


def _reach(doc: dict[str, Any], dotted: str) -> tuple[dict[str, Any], str]:
    *parents, last = dotted.split(".")
    for part in parents:
        doc = doc.setdefault(part, {})
    return doc, last


def build_record(case: dict[str, Any]) -> dict[str, Any]:
    if "record" in case:
        return copy.deepcopy(case["record"])
    doc = read_yaml(CASES / case["record_file"])
    doc = deep_merge(doc, case.get("patch") or {})
    for dotted, matches in (case.get("remove") or {}).items():
        parent, key = _reach(doc, dotted)
        parent[key] = [
            item
            for item in parent.get(key, [])
            if not any(all(item.get(k) == v for k, v in m.items()) for m in matches)
        ]
    for dotted, items in (case.get("append") or {}).items():
        parent, key = _reach(doc, dotted)
        parent[key] = [*parent.get(key, []), *copy.deepcopy(items)]
    return doc


def cohort(spec: list[dict[str, Any]]) -> list[engine.Record]:
    records = []
    for group in spec:
        for i in range(group["n"]):
            doc = {
                "record_version": 1,
                "subject": {"id": f"S-{group['arm']}-{group['date']}-{i:03d}", "sex": "M"},
                "randomisation": {"arm": group["arm"], "date": str(group["date"])},
            }
            records.append(engine.parse_record(doc))
    return records


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    """The engine's answer for ``case`` as JSON (or ``{"error": code, "pointers": […]}``)."""
    call = case["call"]
    as_of = _day(case.get("as_of"))
    protocol = _REGISTRY.resolve(case.get("protocol", "flex-mrt"))
    if call == "study":
        return engine.study_status(protocol, cohort(case["cohort"]), as_of).to_json()
    try:
        record = engine.parse_record(build_record(case))
    except engine.RecordError as exc:
        return {"error": exc.code, "pointers": [i.pointer for i in exc.issues]}
    if call == "check":
        return {"valid": True}
    try:
        return _evaluate(call, protocol, record, as_of, case)
    except engine.RecordError as exc:
        return {"error": exc.code, "pointers": [i.pointer for i in exc.issues]}


def _evaluate(
    call: str, protocol: Any, record: engine.Record, as_of: date, case: dict[str, Any]
) -> dict[str, Any]:
    """The answer's JSON form (``to_json()``), which ``want`` is matched against."""
    if call == "eligibility":
        return engine.eligibility(protocol, record, as_of).to_json()
    if call == "decide":
        return engine.decide(protocol, record, as_of).to_json()
    if call == "schedule":
        horizon = parse_duration(case.get("horizon", "P24W"))
        return engine.schedule(protocol, record, as_of, horizon).to_json()
    raise ValueError(f"unknown call {call!r}")


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def match(actual: Any, want: Any, where: str = "") -> None:
    """Assert that ``actual`` contains ``want`` (see the module docstring)."""
    if isinstance(want, dict) and "approx" in want:
        assert actual == pytest.approx(want["approx"], abs=want.get("abs", 1e-9)), where
    elif isinstance(want, dict) and "contains" in want:
        texts = actual if isinstance(actual, list) else [actual]
        assert any(want["contains"] in str(t) for t in texts), f"{where}: {actual!r}"
    elif isinstance(want, dict):
        assert isinstance(actual, dict), f"{where}: expected a mapping, got {actual!r}"
        for key, value in want.items():
            _match_key(actual, key, value, f"{where}/{key}")
    elif isinstance(want, list) and _is_id_list(actual):
        _match_ids(actual, want, where)
    elif isinstance(want, list):
        assert isinstance(actual, list) and len(actual) == len(want), f"{where}: {actual!r}"
        for i, (a, w) in enumerate(zip(actual, want, strict=True)):
            match(a, w, f"{where}/{i}")
    elif isinstance(want, float) and isinstance(actual, float):
        assert actual == pytest.approx(want, rel=1e-9), f"{where}: {actual!r} != {want!r}"
    else:
        assert actual == want, f"{where}: {actual!r} != {want!r}"


def _match_key(actual: dict[str, Any], key: str, value: Any, where: str) -> None:
    if key == "first_reason":
        assert actual["reasons"][0]["id"] == value, f"{where}: {actual['reasons'][0]['id']!r}"
    elif key == "not_reasons":
        fired = {r["id"] for r in actual["reasons"]}
        assert not fired & set(value), f"{where}: fired {sorted(fired & set(value))}"
    elif key == "events":
        for event in value:
            assert any(_matches(e, event) for e in actual["events"]), (
                f"{where}: no event like {event!r} in {actual['events']!r}"
            )
    elif key == "not_events":
        for event in value:
            found = [e for e in actual["events"] if _matches(e, event)]
            assert not found, f"{where}: {event!r} matches {found!r}"
    else:
        assert key in actual, f"{where}: missing key (have {sorted(actual)})"
        if _is_id_list(actual[key]) and isinstance(value, dict):
            _match_by_id(actual[key], value, where)
        else:
            match(actual[key], value, where)


def _matches(actual: Any, want: Any) -> bool:
    try:
        match(actual, want)
    except AssertionError:
        return False
    return True


def _is_id_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and "id" in v for v in value)
    )


def _match_ids(actual: list[dict[str, Any]], want: list[Any], where: str) -> None:
    ids = [a["id"] for a in actual]
    for wanted in want:
        assert wanted in ids, f"{where}: {wanted!r} not in {ids}"


def _match_by_id(actual: list[dict[str, Any]], want: dict[str, Any], where: str) -> None:
    by_id: dict[str, dict[str, Any]] = {}
    for entry in actual:
        by_id.setdefault(entry["id"], entry)
    for rule_id, value in want.items():
        assert rule_id in by_id, f"{where}: {rule_id!r} not in {sorted(by_id)}"
        if isinstance(value, str):
            value = {"outcome": value}
        match(by_id[rule_id], value, f"{where}/{rule_id}")
