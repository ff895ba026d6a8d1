"""The revision registry: bundled revisions plus user directories, resolved by reference.

A reference is ``id@revision`` (exact), ``id`` (the active revision in force on a
date: the latest ``effective_from`` on or before it), or a path to a YAML file.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date
from importlib import resources
from pathlib import Path

from .errors import Issue, ProtocolError
from .loader import load_file, load_text
from .model import Protocol

__all__ = ["Registry", "resolve"]


class Registry:
    """Protocol revisions by id and revision; identity is each document's sha256."""

    def __init__(self, protocols: list[Protocol]) -> None:
        self._by_ref: dict[str, Protocol] = {}
        for p in protocols:
            if p.ref in self._by_ref and self._by_ref[p.ref].sha256 != p.sha256:
                raise ProtocolError(
                    "duplicate_revision",
                    f"{p.ref} is defined twice with different content "
                    f"({self._by_ref[p.ref].file} and {p.file})",
                )
            self._by_ref[p.ref] = p
        self._check_supersedes()
        # each id's revisions other than drafts, by (effective_from, revision), indexed
        # once: ``resolve`` by id only bisects (a stable sort over ``all()``'s order, so
        # equal keys resolve as ``max``/``min`` over that order would)
        self._active: dict[str, tuple[list[Protocol], list[_Key], list[date]]] = {}
        for p in self.all():
            if p.status != "draft":
                self._active.setdefault(p.id, ([], [], []))[0].append(p)
        for revisions, keys, days in self._active.values():
            revisions.sort(key=_key)
            keys.extend(_key(p) for p in revisions)
            days.extend(p.effective_from for p in revisions)

    @classmethod
    def bundled(cls, extra_dirs: list[Path] | None = None) -> Registry:
        """The revisions shipped in the package, plus every *.yaml in ``extra_dirs``."""
        found = [
            load_text(f.read_text("utf-8"), f"protocol/revisions/{f.name}")
            for f in sorted(
                resources.files("flexmrt.protocol").joinpath("revisions").iterdir(),
                key=lambda f: f.name,
            )
            if f.name.endswith(".yaml")
        ]
        for folder in extra_dirs or []:
            if not Path(folder).is_dir():
                raise ProtocolError("not_found", f"{folder}: not a directory of protocol files")
            found += [load_file(f) for f in sorted(Path(folder).glob("*.yaml"))]
        return cls(found)

    def all(self) -> list[Protocol]:
        return sorted(self._by_ref.values(), key=lambda p: (p.id, _rev_key(p.revision)))

    def resolve(self, ref: str, on: date | None = None) -> Protocol:
        """Resolve ``id@revision``, ``id`` (in force ``on``, default: latest active) or a path."""
        if ref.endswith((".yaml", ".yml")) or "/" in ref:
            return _in_force(load_file(ref), on)
        if "@" in ref:
            if ref not in self._by_ref:
                raise ProtocolError(
                    "not_found",
                    f"unknown protocol revision {ref!r}; known: {', '.join(sorted(self._by_ref))}",
                )
            return _in_force(self._by_ref[ref], on)
        if ref not in self._active:
            known = sorted({p.id for p in self._by_ref.values()})
            raise ProtocolError("not_found", f"unknown protocol {ref!r}; known: {', '.join(known)}")
        revisions, keys, days = self._active[ref]
        count = len(keys)  # revisions in force on ``on``: a prefix of ``revisions``
        if on is not None:
            count = bisect_right(days, on)
            if count == 0:
                first = revisions[0]
                raise ProtocolError(
                    "not_in_force",
                    f"no revision of {ref!r} is in force on {on}: the first, {first.ref}, "
                    f"takes effect on {first.effective_from}",
                )
        # the latest key among them; of equal keys, the first (as ``max`` picks)
        return revisions[bisect_left(keys, keys[count - 1])]

    def _check_supersedes(self) -> None:
        issues = []
        for p in self._by_ref.values():
            sup = p.doc["protocol"].get("supersedes")
            if sup and sup not in self._by_ref:
                line, column = p.positions.get("/protocol/supersedes", (0, 0))
                issues.append(
                    Issue(
                        "unknown_supersedes",
                        f"{p.ref} supersedes {sup}, which is not in the registry",
                        "/protocol/supersedes",
                        p.file,
                        line or None,
                        column or None,
                        expected="an id@revision in the registry",
                        found=sup,
                    )
                )
        if issues:
            raise ProtocolError("unknown_supersedes", issues[0].message, issues)


def _in_force(found: Protocol, on: date | None) -> Protocol:
    """``found``, unless it is not yet in force on ``on`` (a draft may always be asked)."""
    if on is not None and found.status != "draft" and found.effective_from > on:
        raise ProtocolError(
            "not_in_force",
            f"{found.ref} is not in force on {on}: it takes effect on {found.effective_from}",
        )
    return found


_Key = tuple[date, tuple[int, ...]]


def _key(p: Protocol) -> _Key:
    return p.effective_from, _rev_key(p.revision)


def _rev_key(revision: str) -> tuple[int, ...]:
    return tuple(int(x) for x in revision.split("-")[0].split("."))


_DEFAULT: Registry | None = None


def resolve(ref: str, on: date | None = None) -> Protocol:
    """Resolve ``ref`` against the bundled registry (or load it as a file path)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Registry.bundled()
    return _DEFAULT.resolve(ref, on)
