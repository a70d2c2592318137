"""A full verification reads the whole log and anyone may ask for one: it runs at most
once at a time, callers meanwhile share it, and its result is reused while nothing changed."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from qfzz.api import create_api
from qfzz.trust._shared import SharedRun


class Gate:
    """A verification that runs until the test lets it finish."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        assert self.release.wait(10)
        return self.calls


def test_concurrent_callers_share_one_run_and_its_result_is_reused(clock):
    gate, state = Gate(), {"fingerprint": 1}
    shared = SharedRun(gate, lambda: state["fingerprint"], clock=clock, max_age=60)
    futures = [shared.result() for _ in range(100)]
    assert len({id(f) for f in futures}) == 1 and not futures[0].done()
    gate.release.set()
    assert futures[0].result(10) == 1
    assert shared.result().result(10) == 1 and gate.calls == 1  # nothing changed: reused
    clock.advance(59)
    assert shared.result().result(10) == 1 and gate.calls == 1
    state["fingerprint"] = 2  # the chain or the log grew
    assert shared.result().result(10) == 2 and gate.calls == 2
    clock.advance(60)  # too old
    assert shared.result().result(10) == 3 and shared.runs == 3
    shared.forget()
    assert shared.result().result(10) == 4


def test_a_failed_run_is_not_reused(clock):
    calls = []

    def failing() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database gone")
        return len(calls)

    shared = SharedRun(failing, lambda: 0, clock=clock, max_age=60)
    with pytest.raises(RuntimeError):
        shared.result().result(10)
    assert shared.result().result(10) == 2


def test_the_public_verify_route_reuses_one_verification(station, clock):
    with TestClient(create_api(station, manage_lifecycle=False)) as client:
        station.register_listener("ann", {})
        answers = [client.get("/api/v1/ledger/verify").json() for _ in range(20)]
        assert all(a == answers[0] for a in answers) and answers[0]["valid"] is True
        assert station.parts.ledger.verification_runs == 1
        station.record_interaction("ann", 1, "like")  # the log grew: checked again
        assert client.get("/api/v1/ledger/verify").json()["valid"] is True
        assert station.parts.ledger.verification_runs == 2
        client.get("/api/v1/ledger/verify")
        clock.advance(61)
        client.get("/api/v1/ledger/verify")
        assert station.parts.ledger.verification_runs == 3
