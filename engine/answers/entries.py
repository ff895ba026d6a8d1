"""The explained pieces every answer is made of: observations and rule entries.

An :class:`Observation` is one value a rule used, with its unit, date and the JSON pointer
into the record it came from; a :class:`RuleEntry` is one evaluated rule (an eligibility
criterion, a decision rule or a toxicity finding) with its outcome, evidence and source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

__all__ = ["Json", "Observation", "RuleEntry", "Source"]

Json = dict[str, Any]  # a JSON object as canonical_json serialises it


@dataclass(frozen=True)
class Observation:
    """One observed value: ``what`` it is, its ``value`` and ``unit``, where it came from.

    The optional fields are present in the JSON only when set (``None`` = absent):
    ``reported`` (value and unit as the lab reported them), ``threshold`` and
    ``threshold_from`` (a lab rule's threshold in the canonical unit, and how it was
    derived), ``ctcae_grade`` and ``term`` (CTCAE v5), ``compared`` (a measure's
    comparison, e.g. ``"<= -50"``), ``estimated``, ``matches`` (the pointers a count
    matched) and ``note``.
    """

    what: str
    value: Any  # a JSON value as the record or the measure holds it (number, text, bool, null)
    unit: str
    date: str | None = None
    pointer: str | None = None
    reported: str | None = None
    threshold: float | None = None
    threshold_from: str | None = None
    ctcae_grade: int | None = None
    term: str | None = None
    compared: str | None = None
    estimated: bool | None = None
    matches: tuple[str, ...] | None = None
    note: str | None = None

    def to_json(self) -> Json:
        out: Json = {"what": self.what, "value": self.value, "unit": self.unit}
        for f in fields(self)[3:]:
            item = getattr(self, f.name)
            if item is not None:
                out[f.name] = list(item) if isinstance(item, tuple) else item
        return out

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Observation:
        matches = doc.get("matches")
        return cls(**{**doc, "matches": None if matches is None else tuple(matches)})


@dataclass(frozen=True)
class Source:
    """Where a rule comes from: a citation id of the protocol and its section."""

    citation: str
    section: str

    @classmethod
    def of(cls, doc: Mapping[str, Any] | None) -> Source | None:
        """The protocol's ``source`` mapping (``None`` or empty: no source)."""
        return cls(str(doc["citation"]), str(doc["section"])) if doc else None


def _source_json(source: Source | None) -> Json:
    return {} if source is None else {"citation": source.citation, "section": source.section}


@dataclass(frozen=True)
class RuleEntry:
    """One evaluated rule with its evidence and source.

    ``kind`` says what produced it: ``inclusion`` / ``exclusion`` (eligibility criteria),
    ``decision``, ``toxicity``, ``pre_dose``, ``holiday_entry`` / ``holiday_restart`` or
    ``stop:REASON``. ``category`` is set on the reasons of a decision (the precedence
    category the rule fired in) and absent elsewhere.
    """

    id: str
    kind: str
    text: str
    outcome: str  # MET | NOT_MET | INDETERMINATE
    observed: tuple[Observation, ...] = ()
    missing: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    source: Source | None = None
    verification: str = ""
    category: str | None = None

    @classmethod
    def criterion(
        cls,
        criterion: Mapping[str, Any],
        kind: str,
        outcome: str,
        observed: tuple[Observation, ...] | list[Observation],
        missing: tuple[str, ...] | list[str],
        notes: tuple[str, ...] | list[str],
    ) -> RuleEntry:
        """A protocol criterion (eligibility, stop rule, holiday rule, pre-dose gate)."""
        return cls(
            id=criterion["id"],
            kind=kind,
            text=" ".join(str(criterion["text"]).split()),
            outcome=outcome,
            observed=tuple(observed),
            missing=tuple(missing),
            notes=tuple(notes),
            source=Source.of(criterion["source"]),
            verification=criterion["verification"],
        )

    @classmethod
    def decision_rule(
        cls,
        rule_id: str,
        text: str,
        sourced: Mapping[str, Any],
        outcome: str = "MET",
        observed: tuple[Observation, ...] | list[Observation] = (),
        missing: tuple[str, ...] | list[str] = (),
        notes: tuple[str, ...] | list[str] = (),
    ) -> RuleEntry:
        """A rule of the decision itself; ``sourced`` is the protocol part that holds its
        ``source`` and ``verification`` (absent: none)."""
        return cls(
            id=rule_id,
            kind="decision",
            text=text,
            outcome=outcome,
            observed=tuple(observed),
            missing=tuple(missing),
            notes=tuple(notes),
            source=Source.of(sourced.get("source")),
            verification=sourced.get("verification", ""),
        )

    @classmethod
    def toxicity(
        cls,
        tox_id: str,
        text: str,
        observed: tuple[Observation, ...] | list[Observation],
        notes: tuple[str, ...] | list[str],
        source: Mapping[str, Any] | None,
        verification: str,
    ) -> RuleEntry:
        """A toxicity finding of the dose-modification table (always MET)."""
        return cls(
            id=f"TOX-{tox_id.upper().replace('_', '-')}",
            kind="toxicity",
            text=" ".join(text.split()),
            outcome="MET",
            observed=tuple(observed),
            notes=tuple(notes),
            source=Source.of(source),
            verification=verification,
        )

    def in_category(self, category: str) -> RuleEntry:
        return replace(self, category=category)

    def noted(self, *notes: str) -> RuleEntry:
        """The same entry with ``notes`` added after its own."""
        return replace(self, notes=(*self.notes, *notes))

    def to_json(self) -> Json:
        out: Json = {
            "id": self.id,
            "kind": self.kind,
            "text": self.text,
            "outcome": self.outcome,
            "observed": [o.to_json() for o in self.observed],
            "missing": list(self.missing),
            "notes": list(self.notes),
            "source": _source_json(self.source),
            "verification": self.verification,
        }
        if self.category is not None:
            out["category"] = self.category
        return out

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> RuleEntry:
        return cls(
            id=doc["id"],
            kind=doc["kind"],
            text=doc["text"],
            outcome=doc["outcome"],
            observed=tuple(Observation.from_json(o) for o in doc["observed"]),
            missing=tuple(doc["missing"]),
            notes=tuple(doc["notes"]),
            source=Source.of(doc["source"]),
            verification=doc["verification"],
            category=doc.get("category"),
        )
