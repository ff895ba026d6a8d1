"""gRPC servicers: each translates proto ⇄ domain and calls protocol/, engine/ or gpu_dose/."""

from server.servicers.decisions import DecisionServicer
from server.servicers.dosimetry import DosimetryServicer
from server.servicers.protocols import ProtocolServicer

__all__ = ["DecisionServicer", "DosimetryServicer", "ProtocolServicer"]
