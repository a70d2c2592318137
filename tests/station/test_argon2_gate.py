"""Password hashing is bounded per process: a flood of sign-ins from many addresses costs
at most one argon2 computation's memory (64 MiB) at a time, and the excess is refused at
once instead of queueing without end (six wrong logins at once cost 400 MB before)."""

from __future__ import annotations

import threading

import pytest

from qfzz.errors import RateLimited
from qfzz.station import _accounts
from qfzz.station._accounts import Argon2Gate


def test_past_the_queue_a_turn_is_refused_at_once():
    gate = Argon2Gate(at_once=1, waiting=0)
    with gate.turn(), pytest.raises(RateLimited) as refused, gate.turn():
        pass
    assert refused.value.retry_after == 1
    with gate.turn():  # free again
        pass


def test_a_queued_turn_waits_only_so_long():
    gate = Argon2Gate(at_once=1, waiting=1, wait=0.0)
    # admitted to the queue, but no turn within the wait
    with gate.turn(), pytest.raises(RateLimited), gate.turn():
        pass


def test_a_queued_turn_runs_when_the_running_one_ends():
    gate = Argon2Gate(at_once=1, waiting=1, wait=30.0)
    first_in, release, second_ran = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with gate.turn():
            first_in.set()
            release.wait(30)

    def second() -> None:
        with gate.turn():
            second_ran.set()

    holder = threading.Thread(target=first)
    holder.start()
    assert first_in.wait(30)
    waiter = threading.Thread(target=second)
    waiter.start()
    release.set()
    assert second_ran.wait(30)
    holder.join(30)
    waiter.join(30)


def test_logins_and_sign_ups_take_their_turn(station, monkeypatch):
    gate = Argon2Gate(at_once=1, waiting=0)
    monkeypatch.setattr(_accounts, "ARGON2", gate)
    station.register_listener("ann", {}, password="pw-1234")
    with gate.turn():  # another password is being checked right now
        with pytest.raises(RateLimited):
            station.accounts.login("ann", "pw-1234")
        with pytest.raises(RateLimited):
            station.register_listener("bob", {}, password="pw-1234")
    assert station.parts.store.listeners.get("bob") is None
    assert station.accounts.login("ann", "pw-1234")
