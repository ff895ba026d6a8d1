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

Where the protocol says so (FLEX-MRT and Pluvicto label 1.1):

- ``dose_modification.recurrence.counts: new_episode`` — after the reduced dose
  only a new episode (onset on or after the day of the first reduced dose) is a
  recurrence; the episode that led to the reduction at most withholds while it
  lasts. An episode's onset is an adverse event's start, or the first of a run of
  consecutive lab results (or trigger evaluations) that hit;
- a toxicity with ``recurrence_after_reduction: discontinue`` (renal) that occurred
  before the reduced dose and hits again in a new episode after it → DISCONTINUE;
- ``dose_modification.exempt.ae_terms`` modify no dose (lymphocyte count decreased);
- a toxicity with ``related_only`` counts adverse events related to treatment only
  (``related`` true, or unknown / absent); a lab grade always counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from flexmrt.protocol.durations import add_duration

from .answers import Observation
from .context import Context, lab_evidence
from .ctcae import grade_lab
from .rules import Evaluator
from .tristate import Outcome

__all__ = ["ToxicityFinding", "assess_toxicities"]

_SEVERITY = {"withhold": 1, "reduce": 2, "discontinue": 3}


@dataclass
class ToxicityFinding:
    """One toxicity's verdict: withhold | reduce_next | discontinue.

    ``then_reduce``: a withhold whose next cycle, once recovered, is at the reduced
    activity (the activity a projection of the next cycle must use).
    """

    id: str
    action: str
    text: str
    observed: list[Observation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    source: dict[str, str] = field(default_factory=dict)
    verification: str = ""
    then_reduce: bool = False


@dataclass
class _Hit:
    action: str
    label: str
    day: date
    observed: list[Observation]
    current: bool  # the hit describes the patient now (latest result, ongoing event)
    confirmed: bool = True
    onset: date | None = None  # first day of the episode the hit belongs to
    test: str | None = None  # the lab test a lab hit graded; None for events and triggers
    ae_index: int | None = None


def assess_toxicities(ctx: Context) -> list[ToxicityFinding]:
    dm = ctx.protocol.doc["dose_modification"]
    claimed = {
        t.lower()
        for tox in dm["toxicities"]
        for t in tox["grade_of"].get("ae_terms", [])
        if t != "*"
    }
    exempt = {t.lower() for t in (dm.get("exempt") or {}).get("ae_terms", [])}
    start = _span_start(ctx)
    findings = []
    for tox in dm["toxicities"]:
        hits = _hits(ctx, tox, start, claimed | exempt, exempt)
        finding = _recurrence(ctx, tox, dm, hits, claimed | exempt, exempt)
        if finding is None:
            finding = _verdict(ctx, tox, dm, _episodes(ctx, dm, hits))
        if finding is not None:
            findings.append(finding)
    return findings


def _hits(
    ctx: Context, tox: dict[str, Any], start: date, claimed: set[str], exempt: set[str]
) -> list[_Hit]:
    return [
        *_lab_hits(ctx, tox, start),
        *_ae_hits(ctx, tox, start, claimed, exempt),
        *_trigger_hits(ctx, tox, start),
    ]


def _new_episodes_only(ctx: Context, dm: dict[str, Any]) -> date | None:
    """The first reduced dose's day when recurrences count new episodes only, else None."""
    counts = (dm.get("recurrence") or {}).get("counts")
    return ctx.reduced_since if counts == "new_episode" else None


def _episodes(ctx: Context, dm: dict[str, Any], hits: list[_Hit]) -> list[_Hit]:
    """After the reduced dose, a reduce-level hit of an episode that began before it is
    not a recurrence: it withholds while it lasts, and no more."""
    since = _new_episodes_only(ctx, dm)
    if since is None:
        return hits
    out = []
    for h in hits:
        if h.action == "reduce" and h.onset is not None and h.onset < since:
            h = replace(
                h, action="withhold", label=f"{h.label} (the episode before the reduced dose)"
            )
        out.append(h)
    return out


def _recurrence(
    ctx: Context,
    tox: dict[str, Any],
    dm: dict[str, Any],
    hits: list[_Hit],
    claimed: set[str],
    exempt: set[str],
) -> ToxicityFinding | None:
    """DISCONTINUE when a toxicity marked ``recurrence_after_reduction`` occurred before
    the reduced dose and a new episode of it hits after (the label's "recurrent renal
    toxicity")."""
    since = ctx.reduced_since
    if tox.get("recurrence_after_reduction") != "discontinue" or since is None:
        return None
    new = [h for h in hits if h.confirmed and h.onset is not None and h.onset >= since]
    if not new:
        return None
    before = [
        h
        for h in _hits(ctx, tox, date.min, claimed, exempt)
        if h.confirmed and h.onset is not None and h.onset < since
    ]
    if not before:
        return None
    first = min(before, key=lambda h: h.day)
    return ToxicityFinding(
        id=tox["id"],
        action="discontinue",
        text=tox["text"],
        observed=[*first.observed, *(o for h in new for o in h.observed)],
        notes=[
            f"{tox['id'].replace('_', ' ')} toxicity recurring after the reduced dose of "
            f"{since} — now: {new[-1].label} ({new[-1].day}); before it: {first.label} "
            f"({first.day})"
        ],
        source=tox["source"],
        verification=tox["verification"],
    )


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
            then_reduce=worst.action == "reduce",
            **base,
        )
    if worst.action == "reduce":
        return ToxicityFinding(
            action="reduce_next",
            observed=observed + _recovery(ctx, tox, confirmed, recover_to),
            notes=[
                f"{worst.label}, recovered to grade ≤ {recover_to} or baseline: next cycle at "
                "the reduced activity"
            ],
            **base,
        )
    return None  # withheld earlier and recovered


