"""`flexmrt report`: a self-contained HTML page plus the timeline as PNG and SVG.

The page embeds the PNG (base64) and needs nothing from the network. A tiny
inline script marks ``<body data-images="ok">`` once every image has decoded, so a
headless browser can confirm that the page really renders.
"""

from __future__ import annotations

import base64
import html
import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pydicom

from flexmrt import engine
from flexmrt.engine.answers import OrganAtRiskView, OrganLimit
from flexmrt.protocol import Protocol, parse_duration
from flexmrt.server.cli.common import overdue_text, units_in, words
from flexmrt.server.cli.engine_cmds import evidence

from .figure import timeline_figure

__all__ = ["dose_study", "render_report", "screening_date"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#212121;max-width:72rem}
h1{font-size:1.3rem}h2{font-size:1.05rem;margin-top:1.4rem;border-bottom:1px solid #ddd}
.action{font-size:1.4rem;font-weight:700;padding:.4rem .8rem;border-radius:.3rem;
display:inline-block;background:#e3f2fd}.action.WITHHOLD,.action.NEED_DATA{background:#fff3e0}
.action.DISCONTINUE{background:#ffebee}table{border-collapse:collapse;font-size:.85rem}
td,th{border:1px solid #e0e0e0;padding:.25rem .5rem;vertical-align:top;text-align:left}
.MET{color:#2e7d32}.NOT_MET{color:#c62828}.INDETERMINATE{color:#ef6c00}
.passed{color:#2e7d32}.fired{color:#1a237e;font-weight:600}
.missing{color:#ef6c00;font-weight:600}.src{color:#616161;font-size:.75rem}
img{max-width:100%}
"""
_CHECK_IMAGES = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.every(function (i) { return i.complete && i.naturalWidth > 0; });
  document.body.setAttribute('data-images', ok ? 'ok' : 'broken');
});
"""


def render_report(
    protocol: Protocol,
    record: engine.Record,
    as_of: date,
    out: Path,
    doses: list[dict[str, Any]] | None = None,
) -> tuple[dict[str, Path], list[str]]:
    """Write report.html, timeline.png and timeline.svg into ``out``.

    ``doses`` are ``flexmrt dose`` results.json documents (each with its ``file``). Returns
    the paths written and the warnings found (a dose study whose patient or dates do not
    match the record), which the page shows too.
    """
    out.mkdir(parents=True, exist_ok=True)
    record = record.in_zone(protocol.time_zone)  # days as the engine counts them
    decision = engine.decide(protocol, record, as_of)
    screening_day, screening_label = screening_date(record, as_of)
    eligibility = engine.eligibility(protocol, record, screening_day)
    schedule = engine.schedule(protocol, record, as_of, parse_duration("P24W"))
    studies = [dose_study(d, record.until(as_of)) for d in doses or []]
    warnings = [w for s in studies for w in s["warnings"]]
    fig = timeline_figure(record, decision, as_of, _curves(studies) or None, schedule)
    png, svg = out / "timeline.png", out / "timeline.svg"
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    png.write_bytes(buffer.getvalue())
    fig.savefig(svg, format="svg", metadata={"Date": None})
    plt.close(fig)
    page = out / "report.html"
    page.write_text(
        _html(decision, eligibility, screening_label, schedule, studies, buffer.getvalue()),
        "utf-8",
    )
    return {"html": page, "png": png, "svg": svg}, warnings


def screening_date(record: engine.Record, as_of: date) -> tuple[date, str]:
    """The date screening eligibility is judged on, and how the page labels it.

    Eligibility is a screening question: once cycle 1 is given it is answered as of that
    day (later labs must not turn an enrolled patient "ineligible"). Before cycle 1 the
    screening is still open, so it is answered as of the report date.
    """
    first = [a for a in record.administrations or () if a.cycle == 1 and a.day <= as_of]
    if first:
        day = first[0].day
        return day, f"screening eligibility as of the cycle-1 administration ({day})"
    consent = record.consent_date
    note = f"; consent {consent}" if consent else "; no consent recorded"
    return as_of, f"screening eligibility as of {as_of} (no cycle given yet{note})"


def dose_study(results: dict[str, Any], record: engine.Record) -> dict[str, Any]:
    """One ``flexmrt dose`` result matched to the record: its cycle and date, and warnings."""
    name = results.get("file", "dose results")
    warnings: list[str] = []
    injected = _when(results.get("injected"))
    cycle = None
    if injected is None:
        warnings.append(f"{name}: no injection time in the dose results; cycle not matched")
    else:
        same_day = [a for a in record.administrations or () if a.day == injected.date()]
        if same_day:
            cycle = same_day[0].cycle
        else:
            given = ", ".join(f"C{a.cycle} {a.day}" for a in record.administrations or ())
            warnings.append(
                f"{name}: injected on {injected.date()}, but {record.subject_id} has no "
                f"administration that day (record: {given or 'none'})"
            )
    patient = _patient_id(results)
    if patient is None:
        warnings.append(f"{name}: no patient id in the dose study; not checked against the record")
    elif patient != record.subject_id:
        warnings.append(
            f"{name}: the dose study is of patient {patient!r}, the record of {record.subject_id!r}"
        )
    for scan in results.get("spect", []):
        acquired = _when(scan.get("acquired"))
        if acquired and injected and acquired < injected:
            warnings.append(f"{name}: SPECT {scan.get('path')} acquired before the injection")
    return {
        "file": name,
        "cycle": cycle,
        "date": injected.date().isoformat() if injected else None,
        "structures": results.get("structures", {}),
        "warnings": warnings,
    }


def _when(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


def _patient_id(results: dict[str, Any]) -> str | None:
    """The dose study's patient: ``patient_id`` in the results, else the SPECT's PatientID."""
    if results.get("patient_id"):
        return str(results["patient_id"])
    here = Path(results.get("file", ".")).resolve()
    for scan in results.get("spect", []):
        # the path as `flexmrt dose` was given it: from its working folder, or any folder
        # above the results file
        for path in [Path(scan.get("path", "")), *(p / scan.get("path", "") for p in here.parents)]:
            if path.is_file():
                try:
                    header = pydicom.dcmread(path, stop_before_pixels=True)
                except Exception:  # not DICOM or unreadable: the id stays unknown
                    continue
                if header.get("PatientID"):
                    return str(header.PatientID)
    return None


def _curves(studies: list[dict[str, Any]]) -> list[tuple[str, list[float], list[float]]]:
    curves = []
    for study in studies:
        when = f"C{study['cycle']}" if study["cycle"] else "cycle ?"
        when += f" {study['date']}" if study["date"] else ""
        for name, s in study["structures"].items():
            if name == "kidneys" or "dvh" not in s:  # the combined kidneys repeat left + right
                continue
            if "kidney" in name or "tumour" in name:
                curves.append((f"{name} · {when}", s["dvh"]["dose_gy"], s["dvh"]["fraction"]))
    return curves


def _e(value: Any) -> str:
    return html.escape(str(value))


def _html(
    decision: engine.Decision,
    eligibility: engine.Eligibility,
    screening_label: str,
    schedule: engine.Schedule,
    studies: list[dict[str, Any]],
    png: bytes,
) -> str:
    image = base64.b64encode(png).decode("ascii")
    env = decision.envelope
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(env.subject_id)} — {_e(decision.action)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{_e(env.subject_id)} · {_e(env.protocol.ref)} · as of {_e(env.as_of)}</h1>",
        _decision(decision),
        f"<h2>Timeline</h2><img alt='timeline' src='data:image/png;base64,{image}'>",
        _reasons("Why", decision.reasons, fired=True),
        _missing(decision, eligibility),
        _schedule(schedule),
        _dose(studies),
        _eligibility(eligibility, screening_label),
        _reasons("Checked and passed", decision.checked, fired=False),
        f"<p class='src'>decision {_e(env.decision_id)} · engine "
        f"{_e(env.engine_version)} · protocol sha256 {_e(env.protocol.sha256)}</p>",
        f"<script>{_CHECK_IMAGES}</script></body></html>",
    ]
    return "\n".join(parts)


def _dose(studies: list[dict[str, Any]]) -> str:
    if not studies:
        return (
            "<h2>Dosimetry</h2><p>No dose results were given (<code>flexmrt report --dose "
            "results.json …</code> adds the dose-volume histograms and this table).</p>"
        )
    head = (
        "<tr><th>cycle</th><th>injected</th><th>structure</th><th>mL</th><th>mean Gy</th>"
        "<th>max Gy</th><th>D2 Gy</th><th>D50 Gy</th><th>D98 Gy</th><th>Gy/GBq</th>"
        "<th>BED Gy</th><th>file</th></tr>"
    )
    rows = []
    for study in studies:
        for name, s in study["structures"].items():
            cells = [
                f"C{study['cycle']}" if study["cycle"] else "?",
                study["date"] or "?",
                name,
                _num(s.get("volume_ml"), 1),
                *(_num(s.get(k), 3) for k in ("mean_gy", "max_gy", "d2_gy", "d50_gy", "d98_gy")),
                _num(s.get("gy_per_gbq"), 3),
                _num(s.get("mean_bed_gy"), 3),
                study["file"],
            ]
            rows.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    warnings = "".join(
        f"<li class='missing'>{_e(w)}</li>" for study in studies for w in study["warnings"]
    )
    return f"<h2>Dosimetry</h2><table>{head}{''.join(rows)}</table>" + (
        f"<ul>{warnings}</ul>" if warnings else ""
    )


def _num(value: Any, digits: int) -> str:
    return "—" if value is None else f"{float(value):.{digits}f}"


def _decision(d: engine.Decision) -> str:
    text = f"<span class='action {_e(d.action)}'>{_e(d.action)}"
    if d.cycle:
        text += f" · cycle {_e(d.cycle)}"
    if d.activity_gbq:
        text += f" · {_e(d.activity_gbq)} GBq"
    text += "</span>"
    if d.due:
        text += (
            f"<p>Target {_e(d.due.target)} (window {_e(d.due.window_start)} – "
            f"{_e(d.due.window_end)})</p>"
        )
    kb = d.kidney_bed
    estimated = "; estimated" if kb and kb.estimated else ""
    if kb and kb.projected_gy is None:  # no next cycle: nothing to project
        text += (
            f"<p>Kidney BED {kb.cumulative_gy:.2f} Gy so far (cap {kb.cap_gy:g} Gy{estimated}).</p>"
        )
    elif kb:
        text += (
            f"<p>Kidney BED {kb.cumulative_gy:.2f} Gy so far; {kb.projected_gy:.2f} Gy "
            f"after the next cycle (cap {kb.cap_gy:g} Gy; {kb.cycles_remaining} more "
            f"cycle(s) at {kb.next_activity_gbq:g} GBq fit{estimated}).</p>"
        )
    if kb and kb.projected_interval_gy is not None and kb.projected_gy is not None:
        low, high = kb.projected_interval_gy
        text += f"<p>After the next cycle ± 2u: {low:.2f}–{high:.2f} Gy.</p>"
    return f"<h2>Decision</h2>{text}{_organs(d.organs_at_risk)}"


def _gy(value: float | None, u: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}" + ("" if u is None else f" ± {u:.2f}")


def _limit(limit: OrganLimit | None) -> str:
    if limit is None:
        return "report only"
    return _e(f"{limit.quantity} {limit.value_gy:g} Gy ({limit.action})")


def _organs(organs: tuple[OrganAtRiskView, ...] | None) -> str:
    """Organs at risk: cumulative dose and BED ± u, after the next cycle, limit and margin."""
    if not organs:
        return ""
    rows = []
    for o in organs:
        rows.append(
            f"<tr><td>{_e(o.name)}</td>"
            f"<td>{_gy(o.cumulative_dose_gy, o.cumulative_dose_u_gy)}</td>"
            f"<td>{_gy(o.cumulative_bed_gy, o.cumulative_bed_u_gy)}</td>"
            f"<td>{_gy(o.projected_gy, o.projected_u_gy)}</td>"
            f"<td>{_limit(o.limit)}</td>"
            f"<td>{_gy(o.margin_gy, None)}</td>"
            f"<td>{'yes' if o.estimated else 'no'}</td></tr>"
        )
    return (
        "<h3>Organs at risk (Gy, ± standard uncertainty)</h3><table><tr><th>organ</th>"
        "<th>dose so far</th><th>BED so far</th><th>after the next cycle</th><th>limit</th>"
        "<th>margin</th><th>estimated</th></tr>" + "".join(rows) + "</table>"
    )


def _observed(observed: tuple[engine.Observation, ...]) -> str:
    return "<br>".join(_e(evidence(o)) for o in observed)


# How an outcome reads in each table: a rule that fired is the reason (neutral); a rule
# checked and passed is good news whatever its three-valued outcome (a stop rule passes by
# being NOT_MET); a criterion is good when MET.
_FIRED = {"MET": ("fired", "fired"), "INDETERMINATE": ("not known", "INDETERMINATE")}
_PASSED = {"MET": "passed", "NOT_MET": "passed (not triggered)"}


def _reasons(title: str, rules: tuple[engine.RuleEntry, ...], fired: bool) -> str:
    rows = []
    for r in rules:
        if fired:
            label, css = _FIRED.get(r.outcome, (words(r.outcome), "fired"))
        else:
            label, css = _PASSED.get(r.outcome, words(r.outcome)), "passed"
        rows.append(
            f"<tr><td>{_e(words(r.category or r.kind))}</td>"
            f"<td><b>{_e(r.id)}</b><br>{_e(units_in(r.text))}</td>"
            f"<td class='{_e(css)}'>{_e(label)}</td>"
            f"<td>{_observed(r.observed)}"
            + "".join(f"<br><i>{_e(units_in(words(n)))}</i>" for n in r.notes)
            + "".join(
                f"<br><span class='missing'>missing: {_e(words(m))}</span>" for m in r.missing
            )
            + f"</td><td class='src'>{_e(r.source.citation if r.source else '')}, "
            f"{_e(r.source.section if r.source else '')} ({_e(r.verification)})</td></tr>"
        )
    head = "<tr><th>category</th><th>rule</th><th>outcome</th><th>evidence</th><th>source</th></tr>"
    return f"<h2>{_e(title)}</h2><table>{head}{''.join(rows)}</table>"


def _missing(decision: engine.Decision, eligibility: engine.Eligibility) -> str:
    missing = sorted({words(m) for m in decision.missing} | {words(m) for m in eligibility.missing})
    if not missing:
        return "<h2>Missing data</h2><p>Nothing is missing.</p>"
    items = "".join(f"<li class='missing'>{_e(m)}</li>" for m in missing)
    due = decision.due
    when = (
        f"<p>Needed before cycle {_e(decision.cycle)}: due {_e(due.target)}, window "
        f"closes {_e(due.window_end)}.</p>"
        if due and decision.cycle and decision.missing
        else ""
    )
    return f"<h2>Missing data</h2><ul>{items}</ul>{when}"


def _schedule(schedule: engine.Schedule) -> str:
    rows = "".join(
        f"<tr><td>{_e(e.date)}</td><td>{_e(e.what)}{_e(overdue_text(e))}</td><td>"
        f"{_e(e.window_start or '')} – {_e(e.window_end or '')}</td></tr>"
        for e in schedule.events[:12]
    )
    return (
        f"<h2>Next scheduled events</h2><table><tr><th>date</th><th>what</th>"
        f"<th>window</th></tr>{rows or '<tr><td colspan=3>nothing scheduled</td></tr>'}</table>"
    )


def _eligibility(e: engine.Eligibility, label: str) -> str:
    rows = "".join(
        f"<tr><td>{_e(c.id)}</td><td>{_e(units_in(c.text))}</td>"
        f"<td class='{_e(c.outcome)}'>{_e(words(c.outcome))}</td>"
        f"<td>{_observed(c.observed)}"
        + "".join(f"<br><span class='missing'>missing: {_e(words(m))}</span>" for m in c.missing)
        + "</td></tr>"
        for c in e.criteria
    )
    return (
        f"<h2>Eligibility checklist: {_e(e.outcome)} — {_e(label)}</h2>"
        f"<table><tr><th>id</th><th>criterion</th><th>outcome</th><th>evidence</th></tr>"
        f"{rows}</table>"
    )
