"""Helpers for protocol tests: the bundled FLEX-MRT text and edited copies."""

from __future__ import annotations

from importlib import resources


def bundled_text(name: str = "flex-mrt-1.0.yaml") -> str:
    return resources.files("flexmrt.protocol").joinpath(f"revisions/{name}").read_text("utf-8")


def amended(old: str, new: str, text: str | None = None) -> str:
    """The bundled FLEX-MRT text with one exact, unique edit applied."""
    text = bundled_text() if text is None else text
    assert text.count(old) == 1, f"edit target must occur exactly once: {old!r}"
    return text.replace(old, new)


def as_draft(text: str, revision: str = "1.2") -> str:
    """Turn the bundled revision into a draft amendment of it (metadata only)."""
    text = amended('  revision: "1.0"', f'  revision: "{revision}"', text)
    text = amended("  status: active", "  status: draft", text)
    return amended("  supersedes: null", '  supersedes: "flex-mrt@1.0"', text)
