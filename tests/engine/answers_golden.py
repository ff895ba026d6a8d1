"""The canonical JSON of every engine answer the tests know, pinned by its sha256.

Every rule case in ``tests/cases`` and every example patient at each date its header
documents (eligibility, decision, schedule over P24W and P6M, the amendment comparison
flex-mrt@1.0 → flex-mrt, and the study status of all example patients) is answered and
its canonical JSON hashed. ``answers_golden.json`` holds the hashes; the test fails on
any byte that changed, so decision ids, the decision log and ``audit verify --replay``
keep working. An answer changed on purpose is re-pinned with

    .venv/bin/python -m tests.engine.answers_golden --update

and the diff of the golden file names exactly the answers that changed.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).parent))

from engine_cases import CASES, case_paths, read_yaml, run_case  # noqa: E402

from flexmrt import engine  # noqa: E402
from flexmrt.engine.amendment import assess_amendment, summarise  # noqa: E402
from flexmrt.protocol import Registry, canonical_json, parse_duration  # noqa: E402

GOLDEN = Path(__file__).parent / "answers_golden.json"
EXAMPLES = ROOT / "examples" / "patients"
_REGISTRY = Registry.bundled()
_DOCUMENTED = re.compile(r"--protocol (\S+) --as-of (\d{4}-\d{2}-\d{2})")


def _as_json(answer: Any) -> Any:
    """The answer's JSON form (typed answers have ``to_json``; case errors are dicts)."""
    return answer.to_json() if hasattr(answer, "to_json") else answer


def _digest(answer: Any) -> str:
    return hashlib.sha256(canonical_json(_as_json(answer)).encode("utf-8")).hexdigest()


def documented() -> list[tuple[Path, str, date]]:
    """(example file, protocol ref, as_of) for every date an example's header documents."""
    out = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        header = path.read_text("utf-8").split("record_version")[0]
        for ref, day in sorted(set(_DOCUMENTED.findall(header))):
            out.append((path, ref, date.fromisoformat(day)))
    return out


def answers() -> Iterator[tuple[str, Any]]:
    """(name, answer) for every pinned answer."""
    for path in case_paths():
        yield f"case:{path.relative_to(CASES)}", run_case(read_yaml(path))
    records: dict[Path, engine.Record] = {}
    for path, ref, day in documented():
        record = records.setdefault(path, engine.read_record_text(path.read_text("utf-8")))
        protocol = _REGISTRY.resolve(ref)
        name = f"example:{path.stem}:{ref}:{day}"
        yield f"{name}:eligibility", engine.eligibility(protocol, record, day)
        yield f"{name}:decide", engine.decide(protocol, record, day)
        for horizon in ("P24W", "P6M"):
            yield (
                f"{name}:schedule:{horizon}",
                engine.schedule(protocol, record, day, parse_duration(horizon)),
            )
    old, new = _REGISTRY.resolve("flex-mrt@1.0"), _REGISTRY.resolve("flex-mrt")
    cases = [(records[p], day) for p, _, day in documented()]
    results = list(assess_amendment(old, new, cases))
    for (path, ref, day), result in zip(documented(), results, strict=True):
        yield f"amendment:{path.stem}:{ref}:{day}", result
    yield "amendment:summary", summarise(old, new, results)
    for day in sorted({d for _, _, d in documented()}):
        yield f"study:{day}", engine.study_status(new, list(records.values()), day)


def digests() -> dict[str, str]:
    return {name: _digest(answer) for name, answer in answers()}


def main(argv: list[str]) -> int:
    if argv != ["--update"]:
        print("usage: python -m tests.engine.answers_golden --update", file=sys.stderr)
        return 2
    GOLDEN.write_text(json.dumps(digests(), indent=1, sort_keys=True) + "\n", "utf-8")
    print(f"wrote {GOLDEN.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
