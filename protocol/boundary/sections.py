"""Boundary cases for thresholds outside the rule leaves, and decisions around some leaves.

RECIP 1.0 PR/PD, PCWG3 (rise %, rise in ng/mL, confirmation, no-decline start), PSA50 and
PSA90, the kidney BED cap, the administered-activity bands, holiday surveillance (grace,
baseline window), the delay limit and the holiday-entry thresholds. Each has cases at the
threshold and one step either side (the last written decimal place in its unit; one day for
windows). The comparator each section setting implies is written here, with its source
(MISSION.md and the protocol's text), since the YAML gives these settings without one; the
expected outcome comes from that comparator, the declared value and ``reference`` — never
from the engine. Where a rule leaf cannot show the threshold, a case names a ``probe``: the
engine's whole decision is taken and the probe reads the answer (``server.boundary``).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import reference as ref
from .records import AS_OF, base, cycles, lab, number

if TYPE_CHECKING:
    from .generate import _Generator

__all__ = ["section_cases"]

Probe = tuple[str, str]
_CTX = ref._CTX

# Comparators of section settings (MISSION.md, "Reference rules" and "Settled after the first
# independent review"): RECIP PR ≤ −30 %, PD ≥ +20 %; PCWG3 rise ≥ 25 % and ≥ 2 ng/mL,
# confirmation ≥ 21 days later, without a decline from ≥ 12 weeks; PSA50/90 ≤ −50/−90 %;
# kidney cap "exceed" is strictly greater; activity bands are closed; surveillance overdue
# after due date + grace (strictly later); holiday baseline within the window (inclusive).
_RECIP = {"pr_change": ("<=", "PR", False), "pd_change": (">=", "PD", True)}
_PSA_RESPONSE = ("psa50", "psa90")

# Pre-dose labs that satisfy every pre-dose rule and grade 0 on every CTCAE table.
_CLEAN_LABS = [
    ("HGB", "14.0", "g/dL", ("13.0", "17.0")),
    ("PLAT", "200", "10^9/L", ("150", "400")),
    ("WBC", "6.0", "10^9/L", ("4.0", "10.0")),
    ("NEUT", "3.5", "10^9/L", ("1.8", "7.5")),
    ("CREAT", "1.0", "mg/dL", ("0.7", "1.2")),
    ("AST", "30", "U/L", ("10", "40")),
    ("ALT", "25", "U/L", ("7", "56")),
    ("BILI", "0.7", "mg/dL", ("0.1", "1.2")),
]


def section_cases(gen: _Generator) -> None:
    """Add every section threshold's cases to ``gen`` (or an Uncovered saying why not)."""
    doc = gen.doc
    response = doc.get("response", {})
    for key in _RECIP:
        if key in response.get("recip", {}):
            _recip(gen, key, response["recip"][key])
    if "pcwg3" in response:
        _pcwg3(gen, response["pcwg3"])
    for key in _PSA_RESPONSE:
        if key in response.get("psa_response", {}):
            _psa_response(gen, key, response["psa_response"][key])
    kidney = doc.get("organ_limits", {}).get("kidney_bed")
    if kidney is not None:
        _kidney_cap(gen, kidney)
    bands = doc.get("dose_modification", {}).get("activity_bands")
    if bands:
        _activity_bands(gen, bands)
    holidays = doc.get("holidays") or {}
    if "surveillance_grace" in holidays:
        _surveillance(gen, holidays["surveillance_grace"])
    if "surveillance_overdue_after" in holidays:
        _surveillance_1_0(gen, holidays["surveillance_overdue_after"])
    if "baseline_window" in holidays:
        _baseline_window(gen, holidays["baseline_window"])
    if "entry" in holidays:
        _holiday_entry(gen, holidays["entry"])
    for rule in doc.get("stop_rules", []):
        body = rule["rule"].get("measure", {})
        if body.get("name") == "delay_past_due":
            _delay(gen, rule["id"], body)


# -- records ----------------------------------------------------------------------------
def _arm(gen: _Generator, holidays: bool, kidney: bool = False) -> str | None:
    """An arm with (or without) holidays — under the kidney cap when ``kidney``."""
    capped = gen.doc.get("organ_limits", {}).get("kidney_bed", {}).get("arms", [])
    for arm in gen.doc["arms"]:
        if bool(arm.get("holidays")) == holidays and (not kidney or arm["id"] in capped):
            return str(arm["id"])
    return None


