"""The common envelope of every answer about one patient: who, under what, on which day."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from .entries import Json

__all__ = ["Envelope", "ProtocolRef"]


@dataclass(frozen=True)
class ProtocolRef:
    """A protocol revision as answers name it: ``id@revision`` and its sha256 identity."""

    ref: str
    sha256: str

    def to_json(self) -> Json:
        return {"ref": self.ref, "sha256": self.sha256}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ProtocolRef:
        return cls(doc["ref"], doc["sha256"])


@dataclass(frozen=True)
class Envelope:
    """What an answer is (``kind``), about whom, under which protocol, on which day, and
    its decision id (sha256 over kind, protocol, canonical input, as_of, engine version)."""

    kind: str
    subject_id: str
    protocol: ProtocolRef
    as_of: date
    engine_version: str
    input_sha256: str
    decision_id: str

    def to_json(self) -> Json:
        return {
            "kind": self.kind,
            "subject_id": self.subject_id,
            "protocol": self.protocol.to_json(),
            "as_of": self.as_of.isoformat(),
            "engine_version": self.engine_version,
            "input_sha256": self.input_sha256,
            "decision_id": self.decision_id,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Envelope:
        return cls(
            kind=doc["kind"],
            subject_id=doc["subject_id"],
            protocol=ProtocolRef.from_json(doc["protocol"]),
            as_of=date.fromisoformat(doc["as_of"]),
            engine_version=doc["engine_version"],
            input_sha256=doc["input_sha256"],
            decision_id=doc["decision_id"],
        )
