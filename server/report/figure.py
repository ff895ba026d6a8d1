"""The patient timeline: cycles, holidays, PSA, tumour volume, kidney BED, lab grades.

Drawn with matplotlib's Agg backend (no display, no network). Panels share the
date axis; holiday spans are shaded across all of them.
"""

from __future__ import annotations

from datetime import date, datetime

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from flexmrt.engine import Decision, Record, Schedule
from flexmrt.engine.ctcae import grade_lab

__all__ = ["timeline_figure"]

_GRADED = ("HGB", "PLAT", "NEUT", "WBC", "CREAT")
_GRADE_COLOURS = ["#e8f5e9", "#fff59d", "#ffb74d", "#e53935", "#6a1b9a"]


def timeline_figure(
    record: Record,
    decision: Decision,
    as_of: date,
    dvh: list[tuple[str, list[float], list[float]]] | None = None,
    schedule: Schedule | None = None,
) -> Figure:
    """The timeline figure for ``record`` with the engine's ``decision`` on ``as_of``.

    Only data dated on or before ``as_of`` are drawn, as the engine sees them; what is due
    after it is drawn from the engine's ``schedule`` (the projection of the same decision:
    the cycle it names and its window, surveillance, a confirmatory PSA, a re-check).
    ``dvh`` holds one labelled cumulative curve (dose Gy, volume fraction) per structure and
    cycle.
    """
    record = record.until(as_of)
    plt.rcParams["svg.hashsalt"] = "flexmrt"
    panels = 5 + (1 if dvh else 0)
    fig, axes = plt.subplots(
        panels,
        1,
        figsize=(11, 2.1 * panels),
        sharex=False,
        gridspec_kw={"height_ratios": [1, 1.6, 1.3, 1.3, 1.1] + ([2.0] if dvh else [])},
    )
    fig.suptitle(
        f"{record.subject_id} — {decision.envelope.protocol.ref} on {as_of}: {decision.action}",
        fontsize=12,
        x=0.01,
        ha="left",
    )
    time_axes = list(axes[:5])
    _cycles(time_axes[0], record)
    upcoming = _upcoming(schedule, as_of)
    _due(time_axes[0], upcoming)
    _psa(time_axes[1], record, decision)
    _tumour(time_axes[2], record)
    _kidney(time_axes[3], record, decision, as_of)
    _grades(time_axes[4], record)
    for ax in time_axes:
        _holidays(ax, record, as_of)
        ax.axvline(_num(as_of), color="#455a64", lw=1, ls=":")
        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    _share_dates(time_axes, record, as_of, [d for d, _, _ in upcoming])
    if dvh:
        _dvh(axes[5], dvh)
    fig.tight_layout()
    return fig


def _num(day: date | datetime) -> float:
    return float(mdates.date2num(day))


def _share_dates(axes: list[Axes], record: Record, as_of: date, ahead: list[date]) -> None:
    days = [a.day for a in record.administrations or ()] + [x.day for x in record.labs or ()]
    start = min([*days, as_of])
    end = max([d for d in ahead if (d - as_of).days <= 200], default=as_of)
    for ax in axes:
        ax.set_xlim(_num(start) - 14, max(_num(as_of) + 60, _num(end) + 21))


def _upcoming(
    schedule: Schedule | None, as_of: date
) -> list[tuple[date, str, tuple[date, date] | None]]:
    """What is due from ``as_of`` on, from the engine's schedule: (date, label, window).

    The schedule is the decision's projection, so its dates are the decision's own: the
    cycle it names (and its window), holiday surveillance, a confirmatory PSA, a re-check.
    """
    found: dict[tuple[date, str], tuple[date, str, tuple[date, date] | None]] = {}
    for e in schedule.events if schedule else ():
        label = _UPCOMING.get(e.kind)
        if label is None:
            continue
        window = None
        if e.kind == "cycle":
            label = f"C{e.cycle} due" + (" (overdue)" if e.overdue else "")
            if e.window_start and e.window_end:
                window = (e.window_start, e.window_end)
        found.setdefault((e.date, label), (e.date, label, window))
    return sorted(found.values(), key=lambda x: x[0])