def _interval_days(gen: _Generator, arm: str) -> int:
    spec = next(a for a in gen.doc["arms"] if a["id"] == arm)
    iso = str(gen.resolve(spec["interval"])[0])
    return (AS_OF - ref.back(AS_OF, iso)).days


def _treated(
    gen: _Generator, arm: str, days: list[date], as_of: date, activity: str = "7.4"
) -> dict[str, Any]:
    """On treatment in ``arm``: cycles on ``days``, PSA 10 ng/mL before cycle 1, clean
    pre-dose labs two days before ``as_of``, and empty histories."""
    doc = base(as_of=as_of, arm=arm)
    doc["consent"] = {"date": (days[0] - timedelta(days=20)).isoformat()}
    doc["history"] = {"liver_metastases": False, "prior_therapies": []}
    cycles(doc, days, activity)
    doc["spect_ct"], doc["pet_ct"], doc["holidays"], doc["adverse_events"] = [], [], [], []
    drawn = as_of - timedelta(days=2)
    doc["labs"] = [lab("PSA", Decimal(10), "ng/mL", days[0] - timedelta(days=2))] + [
        lab(test, Decimal(value), unit, drawn, limits) for test, value, unit, limits in _CLEAN_LABS
    ]
    return doc


def _schedule(n: int, last: date, every: int) -> list[date]:
    return [last - timedelta(days=every * (n - i)) for i in range(1, n + 1)]


def _pet(day: date, vol: Decimal, new_lesions: bool) -> dict[str, Any]:
    return {"dtc": day.isoformat(), "psma_vol_ml": number(vol), "new_lesions": new_lesions}


def _sides(threshold: Decimal, step: Decimal) -> list[Decimal]:
    return [threshold - step, threshold, threshold + step]


def _position(value: Decimal, threshold: Decimal, met: bool) -> str:
    return "at" if value == threshold else "inside" if met else "outside"


def _limit(gen: _Generator, value: Any) -> tuple[Decimal, str]:
    """A numeric setting (value or {param}) as written, and its unit ("" without one)."""
    raw, unit = gen.resolve(value)
    return ref.written(raw), unit or ""


# -- RECIP 1.0 --------------------------------------------------------------------------
def _recip(gen: _Generator, key: str, value: Any) -> None:
    """PSMA-VOL 100 mL on an earlier PET, the latest at 100 × (1 + change/100) mL."""
    op, category, new_lesions = _RECIP[key]
    threshold, unit = _limit(gen, value)
    text = f"RECIP 1.0 {category}: PSMA-VOL change {op} {threshold} {unit}".rstrip()
    text += " with new lesions" if new_lesions else " without new lesions"
    rule = {"measure": {"name": "recip", "op": "==", "value": category}}
    arm = _arm(gen, holidays=False) or gen.arm
    for change in _sides(threshold, ref.step_of(threshold)):
        met = ref.holds(change, op, threshold)
        doc = _treated(gen, arm, _schedule(2, AS_OF - timedelta(days=20), 42), AS_OF)
        later = Decimal(100) * (1 + change / 100)
        doc["pet_ct"] = [
            _pet(AS_OF - timedelta(days=70), Decimal(100), False),
            _pet(AS_OF - timedelta(days=1), later, new_lesions),
        ]
        what = f"PSMA-VOL 100 → {_plain(later)} mL ({_plain(change)} %)"
        gen.add("response.recip", text, rule, _position(change, threshold, met), what, met, doc)


