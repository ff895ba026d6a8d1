"""The decision log: every eligibility and next-action answer, hash-chained, durable
before the response is sent.

Storage sits behind :class:`DecisionLog`; :class:`SQLiteLog` is the embedded
default. A PostgreSQL backend (several replicas behind a load balancer) implements
the same five methods; servicers see only the interface.
"""

from server.decision_log.chain import LogEntry, Problem, VerifyReport, verify_chain
from server.decision_log.interface import DecisionLog
from server.decision_log.sqlite import SQLiteLog, open_log

__all__ = [
    "DecisionLog",
    "LogEntry",
    "Problem",
    "SQLiteLog",
    "VerifyReport",
    "open_log",
    "verify_chain",
]
