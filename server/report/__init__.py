"""The patient report: one timeline figure and a self-contained HTML page."""

from .figure import timeline_figure
from .page import render_report

__all__ = ["render_report", "timeline_figure"]