# -- PCWG3 --------------------------------------------------------------------------------
def _pcwg3(gen: _Generator, spec: dict[str, Any]) -> None:
    """Baseline PSA before cycle 1, a nadir, a first rise and a confirming value."""
    rule = {"measure": {"name": "pcwg3_progression", "op": "==", "value": "confirmed"}}
    arm = _arm(gen, holidays=False) or gen.arm
    pct, _ = _limit(gen, spec["rise_pct"])
    absolute, abs_unit = _limit(gen, spec["rise_abs"])
    confirm = str(gen.resolve(spec["confirm_after"])[0])
    no_decline = str(gen.resolve(spec["no_decline_from"])[0])
    confirm_days = (AS_OF - ref.back(AS_OF, confirm)).days
    start = AS_OF - timedelta(days=200)

    def meets(rise: Decimal, nadir: Decimal) -> bool:
        change = _CTX.divide((rise - nadir) * 100, nadir)
        return ref.holds(change, ">=", pct) and ref.holds(rise - nadir, ">=", absolute)

    def record(baseline: Decimal, nadir: Decimal, rise: Decimal, rise_day: int, gap: int) -> Any:
        doc = _treated(gen, arm, _schedule(4, start + timedelta(days=126), 42), AS_OF)
        doc["labs"][0] = lab("PSA", baseline, "ng/mL", start - timedelta(days=2))
        doc["labs"] += [
            lab("PSA", nadir, "ng/mL", start + timedelta(days=40)),
            lab("PSA", rise, "ng/mL", start + timedelta(days=rise_day)),
            lab("PSA", rise, "ng/mL", start + timedelta(days=rise_day + gap)),
        ]
        return doc

    text = f"PCWG3 rise ≥ {pct} % above the nadir (nadir 20 ng/mL, confirmed)"
    for p in _sides(pct, ref.step_of(pct)):
        rise = Decimal(20) * (1 + p / 100)
        met = meets(rise, Decimal(20))
        doc = record(Decimal(40), Decimal(20), rise, 100, confirm_days)
        what = f"PSA nadir 20 → {_plain(rise)} ng/mL (+{_plain(p)} %)"
        gen.add("response.pcwg3", text, rule, _position(p, pct, met), what, met, doc)
    text = f"PCWG3 rise ≥ {absolute} {abs_unit} above the nadir (nadir 4 ng/mL, confirmed)"
    for a in _sides(absolute, ref.step_of(absolute)):
        met = meets(Decimal(4) + a, Decimal(4))
        doc = record(Decimal(40), Decimal(4), Decimal(4) + a, 100, confirm_days)
        what = f"PSA nadir 4 → {_plain(4 + a)} ng/mL (+{_plain(a)} {abs_unit})"
        gen.add("response.pcwg3", text, rule, _position(a, absolute, met), what, met, doc)
    text = f"PCWG3 confirmation ≥ {confirm} after the first rise"
    for gap in (confirm_days - 1, confirm_days, confirm_days + 1):
        met = gap >= confirm_days
        doc = record(Decimal(40), Decimal(4), Decimal(10), 100, gap)
        what = f"confirming PSA {gap} days after the first rise"
        position = _position(Decimal(gap), Decimal(confirm_days), met)
        gen.add("response.pcwg3", text, rule, position, what, met, doc)
    weeks = (start - ref.back(start, no_decline)).days
    text = f"PCWG3 without a decline: from {no_decline} after cycle 1"
    for day in (weeks - 1, weeks, weeks + 1):
        met = day >= weeks
        doc = record(Decimal(10), Decimal(10), Decimal(13), day, confirm_days)
        doc["labs"] = [
            x for x in doc["labs"] if x["dtc"] != (start + timedelta(days=40)).isoformat()
        ]
        what = f"first rise (10 → 13 ng/mL) {day} days after cycle 1"
        position = _position(Decimal(day), Decimal(weeks), met)
        gen.add("response.pcwg3", text, rule, position, what, met, doc)


# -- PSA50 / PSA90 ------------------------------------------------------------------------
def _psa_response(gen: _Generator, key: str, value: Any) -> None:
    """Baseline PSA 10 ng/mL before cycle 1; the latest 10 × (1 + change/100)."""
    threshold, unit = _limit(gen, value)
    text = f"{key.upper()}: PSA change from baseline <= {threshold} {unit} (decision response)"
    arm = _arm(gen, holidays=False) or gen.arm
    for change in _sides(threshold, ref.step_of(threshold)):
        met = ref.holds(change, "<=", threshold)
        doc = _treated(gen, arm, _schedule(2, AS_OF - timedelta(days=20), 42), AS_OF)
        latest = Decimal(10) * (1 + change / 100)
        doc["labs"].append(lab("PSA", latest, "ng/mL", AS_OF - timedelta(days=3)))
        what = f"PSA 10 → {_plain(latest)} ng/mL ({_plain(change)} %)"
        position = _position(change, threshold, met)
        gen.add(
            "response.psa_response", text, {}, position, what, met, doc, probe=("response", key)
        )


