"""Editor support: the JSON Schemas `flexmrt schema` prints pass Ajv's strict mode, describe
every property and keep a stable $id; the bundled 1.1 revisions and the example records
carry a yaml-language-server modeline and validate under Ajv; a mistyped key in a draft
protocol is reported by Ajv and by yaml-language-server itself."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from node_tools import AJV, node, packages, yaml_diagnostics

from flexmrt.protocol.yamlio import read_yaml
from flexmrt.server.cli import main
from flexmrt.server.cli.schema_cmds import schema_text

ROOT = Path(__file__).resolve().parents[2]
REVISIONS = ROOT / "protocol" / "revisions"
EXAMPLES = sorted((ROOT / "examples" / "patients").glob("*.yaml"))
STABLE_IDS = {
    "protocol": "https://flexmrt.example/schema/protocol.schema.json",
    "record": "https://flexmrt.example/schema/record.schema.json",
}
MODELINES = {
    "protocol": "# yaml-language-server: $schema=../schema/protocol.schema.json\n",
    "record": "# yaml-language-server: $schema=../../engine/schema/record.schema.json\n",
}

# Ajv 2020-12 in strict mode (every strict option an error), with the standard formats.
_AJV = r"""
const Ajv2020 = require("ajv/dist/2020").default;
const addFormats = require("ajv-formats").default;
const fs = require("fs");
const [schemaFile, ...docs] = process.argv.slice(2);
const ajv = new Ajv2020({strict: true, strictTypes: true, strictTuples: true,
                         strictRequired: true, allErrors: true});
addFormats(ajv);
const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaFile, "utf8")));
const out = docs.map((f) => {
  const ok = validate(JSON.parse(fs.readFileSync(f, "utf8")));
  return {file: f, valid: ok, errors: validate.errors || []};
});
console.log(JSON.stringify(out));
"""


def _ajv(tmp_path: Path, name: str, documents: dict[str, Any]) -> list[dict[str, Any]]:
    """Validate ``documents`` (file name → JSON value) with Ajv against schema ``name``."""
    folder = packages(AJV)
    script = folder / "validate.js"
    script.write_text(_AJV, encoding="utf-8")
    schema = tmp_path / f"{name}.schema.json"
    schema.write_text(schema_text(name), encoding="utf-8")
    files = []
    for file_name, value in documents.items():
        path = tmp_path / file_name
        path.write_text(json.dumps(value), encoding="utf-8")
        files.append(str(path))
    run = subprocess.run(
        [node(), str(script), str(schema), *files],
        capture_output=True,
        text=True,
        cwd=folder,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr  # a strict-mode violation throws at compile
    return list(json.loads(run.stdout))


def _yaml(path: Path) -> Any:
    data, _ = read_yaml(path.read_text(encoding="utf-8"), str(path))
    return json.loads(json.dumps(data))


@pytest.mark.parametrize("name", sorted(STABLE_IDS))
def test_cli_prints_the_shipped_schema_with_its_stable_id(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", name]) == 0
    text = capsys.readouterr().out
    assert text == schema_text(name)
    assert json.loads(text)["$id"] == STABLE_IDS[name]


def _undescribed(node: Any, path: str = "") -> list[str]:
    found = []
    if isinstance(node, dict):
        for key, prop in (node.get("properties") or {}).items():
            # `true` restates, inside an anyOf/oneOf branch, a property described above it
            if prop is not True and not (isinstance(prop, dict) and prop.get("description")):
                found.append(f"{path}/properties/{key}")
        for key, value in node.items():
            found += _undescribed(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _undescribed(value, f"{path}/{i}")
    return found


@pytest.mark.parametrize("name", sorted(STABLE_IDS))
def test_every_property_has_a_description(name: str) -> None:
    assert _undescribed(json.loads(schema_text(name))) == []


def test_bundled_revisions_and_examples_start_with_the_modeline() -> None:
    for path in sorted(REVISIONS.glob("*-1.1.yaml")):
        assert path.read_text("utf-8").startswith(MODELINES["protocol"]), path
        # the modeline's path resolves from the file to the schema flexmrt ships
        target = path.parent / MODELINES["protocol"].split("=", 1)[1].strip()
        assert target.read_text("utf-8") == schema_text("protocol")
    for path in sorted(REVISIONS.glob("*-1.0.yaml")):  # byte-identical: never touched
        assert "yaml-language-server" not in path.read_text("utf-8"), path
    assert EXAMPLES
    for path in EXAMPLES:
        assert path.read_text("utf-8").startswith(MODELINES["record"]), path
        target = path.parent / MODELINES["record"].split("=", 1)[1].strip()
        assert target.read_text("utf-8") == schema_text("record")


def test_ajv_strict_accepts_every_bundled_revision(tmp_path: Path) -> None:
    docs = {p.stem + ".json": _yaml(p) for p in sorted(REVISIONS.glob("*.yaml"))}
    results = _ajv(tmp_path, "protocol", docs)
    assert [(r["file"], r["errors"]) for r in results if not r["valid"]] == []


def test_ajv_strict_accepts_every_example_record(tmp_path: Path) -> None:
    results = _ajv(tmp_path, "record", {p.stem + ".json": _yaml(p) for p in EXAMPLES})
    assert [(r["file"], r["errors"]) for r in results if not r["valid"]] == []


def _draft_with_a_typo() -> Any:
    draft = _yaml(REVISIONS / "flex-mrt-1.1.yaml")
    arm = draft["arms"][0]
    arm["intervall"] = arm.pop("interval")  # the mistyped key
    return draft


def test_ajv_reports_a_mistyped_key_in_a_draft_protocol(tmp_path: Path) -> None:
    (result,) = _ajv(tmp_path, "protocol", {"draft.json": _draft_with_a_typo()})
    assert not result["valid"]
    found = {
        (e["instancePath"], e["keyword"], json.dumps(e["params"], sort_keys=True))
        for e in result["errors"]
    }
    assert ("/arms/0", "additionalProperties", '{"additionalProperty": "intervall"}') in found
    assert ("/arms/0", "required", '{"missingProperty": "interval"}') in found


def test_yaml_language_server_reports_a_mistyped_key_in_a_draft_protocol(tmp_path: Path) -> None:
    # The draft sits where a bundled revision sits, beside the schema flexmrt ships, and
    # keeps the bundled modeline: what an author editing a copy in the repository sees.
    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "protocol.schema.json").write_text(schema_text("protocol"), "utf-8")
    (tmp_path / "revisions").mkdir()
    draft = tmp_path / "revisions" / "flex-mrt-draft.yaml"
    text = (REVISIONS / "flex-mrt-1.1.yaml").read_text("utf-8")
    assert text.startswith(MODELINES["protocol"])
    lines = text.splitlines(keepends=True)
    typo = next(i for i, line in enumerate(lines) if line.startswith("    interval:"))
    lines[typo] = lines[typo].replace("interval:", "intervall:")
    draft.write_text("".join(lines), "utf-8")
    diagnostics = yaml_diagnostics(draft)
    found = [(d["range"]["start"]["line"], d["message"]) for d in diagnostics]
    assert (typo, "Property intervall is not allowed.") in found, found
    assert all(d["severity"] == 1 and "flexmrt trial protocol" in d["source"] for d in diagnostics)
    # and the bundled revision itself, unchanged, has nothing to report
    clean = tmp_path / "revisions" / "flex-mrt-1.1.yaml"
    clean.write_text(text, "utf-8")
    assert yaml_diagnostics(clean, timeout=20) == []
