"""Concurrent callers: every call logged exactly once, the chain intact, answers equal to
the in-process engine's."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from server_helpers import AS_OF, decisions, eligibility_request, example_record, record_json

from flexmrt import engine
from flexmrt.protocol import canonical_json, resolve
from flexmrt.server._gen.flexmrt.v1 import decision_pb2 as pb

THREADS, CALLS = 8, 200


def test_concurrent_calls_are_each_logged_once(channel, service):
    protocol = resolve("flex-mrt", date.fromisoformat(AS_OF))
    record = engine.parse_record(example_record())
    expected = {
        "eligibility": canonical_json(
            engine.eligibility(protocol, record, date.fromisoformat(AS_OF)).to_json()
        ),
        "next_action": canonical_json(
            engine.decide(protocol, record, date.fromisoformat(AS_OF)).to_json()
        ),
    }
    stub = decisions(channel)
    decide_request = pb.DecideNextActionRequest(
        protocol_ref="flex-mrt", record_json=record_json(), as_of=AS_OF
    )

    def work(thread: int) -> list[tuple[str, int, str]]:
        out = []
        for i in range(CALLS):
            if (thread + i) % 2:
                answer = stub.EvaluateEligibility(eligibility_request(), timeout=30)
                out.append(("eligibility", answer.log_sequence, answer.answer_json))
            else:
                answer = stub.DecideNextAction(decide_request, timeout=30)
                out.append(("next_action", answer.log_sequence, answer.answer_json))
        return out

    with ThreadPoolExecutor(THREADS) as pool:
        results = [r for chunk in pool.map(work, range(THREADS)) for r in chunk]

    assert len(results) == THREADS * CALLS
    assert sorted(seq for _, seq, _ in results) == list(range(1, THREADS * CALLS + 1))
    assert all(answer == expected[kind] for kind, _, answer in results)
    log = service[0].log
    report = log.verify()
    assert report.ok and report.entries == THREADS * CALLS
    conn = sqlite3.connect(log.path)
    kinds = dict(conn.execute("SELECT kind, count(*) FROM entries GROUP BY kind").fetchall())
    conn.close()
    assert kinds == {k: sum(1 for r in results if r[0] == k) for k in expected}
    sample = log.get(results[0][1])
    assert sample.answer_json == expected[sample.kind]