# -- kidney BED cap -----------------------------------------------------------------------
def _kidney_cap(gen: _Generator, spec: dict[str, Any]) -> None:
    """Five cycles of 7.4 GBq, each with a measured kidney dose D (T_eff 40 h); the sixth
    (D again, from the patient's mean Gy/GBq) takes the cumulative BED to the target."""
    arm = _arm(gen, holidays=False, kidney=True)
    cap, unit = _limit(gen, spec["cap"])
    if arm is None:
        gen.skip("organ_limits.kidney_bed", f"cap {cap} {unit}", "no arm without holidays under it")
        return
    alpha_beta, _ = _limit(gen, spec["alpha_beta"])
    t_rep, _ = _limit(gen, spec["repair_half_time"])
    teff = Decimal(40)
    k = _CTX.divide(t_rep, alpha_beta * (t_rep + teff))  # BED = D + k·D² (LQ, full repair)
    given, every = 5, _interval_days(gen, arm)
    text = f"cumulative kidney BED after the next cycle > {cap} {unit} (DISCONTINUE, kidney cap)"
    for target in _sides(cap, ref.step_of(cap)):
        dose = _dose_for(target / (given + 1), k)
        projected = (given + 1) * (dose + _CTX.multiply(k, dose * dose))
        met = ref.holds(projected, ">", cap)
        days = _schedule(given, AS_OF - timedelta(days=every), every)  # cycle 6 due today
        doc = _treated(gen, arm, days, AS_OF)
        doc["spect_ct"] = [
            {
                "cycle": i,
                "dtc": (days[i - 1] + timedelta(days=1)).isoformat(),
                "tumour_volume_ml": 100,
                "new_lesions": False,
                "kidney_dose_gy": number(dose),
                "kidney_teff_h": number(teff),
            }
            for i in range(1, given + 1)
        ]
        what = f"kidney dose {dose} Gy × 6 cycles: projected BED {projected:.4f} Gy"
        position = _position(target, cap, met)
        gen.add(
            "organ_limits.kidney_bed",
            text,
            {},
            position,
            what,
            met,
            doc,
            probe=("reason", "KIDNEY-BED-CAP"),
        )


def _dose_for(bed: Decimal, k: Decimal) -> Decimal:
    """The dose D (to 0.0001 Gy) with D + k·D² = ``bed``."""
    root = _CTX.sqrt(1 + 4 * k * bed)
    return _CTX.divide(root - 1, 2 * k).quantize(Decimal("0.0001"))


# -- administered-activity bands ------------------------------------------------------------
def _activity_bands(gen: _Generator, spec: dict[str, Any]) -> None:
    """Cycle 3 given at the activity on each side of each band edge; cycle 4 due today."""
    arm = _arm(gen, holidays=False) or gen.arm
    spec_arm = next(a for a in gen.doc["arms"] if a["id"] == arm)
    standard, unit = _limit(gen, spec_arm["activity"])  # an inline number: activity_unit
    standard = ref.convert(standard, unit or spec_arm.get("activity_unit") or "GBq", "GBq")
    reduced, unit = _limit(gen, gen.doc["dose_modification"]["reduced_activity"])
    reduced = ref.convert(reduced, unit or "GBq", "GBq")
    s_tol, _ = _limit(gen, spec["standard_tolerance"])
    r_tol, _ = _limit(gen, spec["reduced_tolerance"])
    edges: list[tuple[str, Decimal, str, Probe]] = []
    for name, centre, tol in (("standard", standard, s_tol), ("reduced", reduced, r_tol)):
        low = (centre * (100 - tol) / 100).normalize()
        high = (centre * (100 + tol) / 100).normalize()
        first: Probe = (
            ("activity", str(standard))
            if name == "standard"
            else ("no_reason", "ACTIVITY-DEVIATION")
        )
        edges += [(f"{name} band low edge", low, ">=", first)]
        edges += [(f"{name} band high edge", high, "<=", ("no_reason", "ACTIVITY-DEVIATION"))]
    every = _interval_days(gen, arm)
    for label, edge, op, probe in edges:
        effect = "full dose next" if probe[0] == "activity" else "no deviation"
        text = f"administered activity {op} {edge} GBq ({label}, closed; {effect})"
        for unit in ref.QUANTITY_UNITS["GBq"]:
            for target in _sides(edge, ref.step_of(edge)):
                value = _in_quantity(target, edge, unit)
                if value is None:
                    continue
                met = ref.holds(ref.convert(value, unit, "GBq"), op, edge)
                doc = _treated(gen, arm, _schedule(3, AS_OF - timedelta(days=every), every), AS_OF)
                doc["administrations"][2]["activity"] = {"value": number(value), "unit": unit}
                what = f"cycle 3 at {_plain(value)} {unit}"
                position = _position(target, edge, met)
                gen.add(
                    "dose_modification.activity_bands",
                    text,
                    {},
                    position,
                    what,
                    met,
                    doc,
                    probe=probe,
                )