def _recovery(
    ctx: Context, tox: dict[str, Any], hits: list[_Hit], recover_to: int
) -> list[Observation]:
    """The evidence of recovery: the latest result of each lab that hit (every lab of the
    toxicity when a trigger hit), and the end of each adverse event that hit."""
    labs = tox["grade_of"].get("labs", [])
    tests = {h.test for h in hits if h.test} | (
        set(labs) if any(h.test is None and h.ae_index is None for h in hits) else set()
    )
    out = []
    for test in [t for t in labs if t in tests]:
        series = ctx.labs(test)
        if series:
            lab = series[-1]
            base = ctx.baseline_lab(test)
            grade = grade_lab(lab, base)[0]
            note = f"shows the recovery to grade ≤ {recover_to} or baseline"
            out.append(replace(lab_evidence(lab), ctcae_grade=grade, note=note))
    for ae in ctx.record.adverse_events or ():
        if ae.index in {h.ae_index for h in hits} and ae.end is not None:
            out.append(
                Observation(
                    f"{ae.term} resolved",
                    ae.grade,
                    "CTCAE grade",
                    date=ae.end.isoformat(),
                    pointer=f"/adverse_events/{ae.index}/end",
                )
            )
    return out


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
        onset = date.min
        for i, lab in enumerate(series):
            grade = grade_lab(lab, base)[0]
            row = _row_for(tox, grade) if grade > max(base_grade, recover_to) else None
            onset = onset if previous is not None else lab.day
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
                        [replace(lab_evidence(lab), ctcae_grade=grade)],
                        current=i == len(series) - 1,
                        confirmed=confirmed,
                        onset=onset,
                        test=test,
                    )
                )
            previous = row
    return hits


def _ae_hits(
    ctx: Context, tox: dict[str, Any], start: date, claimed: set[str], exempt: set[str]
) -> list[_Hit]:
    terms = [t.lower() for t in tox["grade_of"].get("ae_terms", [])]
    recover_to = int(ctx.protocol.doc["dose_modification"]["recover_to_grade"])
    hits = []
    for ae in ctx.record.adverse_events or ():
        if not (ae.term in terms or ("*" in terms and ae.term not in claimed)):
            continue
        if ae.term in exempt or (tox.get("related_only") and ae.related is False):
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
                    Observation(
                        ae.term,
                        ae.grade,
                        "CTCAE grade",
                        date=ae.start.isoformat(),
                        pointer=f"/adverse_events/{ae.index}",
                    )
                ],
                current=ongoing,
                onset=ae.start,
                ae_index=ae.index,
            )
        )
    return hits


def _trigger_hits(ctx: Context, tox: dict[str, Any], start: date) -> list[_Hit]:
    """Triggers evaluated at each day a result of the toxicity's labs arrived."""
    days = sorted({lab.day for test in tox["grade_of"].get("labs", []) for lab in ctx.labs(test)})
    hits = []
    for trig in tox.get("triggers", []):
        previous_met = False
        onset = date.min
        for day in days:
            result = Evaluator(ctx, at=day).evaluate(trig["rule"])
            met = result.outcome is Outcome.MET
            onset = onset if previous_met else day
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
                        onset=onset,
                    )
                )
            previous_met = met
    return hits
