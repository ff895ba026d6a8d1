"""Differences between two protocol revisions, for IRB review (text) and machines (JSON).

Entities are compared by identity, not position: parameters and named rules by
name, criteria, triggers, toxicities and arms by ``id``. Each change names the
entity, the field path inside it, and old → new values.
"""

from __future__ import annotations

import json
from typing import Any

from .model import Protocol

__all__ = ["diff_protocols", "format_diff"]

_NAMED_MAPS = ("parameters", "rules")


def diff_protocols(old: Protocol, new: Protocol) -> dict[str, Any]:
    """Changes from ``old`` to ``new``: {from, to, changes: [...], summary}."""
    before, after = _flatten(old.doc), _flatten(new.doc)
    changes: dict[str, dict[str, Any]] = {}
    for key in sorted(set(before) | set(after)):
        if before.get(key, _MISSING) == after.get(key, _MISSING):
            continue
        entity, field = _entity(key)
        entry = changes.setdefault(entity, {"entity": entity, "fields": []})
        entry["fields"].append(
            {
                "field": field,
                "old": before.get(key),
                "new": after.get(key),
            }
        )
    result = [_classify(e, before, after) for e in changes.values()]
    counts = {
        k: sum(1 for c in result if c["change"] == k) for k in ("added", "removed", "changed")
    }
    return {
        "from": old.ref,
        "to": new.ref,
        "from_sha256": old.sha256,
        "to_sha256": new.sha256,
        "changes": result,
        "summary": counts,
    }


def format_diff(diff: dict[str, Any]) -> str:
    """The diff as text for people: one block per entity, old → new per field."""
    lines = [
        f"{diff['from']} → {diff['to']}: "
        + ", ".join(f"{n} {k}" for k, n in diff["summary"].items())
    ]
    for c in diff["changes"]:
        lines.append(f"{c['change'].upper():8} {c['kind']} {c['id']}")
        if c["change"] != "changed":
            continue
        for f in c["fields"]:
            lines.append(
                f"         {f['field'] or '(value)'}: {_show(f['old'])} → {_show(f['new'])}"
            )
    return "\n".join(lines)


_MISSING = object()


def _show(value: Any) -> str:
    return "(absent)" if value is None else json.dumps(value, ensure_ascii=False)


def _flatten(node: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    out: dict[tuple[str, ...], Any] = {}
    if isinstance(node, dict) and node:
        for key, value in node.items():
            out.update(_flatten(value, (*path, key)))
    elif isinstance(node, list) and node and all(isinstance(i, dict) and "id" in i for i in node):
        for item in node:
            out.update(_flatten(item, (*path, f"[{item['id']}]")))
    elif isinstance(node, list) and node and any(isinstance(i, dict | list) for i in node):
        for i, item in enumerate(node):
            out.update(_flatten(item, (*path, str(i))))
    else:
        out[path] = node
    return out


def _entity(key: tuple[str, ...]) -> tuple[str, str]:
    """Split a flat key into (entity, field inside it)."""
    if key[0] in _NAMED_MAPS and len(key) > 1:
        return "/".join(key[:2]), "/".join(key[2:])
    ids = [i for i, part in enumerate(key) if part.startswith("[")]
    if ids:
        cut = ids[-1] + 1 if key[0] == "dose_modification" and "triggers" in key else ids[0] + 1
        return "/".join(key[:cut]), "/".join(key[cut:])
    if key[0] in ("holidays",) and len(key) > 2 and key[1] in ("entry", "restart"):
        return "/".join(key[:2]), "/".join(key[2:])
    return "/".join(key[:2]) if len(key) > 1 else key[0], "/".join(key[2:])


def _classify(
    entry: dict[str, Any], before: dict[Any, Any], after: dict[Any, Any]
) -> dict[str, Any]:
    entity: str = entry["entity"]
    prefix = tuple(entity.split("/"))
    in_old = any(k[: len(prefix)] == prefix for k in before)
    in_new = any(k[: len(prefix)] == prefix for k in after)
    change = "changed" if in_old and in_new else "added" if in_new else "removed"
    kind = _kind(prefix)
    ident = prefix[-1].strip("[]")
    return {
        "change": change,
        "kind": kind,
        "id": ident,
        "entity": entity,
        "fields": entry["fields"],
    }


def _kind(prefix: tuple[str, ...]) -> str:
    section = prefix[0]
    if section == "parameters":
        return "parameter"
    if section == "rules":
        return "rule"
    if section == "arms":
        return "arm"
    if section == "dose_modification" and "triggers" in prefix:
        return "trigger"
    if section == "dose_modification" and len(prefix) > 2:
        return "toxicity"
    if (
        section in ("eligibility", "stop_rules")
        or prefix[-1] in ("entry", "restart")
        or (section == "decision" and len(prefix) > 2)
    ):
        return "criterion"
    return "section"