def _in_quantity(target: Decimal, edge: Decimal, unit: str) -> Decimal | None:
    """``target`` GBq in ``unit`` with the fewest decimals that still rounds back to it."""
    if unit == "GBq":
        return target
    exact = ref.convert(target, "GBq", unit)
    for places in range(0, 8):
        value = exact.quantize(Decimal(1).scaleb(-places))
        back = ref.convert(value, unit, "GBq")
        if back.quantize(Decimal(1).scaleb(-ref.decimals(edge) - 1)) == target:
            return value
    return None


# -- holiday surveillance -------------------------------------------------------------------
def _holiday_record(gen: _Generator, arm: str, start: date, as_of: date) -> dict[str, Any]:
    """Cycles 1-2, a holiday open since ``start``, PSA 0.5 ng/mL on it (no rise)."""
    every = _interval_days(gen, arm)
    doc = _treated(gen, arm, _schedule(2, start - timedelta(days=14), every), as_of)
    doc["holidays"] = [{"start": start.isoformat()}]
    doc["labs"] = [x for x in doc["labs"] if x["testcd"] == "PSA"]
    return doc


def _done(doc: dict[str, Any], evidence: dict[str, Any], day: date) -> None:
    if "labs" in evidence:
        for test in evidence["labs"]:
            row = next(r for r in [*_CLEAN_LABS, ("PSA", "0.5", "ng/mL", None)] if r[0] == test)
            doc["labs"].append(lab(test, Decimal(row[1]), row[2], day, row[3]))
    else:
        doc["pet_ct"].append(_pet(day, Decimal(20), False))


def _surveillance(gen: _Generator, grace_value: Any) -> None:
    """Each holiday item last done at the holiday start (the others done lately); as_of
    moves across its due date + the grace."""
    arm = _arm(gen, holidays=True)
    grace = str(gen.resolve(grace_value)[0])
    if arm is None:
        return
    grace_days = (AS_OF - ref.back(AS_OF, grace)).days
    items = [i for i in gen.doc["schedules"].get("holiday", []) if "evidence" in i and "every" in i]
    for item in items:
        every = str(gen.resolve(item["every"])[0])
        text = f"{item['what']} overdue after its due date + {grace} (holiday surveillance)"
        for extra in (grace_days - 1, grace_days, grace_days + 1):
            start = AS_OF - timedelta(days=200)
            due = start + (start - ref.back(start, every))
            as_of = due + timedelta(days=extra)
            doc = _holiday_record(gen, arm, start, as_of)
            for other in items:
                _done(doc, other["evidence"], start)
                if other is not item:
                    _done(doc, other["evidence"], as_of - timedelta(days=5))
            doc["pet_ct"].sort(key=lambda p: p["dtc"])
            met = extra > grace_days
            what = f"{item['what']} last at the holiday start; as of due + {extra} days"
            position = _position(Decimal(extra), Decimal(grace_days), met)
            gen.add(
                "holidays",
                text,
                {},
                position,
                what,
                met,
                doc,
                as_of,
                probe=("overdue", str(item["what"])),
            )


def _surveillance_1_0(gen: _Generator, value: Any) -> None:
    """Revisions before per-item surveillance: no PSMA PET/CT for this long → NEED_DATA."""
    arm = _arm(gen, holidays=True)
    after = str(gen.resolve(value)[0])
    if arm is None:
        return
    text = f"no PSMA PET/CT on the holiday for more than {after} (holiday surveillance)"
    start = AS_OF - timedelta(days=200)
    limit = (start - ref.back(start, after)).days
    for extra in (limit - 1, limit, limit + 1):
        as_of = start + timedelta(days=extra)
        doc = _holiday_record(gen, arm, start, as_of)
        doc["pet_ct"] = [_pet(start, Decimal(20), False)]
        doc["labs"].append(lab("PSA", Decimal("0.5"), "ng/mL", as_of - timedelta(days=5)))
        met = extra > limit
        what = f"last PSMA PET/CT {extra} days before"
        position = _position(Decimal(extra), Decimal(limit), met)
        gen.add(
            "holidays",
            text,
            {},
            position,
            what,
            met,
            doc,
            as_of,
            probe=("present", "HOL-SURVEILLANCE"),
        )


