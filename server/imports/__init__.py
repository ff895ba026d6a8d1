"""Hospital data in: FHIR R4 Bundles and CDISC SDTM datasets converted to patient records.

Each converter returns an :class:`ImportResult`: the record document (the same shape a
hand-written record has, validated afterwards by ``engine.record.parse_record``) and the
notes a coordinator must see — every element the converter did not map, every result it
ignored (entered in error, cancelled) or marked (preliminary), never dropped silently.
"""

from __future__ import annotations

from .common import ConversionError, ImportNote, ImportResult

__all__ = ["ConversionError", "ImportNote", "ImportResult"]
