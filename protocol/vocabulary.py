"""The rule language's vocabularies, each declared once: rule kinds and measures.

A protocol's rules are written in a small language: a rule is one mapping whose key is a
rule *kind* (``lab``, ``measure``, ``count`` …), and a ``measure`` rule names one of the
engine's derived *measures* (``egfr_ckd_epi_2021``, ``recip`` …). Both are declared here,
in the protocol package, because the semantic checks (:mod:`protocol.checks`) need them to
find rules and to check a measure's unit; the engine registers one handler per declared
name (:mod:`engine.rules`, :mod:`engine.measures`) and refuses a name not declared here.
The JSON Schema (``schema/protocol.schema.json``) stays a hand-edited file listing the
same names; ``tests/protocol/test_vocabulary.py`` asserts that schema, checks and engine
name the same set, so a kind or measure added in one place and not another fails there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

__all__ = ["MEASURES", "RULE_KINDS", "MeasureSpec", "declared"]

#: Rule kinds: combinators (all, any, not, ref) and leaves (the rest).
RULE_KINDS: Final = (
    *("all", "any", "not", "ref"),
    *("lab", "measure", "grade", "count", "since", "field"),
)


@dataclass(frozen=True)
class MeasureSpec:
    """A derived measure as rules see it.

    ``quantity``: the quantity (:data:`protocol.units.QUANTITIES`, or ``duration``) its
    value is in, so a threshold's unit can be checked and converted; None for a category,
    whose possible ``values`` are listed. ``label``: the measure as a person says it.
    """

    name: str
    quantity: str | None
    label: str
    values: tuple[Any, ...] = ()


def _measures(*specs: MeasureSpec) -> Mapping[str, MeasureSpec]:
    return MappingProxyType({s.name: s for s in specs})


#: Every measure a ``measure`` rule may name, in the schema's order.
MEASURES: Final = _measures(
    MeasureSpec("age", "years", "age"),
    MeasureSpec("ecog", "score", "ECOG"),
    MeasureSpec("egfr_ckd_epi_2021", "egfr", "eGFR (CKD-EPI 2021)"),
    MeasureSpec("crcl_cockcroft_gault", "clearance", "CrCl (Cockcroft-Gault)"),
    MeasureSpec("crcl_change_from_baseline", "percent", "CrCl change from baseline"),
    MeasureSpec("psa_change_from_baseline", "percent", "PSA change from baseline"),
    MeasureSpec("psa_change_from_nadir", "percent", "PSA change from nadir"),
    MeasureSpec(
        "pcwg3_progression",
        None,
        "PCWG3 PSA progression",
        ("none", "unconfirmed", "confirmed"),
    ),
    MeasureSpec("tumour_volume_change", "percent", "tumour volume change from cycle 1"),
    MeasureSpec("tumour_volume_change_from_nadir", "percent", "tumour volume change from nadir"),
    MeasureSpec("spect_new_lesions", None, "new lesions on SPECT/CT", (True, False)),
    MeasureSpec("recip", None, "RECIP 1.0", ("CR", "PR", "SD", "PD", "NE")),
    MeasureSpec("cumulative_kidney_bed", "dose", "cumulative kidney BED"),
    MeasureSpec("delay_past_due", "duration", "days past due"),
    MeasureSpec("cycles_given", "count", "cycles given"),
)


def declared(vocabulary: str, name: str, names: Mapping[str, Any] | tuple[str, ...]) -> str:
    """``name`` if ``names`` declares it, else a ValueError naming the vocabulary: what an
    engine registry calls when it registers a handler, so an undeclared one fails on import."""
    if name not in names:
        raise ValueError(
            f"{vocabulary} {name!r} is not declared in flexmrt.protocol.vocabulary: "
            "declare it there and in the protocol schema first"
        )
    return name