_UPCOMING = {
    "cycle": "cycle",
    "psma_pet": "PSMA PET/CT",
    "psa_confirm": "confirm PSA",
    "recheck": "re-check",
    "end_of_treatment": "end of treatment",
}


def _due(ax: Axes, upcoming: list[tuple[date, str, tuple[date, date] | None]]) -> None:
    top = ax.get_ylim()[1] or 1.0
    for n, (day, label, window) in enumerate(upcoming):
        if window:
            ax.axvspan(_num(window[0]), _num(window[1]), color="#c5cae9", alpha=0.5, lw=0)
        height = top * (0.45 if n % 2 else 0.7)  # alternate heights: close labels stay legible
        ax.plot([_num(day)], [height], "v", color="#283593", ms=6)
        ax.annotate(
            label, (_num(day), height + top * 0.07), ha="center", fontsize=7, color="#283593"
        )


def _holidays(ax: Axes, record: Record, as_of: date) -> None:
    for h in record.holidays or ():
        ax.axvspan(_num(h.start), _num(h.end or as_of), color="#b3e5fc", alpha=0.45, lw=0)


def _cycles(ax: Axes, record: Record) -> None:
    ax.set_ylabel("GBq")
    admins = record.administrations or ()
    if not admins:
        ax.text(0.5, 0.5, "no cycle given", transform=ax.transAxes, ha="center", color="grey")
        ax.set_ylim(0, 10)
        return
    top = max(a.activity_gbq for a in admins)
    for a in admins:
        reduced = a.activity_gbq < top * 0.99
        ax.bar(_num(a.day), a.activity_gbq, width=6, color="#ef6c00" if reduced else "#1565c0")
        ax.annotate(
            f"C{a.cycle}" + (" ↓" if reduced else ""),
            (_num(a.day), a.activity_gbq),
            ha="center",
            va="bottom",
            fontsize=7,
        )
    ax.set_ylim(0, top * 1.35)
    ax.set_title(
        "Cycles (reduced activity in orange; holidays shaded; due next ▼ with its window)",
        fontsize=9,
        loc="left",
    )


