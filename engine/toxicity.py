"""Dose modification: the protocol's toxicity tables applied with their hit policy.

For each toxicity, grades come from CTCAE-graded labs and from adverse events
with the toxicity's terms; triggers are rules evaluated at each new lab result.
The worst hit since the last administration (or in the look-back window before
cycle 1) decides, together with the state now:

- discontinue → DISCONTINUE;
- reduce when a reduced cycle was already given (max_reductions reached) →
  DISCONTINUE (recurrence, or a second toxicity needing reduction);
- reduce or withhold, not yet recovered (grade above recover_to_grade and above
  the baseline grade, an ongoing event, or a trigger still met) → WITHHOLD;
- reduce, recovered → the next cycle at the reduced activity (and it stays there);
- a row or trigger marked ``confirm`` holds only when two consecutive results hit
  it (the milder of the two actions applies); a single hit on the latest result →
  WITHHOLD pending a confirmatory value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from protocol.durations import add_duration

from .context import Context, lab_evidence
from .ctcae import grade_lab
from .rules import Evaluator
from .tristate import Outcome

__all__ = ["ToxicityFinding", "assess_toxicities"]

_SEVERITY = {"withhold": 1, "reduce": 2, "discontinue": 3}


@dataclass
class ToxicityFinding:
    """One toxicity's verdict: withhold | reduce_next | discontinue."""

    id: str
    action: str
    text: str
    observed: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    source: dict[str, str] = field(default_factory=dict)
    verification: str = ""


@dataclass
class _Hit:
    action: str
    label: str
    day: date
    observed: list[dict[str, Any]]
    current: bool  # the hit describes the patient now (latest result, ongoing event)
    confirmed: bool = True


def assess_toxicities(ctx: Context) -> list[ToxicityFinding]:
    dm = ctx.protocol.doc["dose_modification"]
    claimed = {
        t.lower()
        for tox in dm["toxicities"]
        for t in tox["grade_of"].get("ae_terms", [])
        if t != "*"
    }
    start = _span_start(ctx)
    findings = []
    for tox in dm["toxicities"]:
        hits = [
            *_lab_hits(ctx, tox, start),
            *_ae_hits(ctx, tox, start, claimed),
            *_trigger_hits(ctx, tox, start),
        ]
        finding = _verdict(ctx, tox, dm, hits)
        if finding is not None:
            findings.append(finding)
    return findings


def _span_start(ctx: Context) -> date:
    if ctx.last_admin is not None:
        return ctx.last_admin.day
    lookback = ctx.protocol.doc["parameters"].get("lookback")
    return (
        add_duration(ctx.as_of, ctx.protocol.duration(lookback["value"]), -1)
        if lookback
        else ctx.as_of
    )


def _verdict(
    ctx: Context, tox: dict[str, Any], dm: dict[str, Any], hits: list[_Hit]
) -> ToxicityFinding | None:
    base: dict[str, Any] = {
        "id": tox["id"],
        "text": tox["text"],
        "source": tox["source"],
        "verification": tox["verification"],
    }
    confirmed = [h for h in hits if h.confirmed]
    pending = [h for h in hits if not h.confirmed and h.current]
    if not confirmed:
        if not pending:
            return None
        hit = max(pending, key=lambda h: _SEVERITY[h.action])
        return ToxicityFinding(
            action="withhold",
            observed=hit.observed,
            notes=[f"{hit.label}: a single result; withhold pending a confirmatory value"],
            **base,
        )
    worst = max(confirmed, key=lambda h: (_SEVERITY[h.action], h.day))
    observed = [o for h in confirmed for o in h.observed]
    recover_to = int(dm["recover_to_grade"])
    if worst.action == "discontinue":
        return ToxicityFinding(action="discontinue", observed=observed, notes=[worst.label], **base)
    if worst.action == "reduce" and ctx.reductions_given >= int(dm["max_reductions"]):
        return ToxicityFinding(
            action="discontinue",
            observed=observed,
            notes=[
                f"{worst.label} after the dose was already reduced (recurrence, or a second "
                "toxicity needing reduction)"
            ],
            **base,
        )
    now = [h for h in hits if h.current] + pending
    if now:
        return ToxicityFinding(
            action="withhold",
            observed=observed,
            notes=[
                f"{worst.label}; withhold until grade ≤ {recover_to} or baseline — now: "
                + "; ".join(h.label for h in now)
            ],
            **base,
        )
    if worst.action == "reduce":
        return ToxicityFinding(
            action="reduce_next",
            observed=observed,
            notes=[f"{worst.label}, recovered: next cycle at the reduced activity"],
            **base,
        )
    return None  # withheld earlier and recovered


