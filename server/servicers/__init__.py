"""gRPC servicers: each translates proto ⇄ domain and calls protocol/, engine/ or gpu_dose/."""

from flexmrt.server.servicers.decisions import DecisionServicer
from flexmrt.server.servicers.dosimetry import DosimetryServicer
from flexmrt.server.servicers.protocols import ProtocolServicer

__all__ = ["DecisionServicer", "DosimetryServicer", "ProtocolServicer"]
