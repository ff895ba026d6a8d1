"""Protocol data: schema, strict loader, revision registry, semantic checks and diff."""

from .canonical import canonical_json, sha256_hex
from .diff import diff_protocols
from .durations import Duration, add_duration, parse_date, parse_datetime, parse_duration
from .errors import Issue, ProtocolError
from .loader import load_file, load_text, protocol_schema
from .model import KidneyLQ, Parameter, Protocol
from .organs import ORGANS_AT_RISK, OrganAtRisk, organs_at_risk
from .registry import Registry, resolve

__all__ = [
    "ORGANS_AT_RISK",
    "Duration",
    "Issue",
    "KidneyLQ",
    "OrganAtRisk",
    "Parameter",
    "Protocol",
    "ProtocolError",
    "Registry",
    "add_duration",
    "canonical_json",
    "diff_protocols",
    "load_file",
    "load_text",
    "organs_at_risk",
    "parse_date",
    "parse_datetime",
    "parse_duration",
    "protocol_schema",
    "resolve",
    "sha256_hex",
]