def _psa(ax: Axes, record: Record, decision: Decision) -> None:
    psa = [x for x in record.labs or () if x.test == "PSA" and x.value > 0]
    ax.set_title("PSA (ng/mL, log scale)", fontsize=9, loc="left")
    if not psa:
        ax.text(0.5, 0.5, "no PSA recorded", transform=ax.transAxes, ha="center", color="grey")
        return
    ax.semilogy([_num(x.when) for x in psa], [x.value for x in psa], "o-", color="#2e7d32", ms=3)
    ax.yaxis.set_major_locator(mticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(mticker.FuncFormatter(_plain))
    ax.yaxis.set_minor_formatter(mticker.NullFormatter())
    response = decision.response
    baseline = response.psa_baseline if response else None
    if baseline:
        ax.axhline(baseline * 0.5, color="#7cb342", ls=":", lw=0.9, label="PSA50 (−50 %)")
        ax.axhline(baseline * 0.1, color="#33691e", ls=":", lw=0.9, label="PSA90 (−90 %)")
    nadir = response.psa_nadir if response else None
    if nadir:
        ax.axhline(nadir, color="#2e7d32", ls="--", lw=0.8, label=f"nadir {nadir:g}")
        threshold = max(nadir * 1.25, nadir + 2.0)
        ax.axhline(
            threshold,
            color="#c62828",
            ls="--",
            lw=0.8,
            label=f"PCWG3 progression threshold {threshold:g}",
        )
    if baseline or nadir:
        ax.legend(fontsize=7, loc="upper right")


def _plain(value: float, _pos: int) -> str:
    """A log-axis tick in plain numbers (0.1, 1, 10, 100), never 10^x."""
    return f"{value:,.10g}" if value >= 1 else f"{value:.3g}"


def _tumour(ax: Axes, record: Record) -> None:
    ax.set_title("PSMA-avid tumour volume vs cycle-1 SPECT/CT (%)", fontsize=9, loc="left")
    scans = [s for s in record.spect or () if s.tumour_volume_ml is not None]
    base = next((s.tumour_volume_ml for s in scans if s.cycle == 1), None)
    if not scans or not base:
        ax.text(
            0.5,
            0.5,
            "no post-cycle SPECT/CT volumes (cycle 1 is the baseline)",
            transform=ax.transAxes,
            ha="center",
            color="grey",
        )
        return
    changes = [((s.tumour_volume_ml or 0) - base) / base * 100 for s in scans]
    ax.plot([_num(s.when) for s in scans], changes, "s-", color="#6a1b9a", ms=3)
    ax.axhline(0, color="grey", lw=0.6)
    for s, c in zip(scans, changes, strict=True):
        if s.new_lesions:
            ax.annotate("new lesions", (_num(s.when), c), fontsize=7, color="#c62828")


def _kidney(ax: Axes, record: Record, decision: Decision, as_of: date) -> None:
    ax.set_title("Cumulative kidney BED (Gy)", fontsize=9, loc="left")
    kb = decision.kidney_bed
    if not kb:
        ax.text(
            0.5,
            0.5,
            "no kidney BED cap in this protocol arm",
            transform=ax.transAxes,
            ha="center",
            color="grey",
        )
        return
    days = {a.cycle: a.day for a in record.administrations or ()}
    total, xs, ys = 0.0, [], []
    for c in kb.cycles:
        total += c.bed_gy
        xs.append(_num(days[c.cycle]))
        ys.append(total)
    if xs:
        ax.step([*xs, _num(as_of)], ys + ys[-1:], where="post", color="#00838f", label="cumulative")
    ax.axhline(kb.cap_gy, color="#c62828", lw=1, label=f"cap {kb.cap_gy:g} Gy")
    top = kb.cap_gy
    projected = kb.projected_gy
    if decision.action not in ("DISCONTINUE", "COMPLETED") and kb.cycles_remaining and projected:
        when = _num(decision.due.target) if decision.due else _num(as_of)
        activity = kb.next_activity_gbq or decision.activity_gbq
        at = f" at {activity:g} GBq" if activity else ""
        ax.plot(
            [when],
            [projected],
            "D",
            color="#00838f",
            mfc="white",
            label=f"after the next cycle{at}: {projected:.1f} Gy"
            + (" (estimated)" if kb.estimated else ""),
        )
        top = max(top, projected)
    ax.set_ylim(0, top * 1.15)
    ax.legend(fontsize=7, loc="upper left")


def _grades(ax: Axes, record: Record) -> None:
    ax.set_title("Lab CTCAE v5 grades", fontsize=9, loc="left")
    labs = [x for x in record.labs or () if x.test in _GRADED]
    ax.set_yticks(range(len(_GRADED)), _GRADED, fontsize=7)
    ax.set_ylim(-0.6, len(_GRADED) - 0.4)
    for row, test in enumerate(_GRADED):
        for x in (lab for lab in labs if lab.test == test):
            grade = grade_lab(x)[0]
            ax.scatter(
                _num(x.when),
                row,
                s=40,
                marker="s",
                color=_GRADE_COLOURS[min(grade, 4)],
                edgecolors="#424242",
                linewidths=0.3,
            )
            if grade >= 2:
                ax.annotate(str(grade), (_num(x.when), row), fontsize=6, ha="center", va="center")
    handles = [
        Patch(facecolor=c, edgecolor="#424242", linewidth=0.3, label=f"grade {g}")
        for g, c in enumerate(_GRADE_COLOURS)
    ]
    ax.legend(
        handles=handles,
        fontsize=6,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        frameon=False,
        title="CTCAE v5",
        title_fontsize=6,
    )


def _dvh(ax: Axes, curves: list[tuple[str, list[float], list[float]]]) -> None:
    ax.set_title(
        "Dose-volume histograms (cumulative), per structure and cycle", fontsize=9, loc="left"
    )
    for label, dose_gy, fraction in curves:
        ax.plot(dose_gy, [100 * f for f in fraction], label=label)
    ax.set_xlabel("Gy")
    ax.set_ylabel("% volume")
    ax.legend(fontsize=7)