def _baseline_window(gen: _Generator, value: Any) -> None:
    """A PET (20 mL) that many days before or after the holiday start, and a later one at
    30 mL with new lesions: RECIP PD when the first is the baseline, else indeterminate."""
    arm = _arm(gen, holidays=True)
    window = str(gen.resolve(value)[0])
    if arm is None:
        return
    rule = {"measure": {"name": "recip", "op": "==", "value": "PD"}}
    start = AS_OF - timedelta(days=100)
    text = f"holiday RECIP baseline: a PSMA PET/CT within {window} of the holiday start"
    days = (start - ref.back(start, window)).days
    for sign, side in ((-1, "before"), (1, "after")):
        for offset in (days - 1, days, days + 1):
            doc = _holiday_record(gen, arm, start, AS_OF)
            doc["labs"].append(lab("PSA", Decimal("0.5"), "ng/mL", AS_OF - timedelta(days=5)))
            doc["pet_ct"] = [
                _pet(start + timedelta(days=sign * offset), Decimal(20), False),
                _pet(AS_OF - timedelta(days=1), Decimal(30), True),
            ]
            inside = offset <= days
            what = f"first PSMA PET/CT {offset} days {side} the holiday start"
            position = _position(Decimal(offset), Decimal(days), inside)
            gen.add(
                "holidays", text, rule, position, what, "MET" if inside else "INDETERMINATE", doc
            )


# -- decisions around rule leaves -------------------------------------------------------------
def _holiday_entry(gen: _Generator, entry: dict[str, Any]) -> None:
    """After cycle 2 in an arm with holidays: PSA from 10 ng/mL and SPECT/CT tumour volume
    from 100 mL; one of them across its threshold, the other well inside."""
    arm = _arm(gen, holidays=True)
    leaves = {
        part["measure"]["name"]: part["measure"]
        for part in entry["rule"].get("all", [])
        if "measure" in part
    }
    names = {"psa_change_from_baseline", "tumour_volume_change"}
    if arm is None or set(leaves) != names or len(entry["rule"].get("all", [])) != 2:
        return
    limits = {n: _limit(gen, leaves[n]["value"])[0] for n in names}
    every = _interval_days(gen, arm)
    for name in sorted(names):
        threshold = limits[name]
        op = leaves[name]["op"]
        text = f"{entry['id']} {name} {op} {threshold} % (decision after cycle 2: START_HOLIDAY)"
        for value in _sides(threshold, ref.step_of(threshold)):
            values = {n: limits[n] - 5 for n in names}
            values[name] = value
            met = all(ref.holds(values[n], leaves[n]["op"], limits[n]) for n in names)
            days = _schedule(2, AS_OF - timedelta(days=every), every)
            doc = _treated(gen, arm, days, AS_OF)
            psa = Decimal(10) * (1 + values["psa_change_from_baseline"] / 100)
            vol = Decimal(100) * (1 + values["tumour_volume_change"] / 100)
            doc["labs"].append(lab("PSA", psa, "ng/mL", AS_OF - timedelta(days=2)))
            doc["spect_ct"] = [
                {
                    "cycle": i + 1,
                    "dtc": (d + timedelta(days=1)).isoformat(),
                    "tumour_volume_ml": number(v),
                    "new_lesions": False,
                }
                for i, (d, v) in enumerate(zip(days, (Decimal(100), vol), strict=True))
            ]
            what = f"{name} {_plain(value)} % (PSA {_plain(psa)} ng/mL, volume {_plain(vol)} mL)"
            position = _position(value, threshold, ref.holds(value, op, threshold))
            gen.add(
                entry["id"], text, {}, position, what, met, doc, probe=("action", "START_HOLIDAY")
            )


def _delay(gen: _Generator, rule_id: str, body: dict[str, Any]) -> None:
    """Cycle 1 given, clean pre-dose labs; as_of its due date + the limit ± one day."""
    arm = _arm(gen, holidays=False) or gen.arm
    limit = str(gen.resolve(body["value"])[0])
    every = _interval_days(gen, arm)
    op = body["op"]
    given = AS_OF - timedelta(days=300)
    due = given + timedelta(days=every)
    days = (due - ref.back(due, limit)).days
    text = f"{rule_id} delay past due {op} {limit} (decision: DISCONTINUE)"
    for extra in (days - 1, days, days + 1):
        as_of = due + timedelta(days=extra)
        doc = _treated(gen, arm, [given], as_of)
        met = ref.holds(Decimal(extra), op, Decimal(days))
        what = f"as of {extra} days after the due date {due}"
        position = _position(Decimal(extra), Decimal(days), met)
        gen.add(rule_id, text, {}, position, what, met, doc, as_of, probe=("reason", rule_id))


def _plain(value: Decimal | int) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
