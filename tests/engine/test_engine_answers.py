"""Typed answers: the JSON form of each piece, and a logged answer read back into its type."""

from __future__ import annotations

from answers_golden import documented

from flexmrt import engine
from flexmrt.engine.answers import Decision, Eligibility, Observation, RuleEntry, Source
from flexmrt.protocol import Registry, canonical_json

_REGISTRY = Registry.bundled()


def test_an_observation_lists_only_the_fields_it_has() -> None:
    lab = Observation("PLAT", 88.0, "10^9/L", date="2025-01-02", pointer="/labs/3")
    assert lab.to_json() == {
        "what": "PLAT",
        "value": 88.0,
        "unit": "10^9/L",
        "date": "2025-01-02",
        "pointer": "/labs/3",
    }
    # a value that is null stays (it was observed as absent); a grade of 0 and False stay
    graded = Observation("PSMA-VOL", None, "mL", ctcae_grade=0, estimated=False, matches=())
    assert graded.to_json() == {
        "what": "PSMA-VOL",
        "value": None,
        "unit": "mL",
        "ctcae_grade": 0,
        "estimated": False,
        "matches": [],
    }


def test_rule_entry_constructors() -> None:
    unsourced = RuleEntry.decision_rule("NOT-RANDOMISED", "No randomisation.", {})
    assert unsourced.to_json()["source"] == {} and unsourced.to_json()["verification"] == ""
    assert "category" not in unsourced.to_json()
    assert unsourced.in_category("need_data").to_json()["category"] == "need_data"
    tox = RuleEntry.toxicity(
        "renal", "Renal\n  toxicity.", [], ["a"], {"citation": "c", "section": "s"}, "assumed"
    )
    assert (tox.id, tox.kind, tox.text, tox.outcome) == (
        "TOX-RENAL",
        "toxicity",
        "Renal toxicity.",
        "MET",
    )
    assert tox.source == Source("c", "s")
    assert tox.noted("b").notes == ("a", "b") and tox.notes == ("a",)


def test_every_example_answer_reads_back_from_its_json() -> None:
    """A logged answer (its canonical JSON) is read back into the same typed value, so the
    gRPC edge presents a logged decision exactly as it presented the live one."""
    seen = 0
    for path, ref, day in documented():
        record = engine.read_record_text(path.read_text("utf-8"), str(path))
        protocol = _REGISTRY.resolve(ref)
        decision = engine.decide(protocol, record, day)
        assert Decision.from_json(decision.to_json()) == decision
        answer = engine.eligibility(protocol, record, day)
        assert Eligibility.from_json(answer.to_json()) == answer
        assert canonical_json(Decision.from_json(decision.to_json()).to_json()) == canonical_json(
            decision.to_json()
        )
        seen += 1
    assert seen >= 20
