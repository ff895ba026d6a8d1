"""The committed stubs are exactly what `make proto` produces from proto/."""

from __future__ import annotations

from pathlib import Path

from flexmrt.server import codegen


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_committed_stubs_match_make_proto(tmp_path):
    codegen.generate(tmp_path / "gen")
    fresh, committed = _tree(tmp_path / "gen"), _tree(codegen.OUT)
    assert sorted(fresh) == sorted(committed), "run `make proto` and commit server/_gen"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"stale generated files (run `make proto`): {stale}"


def test_stubs_import_from_the_generated_package_only():
    for path in codegen.OUT.rglob("*.py"):
        text = path.read_text()
        assert "from flexmrt.v1" not in text and "import flexmrt" not in text, path
