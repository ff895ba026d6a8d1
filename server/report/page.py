"""`flexmrt report`: a self-contained HTML page plus the timeline as PNG and SVG.

The page embeds the PNG (base64) and needs nothing from the network. A tiny
inline script marks ``<body data-images="ok">`` once every image has decoded, so a
headless browser can confirm that the page really renders.
"""

from __future__ import annotations

import base64
import html
import io
from datetime import date
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

import engine
from protocol import Protocol, parse_duration

from .figure import timeline_figure

__all__ = ["render_report"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#212121;max-width:72rem}
h1{font-size:1.3rem}h2{font-size:1.05rem;margin-top:1.4rem;border-bottom:1px solid #ddd}
.action{font-size:1.4rem;font-weight:700;padding:.4rem .8rem;border-radius:.3rem;
display:inline-block;background:#e3f2fd}.action.WITHHOLD,.action.NEED_DATA{background:#fff3e0}
.action.DISCONTINUE{background:#ffebee}table{border-collapse:collapse;font-size:.85rem}
td,th{border:1px solid #e0e0e0;padding:.25rem .5rem;vertical-align:top;text-align:left}
.MET{color:#2e7d32}.NOT_MET{color:#c62828}.INDETERMINATE{color:#ef6c00}
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
    dose_results: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Write report.html, timeline.png and timeline.svg into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    decision = engine.decide(protocol, record, as_of)
    eligibility = engine.eligibility(protocol, record, as_of)
    schedule = engine.schedule(protocol, record, as_of, parse_duration("P24W"))
    dvh = _dvh(dose_results)
    fig = timeline_figure(record, decision, as_of, dvh)
    png, svg = out / "timeline.png", out / "timeline.svg"
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    png.write_bytes(buffer.getvalue())
    fig.savefig(svg, format="svg", metadata={"Date": None})
    plt.close(fig)
    page = out / "report.html"
    page.write_text(_html(decision, eligibility, schedule, buffer.getvalue()), "utf-8")
    return {"html": page, "png": png, "svg": svg}


def _dvh(results: dict[str, Any] | None) -> dict[str, Any] | None:
    if not results:
        return None
    wanted = {
        k: v["dvh"]
        for k, v in results.get("structures", {}).items()
        if "dvh" in v and ("kidney" in k or "tumour" in k)
    }
    return wanted or None


def _e(value: Any) -> str:
    return html.escape(str(value))


def _html(
    decision: dict[str, Any], eligibility: dict[str, Any], schedule: dict[str, Any], png: bytes
) -> str:
    image = base64.b64encode(png).decode("ascii")
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(decision['subject_id'])} — {_e(decision['action'])}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{_e(decision['subject_id'])} · {_e(decision['protocol']['ref'])} · "
        f"as of {_e(decision['as_of'])}</h1>",
        _decision(decision),
        f"<h2>Timeline</h2><img alt='timeline' src='data:image/png;base64,{image}'>",
        _reasons("Why", decision["reasons"]),
        _missing(decision, eligibility),
        _schedule(schedule),
        _eligibility(eligibility),
        _reasons("Checked and passed", decision["checked"]),
        f"<p class='src'>decision {_e(decision['decision_id'])} · engine "
        f"{_e(decision['engine_version'])} · protocol sha256 "
        f"{_e(decision['protocol']['sha256'])}</p>",
        f"<script>{_CHECK_IMAGES}</script></body></html>",
    ]
    return "\n".join(parts)


def _decision(d: dict[str, Any]) -> str:
    text = f"<span class='action {_e(d['action'])}'>{_e(d['action'])}"
    if d["cycle"]:
        text += f" · cycle {_e(d['cycle'])}"
    if d["activity_gbq"]:
        text += f" · {_e(d['activity_gbq'])} GBq"
    text += "</span>"
    if d["due"]:
        text += (
            f"<p>Target {_e(d['due']['target'])} (window {_e(d['due']['window_start'])} – "
            f"{_e(d['due']['window_end'])})</p>"
        )
    kb = d["kidney_bed"]
    if kb:
        text += (
            f"<p>Kidney BED {kb['cumulative_gy']:.2f} Gy so far; {kb['projected_gy']:.2f} Gy "
            f"after the next cycle (cap {kb['cap_gy']:g} Gy; {kb['cycles_remaining']} more "
            f"cycle(s) fit{'; estimated' if kb['estimated'] else ''}).</p>"
        )
    return f"<h2>Decision</h2>{text}"


def _observed(observed: list[dict[str, Any]]) -> str:
    items = []
    for o in observed:
        value = o.get("reported") or f"{o.get('value')} {o.get('unit', '')}"
        when = f" ({o['date']})" if o.get("date") else ""
        items.append(f"{_e(o.get('what'))}: {_e(value)}{_e(when)}")
    return "<br>".join(items)


def _reasons(title: str, rules: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{_e(r.get('category', r.get('kind', '')))}</td><td><b>{_e(r['id'])}</b><br>"
        f"{_e(r['text'])}</td><td class='{_e(r['outcome'])}'>{_e(r['outcome'])}</td>"
        f"<td>{_observed(r['observed'])}"
        + "".join(f"<br><i>{_e(n)}</i>" for n in r.get("notes", []))
        + "".join(f"<br><span class='missing'>missing: {_e(m)}</span>" for m in r["missing"])
        + f"</td><td class='src'>{_e(r['source'].get('citation', ''))}, "
        f"{_e(r['source'].get('section', ''))} ({_e(r['verification'])})</td></tr>"
        for r in rules
    )
    head = "<tr><th>category</th><th>rule</th><th>outcome</th><th>evidence</th><th>source</th></tr>"
    return f"<h2>{_e(title)}</h2><table>{head}{rows}</table>"


def _missing(decision: dict[str, Any], eligibility: dict[str, Any]) -> str:
    missing = sorted(set(decision["missing"]) | set(eligibility["missing"]))
    if not missing:
        return "<h2>Missing data</h2><p>None.</p>"
    items = "".join(f"<li class='missing'>{_e(m)}</li>" for m in missing)
    return f"<h2>Missing data</h2><ul>{items}</ul>"


def _schedule(schedule: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{_e(e['date'])}</td><td>{_e(e['what'])}</td><td>"
        f"{_e(e.get('window_start', ''))} – {_e(e.get('window_end', ''))}</td></tr>"
        for e in schedule["events"][:12]
    )
    return (
        f"<h2>Next scheduled events</h2><table><tr><th>date</th><th>what</th>"
        f"<th>window</th></tr>{rows or '<tr><td colspan=3>nothing scheduled</td></tr>'}</table>"
    )


def _eligibility(e: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{_e(c['id'])}</td><td>{_e(c['text'])}</td>"
        f"<td class='{_e(c['outcome'])}'>{_e(c['outcome'])}</td>"
        f"<td>{_observed(c['observed'])}"
        + "".join(f"<br><span class='missing'>missing: {_e(m)}</span>" for m in c["missing"])
        + "</td></tr>"
        for c in e["criteria"]
    )
    return (
        f"<h2>Eligibility checklist: {_e(e['outcome'])} (as of {_e(e['as_of'])})</h2>"
        f"<table><tr><th>id</th><th>criterion</th><th>outcome</th><th>evidence</th></tr>"
        f"{rows}</table>"
    )
