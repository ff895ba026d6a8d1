"""Decision identity and the common envelope of every engine answer."""

from __future__ import annotations

import hashlib
from datetime import date

from flexmrt.protocol import Protocol, sha256_hex

from .answers import Envelope, ProtocolRef
from .record import Record

__all__ = ["ENGINE_VERSION", "decision_id", "envelope", "input_sha256", "protocol_ref"]

ENGINE_VERSION = "0.2.0"


def input_sha256(record: Record) -> str:
    """sha256 of the record's canonical JSON (the logged input's identity)."""
    return hashlib.sha256(record.canonical.encode("utf-8")).hexdigest()


def decision_id(kind: str, protocol: Protocol, record: Record, as_of: date) -> str:
    """sha256 over (kind, protocol sha256, canonical input's sha256, as_of, engine version)."""
    return sha256_hex(
        {
            "kind": kind,
            "protocol_sha256": protocol.sha256,
            "input_sha256": input_sha256(record),
            "as_of": as_of.isoformat(),
            "engine_version": ENGINE_VERSION,
        }
    )[:32]


def protocol_ref(protocol: Protocol) -> ProtocolRef:
    return ProtocolRef(protocol.ref, protocol.sha256)


def envelope(kind: str, protocol: Protocol, record: Record, as_of: date) -> Envelope:
    """Who, under which revision, on which day, and the decision id of a ``kind`` answer."""
    return Envelope(
        kind=kind,
        subject_id=record.subject_id,
        protocol=protocol_ref(protocol),
        as_of=as_of,
        engine_version=ENGINE_VERSION,
        input_sha256=input_sha256(record),
        decision_id=decision_id(kind, protocol, record, as_of),
    )
