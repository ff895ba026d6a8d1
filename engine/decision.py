"""The next action for an enrolled patient: every rule that fired, then precedence.

Categories and the order in which they win come from the protocol
(``decision.precedence``; FLEX-MRT: stop > discontinue > completed > kidney_cap >
withhold > need_data > holiday > administer). Every rule that fired is listed in
``reasons``; rules checked and passed are in ``checked``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any, Final

from flexmrt.protocol import Protocol
from flexmrt.protocol.durations import Duration, add_duration

from .answers import (
    Decision,
    DueWindow,
    KidneyBedView,
    Observation,
    OrganAtRiskView,
    RuleEntry,
    TreatmentResponse,
)
from .bed import KidneyBed, kidney_bed
from .context import Context
from .eligibility import criterion_entry
from .exact import compare
from .identity import envelope
from .organs import OrganAccount, cycles_fitting_range, organ_accounts, settling_measurement
from .record import Administration, Record
from .response import pcwg3, psa_status, recip, tumour_change
from .rules import Evaluator
from .surveillance import Surveyed, holiday_surveillance, surveillance_due
from .toxicity import ToxicityFinding, assess_toxicities
from .tristate import Outcome, RuleResult
from .uncertainty import COVERAGE_K

__all__ = ["CATEGORIES", "WITHHOLD_RECHECK_DAYS_DEFAULT", "decide"]

# Days from a WITHHOLD to the re-check, for revisions without ``withhold_recheck_days``
# (flex-mrt 1.0, pluvicto-label 1.0) [assumed: weekly, as blood counts recover].
WITHHOLD_RECHECK_DAYS_DEFAULT = 7

#: The categories of fired rules that ``decision.precedence`` orders, and the action each
#: gives (None: the rule names its own — START_HOLIDAY, CONTINUE_HOLIDAY or RESTART).
CATEGORIES: Final[Mapping[str, str | None]] = MappingProxyType(
    {
        "stop": "DISCONTINUE",
        "discontinue": "DISCONTINUE",
        "completed": "COMPLETED",
        "kidney_cap": "DISCONTINUE",
        "withhold": "WITHHOLD",
        "need_data": "NEED_DATA",
        "holiday": None,
        "administer": "ADMINISTER",
    }
)


_ARM_SCHEDULE = "ARM-SCHEDULE"
# Winning categories after which no further cycle is possible, and the kidney BED fields that
# describe that next cycle.
_NO_NEXT_CYCLE = ("stop", "discontinue", "completed")


@dataclass
class _Fired:
    category: str
    action: str
    entry: RuleEntry


@dataclass
class _State:
    ctx: Context
    fired: list[_Fired] = field(default_factory=list)
    checked: list[RuleEntry] = field(default_factory=list)
    activity: float = 0.0
    confirm_psa_by: date | None = None

    def add(self, category: str, entry: RuleEntry, action: str | None = None) -> None:
        chosen = action or CATEGORIES[category]
        if chosen is None:
            raise ValueError(f"a rule of category {category!r} must name its action")
        self.fired.append(_Fired(category, chosen, entry.in_category(category)))

    def rule(
        self,
        criterion: Mapping[str, Any],
        kind: str,
        result: RuleResult,
        category: str,
        action: str | None = None,
    ) -> None:
        """File one evaluated criterion: MET fires, INDETERMINATE needs data, else checked."""
        entry = criterion_entry(criterion, kind, result)
        if result.outcome is Outcome.MET:
            self.add(category, entry, action)
        elif result.outcome is Outcome.INDETERMINATE:
            self.add("need_data", entry)
        else:
            self.checked.append(entry)


def decide(protocol: Protocol, record: Record, as_of: date) -> Decision:
    """What happens next for this patient on ``as_of``, and why."""
    ctx = Context.of(protocol, record, as_of)
    state = _State(ctx)
    if ctx.arm is None:
        state.add(
            "need_data",
            RuleEntry.decision_rule(
                "NOT-RANDOMISED",
                "The patient has no randomisation.",
                protocol.doc["decision"],
                missing=["randomisation (arm, date)"],
            ),
        )
        return _answer(protocol, record, state, None, ())
    _stop_rules(state)
    _completed(state)
    heading_to_dose = _holiday_rules(state)
    account = None
    state.activity = ctx.reduced_activity if ctx.reductions_given else ctx.standard_activity
    if ctx.phase == "follow_up":
        _after_last_cycle(state)
    else:
        if heading_to_dose:
            _dose_gates(state)
        account = kidney_bed(ctx, state.activity)
    organs = organ_accounts(ctx, state.activity)
    if ctx.phase != "follow_up":
        if heading_to_dose and account is not None:
            _kidney_cap(state, account, _kidneys(organs))
        if heading_to_dose:
            state.add(
                "administer",
                RuleEntry.decision_rule(
                    _ARM_SCHEDULE,
                    f"Cycle {ctx.cycles_given + 1} of up to {ctx.max_cycles} ({ctx.arm['name']}).",
                    ctx.arm,
                ),
            )
    _activity_deviations(state)
    return _answer(protocol, record, state, account, organs)


def _kidneys(organs: tuple[OrganAccount, ...]) -> OrganAccount | None:
    return next((o for o in organs if o.organ.id == "kidneys"), None)


def _stop_rules(state: _State) -> None:
    ctx = state.ctx
    for rule in ctx.protocol.doc["stop_rules"]:
        if rule["category"] != "stop" and ctx.phase not in rule["phases"]:
            continue
        if "arms" in rule and ctx.record.arm not in rule["arms"]:
            continue
        result = Evaluator(ctx).evaluate(rule["rule"])
        if rule.get("note"):
            result.notes.append(rule["note"])
        entry_kind = f"stop:{rule['reason']}"
        state.rule(rule, entry_kind, result, rule["category"])


def _completed(state: _State) -> None:
    ctx = state.ctx
    observed = [Observation("cycles given", ctx.cycles_given, "count", pointer="/administrations")]
    entry = RuleEntry.decision_rule(
        "ARM-MAX-CYCLES",
        f"Maximum of {ctx.max_cycles} cycles in arm {ctx.record.arm!r}.",
        ctx.arm or {},
        observed=observed,
    )
    if ctx.cycles_given >= ctx.max_cycles:
        state.add("completed", entry)
    else:
        state.checked.append(replace(entry, outcome="NOT_MET"))


def _holiday_rules(state: _State) -> bool:
    """Holiday entry / continuation / restart; True when the next step is a dose."""
    ctx = state.ctx
    holidays = ctx.protocol.doc.get("holidays")
    if ctx.phase == "holiday" and holidays:
        return _on_holiday(state, holidays)
    if ctx.phase != "treatment":
        return False
    if holidays and ctx.arm and ctx.arm["holidays"] and _holiday_decision_point(ctx, holidays):
        result = Evaluator(ctx).evaluate(holidays["entry"]["rule"])
        state.rule(holidays["entry"], "holiday_entry", result, "holiday", "START_HOLIDAY")
    return True


def _holiday_decision_point(ctx: Context, holidays: Mapping[str, Any]) -> bool:
    after = ctx.protocol.raw(holidays["assess_after_cycles"])[0]
    last = ctx.last_admin
    started_since = any(h.start >= last.day for h in ctx.holidays) if last else True
    return ctx.cycles_given in after and not started_since


def _on_holiday(state: _State, holidays: Mapping[str, Any]) -> bool:
    ctx = state.ctx
    assert ctx.open_holiday is not None
    start = ctx.open_holiday.start
    pets = [p.day for p in ctx.record.pets or () if p.day >= start]
    last_pet = pets[-1] if pets else start
    every = _surveillance_interval(ctx)
    progression = pcwg3(ctx)
    if progression.status == "unconfirmed":
        state.confirm_psa_by = progression.confirm_by
    surveyed = holiday_surveillance(ctx, state.confirm_psa_by)
    result = Evaluator(ctx).evaluate(holidays["restart"]["rule"])
    if result.outcome is Outcome.MET:
        state.add(
            "holiday", criterion_entry(holidays["restart"], "holiday_restart", result), "RESTART"
        )
        return True
    if result.outcome is Outcome.INDETERMINATE:
        state.add("need_data", criterion_entry(holidays["restart"], "holiday_restart", result))
    else:
        notes = [f"confirmatory PSA due by {state.confirm_psa_by}"] if state.confirm_psa_by else []
        notes += [f"{i.what} due {i.due}" for i in surveyed if not i.overdue]
        state.add(
            "holiday",
            RuleEntry.decision_rule(
                "HOL-CONTINUE",
                f"On treatment holiday since {start}; no progression.",
                holidays["restart"],
                observed=result.observed,
                notes=notes + result.notes,
            ),
            "CONTINUE_HOLIDAY",
        )
    if "surveillance_grace" in holidays:
        _overdue_items(state, holidays, surveyed)
    elif add_duration(last_pet, ctx.protocol.duration(holidays["surveillance_overdue_after"])) < (
        ctx.as_of
    ):
        state.add(
            "need_data",
            RuleEntry.decision_rule(
                "HOL-SURVEILLANCE",
                "PSMA PET/CT surveillance is overdue.",
                holidays["restart"],
                outcome="INDETERMINATE",
                missing=[f"PSMA PET/CT since {last_pet} (due every {every})"],
            ),
        )
    return False


def _overdue_items(state: _State, holidays: Mapping[str, Any], surveyed: list[Surveyed]) -> None:
    """One NEED_DATA entry naming every surveillance item past its due date + the grace."""
    overdue = [i for i in surveyed if i.overdue]
    if not overdue:
        return
    protocol = state.ctx.protocol
    grace = protocol.duration(holidays["surveillance_grace"])
    ref = holidays["surveillance_grace"]
    sourced: Mapping[str, Any] = holidays["restart"]
    if isinstance(ref, dict) and "param" in ref:
        param = protocol.parameter(ref["param"])
        sourced = {"source": param.source, "verification": param.verification}
    state.add(
        "need_data",
        RuleEntry.decision_rule(
            "HOL-SURVEILLANCE",
            f"Holiday surveillance more than {grace.human()} past its due date: "
            + ", ".join(i.what for i in overdue)
            + ".",
            sourced,
            outcome="INDETERMINATE",
            observed=[e for i in overdue for e in i.evidence],
            missing=[i.missing_text() for i in overdue],
        ),
    )


def _surveillance_interval(ctx: Context) -> Duration | None:
    for item in ctx.protocol.doc["schedules"].get("holiday", []):
        if item["id"] == "psma_pet" and "every" in item:
            return ctx.protocol.duration(item["every"])
    return None


def _dose_gates(state: _State) -> None:
    ctx = state.ctx
    for criterion in ctx.protocol.doc["decision"].get("pre_dose", []):
        result = Evaluator(ctx).evaluate(criterion["rule"])
        entry = criterion_entry(criterion, "pre_dose", result)
        if result.outcome is Outcome.MET:
            state.checked.append(entry)
        elif result.outcome is Outcome.INDETERMINATE:
            state.add("need_data", entry)
        else:
            state.add("withhold", entry)
    for finding in assess_toxicities(ctx):
        entry = _toxicity_entry(finding)
        if finding.action == "reduce_next":
            state.activity = ctx.reduced_activity
            state.add("administer", entry.noted(f"activity {ctx.reduced_activity:g} GBq"))
        else:
            if finding.then_reduce:  # the next cycle, once recovered, is a reduced one
                state.activity = ctx.reduced_activity
            state.add("discontinue" if finding.action == "discontinue" else "withhold", entry)


def _toxicity_entry(finding: ToxicityFinding) -> RuleEntry:
    return RuleEntry.toxicity(
        finding.id,
        finding.text,
        finding.observed,
        finding.notes,
        finding.source,
        finding.verification,
    )


_VERDICT = {"discontinue": "DISCONTINUE", "withhold": "WITHHOLD", "reduce_next": "a reduction"}


def _after_last_cycle(state: _State) -> None:
    """After the last cycle COMPLETED stands, and every toxicity or progression finding
    is still listed (under ``completed``, so it cannot outrank it)."""
    ctx = state.ctx
    note = "after the last cycle: {} would apply to a further cycle; none is due"
    for finding in assess_toxicities(ctx):
        entry = _toxicity_entry(finding)
        state.add("completed", entry.noted(note.format(_VERDICT[finding.action])))
    for rule in ctx.protocol.doc["stop_rules"]:
        if rule["reason"] != "progression" or "treatment" not in rule["phases"]:
            continue
        if "arms" in rule and ctx.record.arm not in rule["arms"]:
            continue
        result = Evaluator(ctx).evaluate(rule["rule"])
        if result.outcome is Outcome.MET:
            entry = criterion_entry(rule, f"stop:{rule['reason']}", result)
            state.add("completed", entry.noted("progression after the last cycle"))


def _activity_deviations(state: _State) -> None:
    """Every administration outside the protocol's activity bands, listed (it never decides
    the action; whether it was the reduction is in its text)."""
    ctx = state.ctx
    bands = ctx.protocol.doc["dose_modification"].get("activity_bands")
    if not bands or not ctx.activity_judgements:
        return
    deviations = [j for j in ctx.activity_judgements if j.deviation]
    if not deviations:
        state.checked.append(
            RuleEntry.decision_rule(
                "ACTIVITY-DEVIATION",
                "Every cycle given within its activity band.",
                bands,
                outcome="NOT_MET",
                observed=[_activity_evidence(j.admin) for j in ctx.activity_judgements],
            )
        )
    for j in deviations:
        a = j.admin
        level = (
            f"the dose reduction ({ctx.reduced_activity:g} GBq from here on)"
            if j.reduced
            else "a full dose"
        )
        state.add(
            "administer",
            RuleEntry.decision_rule(
                "ACTIVITY-DEVIATION",
                f"Cycle {a.cycle} given at {a.activity_gbq:g} GBq, {j.deviation}: "
                f"counted as {level}, and a deviation.",
                bands,
                observed=[_activity_evidence(a)],
            ),
        )


def _activity_evidence(a: Administration) -> Observation:
    return Observation(
        f"cycle {a.cycle} activity",
        round(a.activity_gbq, 6),
        "GBq",
        date=a.day.isoformat(),
        pointer=f"/administrations/{a.index}",
    )


def _kidney_cap(state: _State, account: KidneyBed, kidneys: OrganAccount | None) -> None:
    ctx = state.ctx
    kb = ctx.protocol.doc["organ_limits"]["kidney_bed"]
    u = None if kidneys is None else kidneys.projected_u("bed")
    observed = [
        Observation("cumulative kidney BED", round(account.cumulative_gy, 4), "Gy"),
        Observation(
            f"projected kidney BED after cycle {ctx.cycles_given + 1} at "
            f"{account.next_activity_gbq:g} GBq",
            round(account.projected_gy, 4),
            "Gy",
            estimated=account.estimated,
        ),
        Observation("cap", account.cap_gy, "Gy"),
    ]
    if account.exceeded:
        fits = (
            f"a {ctx.reduced_activity:g} GBq cycle would still fit"
            if account.reduced_fits
            else "a reduced-activity cycle would not fit either"
        )
        state.add(
            "kidney_cap",
            RuleEntry.decision_rule(
                "KIDNEY-BED-CAP",
                "Cumulative kidney BED would exceed the "
                f"{account.cap_gy:g} Gy cap: regimen curtailed.",
                kb,
                observed=observed,
                notes=[fits],
            ),
        )
    elif u is not None and kidneys is not None and _straddles(account, u):
        _kidney_cap_indeterminate(state, account, kidneys, u, observed)
    else:
        state.checked.append(
            RuleEntry.decision_rule(
                "KIDNEY-BED-CAP",
                f"Projected kidney BED within the {account.cap_gy:g} Gy cap.",
                kb,
                outcome="NOT_MET",
                observed=observed,
            )
        )


def _straddles(account: KidneyBed, u: float) -> bool:
    """Under the cap at the point value, over it at the upper bound BED + k·u."""
    return compare(account.projected_gy + COVERAGE_K * u, ">", account.cap_gy)


def _kidney_cap_indeterminate(
    state: _State,
    account: KidneyBed,
    kidneys: OrganAccount,
    u: float,
    observed: list[Observation],
) -> None:
    """The cap rule is INDETERMINATE: the interval BED ± k·u straddles the cap."""
    low, high = account.projected_gy - COVERAGE_K * u, account.projected_gy + COVERAGE_K * u
    sourced = {
        "source": {
            "citation": "flexmrt-decisions",
            "section": "Dose uncertainty and the cap (settled after the first review)",
        },
        "verification": "assumed",
    }
    state.add(
        "need_data",
        RuleEntry.decision_rule(
            "KIDNEY-BED-CAP",
            f"Projected kidney BED {account.projected_gy:.2f} Gy is under the "
            f"{account.cap_gy:g} Gy cap, but its interval {low:.2f}–{high:.2f} Gy "
            f"(± {COVERAGE_K:g}u) reaches over it: whether the next cycle fits is not known.",
            sourced,
            outcome="INDETERMINATE",
            observed=[
                *observed,
                Observation("projected kidney BED standard uncertainty", round(u, 4), "Gy"),
            ],
            missing=[settling_measurement(kidneys)],
            notes=[
                "uncertainty combined as the EANM guidance does (Gear 2018): calibration "
                "correlated across cycles, time integration and volume independent"
            ],
        ),
    )


def _due(ctx: Context, action: str) -> DueWindow | None:
    if action not in ("ADMINISTER", "RESTART", "WITHHOLD", "NEED_DATA") or ctx.arm is None:
        return None
    if ctx.phase == "follow_up":
        return None
    if action == "RESTART" or ctx.phase == "holiday":
        target = ctx.as_of
    else:
        target = ctx.due or ctx.record.randomised_on or ctx.as_of
    window = ctx.window
    return DueWindow(target, add_duration(target, window, -1), add_duration(target, window))


def _answer(
    protocol: Protocol,
    record: Record,
    state: _State,
    account: KidneyBed | None,
    organs: tuple[OrganAccount, ...],
) -> Decision:
    ctx = state.ctx
    order = protocol.doc["decision"]["precedence"]
    fired = sorted(state.fired, key=lambda f: order.index(f.category))
    winner = fired[0]
    action = winner.action
    doses = action in ("ADMINISTER", "RESTART")
    if not doses:  # the arm's schedule is a reason only for giving the cycle it names
        fired = [f for f in fired if f.entry.id != _ARM_SCHEDULE]
    next_cycle = ctx.cycles_given + 1 if ctx.arm and ctx.phase != "follow_up" else None
    due = _due(ctx, action)
    missing = [m for f in fired if f.category == "need_data" for m in f.entry.missing]
    needed_by = _needed_by(ctx, action, due)
    if needed_by:
        missing = [f"{m} (needed by {needed_by})" for m in missing]
    surveillance = _surveillance(ctx, action, state.confirm_psa_by)
    return Decision(
        envelope=envelope("decision", protocol, record, ctx.as_of),
        action=action,
        phase=ctx.phase if ctx.arm else None,
        arm=ctx.record.arm,
        cycle=next_cycle if action not in ("COMPLETED", "DISCONTINUE") else None,
        cycles_given=ctx.cycles_given,
        activity_gbq=round(state.activity, 4) if doses else None,
        due=due,
        reasons=tuple(f.entry for f in fired),
        checked=tuple(state.checked),
        kidney_bed=_kidney_bed_view(account, winner.category, _kidneys(organs), ctx),
        missing=tuple(missing),
        next_surveillance=surveillance.get("psma_pet"),
        surveillance_due=surveillance or None,
        confirm_psa_by=state.confirm_psa_by if surveillance else None,
        recheck_on=_recheck_on(ctx, action),
        needed_by=needed_by,
        response=_response(ctx) if ctx.arm else None,
        organs_at_risk=_organs_view(organs, winner.category, ctx),
    )


def _organs_view(
    organs: tuple[OrganAccount, ...], winner: str, ctx: Context
) -> tuple[OrganAtRiskView, ...] | None:
    """Every organ at risk of the protocol; projections only where a next cycle is possible."""
    if not organs or ctx.arm is None:
        return None
    project = winner not in _NO_NEXT_CYCLE and ctx.phase != "follow_up"
    return tuple(o.view(with_projection=project) for o in organs)


def _kidney_bed_view(
    account: KidneyBed | None, winner: str, kidneys: OrganAccount | None, ctx: Context
) -> KidneyBedView | None:
    """The kidney BED account; its projection over the next cycle only where a next cycle is
    possible (not after death, withdrawal, a discontinuation for another reason or the last
    cycle). When the kidney cap itself discontinues, the projection is its evidence and stays.
    With uncertainty data: the standard uncertainties, the interval BED ± k·u after the next
    cycle, and the range of cycles that fit (at its upper and lower bound)."""
    if account is None:
        return None
    next_cycle = winner not in _NO_NEXT_CYCLE
    view = account.view(next_cycle=next_cycle)
    return replace(view, **_kidney_interval(account, kidneys, ctx, next_cycle))


def _kidney_interval(
    account: KidneyBed, kidneys: OrganAccount | None, ctx: Context, next_cycle: bool
) -> dict[str, Any]:
    """The kidney BED view's uncertainty fields (all None without uncertainty data; the
    projected ones None where no next cycle is possible)."""
    u_now = None if kidneys is None else kidneys.cumulative_u("bed")
    u = None if kidneys is None else kidneys.projected_u("bed")
    if kidneys is None or u is None:
        return {}
    out: dict[str, Any] = {"cumulative_u_gy": None if u_now is None else round(u_now, 4)}
    if not next_cycle:
        return out
    left = max(ctx.max_cycles - ctx.cycles_given, 0)
    low, high = account.projected_gy - COVERAGE_K * u, account.projected_gy + COVERAGE_K * u
    out["projected_u_gy"] = round(u, 4)
    out["projected_interval_gy"] = (round(low, 4), round(high, 4))
    out["cycles_remaining_range"] = cycles_fitting_range(kidneys, account.cap_gy, left)
    return out


def _needed_by(ctx: Context, action: str, due: DueWindow | None) -> date | None:
    """By when missing data are needed: the next cycle's window opening (or as_of)."""
    if action != "NEED_DATA" or not due:
        return None
    return max(due.window_start, ctx.as_of)


