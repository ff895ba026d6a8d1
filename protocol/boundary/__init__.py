"""Boundary tests generated from a protocol: records at, just inside and just outside
every numeric threshold, look-back window and count, with the outcome its text implies.

The expected outcomes come from the generator's own arithmetic (``reference``), not the
engine's; ``flexmrt test-protocol`` runs the engine on every case and reports each rule
that does not flip where its declared comparator and value say.
"""

from .generate import BoundaryCase, Uncovered, generate

__all__ = ["BoundaryCase", "Uncovered", "generate"]