def _row_for(tox: dict[str, Any], grade: int) -> dict[str, Any] | None:
    rows = [r for r in tox["rows"] if r["grades"][0] <= grade <= r["grades"][1]]
    return max(rows, key=lambda r: _SEVERITY[r["action"]]) if rows else None


def _milder(a: str, b: str) -> str:
    return a if _SEVERITY[a] <= _SEVERITY[b] else b


def _lab_hits(ctx: Context, tox: dict[str, Any], start: date) -> list[_Hit]:
    """Graded lab results since ``start`` that hit a row (above the baseline grade)."""
    recover_to = int(ctx.protocol.doc["dose_modification"]["recover_to_grade"])
    hits = []
    for test in tox["grade_of"].get("labs", []):
        base = ctx.baseline_lab(test)
        base_grade = grade_lab(base)[0] if base else 0
        series = ctx.labs(test)
        previous: dict[str, Any] | None = None
        for i, lab in enumerate(series):
            grade = grade_lab(lab, base)[0]
            row = _row_for(tox, grade) if grade > max(base_grade, recover_to) else None
            if row is not None and lab.day >= start:
                action, confirmed = row["action"], True
                if row.get("confirm"):
                    confirmed = previous is not None
                    action = _milder(action, previous["action"]) if previous else action
                hits.append(
                    _Hit(
                        action,
                        f"{test} CTCAE grade {grade}",
                        lab.day,
                        [{**lab_evidence(lab), "ctcae_grade": grade}],
                        current=i == len(series) - 1,
                        confirmed=confirmed,
                    )
                )
            previous = row
    return hits


def _ae_hits(ctx: Context, tox: dict[str, Any], start: date, claimed: set[str]) -> list[_Hit]:
    terms = [t.lower() for t in tox["grade_of"].get("ae_terms", [])]
    recover_to = int(ctx.protocol.doc["dose_modification"]["recover_to_grade"])
    hits = []
    for ae in ctx.record.adverse_events or ():
        if not (ae.term in terms or ("*" in terms and ae.term not in claimed)):
            continue
        if ae.end is not None and ae.end < start:
            continue
        row = _row_for(tox, ae.grade)
        if row is None:
            continue
        ongoing = (ae.end is None or ae.end >= ctx.as_of) and ae.grade > recover_to
        hits.append(
            _Hit(
                row["action"],
                f"{ae.term} grade {ae.grade}",
                max(ae.start, start),
                [
                    {
                        "what": ae.term,
                        "value": ae.grade,
                        "unit": "CTCAE grade",
                        "date": ae.start.isoformat(),
                        "pointer": f"/adverse_events/{ae.index}",
                    }
                ],
                current=ongoing,
            )
        )
    return hits


def _trigger_hits(ctx: Context, tox: dict[str, Any], start: date) -> list[_Hit]:
    """Triggers evaluated at each day a result of the toxicity's labs arrived."""
    days = sorted({lab.day for test in tox["grade_of"].get("labs", []) for lab in ctx.labs(test)})
    hits = []
    for trig in tox.get("triggers", []):
        previous_met = False
        for day in days:
            result = Evaluator(ctx, at=day).evaluate(trig["rule"])
            met = result.outcome is Outcome.MET
            if met and day >= start:
                confirmed = previous_met or not trig.get("confirm")
                hits.append(
                    _Hit(
                        trig["action"],
                        f"{trig['id']}: {trig['text']}",
                        day,
                        result.observed,
                        current=day == days[-1],
                        confirmed=confirmed,
                    )
                )
            previous_met = met
    return hits
