"""Decision identity and the common envelope of every engine answer."""

from __future__ import annotations

from datetime import date
from typing import Any

from protocol import Protocol, canonical_json, sha256_hex

from .record import Record

__all__ = ["ENGINE_VERSION", "decision_id", "envelope"]

ENGINE_VERSION = "0.1.0"


def decision_id(kind: str, protocol: Protocol, record: Record, as_of: date) -> str:
    """sha256 over (kind, protocol sha256, canonical record, as_of, engine version)."""
    return sha256_hex(
        {
            "kind": kind,
            "protocol_sha256": protocol.sha256,
            "input": record.doc,
            "as_of": as_of.isoformat(),
            "engine_version": ENGINE_VERSION,
        }
    )[:32]


def envelope(kind: str, protocol: Protocol, record: Record, as_of: date) -> dict[str, Any]:
    return {
        "kind": kind,
        "subject_id": record.subject_id,
        "protocol": {"ref": protocol.ref, "sha256": protocol.sha256},
        "as_of": as_of.isoformat(),
        "engine_version": ENGINE_VERSION,
        "input_sha256": sha256_hex(record.doc),
        "decision_id": decision_id(kind, protocol, record, as_of),
    }


def canonical(answer: dict[str, Any]) -> str:
    return canonical_json(answer)