def _surveillance(ctx: Context, action: str, confirm_psa_by: date | None) -> dict[str, date]:
    """Holiday surveillance due dates when the holiday starts or goes on, else none."""
    if action == "START_HOLIDAY":
        return surveillance_due(ctx, ctx.as_of)
    if ctx.open_holiday and action in ("CONTINUE_HOLIDAY", "NEED_DATA"):
        return surveillance_due(ctx, ctx.open_holiday.start, confirm_psa_by)
    return {}


def _recheck_on(ctx: Context, action: str) -> date | None:
    """After WITHHOLD: as_of + ``withhold_recheck_days`` (7 days [assumed] where absent)."""
    if action != "WITHHOLD":
        return None
    params = ctx.protocol.doc["parameters"]
    days = (
        ctx.protocol.quantity({"param": "withhold_recheck_days"}, "time") / 24
        if "withhold_recheck_days" in params
        else WITHHOLD_RECHECK_DAYS_DEFAULT
    )
    return ctx.as_of + timedelta(days=round(days))


def _response(ctx: Context) -> TreatmentResponse:
    status = psa_status(ctx)
    base, latest = status.baseline, status.latest
    change = status.change(base) if base else None
    from_nadir = status.change(status.nadir)
    params = ctx.protocol.doc["response"]["psa_response"]
    psa50 = ctx.protocol.quantity(params["psa50"], "percent")
    psa90 = ctx.protocol.quantity(params["psa90"], "percent")
    tumour, _, _ = tumour_change(ctx, "latest", "cycle1")
    return TreatmentResponse(
        psa_baseline=base.value if base else None,
        psa_latest=latest.value if latest else None,
        psa_nadir=status.nadir.value if status.nadir else None,
        psa_change_from_baseline_pct=None if change is None else round(change, 2),
        psa_change_from_nadir_pct=None if from_nadir is None else round(from_nadir, 2),
        psa50=None if change is None else compare(change, "<=", psa50),
        psa90=None if change is None else compare(change, "<=", psa90),
        pcwg3=pcwg3(ctx).status,
        tumour_volume_change_pct=None if tumour is None else round(tumour, 2),
        recip=recip(ctx).category,
    )
